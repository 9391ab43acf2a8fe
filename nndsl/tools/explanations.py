"""The long explanation of each diagnostic code, for ``nndsl explain CODE``.

Each entry: a spec that gets the code (``wrong``, the same example as spec/LANGUAGE.md's code
table, or None where that example needs a file or a command line), the corrected spec
(``right``), and how to fix it in words. A test checks that ``wrong`` gives the code, that
``right`` does not, and that ``wrong`` matches LANGUAGE.md's table. The one-line meaning is
:data:`nndsl.codes.DESCRIPTIONS`; a code without an entry here is still explained by it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Explanation:
    fix: str
    wrong: str | None = None
    right: str | None = None


EXPLANATIONS: dict[str, Explanation] = {
    "E001": Explanation("Split the model into files joined with `include`, or generate a smaller spec; the limit "
                        "guards editors and CI against runaway generated files."),
    "E002": Explanation("Pass the .nn text file, not a saved model or an archive (`nndsl import` reads Keras "
                        "models)."),
    "E003": Explanation("Save the file as UTF-8 (most editors: 'Save with encoding')."),
    "E004": Explanation("Write the value with fewer parentheses; deeply nested tuples are never needed for a shape.",
                        "input 3; reshape (((((((((((((((((3)))))))))))))))))", "input 3; reshape (3,)"),
    "E005": Explanation("Start the spec with an input and a layer.", "# only a comment", "input 784; dense 10 softmax"),
    "E100": Explanation("Arguments are separated by spaces, not commas (commas only inside parentheses); the "
                        "message says what the parser expected at that point.", "input 28, 28", "input 28 28; dense 10"),
    "E101": Explanation("Remove the character, or put it in a quoted string if it is part of a name or path.",
                        "input 3; dense 3 @", "input 3; dense 3"),
    "E102": Explanation("Close the string with the same quote it opened with; write `\\\\` for a backslash.",
                        'input 3; dense 3; data "mnist.npz', 'input 3; dense 3; data "mnist.npz"'),
    "E200": Explanation("Check the spelling against the catalogue (`nndsl explain dense` shows one layer); plugin "
                        "layers need their plugin installed (`nndsl plugins`).", "input 3; dens 4",
                        "input 3; dense 4"),
    "E201": Explanation("Use one of the registered optimizers: sgd, rmsprop, adam, adamw, ...",
                        "input 3; dense 4; optimizer adamm", "input 3; dense 4; optimizer adam"),
    "E202": Explanation("Use a registered loss name (mse, categorical_crossentropy, ...) or its alias.",
                        "input 3; dense 4; loss mse2", "input 3; dense 4; loss mse"),
    "E203": Explanation("Use a registered metric name (accuracy, auc, mae, ...).",
                        "input 3; dense 4; metrics acuracy", "input 3; dense 4; metrics accuracy"),
    "E204": Explanation("Use a registered activation (relu, gelu, softmax, ...); the hint suggests the nearest.",
                        "input 3; dense 4 relux", "input 3; dense 4 relu"),
    "E205": Explanation("The layer has no option of that name: check its spelling with `nndsl explain LAYER`.",
                        "input 3; dense 4 use_bais=false", "input 3; dense 4 use_bias=false"),
    "E206": Explanation("Define the tensor before you use it (statements read top to bottom), or fix the name.",
                        "input x 3; y = z -> dense 4", "input x 3; y = x -> dense 4"),
    "E207": Explanation("Give every input and named tensor its own name.",
                        "input x 3; input x 4; dense 2", "input x 3; input w 4; y = x -> dense 2; output y"),
    "E208": Explanation("Pick another name: tensor names may not be keywords or shadow a layer.",
                        "input 3; relu = dense 4", "input 3; hidden = dense 4"),
    "E209": Explanation("Use a built-in data set name (mnist, ...) or a quoted file path.",
                        "input 3; dense 4; data mnsit", "input 3; dense 4; data mnist"),
    "E210": Explanation("Use a registered callback (early_stopping, reduce_lr_on_plateau, ...).",
                        "input 3; dense 4; callback early_stop",
                        "input 3; dense 4; callback early_stopping; fit validation_split=0.1"),
    "E211": Explanation("Declare the name with `param` or `let` before using it in an expression.",
                        "input 3; dense 4*units", "let units = 2; input 3; dense 4*units"),
    "E212": Explanation("--set only overrides parameters the spec declares with `param NAME = ...`; check the name."),
    "E300": Explanation("The layer takes fewer positional arguments: pass the others by keyword.",
                        "input 3; dropout 0.5 0.2", "input 3; dropout 0.5"),
    "E301": Explanation("Pass a value of the kind the option expects (`nndsl explain LAYER` lists the kinds).",
                        "input 3; dense 3.5", "input 3; dense 3"),
    "E302": Explanation("Pass a value inside the documented range.", "input 3; dropout 1.5", "input 3; dropout 0.5"),
    "E303": Explanation("Give the required argument; `nndsl explain LAYER` shows the signature.",
                        "input 3; dense", "input 3; dense 4"),
    "E304": Explanation("Give each argument once, positionally or by keyword.",
                        "input 3; dense 3 units=4", "input 3; dense 4"),
    "E305": Explanation("Put positional arguments before keywords.",
                        "input 3; dense 3 use_bias=false relu", "input 3; dense 3 relu use_bias=false"),
    "E306": Explanation("Give the layer as many input tensors as it takes: merges take two or more.",
                        "input a 3; y = concat(a) -> dense 2", "input a 3; input b 3; y = concat(a, b) -> dense 2"),
    "E400": Explanation("The layer cannot take the incoming shape: reshape or flatten first, or fix the input "
                        "shape; the message shows both shapes.", "input 784; conv2d 32 3",
                        "input 28 28 1; conv2d 32 3"),
    "E401": Explanation("Declare an input first: `input 784`.", "dense 3", "input 4; dense 3"),
    "E402": Explanation("Add at least one layer (or an `output` naming one).", "input 784", "input 784; dense 10"),
    "E403": Explanation("Put the input before the layers that read it.", "dense 3; input 4", "input 4; dense 3"),
    "E404": Explanation("An output must be a layer's result, not an input.", "input x 3; output x",
                        "input x 3; output y = x -> dense 3"),
    "E405": Explanation("With several inputs, name where each chain starts: `y = a -> dense 3`.",
                        "input a 3; input b 4; dense 3",
                        "input a 3; input b 4; y = concat(a, b) -> dense 3; output y"),
    "E500": Explanation("Name an output that exists (`output NAME = ...`).",
                        "input a 3; output y = a -> dense 3; loss z=mse",
                        "input a 3; output y = a -> dense 3; loss y=mse"),
    "E501": Explanation("Give every output a loss, or one loss for all.",
                        "input a 3; output p = a -> dense 1; output q = a -> dense 2; loss p=mse",
                        "input a 3; output p = a -> dense 1; output q = a -> dense 2; loss p=mse q=mse"),
    "E502": Explanation("Write each training statement once; per-output losses go in one `loss` statement.",
                        "input 3; dense 3; loss mse; loss mae", "input 3; dense 3; loss mse"),
    "E503": Explanation("The training settings contradict each other; the message says which and why."),
    "E504": Explanation("Give the fit validation data (`fit validation_split=0.1`) or watch a training quantity.",
                        "input 3; dense 2 softmax; loss scce; callback early_stopping",
                        "input 3; dense 2 softmax; loss scce; callback early_stopping; fit validation_split=0.1"),
    "E505": Explanation("Check the path: relative paths are read from the spec file's folder."),
    "E700": Explanation("The backend chosen with --backend has no entry in its lowering table for this layer, "
                        "activation, loss, optimizer, metric, callback or object; the hint says why and which "
                        "backends lower it. Use one of those, drop the construct, or install a plugin that lowers "
                        "it for this backend (docs/PLUGINS.md: nndsl_lowerings; its coverage table lists them all)."),
    "E701": Explanation("The backend lowers the construct but not this value or option (torch: a loss option it "
                        "does not compute, an initializer written with arguments); write the plain form the "
                        "message names, or use a backend that honours it."),
    "E600": Explanation("Blocks hold layers and named tensors; `param`, `include` and training statements stay at "
                        "the top level."),
    "E601": Explanation("A block may not call itself, directly or through other blocks: unroll with `repeat`."),
    "E602": Explanation("Include files hold blocks, params, lets and defaults only; fix the path or move the model "
                        "statements out.", 'include "no-such-file.nn"; input 3; dense 2', "input 3; dense 2"),
    "E603": Explanation("Break the cycle: move what both files need into a third file they both include."),
    "E604": Explanation("The model does not meet its own assertion: change the model or the bound.",
                        "input 3; dense 4; assert params < 10", "input 3; dense 4; assert params < 100"),
    "E605": Explanation("The assertion refers to something that does not exist; check the names.",
                        "input 3; dense 4; assert nope.shape == (4,)", "input 3; dense 4; assert params > 0"),
    "E606": Explanation("A spec with search spaces (choice, int, uniform, ...) describes many models: tune it "
                        "(nndsl tune), or write one value to run, emit or build it."),
    "E607": Explanation("Write the search space as its signature says; spaces do not nest.",
                        "input 3; dense choice(2, int(1, 3))", "input 3; dense choice(2, 3)"),
    "E608": Explanation("Give bounds low < high (and a step that fits between them), or at least two options.",
                        "input 3; dropout uniform(0.5, 0.1)", "input 3; dropout uniform(0.1, 0.5)"),
    "E609": Explanation("Every value the space can take makes the model invalid: change the options, or the layers "
                        "around them; the message shows the first failure.",
                        "input 12; dense choice(12, 10); reshape (3, 4)", "input 12; dense 12; reshape choice((3, 4), (2, 6))"),
    "E610": Explanation("Search spaces belong in the spec that is tuned, not in a file it includes: pass the value "
                        "in as a block argument."),
    "E710": Explanation("Turn strings into numbers first: stringlookup or textvectorization (adapted on the "
                        "training data) before dense, embedding, ...",
                        "input sex 1 dtype=string; dense 4", "input sex 1 dtype=string; stringlookup; dense 4"),
    "E711": Explanation("The layer reads strings: give it a string input (`input x 1 dtype=string`), or drop it.",
                        "input 3; stringlookup", "input 1 dtype=string; stringlookup"),
    "W010": Explanation("Add normalization (adapted on the training data) or rescaling after the input, or scale "
                        "the data before training."),
    "W011": Explanation("Weights plus optimizer state (float32; Adam keeps 2 more copies, SGD none) exceed this "
                        "machine's memory: make the largest layers smaller, put pooling or a strided layer before "
                        "a large dense one, or train elsewhere. NNDSL_MEMORY_BYTES sets the memory figure.",
                        "input 784; dense 1000000; dense 1000000", "input 784; dense 1000; dense 1000"),
    "E730": Explanation("nndsl run stops before reading data: the model's weights and optimizer state cannot fit "
                        "this machine's memory (see W011). Shrink the largest layers or train on a larger machine."),
    "W014": Explanation("Some values of the space make the model invalid; those trials fail. Narrow the space so "
                        "every value works.",
                        "input 4; dense choice(12, 6); reshape choice((3, 4), (2, 3))",
                        "input 4; dense 12; reshape choice((3, 4), (2, 6))"),
    "E620": Explanation("A bug in nndsl or a plugin, not in your spec: rerun with --traceback and report it."),
    "E621": Explanation("Check the path and the file's permissions."),
    "E622": Explanation("Pass an expression: --set classes=10."),
    "E720": Explanation("The option belongs to another kind of data (image_size is for image folders, label for "
                        "tables): drop it, or use the option of this file's format.",
                        'input 4; dense 2; loss mse; data "t.csv" image_size=8',
                        'input 4; dense 2; loss mse; data "t.csv" label=y'),
    "E721": Explanation("Save the data in a format nndsl reads (.npz, .npy, .csv, .parquet, an image or text folder), "
                        "or install the plugin that reads it.",
                        'input 4; dense 2; loss mse; data "t.xlsx"', 'input 4; dense 2; loss mse; data "t.csv"'),
    "E740": Explanation("The Keras model uses a layer class nndsl has no equivalent for: write it as a plugin "
                        "layer (docs/PLUGINS.md), or import with --partial to get a `# TODO` line in its place."),
    "E741": Explanation("A layer option or value nndsl cannot express (a custom initializer, a non-float32 dtype "
                        "policy, ...): change it in the Keras model, or import with --partial."),
    "E742": Explanation("Pass a Keras 3 `.keras` file or the JSON of `model.to_json()`; nothing else is read."),
    "E743": Explanation("The graph uses what a spec cannot write: a layer applied twice (shared weights), a model "
                        "nested as a layer, or a layer with several outputs."),
    "W001": Explanation("Remove the input or use it.", "input a 3; input b 3; output y = a -> dense 3",
                        "input a 3; output y = a -> dense 3"),
    "W002": Explanation("Remove the layers, or make them an output.",
                        "input a 3; x = a -> dense 3; output y = a -> dense 4", "input a 3; output y = a -> dense 4"),
    "W003": Explanation("Add a loss to train the model (`loss mse`).", "input 3; dense 3; fit epochs=2",
                        "input 3; dense 3; loss mse; fit epochs=2"),
    "W004": Explanation("Rename the tensor."),
    "W005": Explanation("Legal, but probably not what you meant; the message says why.",
                        "input 3; dense 2 softmax; loss scce from_logits=true",
                        "input 3; dense 2; loss scce from_logits=true"),
    "W006": Explanation("Write the value in lower case, as nndsl prints it.",
                        "input 8 8 3; conv2d 4 3 padding=SAME", "input 8 8 3; conv2d 4 3 padding=same"),
    "W007": Explanation("Log the quantity (add it to metrics) or watch one that is logged.",
                        "input 3; dense 2 softmax; loss scce; callback early_stopping monitor=auc",
                        "input 3; dense 2 softmax; loss scce; metrics auc; callback early_stopping monitor=auc"),
    "W013": Explanation("An option of the Keras model that nndsl leaves to the backend (a dtype policy, a seed of "
                        "an initializer): the imported spec builds the same layers and parameter counts."),
}

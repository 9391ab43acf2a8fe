"""``nndsl emit --python --backend torch``: a standalone, readable PyTorch script.

The script holds an ``nn.Module`` subclass with ``__init__`` and ``forward`` written out layer
by layer, the data loading ``nndsl run`` does (nndsl's own emitter of it,
:func:`nndsl.backends.pydata.data_lines`), and a plain training loop with the spec's
optimizer, loss, metrics, batch size and epochs. It needs PyTorch and NumPy only: the classes
of :mod:`nndsl_torch.runtime` that the model uses are copied in, found by walking that
module's source (a class pulls in the helpers it names). Every value from the spec is rendered
by nndsl's safe literal renderer; names become checked identifiers.
"""

from __future__ import annotations

import ast
import inspect
from functools import lru_cache
from typing import Any

from nndsl.backends.pysource import identifier, literal, string_literal

from .lowering import METRICS, Call, default_optimizer, loss_function, optimizer_call
from .model import attribute_names, plan

INDENT = "    "

# forward() applies activations as expressions of `{}` (the layer's output)
ACTIVATION_SOURCE = {
    "relu": "torch.relu({})", "sigmoid": "torch.sigmoid({})", "tanh": "torch.tanh({})",
    "softmax": "torch.softmax({}, dim=-1)", "log_softmax": "torch.log_softmax({}, dim=-1)", "gelu": "F.gelu({})",
    "elu": "F.elu({})", "selu": "F.selu({})", "celu": "F.celu({})", "softplus": "F.softplus({})",
    "softsign": "F.softsign({})", "swish": "F.silu({})", "silu": "F.silu({})", "mish": "F.mish({})",
    "exponential": "torch.exp({})", "hard_sigmoid": "F.hardsigmoid({})", "hard_silu": "F.hardswish({})",
    "hard_swish": "F.hardswish({})", "hard_tanh": "F.hardtanh({})", "relu6": "F.relu6({})",
    "leaky_relu": "F.leaky_relu({}, 0.2)", "log_sigmoid": "F.logsigmoid({})", "glu": "F.glu({}, dim=-1)",
    "tanh_shrink": "F.tanhshrink({})", "hard_shrink": "F.hardshrink({}, 0.5)",
    "soft_shrink": "F.softshrink({}, 0.5)", "squareplus": "ACTIVATIONS[\"squareplus\"]({})",
    "sparse_plus": "ACTIVATIONS[\"sparse_plus\"]({})", "sparse_sigmoid": "ACTIVATIONS[\"sparse_sigmoid\"]({})",
}

# metric log name -> the runtime expression making a fresh metric
_METRIC_SOURCE = {
    "auc": 'Confusion("auc")', "precision": 'Confusion("precision")', "recall": 'Confusion("recall")',
    "root_mean_squared_error": "RootMeanSquaredError()", "r2_score": "R2Score()",
    "cosine_similarity": "Metric(cosine_similarity_metric)",
}
_AS_TARGETS = ("mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
               "mean_squared_logarithmic_error", "binary_crossentropy", "categorical_crossentropy",
               "sparse_categorical_crossentropy", "kl_divergence", "poisson", "hinge")


@lru_cache(maxsize=1)
def _runtime_definitions() -> tuple[list[str], dict[str, tuple[int, str, set[str]]]]:
    """Top-level definitions of runtime.py: name -> (position, source, names it uses)."""
    from . import runtime

    source = inspect.getsource(runtime)
    tree = ast.parse(source)
    out: dict[str, tuple[int, str, set[str]]] = {}
    order: list[str] = []
    for i, node in enumerate(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        else:
            continue
        text = ast.get_source_segment(source, node)
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        for name in names:
            out[name] = (i, text, used)
            order.append(name)
    return order, out


def runtime_source(needed: set[str]) -> list[str]:
    """The runtime definitions ``needed`` and everything they use, in the module's order."""
    _, defs = _runtime_definitions()
    todo, seen = [n for n in needed if n in defs], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [u for u in defs[name][2] if u in defs and u not in seen]
    chunks = sorted({defs[n][:2] for n in seen})
    return [text for _, text in chunks]


def _call_source(call: Call, needed: set[str]) -> str:
    if call.cls.startswith("torch."):
        cls = "nn." + call.cls[len("torch.nn."):] if call.cls.startswith("torch.nn.") else call.cls
    elif "." in call.cls:  # another plugin's module class: the script imports its module
        cls = _dotted(call.cls)
        needed.add("import " + cls.rpartition(".")[0])
    else:
        cls = call.cls
        needed.add(cls)
    args = [(_call_source(a, needed) if isinstance(a, Call) else literal(a)) for a in call.args]
    defaults = _defaults(call.cls)
    args += [f"{k}={_call_source(v, needed) if isinstance(v, Call) else literal(v)}" for k, v in call.kwargs
             if not (k in defaults and defaults[k] == v)]
    return f"{cls}({', '.join(args)})"


def _dotted(path: str) -> str:
    import keyword

    if not all(p.isascii() and p.isidentifier() and not keyword.iskeyword(p) for p in path.split(".")):
        raise ValueError(f"not a safe module path: {path!r}")
    return path


def _defaults(path: str) -> dict[str, Any]:
    """Keyword defaults of a runtime class, so the script writes only what differs."""
    from .model import resolve

    try:
        params = inspect.signature(resolve(path)).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


_SCRIPT_NAMES = {"self", "torch", "nn", "F", "math", "np", "os", "Model", "ACTIVATIONS"}


def _variable(name: str) -> str:
    """A forward() variable for a tensor: a checked identifier that shadows nothing the script uses."""
    var = identifier(name)
    return var + "_" if var in _SCRIPT_NAMES else var


def _module_lines(model, the_plan, needed: set[str]) -> list[str]:
    inputs = [i.name for i in model.inputs]
    variables = {name: _variable(name) for name in inputs}
    attrs = attribute_names([n.name for n in the_plan.nodes])
    lines = ["class Model(nn.Module):",
             f'{INDENT}"""{string_literal(model.name)[1:-1]}: tensors in and out in the spec\'s shapes '
             '(channels-last, as in Keras)."""',
             "",
             f"{INDENT}def __init__(self):",
             f"{INDENT * 2}super().__init__()"]
    for node in the_plan.nodes:
        lines.append(f"{INDENT * 2}self.{attrs[node.name]} = {_call_source(node.lowered.call, needed)}")
    lines += ["", f"{INDENT}def forward(self, {', '.join(variables[i] for i in inputs)}):"]
    masks: dict[str, str] = {}
    for node in the_plan.nodes:
        var = _variable(node.name)
        while var in variables.values():
            var += "_"
        variables[node.name] = var
        args = [variables[i] for i in node.inputs]
        if node.lowered.takes_mask and node.mask is not None:
            args.append(masks[node.mask])
        expr = f"self.{attrs[node.name]}({', '.join(args)})"
        if node.lowered.activation:
            template = ACTIVATION_SOURCE[node.lowered.activation]
            if "ACTIVATIONS" in template:
                needed.add("ACTIVATIONS")
            expr = template.format(expr)
        if node.lowered.makes_mask:
            masks[node.name] = f"{var}_mask"
            lines.append(f"{INDENT * 2}{var}_mask = {args[0]} != 0  # embedding mask_zero=true")
        lines.append(f"{INDENT * 2}{var} = {expr}")
    outs = [variables[o] for o in model.outputs]
    if len(outs) == 1:
        lines.append(f"{INDENT * 2}return {outs[0]}")
    else:
        lines.append(f"{INDENT * 2}return {{" + ", ".join(f"{literal(o)}: {variables[o]}" for o in model.outputs)
                     + "}")
    return lines


def _metric_source(model, registry, needed: set[str]) -> str:
    """{output: [(log name, fresh metric)]} as source, ``accuracy`` resolved as Keras does."""
    losses = dict(model.training.losses)
    per_output = []
    for o in model.outputs:
        loss = registry.losses.get(losses.get(o) or losses.get("", ""))
        labels = loss.labels if loss is not None else "values"
        shape = tuple(model.tensor_shape(o))
        items = []
        for target, name in model.training.metrics:
            if target and target != o:
                continue
            key = METRICS[name]
            log = key
            if key == "accuracy":
                key = ("sparse_categorical_accuracy" if labels == "sparse" else
                       "binary_accuracy" if labels == "binary" or shape[-1:] == (1,) else "categorical_accuracy")
            if key in _METRIC_SOURCE:
                maker = _METRIC_SOURCE[key]
                needed.update({"Confusion", "RootMeanSquaredError", "R2Score", "Metric",
                               "cosine_similarity_metric"} & set(maker.replace("(", " ").replace(")", " ").split()))
            elif key in _AS_TARGETS:
                maker = f"Metric(as_targets({key}))"
                needed.update({"Metric", "as_targets", key})
            else:
                maker = f"Metric({key})"
                needed.update({"Metric", key})
            items.append(f"({literal(log)}, {maker})")
        per_output.append(f"{literal(o)}: [{', '.join(items)}]")
    return "{" + ", ".join(per_output) + "}"


_TRAINING = '''

def batches(arrays, rows, batch_size):
    """Yield dicts of tensors, batch_size rows at a time, in the order of `rows`."""
    for start in range(0, len(rows), batch_size):
        index = rows[start:start + batch_size]
        yield {name: a[index] for name, a in arrays.items()}


def as_dict(data, names):
    return {name: torch.as_tensor(a).to(DEVICE) for name, a in (data if isinstance(data, dict) else
                                                                 {names[0]: data}).items()}


def run_epoch(model, x, y, optimizer=None):
    """One pass over (x, y): trains when an optimizer is given; returns the logs."""
    model.train(optimizer is not None)
    n = len(next(iter(x.values())))
    rows = torch.randperm(n, device=DEVICE) if optimizer is not None and SHUFFLE else torch.arange(n, device=DEVICE)
    metrics = make_metrics()
    total = 0.0
    for xb, yb in zip(batches(x, rows, BATCH_SIZE), batches(y, rows, BATCH_SIZE)):
        with torch.set_grad_enabled(optimizer is not None):
            out = model(*(xb[name] for name in INPUT_NAMES))
            out = out if isinstance(out, dict) else {OUTPUT_NAMES[0]: out}
            loss = sum(LOSS_WEIGHTS.get(name, 1.0) * loss_value(LOSS[name], yb[name], out[name]) for name in LOSS)
        if optimizer is not None:
            optimizer.zero_grad()
            loss.backward()
            clip_gradients(model)
            optimizer.step()
        total += float(loss.detach()) * len(next(iter(xb.values())))
        for name, pairs in metrics.items():
            for _, metric in pairs:
                metric.update(yb[name], out[name].detach())
    logs = {"loss": total / n}
    for name, pairs in metrics.items():
        for log, metric in pairs:
            logs[log if len(OUTPUT_NAMES) == 1 else f"{name}_{log}"] = metric.result()
    return logs


def report(prefix, logs):
    return prefix + ", ".join(f"{name} {value:.4f}" for name, value in logs.items())


def train():
    """Train as the spec says, print each epoch's logs, evaluate on the held-out test set."""
    if SEED is not None:
        torch.manual_seed(SEED)
    train_data, validation, test = load_data()
    model = Model().to(DEVICE)
    optimizer = make_optimizer(model.parameters())
    x, y = as_dict(train_data[0], INPUT_NAMES), as_dict(train_data[1], OUTPUT_NAMES)
    for epoch in range(EPOCHS):
        logs = run_epoch(model, x, y, optimizer)
        if validation is not None:
            val_logs = run_epoch(model, as_dict(validation[0], INPUT_NAMES), as_dict(validation[1], OUTPUT_NAMES))
            logs.update({"val_" + name: value for name, value in val_logs.items()})
        print(report(f"epoch {epoch + 1}/{EPOCHS}: ", logs))
    print(report("test: ", run_epoch(model, as_dict(test[0], INPUT_NAMES), as_dict(test[1], OUTPUT_NAMES))))
    return model
'''


def _clip_lines(opt) -> list[str]:
    """clip_gradients(model), or nothing when the spec's optimizer clips nothing."""
    a = opt.attr if opt is not None else {}
    lines = ["", "", "def clip_gradients(model):",
             f'{INDENT}"""The optimizer\'s clipnorm / clipvalue / global_clipnorm, as Keras applies them."""',
             f"{INDENT}params = [p for p in model.parameters() if p.grad is not None]"]
    body = []
    if a.get("clipvalue") is not None:
        body.append(f"{INDENT}torch.nn.utils.clip_grad_value_(params, {literal(a['clipvalue'])})")
    if a.get("clipnorm") is not None:
        body += [f"{INDENT}for p in params:  # Keras clips each gradient on its own",
                 f"{INDENT * 2}torch.nn.utils.clip_grad_norm_([p], {literal(a['clipnorm'])})"]
    if a.get("global_clipnorm") is not None:
        body.append(f"{INDENT}torch.nn.utils.clip_grad_norm_(params, {literal(a['global_clipnorm'])})")
    return lines + body if body else []


def emit_script(model, registry, source_name: str | None = None, seed: int | None = None, data_dir: str = "",
                **options: Any) -> str:
    """The script; ``seed`` overrides the spec's ``fit seed=``, ``data_dir`` is the spec's folder
    as seen from the script (data paths are relative to the script's own folder)."""
    from nndsl import __version__
    from nndsl.backends.pydata import data_lines

    the_plan = plan(model, registry)
    needed: set[str] = set()
    module_lines = _module_lines(model, the_plan, needed)
    data_imports, constants, data_fn, _ = data_lines(model, registry, data_dir=data_dir)
    data_fn = [line.replace("keras.datasets.mnist.load_data()", "mnist_from_keras_cache()") for line in data_fn]
    if seed is None:
        seed = model.training.fit_options.get("seed")
    trains = bool(data_fn) and bool(model.training.losses)
    training: list[str] = []
    if trains:
        fit = model.training.fit_options
        opt = model.training.optimizer or default_optimizer()
        optimizer = optimizer_call(opt)
        needed.update({"loss_value"} | {loss_function(name, registry) for _, name in model.training.losses})
        loss_map = dict(model.training.losses)
        losses = {o: loss_function(loss_map.get(o) or loss_map.get(""), registry) for o in model.outputs
                  if loss_map.get(o) or loss_map.get("")}
        opt_call = _call_source(Call(optimizer.cls, (), optimizer.kwargs), needed)
        opt_call = opt_call.replace("(", "(parameters, ", 1) if optimizer.kwargs else opt_call.replace(
            "(", "(parameters", 1)
        training = [
            "DEVICE = torch.device(\"cuda\" if torch.cuda.is_available() else \"cpu\")",
            f"EPOCHS = {literal(int(fit.get('epochs', 10)))}",
            f"BATCH_SIZE = {literal(int(fit.get('batch_size', 32)))}",
            f"SHUFFLE = {literal(bool(fit.get('shuffle', True)))}",
            f"INPUT_NAMES = {literal(tuple(i.name for i in model.inputs))}",
            f"OUTPUT_NAMES = {literal(tuple(model.outputs))}",
            "LOSS = {" + ", ".join(f"{literal(o)}: {fn}" for o, fn in losses.items()) + "}  # per output",
            "LOSS_WEIGHTS = " + literal({o: float(w) for o, w in getattr(model.training, "loss_weights", ())})
            + "  # outputs not named weigh 1",
            "", "",
            "def make_optimizer(parameters):",
            f"{INDENT}return {opt_call}",
            "", "",
            "def make_metrics():",
            f"{INDENT}return {_metric_source(model, registry, needed)}",
            *_clip_lines(opt),
        ] + _TRAINING.split("\n")
        if not _clip_lines(opt):
            training = [line for line in training if line.strip() != "clip_gradients(model)"]
    plugin_imports = sorted(n for n in needed if n.startswith("import "))
    runtime = runtime_source(needed)
    origin = f" from {string_literal(source_name)[1:-1]}" if source_name else ""
    out = [f'"""{string_literal(model.name)[1:-1]}: a PyTorch script generated by nndsl {__version__}{origin}.',
           "",
           "Regenerate with `nndsl emit --python --backend torch SPEC` rather than editing by hand. The",
           "definitions above Model come from nndsl_torch.runtime: they compute what the Keras layers, losses",
           "and metrics of the same names compute, on channels-last tensors.",
           '"""', "", *sorted({"import math", "import os"} | {i for i in data_imports if i.startswith("import ")}),
           ""]
    if data_fn:
        out.append("import numpy as np")
    out += ["import torch", "from torch import nn", "from torch.nn import functional as F", *plugin_imports, "", "",
            f"SEED = {literal(None if seed is None else int(seed))}  # fit seed= or nndsl emit --seed; None: unseeded"]
    if constants:
        out += constants
    out += ["", ""]
    for chunk in runtime:
        out += chunk.split("\n") + ["", ""]
    out += module_lines
    if data_fn:
        out += ["", "", *_MNIST_CACHE.strip("\n").split("\n"), "", ""] + data_fn
    if training:
        out += ["", ""] + training
    out += ["", "", 'if __name__ == "__main__":']
    if trains:
        out.append(f"{INDENT}train()")
    else:
        out += [f"{INDENT}model = Model()", f"{INDENT}print(model)"]
        if data_fn or model.training.data is not None:
            out.append(f"{INDENT}# This data source is loaded by `nndsl run` (it has no plain-NumPy loader here).")
    text = "\n".join(out) + "\n"
    while "\n\n\n\n" in text:
        text = text.replace("\n\n\n\n", "\n\n\n")
    return text


_MNIST_CACHE = '''
def mnist_from_keras_cache():
    """MNIST as Keras caches it (~/.keras/datasets/mnist.npz, or $KERAS_HOME/datasets)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    path = os.path.join(home, "datasets", "mnist.npz")
    if not os.path.exists(path):  # load_arrays() then takes nndsl's bundled digits, as `nndsl run` does
        raise FileNotFoundError(f"MNIST is not in {path}")
    with np.load(path, allow_pickle=False) as data:
        return (data["x_train"], data["y_train"]), (data["x_test"], data["y_test"])
'''

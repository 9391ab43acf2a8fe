"""Render a checked model as a standalone, readable Keras script.

It reads the same KerasCall descriptions as the live build (:mod:`.lower`). Nothing from
the spec reaches the output as raw text: names and values go through
:mod:`nndsl.backends.pysource`. The output is deterministic and formatted like hand-written code.
"""

from __future__ import annotations

from typing import Any

from ... import ir
from ..pysource import EmitError, dotted, identifier, keyword_name, literal as plain_literal, string_literal
from .lower import KerasCall, KerasLowering, compile_arguments
from .lower import HELPERS, KERAS_MODULES

INDENT = "    "

__all__ = ["emit_python", "literal", "call_source", "identifier", "string_literal", "EmitError"]


def literal(value: Any, imports: set[str] | None = None) -> str:
    """Python source for a plain value or a KerasCall; raises EmitError for anything else."""
    return plain_literal(value, lambda v: call_source(v, imports) if isinstance(v, KerasCall) else None)


def call_source(call: KerasCall, imports: set[str] | None = None) -> str:
    if not (call.cls.isascii() and call.cls.isidentifier()):
        raise EmitError(f"not a safe class name: {call.cls!r}")
    if call.module == "layers":
        prefix = "layers"
    elif call.module.split(".")[0] in KERAS_MODULES:
        prefix = f"keras.{dotted(call.module)}"
    elif call.module == HELPERS:  # a helper function whose source the script carries
        if imports is not None:
            imports.add(f"{HELPERS}:{call.cls}")
        prefix = ""
    else:
        prefix = dotted(call.module)
        if imports is not None:
            imports.add(prefix)
    args = [literal(a, imports) for a in call.args]
    for k, v in call.kwargs:
        args.append(f"{keyword_name(k)}={literal(v, imports)}")
    return f"{prefix + '.' if prefix else ''}{call.cls}({', '.join(args)})"


def helper_source(name: str) -> str:
    """The source of one function of nndsl/backends/keras_helpers.py, read as text (no import)."""
    import ast as pyast
    from importlib import resources

    text = resources.files("nndsl.backends").joinpath("keras_helpers.py").read_text(encoding="utf-8")
    for node in pyast.parse(text).body:
        if isinstance(node, pyast.FunctionDef) and node.name == name:
            return pyast.get_source_segment(text, node) or ""
    raise EmitError(f"no helper function {name!r}")


def _layer_source(node: ir.Node, lowering: KerasLowering, imports: set[str]) -> str:
    return call_source(lowering.node_call(node), imports)


def _apply(layer_src: str, node: ir.Node, var: dict[str, str], lowering: KerasLowering) -> str:
    style = lowering.input_style(node.op)
    ins = [var[s] for s in node.inputs]
    if style == "list":
        return f"{layer_src}([{', '.join(ins)}])"
    if style == "args":
        return f"{layer_src}({', '.join(ins if len(ins) > 1 else ins * 2)})"
    return f"{layer_src}({ins[0]})"


def _compile_lines(model: ir.Model, registry, imports: set[str]) -> list[str]:
    args = compile_arguments(model, registry)
    lines = [f"{INDENT}model.compile("]
    for k, v in args.items():
        if k == "steps_per_execution" and isinstance(v, int) and v > 1:
            # Keras on PyTorch takes one batch per call; the script runs on any Keras backend.
            lines.append(f'{INDENT * 2}{k}=1 if keras.backend.backend() == "torch" else {literal(v, imports)},')
            continue
        lines.append(f"{INDENT * 2}{k}={literal(v, imports)},")
    lines.append(f"{INDENT})")
    return lines


def build_function(model: ir.Model, registry, sequential: bool, imports: set[str]) -> list[str]:
    lines = ["def build_model():", f'{INDENT}"""The model of {model.name}, compiled as the spec says."""']
    lowering = KerasLowering(registry)
    if sequential:
        (inp,) = model.inputs
        lines.append(f"{INDENT}model = keras.Sequential(name={literal(model.name)})")
        lines.append(f"{INDENT}model.add(keras.Input(shape={literal(tuple(inp.shape))}"
                     + (f", dtype={literal(inp.dtype)}" if inp.dtype != "float32" else "")
                     + f", name={literal(inp.name)}))")
        for node in model.nodes:
            lines.append(f"{INDENT}model.add({_layer_source(node, lowering, imports)})")
    else:
        var: dict[str, str] = {}
        used: set[str] = set()

        def fresh(name: str) -> str:
            v = identifier(name)
            while v in used:
                v += "_"
            used.add(v)
            var[name] = v
            return v

        for inp in model.inputs:
            v = fresh(inp.name)
            lines.append(f"{INDENT}{v} = keras.Input(shape={literal(tuple(inp.shape))}"
                         + (f", dtype={literal(inp.dtype)}" if inp.dtype != "float32" else "")
                         + f", name={literal(inp.name)})")
        for node in model.nodes:
            src = _apply(_layer_source(node, lowering, imports), node, var, lowering)
            lines.append(f"{INDENT}{fresh(node.name)} = {src}")
        if len(model.inputs) == 1:
            ins = var[model.inputs[0].name]
        else:
            ins = "{" + ", ".join(f"{literal(i.name)}: {var[i.name]}" for i in model.inputs) + "}"
        if len(model.outputs) == 1:
            outs = var[model.outputs[0]]
        else:
            outs = "{" + ", ".join(f"{literal(o)}: {var[o]}" for o in model.outputs) + "}"
        lines.append(f"{INDENT}model = keras.Model({ins}, {outs}, name={literal(model.name)})")
    lines += _compile_lines(model, registry, imports)
    lines.append(f"{INDENT}return model")
    return lines


def callback_sources(model: ir.Model, registry, imports: set[str]) -> list[str]:
    """Each ``callback`` statement as Python: the same KerasCall ``run`` instantiates."""
    from .training import callback_call

    lowering = KerasLowering(registry)
    return [call_source(callback_call(cb, lowering), imports) for cb in model.training.callbacks]


def emit_python(model: ir.Model, registry, sequential: bool, source_name: str | None = None,
                seed: int | None = None, data_dir: str = "", **options: Any) -> str:
    """The whole script: header, imports, build_model(), and a main that trains when it can.

    ``seed`` overrides the spec's ``fit seed=``; ``data_dir`` is the spec's folder as seen from
    the folder the script is written to (relative data paths are rewritten through it).
    """
    from ...version import __version__
    from ..pydata import data_lines

    imports: set[str] = set()
    body = build_function(model, registry, sequential, imports)
    callbacks = callback_sources(model, registry, imports)
    data_imports, constants, data_fn, fit_lines = data_lines(model, registry, data_dir=data_dir,
                                                             callbacks=callbacks, tf_data=True)
    if seed is None:
        seed = model.training.fit_options.get("seed")
    origin = f" from {string_literal(source_name)[1:-1]}" if source_name else ""
    header = [f'"""{model.name}: generated by nndsl {__version__}{origin}.',
              "",
              "What `nndsl run` does, in plain Keras: the same model, compile settings, callbacks, seed",
              "(keras.utils.set_random_seed: weights, data order, dropout), data preparation, shuffle and",
              "splits. Only the batching differs: `run` on TensorFlow feeds whole batches through tf.data.",
              "Data paths are relative to this script's folder. Regenerate with",
              "`nndsl emit --python SPEC -o SCRIPT` rather than editing by hand.",
              '"""',
              ""]
    imports |= {m for m in data_imports if m.startswith(HELPERS + ":")}
    import_lines = sorted(m for m in data_imports if not m.startswith(HELPERS + ":"))
    if data_fn:
        import_lines.append("import numpy as np")
    import_lines += ["import keras", "from keras import layers"]
    helpers = sorted(m.split(":", 1)[1] for m in imports if m.startswith(HELPERS + ":"))
    import_lines += [f"import {m}" for m in sorted(imports) if not m.startswith(HELPERS + ":")]
    out = header + import_lines + ["", ""]
    out += [f"SEED = {literal(None if seed is None else int(seed))}  # fit seed= or nndsl emit --seed; None: unseeded"]
    out += constants + ["", ""]
    for name in helpers:
        out += helper_source(name).split("\n") + ["", ""]
    out += body
    if data_fn:
        out += ["", ""] + data_fn
    main_lines = ["if SEED is not None:", f"{INDENT}keras.utils.set_random_seed(SEED)",
                  "model = build_model()", "model.summary()"] + fit_lines
    out += ["", "", 'if __name__ == "__main__":'] + [INDENT + line if line else "" for line in main_lines]
    return "\n".join(out) + "\n"

"""The catalogue section of spec/LANGUAGE.md, generated from a registry.

What exists (layers, optimizers, losses, metrics, activations) and what the training
statements take is data in the registry and in :mod:`nndsl.statements`; writing it out by
hand would go stale the day a layer lands. ``render_catalogue`` turns it into Markdown, and
``python -m nndsl.catalogue --write spec/LANGUAGE.md`` replaces the text between the markers
``<!-- catalogue:start -->`` and ``<!-- catalogue:end -->``; a test fails when they differ.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Iterable, Sequence

from . import docblocks

from .params import Param
from .registry import Registry

START = "<!-- catalogue:start -->"
END = "<!-- catalogue:end -->"


def builtin_registry() -> Registry:
    """The registry of the built-in plugins only: what the reference documents."""
    from .plugins import build_registry, get_plugin_manager

    return build_registry(get_plugin_manager(load_entrypoints=False))


# Formatting ---------------------------------------------------------------------------------

def _value(value: Any) -> str:
    """A default value as it is written in a spec."""
    if value is None:
        return "none"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_value(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, str):
        return value
    return repr(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`" if text else ""


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out


def signature(params: Sequence[Param]) -> str:
    """The positional part of a signature: ``units activation?`` (``?`` optional, ``...`` variadic)."""
    parts = []
    for p in params:
        if p.positional:
            parts.append(p.name + ("..." if p.variadic else "") + ("" if p.required else "?"))
    return " ".join(parts)


def _param_rows(params: Sequence[Param]) -> list[tuple[str, ...]]:
    rows = []
    for i, p in enumerate(params):
        pos = ""
        if p.positional:
            pos = "yes, variadic" if p.variadic else f"yes ({sum(q.positional for q in params[:i]) + 1})"
        default = "required" if p.required else _code(_value(p.default))
        rows.append((_code(p.name), kind_text(p.kind), default, pos, p.doc))
    return rows


def kind_text(kind: Any) -> str:
    """What a parameter accepts, in words, with a number's range where it has one."""
    from .params import Float, Int, Optional

    if isinstance(kind, Optional):
        return f"{kind_text(kind.inner)} or none"
    text = kind.expected
    if isinstance(kind, Float) and (kind.min is not None or kind.max is not None):
        lo = "(" if kind.min_open else "["
        hi = ")" if kind.max_open else "]"
        low = _value(kind.min) if kind.min is not None else "-inf"
        high = _value(kind.max) if kind.max is not None else "inf"
        if kind.max is None:
            hi = ")"
        if kind.min is None:
            lo = "("
        text += f" in {lo}{low}, {high}{hi}"
    elif isinstance(kind, Int) and kind.max is not None:
        text += f" <= {kind.max}"
    return text


def _param_table(params: Sequence[Param]) -> list[str]:
    if not params:
        return ["No options."]
    return _table(("option", "kind", "default", "positional", "notes"), _param_rows(params))


def _aliases(item: Any) -> str:
    return ", ".join(_code(a) for a in getattr(item, "aliases", ()))


def _canonical(table: dict) -> list[Any]:
    seen: dict[str, Any] = {}
    for item in table.values():
        seen.setdefault(item.name, item)
    return [seen[n] for n in sorted(seen)]


def _keras(registry: Registry, kind: str, name: str) -> str:
    """What the Keras backends lower a definition to (the catalogue's Keras column), or '-'."""
    value = registry.lowerings("keras").get(kind, name)
    if isinstance(value, str):
        return value
    return getattr(value, "name", None) or getattr(value, "cls", None) or "-"


def _keras_loss(registry: Registry, loss) -> str:
    """The name compile() takes for a loss without options: its entry's, else the spelled-out name."""
    value = registry.lowerings("keras").get("loss", loss.name)
    if value is None:
        return "-"
    return value if isinstance(value, str) else getattr(value, "name", None) or loss.long


def _keras_class(registry: Registry, name: str) -> str:
    value = registry.lowerings("keras").get("layer", name)
    return getattr(value, "cls", "-")


# Sections -----------------------------------------------------------------------------------

def _layers(registry: Registry) -> list[str]:
    layers = _canonical(registry.layers)
    out = ["### Layers", "",
           "Each layer is written `NAME positional... key=value...`; positional arguments come in the",
           "order shown (`?` marks an optional one, `...` one that takes every remaining value).",
           "Merge layers take their input tensors in parentheses: `add(a, b)`.", ""]
    out += _table(("layer", "aliases", "Keras class", "signature", "inputs", "description"), [
        (_code(l.name), _aliases(l), _code(_keras_class(registry, l.name)), _code(signature(l.params)), _inputs(l),
         l.doc) for l in layers])
    for category in sorted({l.category for l in layers}):
        for l in (l for l in layers if l.category == category):
            out += ["", f"#### {l.name}", ""]
            line = f"`keras.layers.{_keras_class(registry, l.name)}`"
            if l.aliases:
                line += "; also written " + _aliases(l)
            out += [line + ". " + l.doc if l.doc else line + ".", ""]
            if l.expand_params is not None:
                out += ["Its options depend on the layer it wraps (written first).", ""]
            out += _param_table(l.params)
    return out


def _inputs(layer: Any) -> str:
    lo, hi = layer.min_inputs, layer.max_inputs
    if hi == lo:
        return str(lo)
    return f"{lo}+" if hi is None else f"{lo}-{hi}"


def _optimizers(registry: Registry) -> list[str]:
    out = ["### Optimizers", "",
           "`NAME [learning_rate] key=value...`, or `optimizer NAME ...`.", ""]
    rows = []
    for o in _canonical(registry.optimizers):
        lr = next((p for p in o.params if p.positional), None)
        opts = ", ".join(f"`{p.name}={_value(p.default)}`" for p in o.params if not p.positional)
        rows.append((_code(o.name), _aliases(o), _code(_keras(registry, "optimizer", o.name)),
                     _code(_value(lr.default)) if lr is not None else "", opts))
    return out + _table(("optimizer", "aliases", "Keras class", "learning rate", "options (defaults)"), rows)


def _losses(registry: Registry) -> list[str]:
    out = ["### Losses", "", "`loss NAME [option=value...]` for every output, or `loss OUTPUT=NAME(option=value, ...) ...`",
           "per output.", ""]
    return out + _table(("loss", "aliases", "Keras name", "targets", "options (defaults)"), [
        (_code(l.name), _aliases(l), _code(_keras_loss(registry, l)), l.labels,
         ", ".join(f"`{p.name}={_value(p.default)}`" for p in getattr(l, "params", ())))
        for l in _canonical(registry.losses)])


def _metrics(registry: Registry) -> list[str]:
    out = ["### Metrics", "", "`metrics NAME...`, or `metrics OUTPUT=NAME ...` per output.", ""]
    return out + _table(("metric", "aliases", "Keras name"), [
        (_code(m.name), _aliases(m), _code(_keras(registry, "metric", m.name))) for m in _canonical(registry.metrics)])


def _activations(registry: Registry) -> list[str]:
    out = ["### Activations", "",
           "Usable as a layer's `activation` (`dense 32 relu`), as `activation NAME`, and alone on a",
           "line as a layer (`relu`). `none` means no activation.", ""]
    return out + _table(("activation", "Keras name"), [
        (_code(a.name), _code(_keras(registry, "activation", a.name))) for a in _canonical(registry.activations)])


def _datasets(registry: Registry) -> list[str]:
    out = ["### Data sets", ""]
    if not registry.datasets:
        return out + ["No data set is registered by the built-in plugins in this version; `data` takes a",
                      "quoted path."]
    out += ["`data NAME` names one of these; anything else is a quoted path: `data \"file.npz\"`.", ""]
    return out + _table(("data set", "aliases", "description"), [
        (_code(d.name), _aliases(d), getattr(d, "doc", "")) for d in _canonical(registry.datasets)])


def _statements(registry: Registry) -> list[str]:
    from .statements import DATA_PARAMS, FIT_PARAMS, INPUT_PARAMS

    out = ["### Statement options", "", "#### input", "", "`input [NAME] DIM... dtype=...`.", ""]
    out += _param_table(INPUT_PARAMS)
    out += ["", "#### fit", "", "`fit key=value...`.", ""] + _param_table(FIT_PARAMS)
    out += ["", "#### data", "", "`data NAME` or `data \"path\"`, then options.", ""] + _param_table(DATA_PARAMS)
    for fmt in _canonical(registry.data_formats):
        reads = ("a folder (a path ending in `/`, or without a suffix)" if fmt.folder
                 else ", ".join(f"`{s}`" for s in fmt.suffixes) + " files")
        out += ["", f"#### data format {fmt.name}", "", f"Reads {reads}: {fmt.doc}.", ""]
        out += _param_table(fmt.params) if fmt.params else ["No options."]
    for cb in _canonical(registry.callbacks):
        out += ["", f"#### callback {cb.name}", "", cb.doc[:1].upper() + cb.doc[1:] + ".", ""]
        out += _param_table(cb.params) if cb.params else ["No options."]
    return out


_OBJECT_SECTIONS = (
    ("regularizers", "Regularizers", "`kernel_regularizer=l2(0.01)`, or the bare name for the defaults: `l2`."),
    ("constraints", "Constraints", "`kernel_constraint=max_norm(3)`, or the bare name: `non_neg`."),
    ("initializers", "Initializers", "`kernel_initializer=he_normal(seed=1)`, or the bare name: `he_normal`."),
    ("schedules", "Learning-rate schedules",
     "An optimizer's learning rate: `adam cosine_decay(1e-3, decay_steps=1000)`; the step is the training "
     "step (batch). In `callback learning_rate_scheduler` the step is the epoch."),
)


def _objects(registry: Registry) -> list[str]:
    out: list[str] = []
    for table, title, usage in _OBJECT_SECTIONS:
        rows = []
        for d in _canonical(getattr(registry, table)):
            sig = ", ".join([p.name for p in d.params if p.positional] +
                            [f"{p.name}={_value(p.default)}" for p in d.params if not p.positional])
            rows.append((_code(f"{d.name}({sig})"), _aliases(d), d.doc))
        out += [f"### {title}", "", usage, ""] + _table(("call", "aliases", "meaning"), rows) + [""]
    return out[:-1]


def render_catalogue(registry: Registry) -> str:
    """The catalogue as Markdown: layers, optimizers, losses, metrics, activations, statements.

    Args:
        registry: what to document; ``builtin_registry()`` for the reference.

    Example::

        render_catalogue(builtin_registry()).startswith("### Layers")  # True
    """
    sections = [_layers(registry), _optimizers(registry), _losses(registry), _metrics(registry),
                _activations(registry), _objects(registry), _datasets(registry), _statements(registry)]
    return "\n\n".join("\n".join(s) for s in sections) + "\n"


def replace_block(document: str, catalogue: str) -> str:
    """``document`` with the text between the markers replaced by ``catalogue``."""
    return docblocks.replace_block(document, catalogue, START, END)


def extract_block(document: str) -> str:
    """The text between the markers (what :func:`replace_block` writes)."""
    return docblocks.extract_block(document, START, END)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nndsl.catalogue",
                                     description="Print the catalogue, or rewrite it inside a Markdown file.")
    parser.add_argument("--write", metavar="FILE", help="replace the catalogue block in FILE")
    args = parser.parse_args(argv)
    text = render_catalogue(builtin_registry())
    if not args.write:
        sys.stdout.write(text)
        return 0
    return docblocks.write_block(args.write, text, START, END, "catalogue")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Pass 2: infer every tensor's shape and every layer's parameter and MAC counts.

Each layer's own rules (from its registry definition) do the work; this pass walks the graph
in order, turns ShapeErrors into diagnostics, and stops errors cascading: a layer whose input
failed is skipped silently, since its real problem is already reported.
"""

from __future__ import annotations

from . import codes, ir
from .diagnostics import Diagnostic
from .registry import ParamCount, Registry, ShapeError, plugin_owner
from .semantic.bound import BoundLayer, BoundModel


def format_shape(shape) -> str:
    """A shape the way Keras prints it, batch dimension included: (None, 28, 28, 1)."""
    if not shape:
        return "(None,)"  # one value per sample (a string input): a Python 1-tuple, as Keras prints it
    return "(None" + "".join(", " + ("None" if d is None else str(d)) for d in shape) + ")"


class _BadRule(Exception):
    """A layer's shape or parameter-count rule returned something that is not a shape or count."""


def _run_rules(layer: BoundLayer, attrs: dict, in_shapes: list) -> tuple[tuple, ParamCount, int]:
    shape = layer.layer.output_shape(attrs, in_shapes)
    if not isinstance(shape, (tuple, list)) or not all(
            d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in shape):
        raise _BadRule(f"its shape rule returned {shape!r:.80}; expected a tuple of ints or None")
    count = layer.layer.count_params(attrs, in_shapes)
    if isinstance(count, int) and not isinstance(count, bool):
        count = ParamCount(count)
    if not (isinstance(count, ParamCount) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                                                  for n in (count.trainable, count.non_trainable))):
        raise _BadRule(f"its parameter-count rule returned {count!r:.80}; expected a ParamCount")
    macs = layer.layer.count_macs(attrs, in_shapes)
    if not (isinstance(macs, int) and not isinstance(macs, bool) and macs >= 0):
        raise _BadRule(f"its MAC-count rule returned {macs!r:.80}; expected an int >= 0")
    return tuple(shape), count, macs


def _dtype_problem(layer: BoundLayer, strings: set[str]) -> tuple[str, str] | None:
    """E710/E711 when a string input meets a layer that takes numbers, or the other way round."""
    fed = [s for s in layer.inputs if s in strings]
    if layer.layer.takes == "strings":
        if len(fed) < len(layer.inputs):
            other = next(s for s in layer.inputs if s not in strings)
            return (codes.NUMBERS_TO_STRINGS, f"{layer.layer.name} takes strings, but '{other}' holds numbers")
    elif fed:
        return (codes.STRINGS_TO_NUMBERS, f"{layer.layer.name} takes numbers, but input '{fed[0]}' holds strings")
    return None


def problem_hint(layer: BoundLayer, strings: set[str]) -> str:
    if layer.layer.takes == "strings":
        return "declare the input with dtype=string (input text dtype=string), or use integerlookup for integer ids"
    return "turn strings into numbers first: textvectorization for text, stringlookup for categories"


def infer(bound: BoundModel, registry: Registry | None = None) -> tuple[tuple[ir.Node, ...], list[Diagnostic]]:
    """Shapes and counts for every layer; a rule a plugin wrote that fails is a diagnostic naming it.

    ``registry`` tells plugin layers from built-in ones: a built-in rule that fails is a bug
    in nndsl and propagates.
    """
    shapes: dict[str, tuple] = {i.name: i.shape for i in bound.inputs}
    strings = {i.name for i in bound.inputs if i.dtype == "string"}  # layers never output strings
    nodes: list[ir.Node] = []
    diagnostics: list[Diagnostic] = []
    for layer in bound.layers:
        if any(src not in shapes for src in layer.inputs):
            continue
        in_shapes = [shapes[s] for s in layer.inputs]
        attrs = dict(layer.attrs)
        problem = _dtype_problem(layer, strings)
        if problem is not None:
            diagnostics.append(Diagnostic(*problem, layer.span, problem_hint(layer, strings), origin=layer.origin))
            continue
        try:
            shape, count, macs = _run_rules(layer, attrs, in_shapes)
        except ShapeError as e:
            got = ", ".join(f"{s} {format_shape(shapes[s])}" for s in layer.inputs)
            diagnostics.append(Diagnostic(codes.SHAPE, f"{layer.layer.name}: {e.message} (input: {got})",
                                          layer.span, e.hint, origin=layer.origin))
            continue
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - plugin rules are untrusted code
            owner = plugin_owner(registry, "layers", layer.layer.name)
            if owner is None:
                raise
            detail = str(exc) if isinstance(exc, _BadRule) else f"{type(exc).__name__}: {exc}"
            diagnostics.append(Diagnostic(
                codes.SHAPE, f"layer '{layer.layer.name}' (from plugin {owner}) failed: {detail}", layer.span,
                f"this is a bug in plugin {owner}, not in the spec; report it to its authors", origin=layer.origin))
            continue
        if any(d is not None and d >= 2 ** 63 for d in shape):
            diagnostics.append(Diagnostic(
                codes.SHAPE, f"{layer.layer.name}: an output dimension does not fit in 64 bits", layer.span,
                "no real tensor is that large; check the input shape", origin=layer.origin))
            continue
        if any(d is not None and d <= 0 for d in shape):
            got = ", ".join(format_shape(shapes[s]) for s in layer.inputs)
            diagnostics.append(Diagnostic(
                codes.SHAPE, f"{layer.layer.name}: output shape {format_shape(shape)} has an empty dimension "
                             f"(input: {got})", layer.span,
                "the input is too small for this kernel/pool size; use padding=same or a smaller size",
                origin=layer.origin))
            continue
        shapes[layer.name] = shape
        nodes.append(ir.Node(layer.name, layer.layer.name, layer.attrs, layer.explicit, layer.inputs, shape,
                             count, layer.span, layer.user_named, macs,
                             layer.origin.block_path if layer.origin is not None else ()))
    return tuple(nodes), diagnostics

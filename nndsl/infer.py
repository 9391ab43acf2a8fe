"""Pass 2: infer every tensor's shape and every layer's parameter count.

Each layer's own rules (from its registry definition) do the work; this pass walks the graph
in order, turns ShapeErrors into diagnostics, and stops errors cascading: a layer whose input
failed is skipped silently, since its real problem is already reported.
"""

from __future__ import annotations

from . import codes, ir
from .diagnostics import Diagnostic
from .registry import ParamCount, ShapeError
from .resolve import BoundModel


def format_shape(shape) -> str:
    """A shape the way Keras prints it, batch dimension included: (None, 28, 28, 1)."""
    return "(None" + "".join(", " + ("None" if d is None else str(d)) for d in shape) + ")"


def infer(bound: BoundModel) -> tuple[tuple[ir.Node, ...], list[Diagnostic]]:
    shapes: dict[str, tuple] = {i.name: i.shape for i in bound.inputs}
    nodes: list[ir.Node] = []
    diagnostics: list[Diagnostic] = []
    for layer in bound.layers:
        if any(src not in shapes for src in layer.inputs):
            continue
        in_shapes = [shapes[s] for s in layer.inputs]
        attrs = dict(layer.attrs)
        try:
            shape = tuple(layer.layer.output_shape(attrs, in_shapes))
            count = layer.layer.count_params(attrs, in_shapes)
        except ShapeError as e:
            got = ", ".join(f"{s} {format_shape(shapes[s])}" for s in layer.inputs)
            diagnostics.append(Diagnostic(codes.SHAPE, f"{layer.layer.name}: {e.message} (input: {got})",
                                          layer.span, e.hint))
            continue
        if not isinstance(count, ParamCount):
            count = ParamCount(int(count))
        if any(d is not None and d <= 0 for d in shape):
            got = ", ".join(format_shape(shapes[s]) for s in layer.inputs)
            diagnostics.append(Diagnostic(
                codes.SHAPE, f"{layer.layer.name}: output shape {format_shape(shape)} has an empty dimension "
                             f"(input: {got})", layer.span,
                "the input is too small for this kernel/pool size; use padding=same or a smaller size"))
            continue
        shapes[layer.name] = shape
        nodes.append(ir.Node(layer.name, layer.layer.name, layer.attrs, layer.explicit, layer.inputs, shape,
                             count, layer.span, layer.user_named))
    return tuple(nodes), diagnostics

"""A model summary table in the layout of Keras' ``model.summary()``, from the IR alone.

Keras has no MACs column; nndsl adds one (multiply-accumulates of one sample's forward pass).

The "(type)" column says what each layer is in a backend's words (``layer_type``: the
chosen backend's :meth:`~nndsl.backends.base.Backend.layer_type`); by default the spec's op.
"""

from __future__ import annotations

from typing import Callable

from . import ir
from .infer import format_shape


def _block_row(group: list[ir.Node]) -> tuple[str, str, str, str, str]:
    """One block instance: its total params and MACs, its last layer's shape, what feeds it."""
    instance, _, block = group[0].block_path[0].partition(":")
    inside = {n.name for n in group}
    feeds: list[str] = []
    for n in group:
        feeds += [i for i in n.inputs if i not in inside and i not in feeds]
    params = sum(n.params.total for n in group)
    macs = sum(n.macs for n in group)
    return (f"{instance} ({block}, {len(group)} layers)", format_shape(group[-1].shape), f"{params:,}", f"{macs:,}",
            ", ".join(feeds))


def summary_rows(model: ir.Model, layer_type: Callable[[ir.Node], str] | None = None,
                 by_block: bool = False) -> list[tuple[str, str, str, str, str]]:
    """(layer (type), output shape, params, MACs, connected to) for every input and layer.

    ``by_block``: one row per outermost block instance instead of one per layer inside it.
    """
    rows = []
    show_inputs = not model.is_chain
    if show_inputs:
        for i in model.inputs:
            rows.append((f"{i.name} (InputLayer)", format_shape(i.shape), "0", "0", "-"))
    group: list[ir.Node] = []
    for n in model.nodes:
        if by_block and n.block_path:
            if group and group[0].block_path[0] != n.block_path[0]:
                rows.append(_block_row(group))
                group = []
            group.append(n)
            continue
        if group:
            rows.append(_block_row(group))
            group = []
        cls = layer_type(n) if layer_type is not None else n.op
        rows.append((f"{n.name} ({cls})", format_shape(n.shape), f"{n.params.total:,}", f"{n.macs:,}",
                     ", ".join(n.inputs)))
    if group:
        rows.append(_block_row(group))
    return rows


def render_summary(model: ir.Model, layer_type: Callable[[ir.Node], str] | None = None,
                   by_block: bool = False) -> str:
    """The table; ``by_block`` folds each block instance into one row (``nndsl summary``'s default)."""
    rows = summary_rows(model, layer_type, by_block)
    with_links = not model.is_chain
    headers = ("Layer (type)", "Output Shape", "Param #", "MACs", "Connected to")
    cols = 5 if with_links else 4
    widths = [max(len(headers[c]), *(len(r[c]) for r in rows)) if rows else len(headers[c]) for c in range(cols)]

    def line(cells) -> str:
        parts = []
        for c in range(cols):
            cell = cells[c]
            parts.append(cell.rjust(widths[c]) if c in (2, 3) else cell.ljust(widths[c]))
        return "  ".join(parts).rstrip()

    rule_width = sum(widths) + 2 * (cols - 1)
    out = [f'Model: "{model.name}"', line(headers), "=" * rule_width]
    out += [line(r) for r in rows]
    p = model.params
    out += ["=" * rule_width,
            f"Total params: {p.total:,}",
            f"Trainable params: {p.trainable:,}",
            f"Non-trainable params: {p.non_trainable:,}",
            f"Total MACs: {model.macs:,} (one sample, forward pass)"]
    if model.outputs and not model.is_chain:
        out.append("Outputs: " + ", ".join(f"{o} {format_shape(model.tensor_shape(o))}" for o in model.outputs))
    return "\n".join(out)

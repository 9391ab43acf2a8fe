"""Pictures of a checked model, without Graphviz: SVG, Mermaid, DOT and ASCII from the IR.

Each node shows the layer, its output shape and parameter count; edges follow the data,
inputs at the top, outputs at the bottom. Block instances (v2's ``block_path``) are drawn as
one node with their totals by default (``depth=1``: the outermost blocks; ``depth=2``: the
blocks inside them; ``depth=None``: every layer). The SVG layout is :mod:`nndsl.tools.layout`
(pure Python); Mermaid and DOT leave the layout to their renderers.

Example::

    svg = render(nndsl.check(text), "svg")
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from .. import ir
from ..infer import format_shape
from .layout import layered_layout

__all__ = ["FORMATS", "DiagramNode", "diagram_graph", "render", "render_svg", "render_mermaid", "render_dot",
           "render_ascii"]

FORMATS = ("svg", "mermaid", "dot", "ascii")


@dataclass(frozen=True)
class DiagramNode:
    """One box: a model input, a layer, or a collapsed block instance."""

    id: str
    title: str            # "conv2d_1" / "conv2_block1"
    kind: str             # the op, "input", or the block's name
    shape: str
    params: int
    macs: int
    is_block: bool = False
    layers: int = 1       # layers inside a collapsed block
    is_output: bool = False
    detail: str = ""      # the tooltip: attributes, or the layers a block holds

    @property
    def lines(self) -> tuple[str, ...]:
        if self.kind == "input":
            return (f"{self.title}: input", self.shape)
        head = f"{self.title}: {self.kind}" if self.title != self.kind else self.title
        if self.is_block:
            head += f" ({self.layers} layers)"
        return (head, self.shape, f"{self.params:,} params")


def _attr_text(node: ir.Node) -> str:
    shown = [f"{k}={v!r}" for k, v in node.attrs if k in node.explicit]
    return f"{node.name}: {node.op} " + " ".join(shown)


def diagram_graph(model: ir.Model, depth: int | None = 1) -> tuple[list[DiagramNode], list[tuple[str, str]]]:
    """The nodes and edges to draw: layers, with block instances at ``depth`` folded into one node."""
    outputs = set(model.outputs)
    nodes: dict[str, DiagramNode] = {}
    owner: dict[str, str] = {}     # tensor name -> diagram node id
    groups: dict[str, list[ir.Node]] = {}
    for i in model.inputs:
        nodes[i.name] = DiagramNode(i.name, i.name, "input", format_shape(i.shape), 0, 0)
        owner[i.name] = i.name
    order: list[str] = list(nodes)
    for n in model.nodes:
        if depth is not None and len(n.block_path) >= depth:
            key = "/".join(n.block_path[:depth])
            gid = "block:" + key
            if gid not in groups:
                groups[gid] = []
                order.append(gid)
            groups[gid].append(n)
            owner[n.name] = gid
        else:
            owner[n.name] = n.name
            order.append(n.name)
    by_name = {n.name: n for n in model.nodes}
    consumers = model.consumers()
    for gid, members in groups.items():
        inside = {m.name for m in members}
        # The group's result: a member read outside the group (or an output), last of those.
        leaving = [m for m in members if m.name in outputs or any(c not in inside for c in consumers.get(m.name, ()))]
        result = (leaving or members)[-1]
        instance, _, block = members[0].block_path[depth - 1].partition(":")
        nodes[gid] = DiagramNode(
            gid, instance, block or instance, format_shape(result.shape), sum(m.params.total for m in members),
            sum(m.macs for m in members), is_block=True, layers=len(members),
            is_output=any(m.name in outputs for m in members),
            detail="\n".join(_attr_text(m) for m in members[:40]) + ("\n..." if len(members) > 40 else ""))
    for name in order:
        if name in by_name:
            n = by_name[name]
            nodes[name] = DiagramNode(name, name, n.op, format_shape(n.shape), n.params.total, n.macs,
                                      is_output=name in outputs, detail=_attr_text(n))
    edges: list[tuple[str, str]] = []
    seen: set = set()
    for n in model.nodes:
        dst = owner[n.name]
        for src_tensor in n.inputs:
            src = owner.get(src_tensor, src_tensor)
            if src != dst and (src, dst) not in seen:
                seen.add((src, dst))
                edges.append((src, dst))
    return [nodes[k] for k in order], edges


# SVG --------------------------------------------------------------------------------------

_CHAR_W = 7.2
_LINE_H = 15.0
_PAD_X = 10.0
_PAD_Y = 7.0

_FILLS = [
    (("input",), "#e8f1fb", "#4a7ab5"),
    (("conv", "depthwise", "separable"), "#fdf0e1", "#c7822b"),
    (("dense", "embedding", "attention", "multiheadattention", "lstm", "gru", "rnn"), "#fbe9ec", "#b5475a"),
    (("norm",), "#eef7ea", "#5b9a45"),
    (("pool", "upsampling", "zeropadding", "cropping", "reshape", "flatten", "permute", "repeat"),
     "#f0eef8", "#7a68b0"),
    (("add", "concat", "multiply", "average", "subtract", "maximum", "minimum", "dot"), "#fff9d9", "#a08a1c"),
]


def _colors(node: DiagramNode) -> tuple[str, str]:
    if node.is_block:
        return "#e9f4f6", "#2f7f8c"
    for keys, fill, stroke in _FILLS:
        if any(k in node.kind for k in keys):
            return fill, stroke
    return "#f4f4f4", "#777777"


def _size(node: DiagramNode) -> tuple[float, float]:
    lines = node.lines
    return (max(len(s) for s in lines) * _CHAR_W + 2 * _PAD_X, len(lines) * _LINE_H + 2 * _PAD_Y)


def _path(points) -> str:
    """A smooth path through the points: vertical tangents at each end of every segment."""
    (x0, y0), rest = points[0], points[1:]
    out = [f"M{x0:.1f},{y0:.1f}"]
    px, py = x0, y0
    for x, y in rest:
        if x == px:
            out.append(f"L{x:.1f},{y:.1f}")
        else:
            my = (py + y) / 2
            out.append(f"C{px:.1f},{my:.1f} {x:.1f},{my:.1f} {x:.1f},{y:.1f}")
        px, py = x, y
    return " ".join(out)


def render_svg(model: ir.Model, depth: int | None = 1) -> str:
    """A self-contained SVG document (no scripts, no external fonts or files)."""
    nodes, edges = diagram_graph(model, depth)
    layout = layered_layout({n.id: _size(n) for n in nodes}, edges)
    p = model.params
    footer = f"{model.name}: {p.total:,} params ({p.trainable:,} trainable), {model.macs:,} MACs"
    w, h = max(layout.width, len(footer) * _CHAR_W + 40), layout.height + 28
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" '
        f'viewBox="0 0 {w:.0f} {h:.0f}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="12">',
        f"<title>{escape(model.name)}</title>",
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" "
        "orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>",
        '<rect width="100%" height="100%" fill="white"/>',
        '<g class="edges" fill="none" stroke="#555" stroke-width="1.3">',
    ]
    for a, b, pts in layout.edges:
        out.append(f'<path class="edge" data-from={quoteattr(a)} data-to={quoteattr(b)} d="{_path(pts)}" '
                   'marker-end="url(#arrow)"/>')
    out.append("</g>")
    out.append('<g class="nodes">')
    for n in nodes:
        box = layout.nodes[n.id]
        fill, stroke = _colors(n)
        width = 2.6 if n.is_output else 1.2
        rx = 10 if n.is_block else 4
        out.append(f'<g class="node{" block" if n.is_block else ""}" id={quoteattr("node-" + n.id)}>')
        out.append(f"<title>{escape(n.detail or n.title)}</title>")
        out.append(f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" height="{box.height:.1f}" '
                   f'rx="{rx}" fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>')
        if n.is_block:
            out.append(f'<rect x="{box.x + 3:.1f}" y="{box.y + 3:.1f}" width="{box.width - 6:.1f}" '
                       f'height="{box.height - 6:.1f}" rx="{rx - 2}" fill="none" stroke="{stroke}" '
                       'stroke-width="0.6"/>')
        for k, line in enumerate(n.lines):
            y = box.y + _PAD_Y + _LINE_H * (k + 0.8)
            weight = ' font-weight="bold"' if k == 0 else ' fill="#333"'
            out.append(f'<text x="{box.center_x:.1f}" y="{y:.1f}" text-anchor="middle"{weight}>{escape(line)}</text>')
        out.append("</g>")
    out.append("</g>")
    out.append(f'<text class="footer" x="20" y="{h - 12:.0f}" fill="#333">{escape(footer)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


# Text formats -----------------------------------------------------------------------------

def _ident(name: str, taken: dict) -> str:
    base = "n_" + re.sub(r"[^A-Za-z0-9_]", "_", name)  # "n_": Mermaid reserves words such as `end`
    ident, k = base, 1
    while ident in taken.values() and taken.get(name) != ident:
        k += 1
        ident = f"{base}_{k}"
    taken[name] = ident
    return ident


def render_mermaid(model: ir.Model, depth: int | None = 1) -> str:
    """A Mermaid flowchart (GitHub renders it in a ```mermaid block)."""
    nodes, edges = diagram_graph(model, depth)
    ids: dict = {}
    out = ["flowchart TD"]
    for n in nodes:
        label = "<br/>".join(n.lines).replace('"', "#quot;")
        i = _ident(n.id, ids)
        shape = ('[["', '"]]') if n.is_block else (('(["', '"])') if n.kind == "input" else ('["', '"]'))
        out.append(f"    {i}{shape[0]}{label}{shape[1]}")
    for a, b in edges:
        out.append(f"    {ids[a]} --> {ids[b]}")
    return "\n".join(out) + "\n"


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_dot(model: ir.Model, depth: int | None = 1) -> str:
    """Graphviz DOT text (for those who have Graphviz: ``dot -Tpng``)."""
    nodes, edges = diagram_graph(model, depth)
    out = [f"digraph {_dot_string(model.name)} {{", "    rankdir=TB;",
           '    node [shape=box, style="rounded,filled", fontname="monospace", fontsize=10];']
    for n in nodes:
        fill, stroke = _colors(n)
        extra = ", penwidth=2.5" if n.is_output else ""
        extra += ", peripheries=2" if n.is_block else ""
        out.append(f"    {_dot_string(n.id)} [label={_dot_string(chr(10).join(n.lines))}, "
                   f'fillcolor="{fill}", color="{stroke}"{extra}];')
    for a, b in edges:
        out.append(f"    {_dot_string(a)} -> {_dot_string(b)};")
    out.append("}")
    return "\n".join(out) + "\n"


def render_ascii(model: ir.Model, depth: int | None = 1) -> str:
    """The graph in the terminal: one box per node, top to bottom; joins name what they read."""
    nodes, edges = diagram_graph(model, depth)
    preds: dict = {n.id: [] for n in nodes}
    for a, b in edges:
        preds[b].append(a)
    titles = {n.id: n.title for n in nodes}
    out: list[str] = []
    previous = None
    for n in nodes:
        lines = list(n.lines)
        ins = preds[n.id]
        if out:
            if ins == [previous]:
                out.append("   │")
                out.append("   ▼")
            else:
                out.append("")
                if ins:
                    out.append("   ◀ " + ", ".join(titles[i] for i in ins))
        width = max(len(s) for s in lines)
        edge = "═" if n.is_block else "─"
        corners = ("╔", "╗", "╚", "╝", "║") if n.is_block else ("┌", "┐", "└", "┘", "│")
        out.append(corners[0] + edge * (width + 2) + corners[1])
        for s in lines:
            out.append(f"{corners[4]} {s.ljust(width)} {corners[4]}")
        out.append(corners[2] + edge * (width + 2) + corners[3] + ("  → output" if n.is_output else ""))
        previous = n.id
    return "\n".join(out) + "\n"


def render(model: ir.Model, fmt: str = "svg", depth: int | None = 1) -> str:
    """The diagram of ``model`` in ``fmt`` (one of :data:`FORMATS`)."""
    renderers = {"svg": render_svg, "mermaid": render_mermaid, "dot": render_dot, "ascii": render_ascii}
    if fmt not in renderers:
        raise ValueError(f"unknown diagram format {fmt!r}; use one of {', '.join(FORMATS)}")
    return renderers[fmt](model, depth)

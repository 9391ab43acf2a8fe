"""The plugin module named by the `nndsl` entry point: one layer, its lowerings, one backend.

The layer's definition says what it means; ``nndsl_lowerings`` says how each backend builds
it: Keras by this plugin's own class (named by module path, imported only when a model is
built, so nothing here imports Keras) and the ``dot`` backend by a colour.
"""

from __future__ import annotations

import json

import nndsl
from nndsl.backends.base import Backend
from nndsl.backends.keras import keras_layer
from nndsl.lowering import Lowering
from nndsl.params import Bool, Param
from nndsl.registry import LayerDef, ParamCount, ShapeError


def _scale_shape(attrs, shapes):
    (shape,) = shapes
    if not shape or shape[-1] is None:
        raise ShapeError("needs a known last dimension", "scale learns one factor per feature of the last axis")
    return shape


def _scale_params(attrs, shapes):
    features = shapes[0][-1]
    return ParamCount(features * (2 if attrs["use_offset"] else 1))


SCALE = LayerDef(
    name="scale",
    auto_name="scale",
    params=(Param("use_offset", Bool(), default=False, positional=True, doc="also learn an offset"),),
    output_shape=_scale_shape,
    count_params=_scale_params,
    doc="A learnable per-feature scale (and optional offset) on the last axis.",
    category="extras",
)


def _quote(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid DOT quoted string


class DotBackend(Backend):
    """Renders the checked model as a Graphviz digraph: one box per layer, shapes on the edges."""

    name = "dot"
    description = "Graphviz DOT text of the model graph (emit only)"
    emits = ("dot",)

    def emit(self, model, registry, fmt="dot", **options):
        if fmt != "dot":
            return super().emit(model, registry, fmt)
        lines = [f"digraph {_quote(model.name)} {{", "  rankdir=TB;", "  node [shape=box, fontname=Helvetica];"]
        for inp in model.inputs:
            lines.append(f"  {_quote(inp.name)} [label={_quote(f'{inp.name}: input {inp.shape}')}, shape=ellipse];")
        for node in model.nodes:
            style = self.lower_layer(node, registry) or {}  # this backend's table: a style per layer
            extra = "".join(f", {k}={_quote(str(v))}" for k, v in sorted(style.items()))
            label = f"{node.name}: {node.op}\n{node.params.total:,} params"
            lines.append(f"  {_quote(node.name)} [label={_quote(label)}{extra}];")
            for src in node.inputs:
                lines.append(f"  {_quote(src)} -> {_quote(node.name)} [label={_quote(str(model.tensor_shape(src)))}];")
        for out in model.outputs:
            lines.append(f"  {_quote(out)} [peripheries=2];")
        lines.append("}")
        return "\n".join(lines) + "\n"


@nndsl.hookimpl
def nndsl_layers():
    return [SCALE]


@nndsl.hookimpl
def nndsl_backends():
    return [DotBackend()]


@nndsl.hookimpl
def nndsl_lowerings(backend):
    """Keras builds `scale` with this plugin's class; the `dot` backend draws it dark green."""
    if backend == "keras":
        return [keras_layer("scale", "Scale", module="nndsl_extras.keras_layers")]
    if backend == "dot":
        return [Lowering("layer", "scale", {"color": "darkgreen"})]
    return None

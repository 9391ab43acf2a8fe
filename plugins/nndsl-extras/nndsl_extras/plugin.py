"""The plugin module named by the `nndsl` entry point: one layer, one backend.

Nothing here imports Keras: the layer's Keras lowering names its class by module path
(``KerasCall(..., module="nndsl_extras.keras_layers")``), imported only when a model is built.
"""

from __future__ import annotations

import json

import nndsl
from nndsl.backends.base import Backend
from nndsl.params import Bool, Param
from nndsl.registry import KerasCall, LayerDef, ParamCount, ShapeError, default_keras_call


def _scale_shape(attrs, shapes):
    (shape,) = shapes
    if not shape or shape[-1] is None:
        raise ShapeError("needs a known last dimension", "scale learns one factor per feature of the last axis")
    return shape


def _scale_params(attrs, shapes):
    features = shapes[0][-1]
    return ParamCount(features * (2 if attrs["use_offset"] else 1))


def _scale_keras_call(attrs, explicit):
    """Lower to this plugin's own Keras class; only explicitly written options are passed."""
    call = default_keras_call("Scale", SCALE.params, attrs, explicit, 0)
    return KerasCall(call.cls, call.args, call.kwargs, module="nndsl_extras.keras_layers")


SCALE = LayerDef(
    name="scale",
    keras_class="Scale",
    params=(Param("use_offset", Bool(), default=False, positional=True, doc="also learn an offset"),),
    output_shape=_scale_shape,
    count_params=_scale_params,
    doc="A learnable per-feature scale (and optional offset) on the last axis.",
    category="extras",
    lower_keras=_scale_keras_call,
    # How the `dot` backend below draws it: a per-backend lowering carried by the layer.
    lowerings=(("dot", lambda node: {"color": "darkgreen"}),),
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
            style = self.lower_layer(node, registry) or {}
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

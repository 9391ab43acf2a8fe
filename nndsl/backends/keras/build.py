"""Turn :class:`~.lower.KerasCall` descriptions into live Keras objects.

Imported only when a model is actually built; it is the one place that imports Keras for
layer construction, and it uses Keras 3's public API only (``import keras``).
"""

from __future__ import annotations

from typing import Any

from .lower import KERAS_MODULES, KerasCall, KerasLowering


def instantiate(value: Any) -> Any:
    """Build the Keras object a KerasCall describes (recursively for nested calls)."""
    import keras

    if isinstance(value, KerasCall):
        if value.module.split(".")[0] in KERAS_MODULES:  # keras.optimizers.schedules, ...
            module = keras
            for part in value.module.split("."):
                module = getattr(module, part)
        else:  # a plugin's own Keras classes (or nndsl's helpers), by module path
            import importlib

            module = importlib.import_module(value.module)
        cls = getattr(module, value.cls)
        args = [instantiate(a) for a in value.args]
        kwargs = {k: instantiate(v) for k, v in value.kwargs}
        return cls(*args, **kwargs)
    if isinstance(value, tuple):
        return tuple(instantiate(v) for v in value)
    if isinstance(value, dict):  # per-output losses
        return {k: instantiate(v) for k, v in value.items()}
    return value


def apply_layer(layer: Any, inputs: list, style: str) -> Any:
    """Call a Keras layer on its inputs the way its lowering says (``KerasLayer.inputs``)."""
    if style == "list":
        return layer(list(inputs))
    if style == "args":
        if len(inputs) == 1:
            return layer(inputs[0], inputs[0])
        return layer(*inputs)
    return layer(inputs[0])


def build_graph(model, registry) -> tuple[list, list, dict]:
    """Build Keras inputs and output tensors for an IR model, functional style.

    Returns (input tensors, output tensors, layer objects by node name).
    """
    import keras

    tensors: dict[str, Any] = {}
    inputs = []
    for i in model.inputs:
        t = keras.Input(shape=tuple(i.shape), dtype=i.dtype, name=i.name)
        tensors[i.name] = t
        inputs.append(t)
    layers = {}
    lowering = KerasLowering(registry)
    for node in model.nodes:
        layer = instantiate(lowering.node_call(node))
        layers[node.name] = layer
        style = lowering.input_style(node.op)
        tensors[node.name] = apply_layer(layer, [tensors[s] for s in node.inputs], style)
    return inputs, [tensors[o] for o in model.outputs], layers

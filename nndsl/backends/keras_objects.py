"""Turn :class:`~nndsl.registry.KerasCall` descriptions into live Keras objects.

Imported only when a model is actually built; it is the one place that imports Keras for
layer construction, and it uses Keras 3's public API only (``import keras``).
"""

from __future__ import annotations

from typing import Any

from ..registry import KerasCall, PluginCodeError, _snake, plugin_owner
from .keras_training import callback_call, lower, lower_kwargs  # noqa: F401 - callback_call: run and emit


# Keras' own submodules a KerasCall may name; any other module is imported by its path.
KERAS_MODULES = ("layers", "optimizers", "losses", "metrics", "callbacks", "initializers", "regularizers",
                 "constraints")


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


def layer_call(node, registry) -> KerasCall:
    """The KerasCall for one IR node, with its spec name as the Keras layer name."""
    layer = registry.layers[node.op]
    try:
        call = layer.keras_call(node.attr, node.explicit)
        if not isinstance(call, KerasCall):
            raise TypeError(f"lower_keras returned {call!r:.80}; expected a KerasCall")
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - plugin lowerings are untrusted code
        owner = plugin_owner(registry, "layers", layer.name)
        if owner is None:
            raise
        raise PluginCodeError(f"layer '{layer.name}' (from plugin {owner}) failed to lower to Keras: "
                              f"{type(exc).__name__}: {exc}") from None
    # Layers nested in a wrapper (Bidirectional(LSTM(...))) get names derived from the node's,
    # so a build never depends on Keras' process-wide name counters.
    args = tuple(_named(a, f"{node.name}_{_snake(a.cls)}") if isinstance(a, KerasCall) and a.module == "layers"
                 else a for a in call.args)
    return KerasCall(call.cls, lower(args), (*lower_kwargs(call.kwargs), ("name", node.name)), call.module)


def _named(call: KerasCall, name: str) -> KerasCall:
    if any(k == "name" for k, _ in call.kwargs):
        return call
    return KerasCall(call.cls, call.args, (*call.kwargs, ("name", name)), call.module)


def apply_layer(layer: Any, inputs: list, style: str) -> Any:
    """Call a Keras layer on its inputs the way the layer expects (see LayerDef.call_style)."""
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
    for node in model.nodes:
        layer = instantiate(layer_call(node, registry))
        layers[node.name] = layer
        style = registry.layers[node.op].input_style
        tensors[node.name] = apply_layer(layer, [tensors[s] for s in node.inputs], style)
    return inputs, [tensors[o] for o in model.outputs], layers

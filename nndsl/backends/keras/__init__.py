"""The two built-in Keras backends: functional for any DAG, Sequential for chains.

Both read one lowering table, ``"keras"`` (:mod:`.table` for the built-ins, merged with
plugins' ``nndsl_lowerings`` entries), through :class:`.lower.KerasLowering`: :mod:`.build`
makes the live model and :mod:`.emit` the script text from the same KerasCall descriptions,
so they cannot drift apart. Only Keras 3's public API is used, so a model builds under the
TensorFlow, JAX and PyTorch backends alike. Nothing here imports Keras at import time.
"""

from __future__ import annotations

from typing import Any

from ... import ir
from ..base import Backend, BackendError
from .lower import TABLE, KerasCall, KerasLayer, KerasLowering, KerasObject, compile_arguments, keras_layer

__all__ = ["KerasFunctional", "KerasSequential", "KerasCall", "KerasLayer", "KerasObject", "KerasLowering",
           "keras_layer", "compile_arguments", "first_non_chain_node", "TABLE"]


def first_non_chain_node(model: ir.Model, registry=None) -> tuple[str, str] | None:
    """(node name, reason) for the first node that keeps a model from being a Sequential chain."""
    if len(model.inputs) != 1:
        return (model.inputs[1].name if len(model.inputs) > 1 else "", f"the model has {len(model.inputs)} inputs")
    consumers = model.consumers()
    previous = model.inputs[0].name
    for node in model.nodes:
        if len(node.inputs) > 1:
            return node.name, f"'{node.name}' ({node.op}) merges {len(node.inputs)} tensors"
        if registry is not None and node.op in registry.layers and KerasLowering(registry).input_style(node.op) != "single":
            return node.name, f"'{node.name}' ({node.op}) takes its input more than once"
        if node.inputs != (previous,):
            return node.name, f"'{node.name}' ({node.op}) branches off '{node.inputs[0]}'"
        if len(consumers.get(previous, [])) > 1:
            return previous, f"'{previous}' feeds {len(consumers[previous])} layers"
        previous = node.name
    if len(model.outputs) != 1:
        return model.outputs[0], f"the model has {len(model.outputs)} outputs"
    if model.outputs[0] != previous:
        return model.outputs[0], f"the output '{model.outputs[0]}' is not the last layer"
    return None


class KerasFunctional(Backend):
    name = "keras-functional"
    description = "keras.Input / keras.Model(inputs, outputs) for any DAG, several inputs and outputs"
    emits = ("python",)
    lowering_table = TABLE
    lowers = ("layer", "activation", "optimizer", "loss", "metric", "callback")

    def layer_type(self, node, registry) -> str:
        return KerasLowering(registry).type_name(node)

    def build(self, model: ir.Model, registry, compile: bool = True, **options: Any):
        """A compiled ``keras.Model`` (``compile=False`` leaves it uncompiled)."""
        from ...kerasenv import import_keras
        from .build import build_graph, instantiate

        keras = import_keras()

        inputs, outputs, _ = build_graph(model, registry)
        keras_model = self.wrap(keras, model, inputs, outputs)
        if compile:
            args = compile_arguments(model, registry, options, keras.backend.backend())
            keras_model.compile(**{k: instantiate(v) for k, v in args.items()})
        return keras_model

    def trainer(self, registry):
        from ...run.keras_trainer import KerasTrainer

        return KerasTrainer(self, registry)

    # what the conformance kit (nndsl.testing) asks of a backend

    def predict_arrays(self, built, inputs: dict) -> dict:
        """Outputs in inference mode for NumPy inputs keyed by input name, keyed by output name."""
        import numpy as np

        feed = next(iter(inputs.values())) if len(inputs) == 1 else dict(inputs)
        out = built(feed, training=False)
        if not isinstance(out, dict):  # one output, named after its layer (Sequential has no output_names)
            out = {built.layers[-1].name: out}
        return {k: np.asarray(v) for k, v in out.items()}

    def count_params(self, built) -> int:
        return built.count_params()

    def copy_keras_weights(self, built, keras_model) -> None:
        built.set_weights(keras_model.get_weights())
        for layer in built.layers:  # Normalization caches its statistics: refresh them
            refresh = getattr(layer, "finalize_state", None)
            if refresh is not None:
                refresh()

    def wrap(self, keras, model: ir.Model, inputs, outputs):
        ins = inputs[0] if len(inputs) == 1 else {i.name: t for i, t in zip(model.inputs, inputs)}
        outs = outputs[0] if len(outputs) == 1 else {o: t for o, t in zip(model.outputs, outputs)}
        return keras.Model(ins, outs, name=model.name)

    def emit(self, model: ir.Model, registry, fmt: str = "python", **options: Any) -> str:
        if fmt != "python":
            return super().emit(model, registry, fmt)
        from .emit import emit_python

        return emit_python(model, registry, sequential=False, **options)


class KerasSequential(KerasFunctional):
    name = "keras-sequential"
    description = "keras.Sequential([keras.Input(...), ...]) for single-input, single-output chains"

    def check_supported(self, model: ir.Model, registry) -> None:
        problem = first_non_chain_node(model, registry)
        if problem is not None:
            node, reason = problem
            raise BackendError(f"keras-sequential takes only single-input, single-output chains: {reason}; "
                               "use --backend keras-functional")

    def build(self, model: ir.Model, registry, compile: bool = True, **options: Any):
        from ...kerasenv import import_keras
        from .build import instantiate

        keras = import_keras()
        self.check_supported(model, registry)
        (inp,) = model.inputs
        seq = keras.Sequential(name=model.name)
        seq.add(keras.Input(shape=tuple(inp.shape), dtype=inp.dtype, name=inp.name))
        lowering = KerasLowering(registry)
        for node in model.nodes:
            seq.add(instantiate(lowering.node_call(node)))
        if compile:
            args = compile_arguments(model, registry, options, keras.backend.backend())
            seq.compile(**{k: instantiate(v) for k, v in args.items()})
        return seq

    def emit(self, model: ir.Model, registry, fmt: str = "python", **options: Any) -> str:
        if fmt != "python":
            return Backend.emit(self, model, registry, fmt)
        from .emit import emit_python

        self.check_supported(model, registry)
        return emit_python(model, registry, sequential=True, **options)


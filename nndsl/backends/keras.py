"""The two built-in Keras backends: functional for any DAG, Sequential for chains.

Both lower through the same KerasCall descriptions (see :mod:`nndsl.registry`), so the
in-process model and the emitted script are built from one source of truth. Only Keras 3's
public API is used, so a model builds under the TensorFlow, JAX and PyTorch backends alike.
"""

from __future__ import annotations

import warnings
from typing import Any

from .. import ir
from ..registry import KerasCall
from .base import Backend, BackendError
from .keras_training import loss_value, lower_kwargs


def first_non_chain_node(model: ir.Model, registry=None) -> tuple[str, str] | None:
    """(node name, reason) for the first node that keeps a model from being a Sequential chain."""
    if len(model.inputs) != 1:
        return (model.inputs[1].name if len(model.inputs) > 1 else "", f"the model has {len(model.inputs)} inputs")
    consumers = model.consumers()
    previous = model.inputs[0].name
    for node in model.nodes:
        if len(node.inputs) > 1:
            return node.name, f"'{node.name}' ({node.op}) merges {len(node.inputs)} tensors"
        layer = registry.layers.get(node.op) if registry is not None else None
        if layer is not None and layer.input_style != "single":
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


def optimizer_call(model: ir.Model, registry) -> KerasCall:
    opt = model.training.optimizer
    if opt is None:
        return KerasCall("RMSprop", (), (), "optimizers")
    definition = registry.optimizers[opt.name]
    attrs = opt.attr
    return KerasCall(definition.keras_class, (), lower_kwargs((k, attrs[k]) for k in opt.explicit), "optimizers")


def compile_arguments(model: ir.Model, registry, options: dict | None = None,
                      keras_backend: str | None = None) -> dict[str, Any]:
    """compile() keyword arguments as plain values and KerasCalls (the optimizer).

    ``keras_backend`` (the live one, when building) drops what it cannot honour: the spec's
    ``steps_per_execution`` > 1 on torch (with a warning; an explicit option is an error).
    """
    t = model.training
    out: dict[str, Any] = {"optimizer": optimizer_call(model, registry)}
    losses = t.losses
    if losses:
        options = dict(t.loss_options)
        per_output = {o: loss_value(name, options.get(o), registry) for o, name in losses if o}
        overall = [loss_value(name, options.get(""), registry) for o, name in losses if not o]
        if per_output:
            out["loss"] = {o: per_output.get(o, overall[0] if overall else None) for o in model.outputs}
        elif len(model.outputs) > 1:
            out["loss"] = {o: overall[0] for o in model.outputs}
        else:
            out["loss"] = overall[0]
    if t.loss_weights:
        weights = dict(t.loss_weights)
        if len(model.outputs) > 1:
            out["loss_weights"] = {o: weights.get(o, 1.0) for o in model.outputs}
        else:
            out["loss_weights"] = weights.get(model.outputs[0], 1.0)
    if t.metrics:
        overall_m = [registry.metrics[m].keras_name for o, m in t.metrics if not o]
        per_m: dict[str, list[str]] = {}
        for o, m in t.metrics:
            if o:
                per_m.setdefault(o, []).append(registry.metrics[m].keras_name)
        if len(model.outputs) == 1 and not per_m:
            out["metrics"] = overall_m
        else:
            out["metrics"] = {o: overall_m + per_m.get(o, []) for o in model.outputs if overall_m or per_m.get(o)}
    fit = dict(t.fit)
    options = dict(options or {})
    steps = options.get("steps_per_execution", fit.get("steps_per_execution"))
    if steps is not None and keras_backend == "torch" and steps > 1:
        # Keras on PyTorch runs one batch per call; its ValueError would only come at fit time.
        if options.get("steps_per_execution") is not None:
            raise BackendError(f"steps_per_execution={steps}: Keras on torch runs one batch per call "
                               "(steps_per_execution must be 1)")
        warnings.warn(f"the spec's steps_per_execution={steps} is ignored: Keras on torch runs one batch "
                      "per call", stacklevel=3)
        steps = None
    if steps is not None:
        out["steps_per_execution"] = steps
    jit = options.get("jit_compile", fit.get("jit_compile"))
    if jit is not None:
        out["jit_compile"] = {"true": True, "false": False, "auto": "auto"}.get(jit, jit)
    return out


class KerasFunctional(Backend):
    name = "keras-functional"
    description = "keras.Input / keras.Model(inputs, outputs) for any DAG, several inputs and outputs"
    emits = ("python",)

    def build(self, model: ir.Model, registry, compile: bool = True, **options: Any):
        """A compiled ``keras.Model`` (``compile=False`` leaves it uncompiled)."""
        from ..kerasenv import import_keras
        from .keras_objects import build_graph, instantiate

        keras = import_keras()

        inputs, outputs, _ = build_graph(model, registry)
        keras_model = self.wrap(keras, model, inputs, outputs)
        if compile:
            args = compile_arguments(model, registry, options, keras.backend.backend())
            keras_model.compile(**{k: instantiate(v) for k, v in args.items()})
        return keras_model

    def trainer(self, registry):
        from ..run.keras_trainer import KerasTrainer

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
        from .pyemit import emit_python

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
        from ..kerasenv import import_keras
        from .keras_objects import instantiate, layer_call

        keras = import_keras()
        self.check_supported(model, registry)
        (inp,) = model.inputs
        seq = keras.Sequential(name=model.name)
        seq.add(keras.Input(shape=tuple(inp.shape), dtype=inp.dtype, name=inp.name))
        for node in model.nodes:
            seq.add(instantiate(layer_call(node, registry)))
        if compile:
            args = compile_arguments(model, registry, options, keras.backend.backend())
            seq.compile(**{k: instantiate(v) for k, v in args.items()})
        return seq

    def emit(self, model: ir.Model, registry, fmt: str = "python", **options: Any) -> str:
        if fmt != "python":
            return Backend.emit(self, model, registry, fmt)
        from .pyemit import emit_python

        self.check_supported(model, registry)
        return emit_python(model, registry, sequential=True, **options)


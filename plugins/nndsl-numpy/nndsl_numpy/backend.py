"""The ``numpy`` backend: a :class:`nndsl.backends.base.Backend` subclass."""

from __future__ import annotations

from typing import Any

import numpy as np

from nndsl.backends.base import Backend


class NumpyModel:
    """A built model: its nodes in order, with their lowerings and weights (NumPy arrays)."""

    def __init__(self, model, steps):
        self.model = model
        self.steps = steps          # [(node, LayerLowering, [weights])]

    def __call__(self, inputs) -> dict:
        """Outputs by name, for inputs by name (or one array for a one-input model)."""
        if not isinstance(inputs, dict):
            inputs = {self.model.inputs[0].name: inputs}
        tensors = {k: np.asarray(v, dtype="float32") for k, v in inputs.items()}
        for node, lowering, weights in self.steps:
            tensors[node.name] = lowering.apply(tensors[node.inputs[0]], weights, node)
        return {o: tensors[o] for o in self.model.outputs}


class NumpyBackend(Backend):
    name = "numpy"
    description = "NumPy inference for dense networks (the worked example of docs/PLUGINS.md)"
    # every layer and activation a model uses needs an entry in the "numpy" lowering table;
    # nndsl refuses the rest before build() is called (E700 in `nndsl check --backend numpy`)
    lowers = ("layer", "activation")
    compiles = False       # build() makes no optimizer or loss, so training constructs are not needed
    reasons = {("layer", "conv2d"): "this example lowers dense networks only"}

    def build(self, model, registry, **options: Any) -> NumpyModel:
        rng = np.random.default_rng(0)
        steps = []
        for node in model.nodes:
            lowering = self.lower_layer(node, registry)   # the table entry (LayerLowering)
            shape = tuple(model.tensor_shape(node.inputs[0]))
            weights = [rng.normal(0, 0.05, size).astype("float32") for size in lowering.weights(node, shape)]
            steps.append((node, lowering, weights))
        return NumpyModel(model, steps)

    # what the conformance kit (nndsl.testing) uses when a backend offers it

    def predict_arrays(self, built: NumpyModel, inputs: dict) -> dict:
        return built(inputs)

    def count_params(self, built: NumpyModel) -> int:
        return sum(w.size for _, _, weights in built.steps for w in weights)

    def copy_keras_weights(self, built: NumpyModel, keras_model) -> None:
        for node, _, weights in built.steps:
            for i, value in enumerate(keras_model.get_layer(node.name).get_weights()):
                weights[i] = np.asarray(value, dtype="float32")

"""Keras parity: build the IR model with real Keras and compare every layer with the IR.

Keras is the oracle: it computes output shapes by applying the layers and counts the
weights it created; nothing here is a number typed in by hand.
"""

from __future__ import annotations

import math

import nndsl
from nndsl.backends.keras.build import build_graph


def assert_keras_parity(text: str, registry) -> "nndsl.ir.Model":
    import keras

    model = nndsl.check(text, registry=registry)
    inputs, outputs, layers = build_graph(model, registry)
    keras_model = keras.Model(inputs, outputs)
    for node in model.nodes:
        layer = keras_model.get_layer(node.name)
        out = layer.output
        shape = tuple(out.shape[1:])
        assert shape == tuple(node.shape), f"{node.name} ({node.op}): IR shape {node.shape} != Keras {shape}\n{text}"
        trainable = sum(math.prod(w.shape) for w in layer.trainable_weights)
        non_trainable = sum(math.prod(w.shape) for w in layer.non_trainable_weights)
        assert (trainable, non_trainable) == (node.params.trainable, node.params.non_trainable), (
            f"{node.name} ({node.op}): IR params {node.params} != Keras ({trainable}, {non_trainable})\n{text}")
    assert keras_model.count_params() == model.params.total
    return model

"""The numpy backend's lowering table: what each (kind, name) becomes, as plain data.

A ``layer`` entry is a :class:`LayerLowering`: ``weights(node, input_shape)`` gives the shapes
of its weights in Keras' order (so Keras weights copy one to one), ``apply(x, weights, node)``
runs it. An ``activation`` entry is a NumPy function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True)
class LayerLowering:
    weights: Callable[[Any, tuple], list[tuple]]
    apply: Callable[[np.ndarray, list, Any], np.ndarray]


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "tanh": np.tanh,
    "softmax": _softmax,
}


def _activate(x, name):
    return x if name in (None, "linear") else ACTIVATIONS[name](x)


def _dense_weights(node, shape):
    units = node.attr["units"]
    return [(shape[-1], units), (units,)] if node.attr["use_bias"] else [(shape[-1], units)]


def _dense(x, weights, node):
    y = x @ weights[0] + (weights[1] if len(weights) > 1 else 0.0)
    return _activate(y, node.attr["activation"])


LAYERS: dict[str, LayerLowering] = {
    "dense": LayerLowering(_dense_weights, _dense),
    "flatten": LayerLowering(lambda node, shape: [], lambda x, w, node: x.reshape(len(x), -1)),
    "dropout": LayerLowering(lambda node, shape: [], lambda x, w, node: x),  # inference: the identity
    "activation": LayerLowering(lambda node, shape: [], lambda x, w, node: _activate(x, node.attr["activation"])),
}

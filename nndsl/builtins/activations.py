"""Built-in activations, by the names Keras 3 gives them (the Keras lowering maps each to itself)."""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..registry import ActivationDef

_NAMES = (
    "relu", "sigmoid", "tanh", "softmax", "gelu", "elu", "selu", "softplus", "softsign", "swish",
    "silu", "mish", "exponential", "hard_sigmoid", "hard_silu", "hard_swish", "relu6",
    "leaky_relu", "log_softmax", "log_sigmoid", "linear", "celu", "glu", "hard_tanh",
    "sparsemax", "squareplus", "tanh_shrink", "hard_shrink", "soft_shrink", "sparse_plus",
    "sparse_sigmoid",
)


@hookimpl
def nndsl_activations():
    return [ActivationDef(name, doc=f"the {name} activation") for name in _NAMES]

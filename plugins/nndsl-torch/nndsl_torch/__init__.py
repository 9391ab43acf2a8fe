"""nndsl-torch: the ``torch`` backend of nndsl, a plugin like any third party's.

    import nndsl, nndsl_torch
    module = nndsl.build("input 784; dense 32 relu; dense 10 softmax", backend="torch")
    nndsl_torch.load_keras_weights(module, nndsl.build(same_spec))   # a Keras model's weights

The module takes and returns tensors in the spec's shapes (channels-last, as Keras). Importing
this package does not import torch.
"""

from __future__ import annotations

__version__ = "0.1.0"


def load_keras_weights(module, keras_model) -> None:
    """Copy ``keras_model``'s weights into ``module`` (both built from the same spec); see
    :func:`nndsl_torch.weights.load_keras_weights`."""
    from .weights import load_keras_weights as copy

    copy(module, keras_model)


def count_params(module) -> tuple[int, int]:
    """(trainable, non-trainable) parameters of a built module, counted as Keras counts them."""
    from .weights import count_params as count

    return count(module)


__all__ = ["__version__", "load_keras_weights", "count_params"]

"""Copy a Keras model's weights into the module built from the same spec; count parameters as Keras does.

Keras and the torch backend name every layer after its spec tensor, so layers pair up by
name. What differs is layout, handled here once: dense kernels are transposed, convolution
kernels go from (*window, in, out) to (out, in, *window), transposed-convolution kernels from
(*window, out, in) to (in, out, *window), depthwise kernels from (*window, channels,
multiplier) to (channels * multiplier, 1, *window). Recurrent and attention layers keep
Keras' own layout in :mod:`nndsl_torch.runtime`, so their weights copy as they are (which is
how the gate-order and GRU ``reset_after`` traps are avoided).
"""

from __future__ import annotations

import numpy as np


def count_params(module) -> tuple[int, int]:
    """(trainable, non-trainable) as Keras counts them: parameters, and stored statistics (buffers)."""
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in module.parameters() if not p.requires_grad)
    buffers = sum(b.numel() for b in module.buffers())
    return trainable, frozen + buffers


def _np(variable) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(variable), dtype=np.float32)


def _set(param, value: np.ndarray, what: str) -> None:
    import torch

    if tuple(param.shape) != tuple(value.shape):
        raise ValueError(f"{what}: Keras weight of shape {value.shape} does not fit PyTorch's {tuple(param.shape)}")
    with torch.no_grad():
        param.copy_(torch.from_numpy(np.array(value, order="C")).to(param.dtype))  # 0-d stays 0-d


def _conv_kernel(kernel: np.ndarray) -> np.ndarray:
    rank = kernel.ndim - 2
    return np.transpose(kernel, (rank + 1, rank, *range(rank)))


def _depthwise_kernel(kernel: np.ndarray) -> np.ndarray:
    rank = kernel.ndim - 2
    flat = kernel.reshape(*kernel.shape[:rank], -1)  # (*window, channels * multiplier), channel-major
    return np.moveaxis(flat, -1, 0)[:, None]


def _bias(target, layer, what: str) -> None:
    if getattr(target, "bias", None) is not None:
        _set(target.bias, _np(layer.bias), what + " bias")


def _copy_recurrent(target, layer, what: str) -> None:
    cell = layer.cell
    _set(target.kernel, _np(cell.kernel), what + " kernel")
    _set(target.recurrent_kernel, _np(cell.recurrent_kernel), what + " recurrent kernel")
    if target.bias is not None:
        _set(target.bias, _np(cell.bias), what + " bias")


def _copy_attention(target, layer, what: str) -> None:
    parts = [("query", layer._query_dense), ("key", layer._key_dense), ("value", layer._value_dense),
             ("output", layer._output_dense)]
    if target.use_gate:
        parts.append(("gate", layer._gate_dense))
    for name, dense in parts:
        _set(getattr(target, f"{name}_kernel"), _np(dense.kernel), f"{what} {name} kernel")
        if getattr(target, f"{name}_bias") is not None:
            _set(getattr(target, f"{name}_bias"), _np(dense.bias), f"{what} {name} bias")


def _copy_layer(op: str, target, layer, what: str) -> None:
    if op == "dense":
        _set(target.weight, _np(layer.kernel).T, what + " kernel")
        _bias(target, layer, what)
    elif op.startswith("conv"):  # ConvND and ConvNDTranspose: the same axis move
        _set(target.weight, _conv_kernel(_np(layer.kernel)), what + " kernel")
        _bias(target, layer, what)
    elif op.startswith("depthwiseconv"):
        _set(target.weight, _depthwise_kernel(_np(layer.kernel)), what + " kernel")
        _bias(target, layer, what)
    elif op.startswith("separableconv"):
        _set(target.depthwise, _depthwise_kernel(_np(layer.depthwise_kernel)), what + " depthwise kernel")
        _set(target.pointwise, _conv_kernel(_np(layer.pointwise_kernel)), what + " pointwise kernel")
        _bias(target, layer, what)
    elif op in ("batchnorm", "layernorm", "groupnorm"):
        if target.weight is not None:
            _set(target.weight, _np(layer.gamma), what + " gamma")
        if target.bias is not None:
            _set(target.bias, _np(layer.beta), what + " beta")
        if op == "batchnorm":
            _set(target.running_mean, _np(layer.moving_mean), what + " moving mean")
            _set(target.running_var, _np(layer.moving_variance), what + " moving variance")
    elif op == "normalization":
        _set(target.mean, _np(layer.adapt_mean), what + " mean")
        _set(target.variance, _np(layer.adapt_variance), what + " variance")
    elif op == "positionembedding":
        _set(target.weight, _np(layer.embeddings), what + " embeddings")
    elif op == "embedding":
        _set(target.weight, _np(layer.embeddings), what + " embeddings")
    elif op in ("lstm", "gru", "simplernn"):
        _copy_recurrent(target, layer, what)
    elif op == "bidirectional":
        _copy_recurrent(target.forward_layer, layer.forward_layer, what + " forward")
        _copy_recurrent(target.backward_layer, layer.backward_layer, what + " backward")
    elif op == "multiheadattention":
        _copy_attention(target, layer, what)
    elif list(target.parameters(recurse=False)) or list(target.buffers(recurse=False)):
        raise ValueError(f"{what}: no weight copy for layer '{op}'")


def load_keras_weights(module, keras_model) -> None:
    """Copy every weight of ``keras_model`` into ``module`` (both built from the same spec).

    ``module`` comes from ``nndsl.build(spec, backend="torch")``, ``keras_model`` from
    ``nndsl.build(spec)`` or ``keras.models.load_model``: a trained Keras model moves to
    PyTorch unchanged, and the two compute the same outputs (within float32 rounding).

    Raises:
        ValueError: a layer is missing from ``keras_model`` or a weight does not fit.
    """
    for node in module.nodes:
        try:
            layer = keras_model.get_layer(node.name)
        except ValueError:
            raise ValueError(f"the Keras model has no layer named {node.name!r}; build both from the same spec") \
                from None
        _copy_layer(node.op, getattr(module, node.attribute), layer, f"layer '{node.name}'")

"""PyTorch modules that compute exactly what the Keras layers of the same name compute.

Every module takes and returns channels-last tensors, as Keras does (a convolution moves the
channels to axis 1 for ``torch.nn.functional`` and back), and follows TensorFlow's rules where
PyTorch's differ: ``same`` padding is asymmetric with stride 2, average pooling does not count
padding, transposed convolutions crop as TF does. Recurrent layers keep Keras' weight layout
(gate order i, f, c, o for LSTM and z, r, h for GRU, one or two GRU biases) so that a
Keras model's weights copy over as they are.

This module imports only ``math`` and ``torch``: ``nndsl emit --backend torch`` copies the
classes a model uses into the script it writes, so the script runs with PyTorch alone.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F


# initializers (Keras' names; fan-in and fan-out computed as Keras does) -------------------------

def initialize(tensor, name, fan_in=None, fan_out=None):
    """Fill ``tensor`` as the Keras initializer ``name`` would (default scales)."""
    if fan_in is None:
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(tensor) if tensor.dim() > 1 else (tensor.numel(),) * 2
    with torch.no_grad():
        if name in ("zeros", "constant"):  # Keras' Constant() holds 0.0 unless given a value
            return tensor.zero_()
        if name == "ones":
            return tensor.fill_(1.0)
        if name in ("glorot_uniform", "variance_scaling_uniform"):
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            return tensor.uniform_(-limit, limit)
        if name == "glorot_normal":
            return nn.init.trunc_normal_(tensor, 0.0, math.sqrt(2.0 / (fan_in + fan_out)) / 0.87962566103423978)
        if name == "he_uniform":
            limit = math.sqrt(6.0 / fan_in)
            return tensor.uniform_(-limit, limit)
        if name == "he_normal":
            return nn.init.trunc_normal_(tensor, 0.0, math.sqrt(2.0 / fan_in) / 0.87962566103423978)
        if name == "lecun_uniform":
            limit = math.sqrt(3.0 / fan_in)
            return tensor.uniform_(-limit, limit)
        if name in ("lecun_normal", "variance_scaling"):
            return nn.init.trunc_normal_(tensor, 0.0, math.sqrt(1.0 / fan_in) / 0.87962566103423978)
        if name in ("random_normal", "normal"):
            return tensor.normal_(0.0, 0.05)
        if name in ("random_uniform", "uniform"):
            return tensor.uniform_(-0.05, 0.05)
        if name == "truncated_normal":
            return nn.init.trunc_normal_(tensor, 0.0, 0.05, -0.1, 0.1)
        if name == "orthogonal":
            return nn.init.orthogonal_(tensor)
        if name == "identity":
            return nn.init.eye_(tensor)
    raise ValueError(f"unknown initializer {name!r}")


# activations: Keras' functions (softmax and friends over the last axis) -------------------------

ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": lambda x: torch.softmax(x, dim=-1),
    "log_softmax": lambda x: torch.log_softmax(x, dim=-1),
    "gelu": F.gelu,
    "elu": F.elu,
    "selu": F.selu,
    "celu": F.celu,
    "softplus": F.softplus,
    "softsign": F.softsign,
    "swish": F.silu,
    "silu": F.silu,
    "mish": F.mish,
    "exponential": torch.exp,
    "hard_sigmoid": F.hardsigmoid,
    "hard_silu": F.hardswish,
    "hard_swish": F.hardswish,
    "hard_tanh": F.hardtanh,
    "relu6": F.relu6,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
    "log_sigmoid": F.logsigmoid,
    "glu": lambda x: F.glu(x, dim=-1),
    "tanh_shrink": F.tanhshrink,
    "hard_shrink": lambda x: F.hardshrink(x, 0.5),
    "soft_shrink": lambda x: F.softshrink(x, 0.5),
    "squareplus": lambda x: (x + torch.sqrt(x * x + 4.0)) / 2.0,
    "sparse_plus": lambda x: torch.where(x <= -1, torch.zeros_like(x),
                                         torch.where(x >= 1, x, (x + 1) ** 2 / 4)),
    "sparse_sigmoid": lambda x: torch.clamp((x + 1) / 2, 0.0, 1.0),
}


# dense, element-wise ----------------------------------------------------------------------

class Dense(nn.Linear):
    """``keras.layers.Dense`` on the last axis, initialized as Keras does (glorot_uniform, zeros)."""

    def __init__(self, in_features, units, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros"):
        self.inits = (kernel_initializer, bias_initializer)
        super().__init__(in_features, units, bias=use_bias)

    def reset_parameters(self):
        if not hasattr(self, "inits"):
            return
        initialize(self.weight, self.inits[0], self.in_features, self.out_features)
        if self.bias is not None:
            initialize(self.bias, self.inits[1])


class Activation(nn.Module):
    def __init__(self, activation):
        super().__init__()
        self.activation = activation
        self.fn = ACTIVATIONS[activation]

    def forward(self, x):
        return self.fn(x)

    def extra_repr(self):
        return repr(self.activation)


class LeakyReLU(nn.Module):
    def __init__(self, negative_slope=0.3):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)


class ReLU(nn.Module):
    """``keras.layers.ReLU``: x above ``threshold`` (capped at ``max_value``), a slope below it."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0):
        super().__init__()
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def forward(self, x):
        positive = torch.where(x > self.threshold, x, torch.zeros_like(x)) if self.threshold else torch.relu(x)
        if self.max_value is not None:
            positive = torch.clamp(positive, 0.0, self.max_value)
        if self.negative_slope:
            positive = positive - self.negative_slope * torch.relu(self.threshold - x)
        return positive


class Dropout(nn.Module):
    """Dropout with Keras' ``noise_shape``: a mask of that shape (None: the input's size), broadcast."""

    def __init__(self, rate, noise_shape=None):
        super().__init__()
        self.rate, self.noise_shape = rate, noise_shape

    def forward(self, x):
        if not self.training or self.rate == 0:
            return x
        shape = tuple(x.shape[i] if n is None else n for i, n in enumerate(self.noise_shape))
        keep = torch.bernoulli(torch.full(shape, 1.0 - self.rate, device=x.device, dtype=x.dtype))
        return x * keep / (1.0 - self.rate)


class GaussianNoise(nn.Module):
    """Adds N(0, stddev) noise while training."""

    def __init__(self, stddev):
        super().__init__()
        self.stddev = stddev

    def forward(self, x):
        return x + torch.randn_like(x) * self.stddev if self.training and self.stddev > 0 else x


class SpatialDropout(nn.Module):
    """Drops whole channels (the last axis) of each sample while training, keeping the expected sum."""

    def __init__(self, rate):
        super().__init__()
        self.rate = rate

    def forward(self, x):
        if not self.training or self.rate == 0:
            return x
        shape = (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],)
        keep = torch.bernoulli(torch.full(shape, 1.0 - self.rate, device=x.device, dtype=x.dtype))
        return x * keep / (1.0 - self.rate)


class Rescaling(nn.Module):
    def __init__(self, scale, offset=0.0):
        super().__init__()
        self.scale, self.offset = scale, offset

    def forward(self, x):
        return x.to(torch.get_default_dtype()) * self.scale + self.offset


# reshaping ----------------------------------------------------------------------------------

class Reshape(nn.Module):
    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


class Permute(nn.Module):
    """Keras' dims count from 1 (0 is the batch)."""

    def __init__(self, *dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.permute(0, *self.dims)


class RepeatVector(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.n = n

    def forward(self, x):
        return x.unsqueeze(1).expand(-1, self.n, -1)


class Embedding(nn.Embedding):
    """Integer ids (any dtype) to vectors; Keras initializes them uniformly in [-0.05, 0.05]."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform"):
        self.init_name = embeddings_initializer
        super().__init__(input_dim, output_dim)

    def reset_parameters(self):
        initialize(self.weight, getattr(self, "init_name", "uniform"), self.num_embeddings, self.embedding_dim)

    def forward(self, x):
        return super().forward(x.long())


class PositionEmbedding(nn.Module):
    """Adds a learned vector per position 0..steps-1 to a (batch, steps, features) input."""

    def __init__(self, max_length, features, embeddings_initializer="uniform"):
        super().__init__()
        self.weight = nn.Parameter(initialize(torch.empty(max_length, features), embeddings_initializer,
                                              max_length, features))

    def forward(self, x):
        return x + self.weight[: x.shape[-2]].to(x.dtype)


# normalization --------------------------------------------------------------------------------

class Normalization(nn.Module):
    """``keras.layers.Normalization``: (x - mean) / sqrt(variance) with stored statistics
    (buffers; ``count`` is how many samples Keras' ``adapt`` saw)."""

    def __init__(self, kept_shape, broadcast_shape, invert=False):
        super().__init__()
        self.broadcast_shape, self.invert = tuple(broadcast_shape), invert
        self.register_buffer("mean", torch.zeros(tuple(kept_shape)))
        self.register_buffer("variance", torch.ones(tuple(kept_shape)))
        self.register_buffer("count", torch.zeros((), dtype=torch.int64))

    def forward(self, x):
        mean = self.mean.reshape(1, *self.broadcast_shape)
        scale = torch.clamp(torch.sqrt(self.variance.reshape(1, *self.broadcast_shape)), min=EPSILON)
        return mean + x * scale if self.invert else (x - mean) / scale

def _to_last(x, axis):
    return x if axis in (-1, x.dim() - 1) else x.movedim(axis, -1)


def _from_last(x, axis):
    return x if axis in (-1, x.dim() - 1) else x.movedim(-1, axis)


class BatchNorm(nn.Module):
    """``keras.layers.BatchNormalization``: Keras' momentum m is PyTorch's 1 - m; the moving
    statistics are buffers (Keras' non-trainable weights), the variance is the biased one."""

    def __init__(self, channels, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True):
        super().__init__()
        self.axis, self.momentum, self.epsilon = axis, momentum, epsilon
        self.weight = nn.Parameter(torch.ones(channels)) if scale else None
        self.bias = nn.Parameter(torch.zeros(channels)) if center else None
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x):
        y = _to_last(x, self.axis)
        flat = y.reshape(-1, y.shape[-1])
        if self.training:
            mean = flat.mean(0)
            var = flat.var(0, unbiased=False)
            with torch.no_grad():
                self.running_mean.mul_(self.momentum).add_(mean.detach(), alpha=1 - self.momentum)
                self.running_var.mul_(self.momentum).add_(var.detach(), alpha=1 - self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        out = (y - mean) * torch.rsqrt(var + self.epsilon)
        if self.weight is not None:
            out = out * self.weight
        if self.bias is not None:
            out = out + self.bias
        return _from_last(out, self.axis)


class LayerNorm(nn.Module):
    def __init__(self, channels, axis=-1, epsilon=1e-3, center=True, scale=True):
        super().__init__()
        self.axis, self.epsilon = axis, epsilon
        self.weight = nn.Parameter(torch.ones(channels)) if scale else None
        self.bias = nn.Parameter(torch.zeros(channels)) if center else None

    def forward(self, x):
        y = _to_last(x, self.axis)
        y = F.layer_norm(y, y.shape[-1:], self.weight, self.bias, self.epsilon)
        return _from_last(y, self.axis)


class GroupNorm(nn.Module):
    def __init__(self, channels, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True):
        super().__init__()
        self.groups, self.axis, self.epsilon = groups, axis, epsilon
        self.weight = nn.Parameter(torch.ones(channels)) if scale else None
        self.bias = nn.Parameter(torch.zeros(channels)) if center else None

    def forward(self, x):
        y = x.movedim(self.axis, 1)
        y = F.group_norm(y, self.groups, self.weight, self.bias, self.epsilon)
        return y.movedim(1, self.axis)


# convolutions -------------------------------------------------------------------------------

def _tuple(value, n):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def tf_padding(x, kernel, strides, dilation, padding, value=0.0):
    """Pad a channels-first ``x`` as TensorFlow does: ``same`` puts the odd pixel after, ``causal``
    pads the start only."""
    if padding == "valid":
        return x
    pads = []
    for n, k, s, d in zip(reversed(x.shape[2:]), reversed(kernel), reversed(strides), reversed(dilation)):
        span = d * (k - 1) + 1
        if padding == "causal":
            pads += [span - 1, 0]
        else:
            total = max((math.ceil(n / s) - 1) * s + span - n, 0)
            pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value) if any(pads) else x


_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def _channels_first(x, first):
    return x if first else x.movedim(-1, 1)


def _channels_back(x, first):
    return x if first else x.movedim(1, -1)


class Conv(nn.Module):
    """``keras.layers.ConvND`` (N = rank), grouped and dilated; weight (filters, in/groups, *kernel)."""

    def __init__(self, rank, in_channels, filters, kernel_size, strides=1, padding="valid", dilation_rate=1,
                 groups=1, use_bias=True, channels_first=False, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros"):
        super().__init__()
        self.rank, self.groups, self.padding, self.channels_first = rank, groups, padding, channels_first
        self.kernel_size = _tuple(kernel_size, rank)
        self.strides = _tuple(strides, rank)
        self.dilation = _tuple(dilation_rate, rank)
        self.weight = nn.Parameter(torch.empty(filters, in_channels // groups, *self.kernel_size))
        receptive = math.prod(self.kernel_size)
        initialize(self.weight, kernel_initializer, receptive * in_channels // groups, receptive * filters)
        self.bias = nn.Parameter(initialize(torch.empty(filters), bias_initializer)) if use_bias else None

    def forward(self, x):
        x = tf_padding(_channels_first(x, self.channels_first), self.kernel_size, self.strides, self.dilation,
                       self.padding)
        y = _CONV[self.rank](x, self.weight, self.bias, self.strides, 0, self.dilation, self.groups)
        return _channels_back(y, self.channels_first)


class ConvTranspose(nn.Module):
    """``keras.layers.ConvNDTranspose``; weight (in, filters, *kernel). The full transposed
    convolution is cropped (``same``: as TF's gradient of a ``same`` convolution) or extended
    with zeros to the length Keras computes, then the bias is added."""

    def __init__(self, rank, in_channels, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 dilation_rate=1, use_bias=True, channels_first=False, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros"):
        super().__init__()
        self.rank, self.padding, self.channels_first = rank, padding, channels_first
        self.kernel_size = _tuple(kernel_size, rank)
        self.strides = _tuple(strides, rank)
        self.dilation = _tuple(dilation_rate, rank)
        self.output_padding = None if output_padding is None else _tuple(output_padding, rank)
        self.weight = nn.Parameter(torch.empty(in_channels, filters, *self.kernel_size))
        receptive = math.prod(self.kernel_size)
        initialize(self.weight, kernel_initializer, receptive * filters, receptive * in_channels)
        self.bias = nn.Parameter(initialize(torch.empty(filters), bias_initializer)) if use_bias else None

    def _length(self, n, k, s, d, op):
        span = d * (k - 1) + 1
        if self.padding == "valid":
            return (n - 1) * s + span + (max(span, s) - span if op is None else op)
        return n * s if op is None else (n - 1) * s + span % 2 + op

    def forward(self, x):
        x = _channels_first(x, self.channels_first)
        y = _CONV_T[self.rank](x, self.weight, None, self.strides, 0, 0, 1, self.dilation)
        ops = self.output_padding or (None,) * self.rank
        for axis, (n, k, s, d, op) in enumerate(zip(x.shape[2:], self.kernel_size, self.strides, self.dilation,
                                                    ops)):
            want = self._length(n, k, s, d, op)
            full = y.shape[2 + axis]
            start = max(full - want, 0) // 2 if self.padding == "same" else 0
            y = y.narrow(2 + axis, start, min(want, full - start))
            if y.shape[2 + axis] < want:
                pad = [0, 0] * (self.rank - 1 - axis) + [0, want - y.shape[2 + axis]]
                y = F.pad(y, pad)
        if self.bias is not None:
            y = y + self.bias.view(1, -1, *(1,) * self.rank)
        return _channels_back(y, self.channels_first)


class DepthwiseConv(nn.Module):
    """``keras.layers.DepthwiseConvND``: one filter set per input channel; output channel
    c * depth_multiplier + j, as in Keras."""

    def __init__(self, rank, in_channels, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 dilation_rate=1, use_bias=True, channels_first=False, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros"):
        super().__init__()
        self.rank, self.padding, self.channels_first, self.in_channels = rank, padding, channels_first, in_channels
        self.kernel_size = _tuple(kernel_size, rank)
        self.strides = _tuple(strides, rank)
        self.dilation = _tuple(dilation_rate, rank)
        out = in_channels * depth_multiplier
        self.weight = nn.Parameter(torch.empty(out, 1, *self.kernel_size))
        receptive = math.prod(self.kernel_size)
        initialize(self.weight, depthwise_initializer, receptive * in_channels, receptive * depth_multiplier)
        self.bias = nn.Parameter(initialize(torch.empty(out), bias_initializer)) if use_bias else None

    def forward(self, x):
        x = tf_padding(_channels_first(x, self.channels_first), self.kernel_size, self.strides, self.dilation,
                       self.padding)
        y = _CONV[self.rank](x, self.weight, self.bias, self.strides, 0, self.dilation, self.in_channels)
        return _channels_back(y, self.channels_first)


class SeparableConv(nn.Module):
    """``keras.layers.SeparableConvND``: a depthwise convolution, then a 1x1 pointwise one."""

    def __init__(self, rank, in_channels, filters, kernel_size, strides=1, padding="valid", dilation_rate=1,
                 depth_multiplier=1, use_bias=True, channels_first=False, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros"):
        super().__init__()
        self.rank, self.padding, self.channels_first, self.in_channels = rank, padding, channels_first, in_channels
        self.kernel_size = _tuple(kernel_size, rank)
        self.strides = _tuple(strides, rank)
        self.dilation = _tuple(dilation_rate, rank)
        inner = in_channels * depth_multiplier
        receptive = math.prod(self.kernel_size)
        self.depthwise = nn.Parameter(torch.empty(inner, 1, *self.kernel_size))
        initialize(self.depthwise, depthwise_initializer, receptive * in_channels, receptive * depth_multiplier)
        self.pointwise = nn.Parameter(torch.empty(filters, inner, *(1,) * rank))
        initialize(self.pointwise, pointwise_initializer, inner, filters)
        self.bias = nn.Parameter(initialize(torch.empty(filters), bias_initializer)) if use_bias else None

    def forward(self, x):
        x = tf_padding(_channels_first(x, self.channels_first), self.kernel_size, self.strides, self.dilation,
                       self.padding)
        y = _CONV[self.rank](x, self.depthwise, None, self.strides, 0, self.dilation, self.in_channels)
        y = _CONV[self.rank](y, self.pointwise, self.bias)
        return _channels_back(y, self.channels_first)


# pooling ------------------------------------------------------------------------------------

_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


class Pool(nn.Module):
    """Max or average pooling; ``same`` pads as TF, and average pooling ignores the padding."""

    def __init__(self, rank, kind, pool_size, strides=None, padding="valid", channels_first=False):
        super().__init__()
        self.rank, self.kind, self.padding, self.channels_first = rank, kind, padding, channels_first
        self.pool_size = _tuple(pool_size, rank)
        self.strides = _tuple(pool_size if strides is None else strides, rank)

    def forward(self, x):
        x = _channels_first(x, self.channels_first)
        ones = (1,) * self.rank
        if self.kind == "max":
            x = tf_padding(x, self.pool_size, self.strides, ones, self.padding, value=-math.inf)
            y = _MAX_POOL[self.rank](x, self.pool_size, self.strides)
        elif self.padding == "same":
            count = tf_padding(torch.ones_like(x[:1, :1]), self.pool_size, self.strides, ones, "same")
            x = tf_padding(x, self.pool_size, self.strides, ones, "same")
            y = _AVG_POOL[self.rank](x, self.pool_size, self.strides) / _AVG_POOL[self.rank](
                count, self.pool_size, self.strides)
        else:
            y = _AVG_POOL[self.rank](x, self.pool_size, self.strides)
        return _channels_back(y, self.channels_first)


class GlobalPool(nn.Module):
    def __init__(self, rank, kind, keepdims=False, channels_first=False):
        super().__init__()
        self.kind, self.keepdims = kind, keepdims
        self.axes = tuple(range(2, 2 + rank)) if channels_first else tuple(range(1, 1 + rank))

    def forward(self, x):
        if self.kind == "max":
            return torch.amax(x, dim=self.axes, keepdim=self.keepdims)
        return torch.mean(x, dim=self.axes, keepdim=self.keepdims)


# upsampling, padding, cropping ------------------------------------------------------------------

class UpSampling(nn.Module):
    """Repeats positions (nearest) or interpolates (bilinear, half-pixel centres as TF)."""

    def __init__(self, rank, size=2, interpolation="nearest", channels_first=False):
        super().__init__()
        self.rank, self.interpolation, self.channels_first = rank, interpolation, channels_first
        self.size = _tuple(size, rank)

    def forward(self, x):
        if self.interpolation == "bilinear":
            y = F.interpolate(_channels_first(x, self.channels_first), scale_factor=self.size, mode="bilinear",
                              align_corners=False)
            return _channels_back(y, self.channels_first)
        first = 2 if self.channels_first else 1
        for axis, factor in enumerate(self.size):
            if factor != 1:
                x = torch.repeat_interleave(x, factor, dim=first + axis)
        return x


class ZeroPadding(nn.Module):
    """``padding``: one (before, after) pair per spatial axis."""

    def __init__(self, rank, padding, channels_first=False):
        super().__init__()
        self.padding, self.channels_first = tuple(tuple(p) for p in padding), channels_first

    def forward(self, x):
        pads = []
        if not self.channels_first:
            pads += [0, 0]
        for before, after in reversed(self.padding):
            pads += [before, after]
        return F.pad(x, pads)


class Cropping(nn.Module):
    def __init__(self, rank, cropping, channels_first=False):
        super().__init__()
        self.cropping, self.first = tuple(tuple(c) for c in cropping), 2 if channels_first else 1

    def forward(self, x):
        for axis, (before, after) in enumerate(self.cropping):
            dim = self.first + axis
            x = x.narrow(dim, before, x.shape[dim] - before - after)
        return x


# merges -------------------------------------------------------------------------------------

def _same_rank(tensors):
    """Keras' Merge: lower-rank inputs get size-1 axes after the batch axis, then broadcast."""
    rank = max(t.dim() for t in tensors)
    out = []
    for t in tensors:
        while t.dim() < rank:
            t = t.unsqueeze(1)
        out.append(t)
    return out


class Merge(nn.Module):
    """add, subtract, multiply, average, maximum, minimum."""

    def __init__(self, mode):
        super().__init__()
        self.mode = mode

    def forward(self, *tensors):
        ts = _same_rank(tensors)
        out = ts[0]
        for t in ts[1:]:
            if self.mode in ("add", "average"):
                out = out + t
            elif self.mode == "subtract":
                out = out - t
            elif self.mode == "multiply":
                out = out * t
            elif self.mode == "maximum":
                out = torch.maximum(out, t)
            else:
                out = torch.minimum(out, t)
        return out / len(ts) if self.mode == "average" else out


class Concatenate(nn.Module):
    def __init__(self, axis=-1):
        super().__init__()
        self.axis = axis

    def forward(self, *tensors):
        return torch.cat(tensors, dim=self.axis)


class Dot(nn.Module):
    """``keras.layers.Dot``: sums over one axis of each input (batch axis 0), per sample."""

    def __init__(self, axes, normalize=False):
        super().__init__()
        self.axes = _tuple(axes, 2)
        self.normalize = normalize

    def forward(self, x, y):
        ax = self.axes[0] % x.dim()
        ay = self.axes[1] % y.dim()
        if self.normalize:
            x, y = F.normalize(x, dim=ax, eps=1e-12), F.normalize(y, dim=ay, eps=1e-12)
        x, y = x.movedim(ax, -1), y.movedim(ay, 1)
        rest_x, rest_y = x.shape[1:-1], y.shape[2:]
        out = torch.bmm(x.reshape(x.shape[0], -1, x.shape[-1]), y.reshape(y.shape[0], y.shape[1], -1))
        shape = (*rest_x, *rest_y) or (1,)
        return out.reshape(x.shape[0], *shape)


# recurrent layers (Keras' weight layout; a Python loop over the steps) --------------------------

class Recurrent(nn.Module):
    """``keras.layers.SimpleRNN`` / ``LSTM`` / ``GRU`` over (batch, steps, features).

    ``kernel`` (features, gates * units), ``recurrent_kernel`` (units, gates * units) and
    ``bias`` ((gates * units) or, for GRU with reset_after, (2, 3 * units)) are Keras' own
    weights. A mask (batch, steps) keeps the state over masked steps, as Keras does.
    """

    GATES = {"simplernn": 1, "lstm": 4, "gru": 3}

    def __init__(self, cell, features, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 return_sequences=False, go_backwards=False, reset_after=True, unit_forget_bias=True,
                 dropout=0.0, recurrent_dropout=0.0, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros"):
        super().__init__()
        self.cell, self.units = cell, units
        self.activation, self.recurrent_activation = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
        self.return_sequences, self.go_backwards = return_sequences, go_backwards
        self.reset_after = reset_after and cell == "gru"
        self.dropout, self.recurrent_dropout = dropout, recurrent_dropout
        gates = self.GATES[cell]
        self.kernel = nn.Parameter(initialize(torch.empty(features, gates * units), kernel_initializer,
                                              features, gates * units))
        self.recurrent_kernel = nn.Parameter(initialize(torch.empty(units, gates * units), recurrent_initializer,
                                                        units, gates * units))
        if use_bias:
            bias = initialize(torch.empty((2, gates * units) if self.reset_after else (gates * units,)),
                              bias_initializer)
            if cell == "lstm" and unit_forget_bias:
                with torch.no_grad():
                    bias[units:2 * units] = 1.0
            self.bias = nn.Parameter(bias)
        else:
            self.bias = None

    def _step(self, x_proj, h, hr, c):
        """One step: ``hr`` is the state as the recurrent products see it (recurrent dropout)."""
        u = self.units
        rk = self.recurrent_kernel
        if self.cell == "simplernn":
            h = self.activation(x_proj + hr @ rk)
            return h, h, c
        if self.cell == "lstm":
            z = x_proj + hr @ rk
            i = self.recurrent_activation(z[:, :u])
            f = self.recurrent_activation(z[:, u:2 * u])
            c = f * c + i * self.activation(z[:, 2 * u:3 * u])
            o = self.recurrent_activation(z[:, 3 * u:])
            h = o * self.activation(c)
            return h, h, c
        if self.reset_after:
            inner = hr @ rk
            if self.bias is not None:
                inner = inner + self.bias[1]
            z = self.recurrent_activation(x_proj[:, :u] + inner[:, :u])
            r = self.recurrent_activation(x_proj[:, u:2 * u] + inner[:, u:2 * u])
            hh = self.activation(x_proj[:, 2 * u:] + r * inner[:, 2 * u:])
        else:
            z = self.recurrent_activation(x_proj[:, :u] + hr @ rk[:, :u])
            r = self.recurrent_activation(x_proj[:, u:2 * u] + hr @ rk[:, u:2 * u])
            hh = self.activation(x_proj[:, 2 * u:] + (r * hr) @ rk[:, 2 * u:])
        h = z * h + (1 - z) * hh
        return h, h, c

    def forward(self, x, mask=None):
        batch, steps = x.shape[0], x.shape[1]
        if self.training and self.dropout > 0:
            x = x * F.dropout(torch.ones_like(x[:, :1]), self.dropout, True)
        bias = self.bias
        proj = x @ self.kernel
        if bias is not None:
            proj = proj + (bias[0] if self.reset_after else bias)
        h = x.new_zeros(batch, self.units)
        c = x.new_zeros(batch, self.units)
        keep = None
        if self.training and self.recurrent_dropout > 0:
            keep = F.dropout(torch.ones_like(h), self.recurrent_dropout, True)
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        outputs = []
        out = x.new_zeros(batch, self.units)
        for t in order:
            new_out, new_h, new_c = self._step(proj[:, t], h, h if keep is None else h * keep, c)
            if mask is not None:
                m = mask[:, t].unsqueeze(-1)
                h = torch.where(m, new_h, h)
                c = torch.where(m, new_c, c)
                out = torch.where(m, new_out, torch.zeros_like(new_out) if self.return_sequences else out)
            else:
                h, c, out = new_h, new_c, new_out
            outputs.append(out)
        if self.return_sequences:
            return torch.stack(outputs, dim=1)
        return out


class Bidirectional(nn.Module):
    """A forward and a backward copy; the backward sequence is reversed back before merging."""

    def __init__(self, forward_layer, backward_layer, merge_mode="concat"):
        super().__init__()
        self.forward_layer, self.backward_layer, self.merge_mode = forward_layer, backward_layer, merge_mode

    def forward(self, x, mask=None):
        a = self.forward_layer(x, mask)
        b = self.backward_layer(x, mask)
        if self.backward_layer.return_sequences:
            b = torch.flip(b, dims=(1,))
        if self.merge_mode == "concat":
            return torch.cat((a, b), dim=-1)
        if self.merge_mode == "sum":
            return a + b
        if self.merge_mode == "mul":
            return a * b
        return (a + b) / 2


# attention ------------------------------------------------------------------------------------

class MultiHeadAttention(nn.Module):
    """``keras.layers.MultiHeadAttention`` over (batch, steps, features), with Keras' projection
    shapes: query/key kernels (features, heads, key_dim), value (features, heads, value_dim),
    output (heads, value_dim, output features)."""

    def __init__(self, query_dim, value_dim_in, key_dim_in, num_heads, key_dim, value_dim=None, dropout=0.0,
                 use_bias=True, output_shape=None, use_gate=False, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros"):
        super().__init__()
        vd = value_dim or key_dim
        out = output_shape or query_dim
        self.num_heads, self.key_dim, self.dropout, self.use_gate = num_heads, key_dim, dropout, use_gate

        def weight(*shape, fan_in, fan_out):
            return nn.Parameter(initialize(torch.empty(*shape), kernel_initializer, fan_in, fan_out))

        def bias(*shape):
            return nn.Parameter(initialize(torch.empty(*shape), bias_initializer)) if use_bias else None

        self.query_kernel = weight(query_dim, num_heads, key_dim, fan_in=query_dim, fan_out=num_heads * key_dim)
        self.query_bias = bias(num_heads, key_dim)
        self.key_kernel = weight(key_dim_in, num_heads, key_dim, fan_in=key_dim_in, fan_out=num_heads * key_dim)
        self.key_bias = bias(num_heads, key_dim)
        self.value_kernel = weight(value_dim_in, num_heads, vd, fan_in=value_dim_in, fan_out=num_heads * vd)
        self.value_bias = bias(num_heads, vd)
        if use_gate:
            self.gate_kernel = weight(query_dim, num_heads, vd, fan_in=query_dim, fan_out=num_heads * vd)
            self.gate_bias = bias(num_heads, vd)
        self.output_kernel = weight(num_heads, vd, out, fan_in=num_heads * vd, fan_out=out)
        self.output_bias = bias(out)

    @staticmethod
    def _project(x, kernel, bias):
        y = torch.einsum("btf,fhd->bthd", x, kernel)
        return y + bias if bias is not None else y

    def forward(self, query, value=None, key=None):
        value = query if value is None else value
        key = value if key is None else key
        q = self._project(query, self.query_kernel, self.query_bias) / math.sqrt(self.key_dim)
        k = self._project(key, self.key_kernel, self.key_bias)
        v = self._project(value, self.value_kernel, self.value_bias)
        scores = torch.softmax(torch.einsum("bshd,bthd->bhts", k, q), dim=-1)
        scores = F.dropout(scores, self.dropout, self.training)
        out = torch.einsum("bhts,bshd->bthd", scores, v)
        if self.use_gate:
            out = out * torch.sigmoid(self._project(query, self.gate_kernel, self.gate_bias))
        y = torch.einsum("bthd,hdo->bto", out, self.output_kernel)
        return y + self.output_bias if self.output_bias is not None else y


# losses: Keras' functions on probabilities (not logits), per sample, then the batch mean -------

EPSILON = 1e-7


def _clip(p):
    return torch.clamp(p, EPSILON, 1.0 - EPSILON)


def _probabilities(p):
    return _clip(p / p.sum(-1, keepdim=True))


def _signs(y):
    """Hinge losses take labels in {-1, 1}; 0/1 labels are converted, as Keras does."""
    return torch.where(y > 0.5, torch.ones_like(y), -torch.ones_like(y)) if bool(((y == 0) | (y == 1)).all()) else y


def mean_squared_error(y, p):
    return ((y - p) ** 2).mean(-1)


def mean_absolute_error(y, p):
    return (y - p).abs().mean(-1)


def mean_absolute_percentage_error(y, p):
    return 100.0 * ((y - p).abs() / y.abs().clamp_min(EPSILON)).mean(-1)


def mean_squared_logarithmic_error(y, p):
    return ((torch.log(p.clamp_min(EPSILON) + 1) - torch.log(y.clamp_min(EPSILON) + 1)) ** 2).mean(-1)


def huber(y, p, delta=1.0):
    error = (y - p).abs()
    return torch.where(error <= delta, 0.5 * error ** 2, delta * error - 0.5 * delta ** 2).mean(-1)


def log_cosh(y, p):
    x = p - y
    return (x + F.softplus(-2.0 * x) - math.log(2.0)).mean(-1)


def _binary_terms(y, p):
    p = _clip(p)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p))


def binary_crossentropy(y, p):
    return _binary_terms(y, p).mean(-1)


def binary_focal_crossentropy(y, p, gamma=2.0):
    p_t = y * _clip(p) + (1 - y) * (1 - _clip(p))
    return (_binary_terms(y, p) * (1 - p_t) ** gamma).mean(-1)


def categorical_crossentropy(y, p):
    return -(y * torch.log(_probabilities(p))).sum(-1)


def categorical_focal_crossentropy(y, p, alpha=0.25, gamma=2.0):
    p = _probabilities(p)
    return (alpha * (1 - p) ** gamma * -y * torch.log(p)).sum(-1)


def sparse_categorical_crossentropy(y, p):
    ids = y.long()
    if ids.dim() == p.dim():
        ids = ids.squeeze(-1)
    return -torch.log(torch.gather(_probabilities(p), -1, ids.unsqueeze(-1)).squeeze(-1))


def kl_divergence(y, p):
    y, p = torch.clamp(y, EPSILON, 1), torch.clamp(p, EPSILON, 1)
    return (y * torch.log(y / p)).sum(-1)


def poisson(y, p):
    return (p - y * torch.log(p + EPSILON)).mean(-1)


def hinge(y, p):
    return torch.clamp(1.0 - _signs(y) * p, min=0.0).mean(-1)


def squared_hinge(y, p):
    return (torch.clamp(1.0 - _signs(y) * p, min=0.0) ** 2).mean(-1)


def categorical_hinge(y, p):
    return torch.clamp(((1 - y) * p).amax(-1) - (y * p).sum(-1) + 1.0, min=0.0)


def cosine_similarity(y, p):
    return -(F.normalize(y, dim=-1) * F.normalize(p, dim=-1)).sum(-1)


LOSSES = {f.__name__: f for f in (
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error, mean_squared_logarithmic_error,
    huber, log_cosh, binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,
    categorical_focal_crossentropy, sparse_categorical_crossentropy, kl_divergence, poisson, hinge, squared_hinge,
    categorical_hinge, cosine_similarity)}


def configured_loss(name, options):
    """``LOSSES[name]`` with the spec's options (``loss cce from_logits=true label_smoothing=0.1``),
    computed as Keras computes them: logits through log-softmax / log-sigmoid, smoothed targets."""
    fn = LOSSES[name]
    o = dict(options or ())
    if not o:
        return fn
    logits, smoothing = bool(o.get("from_logits")), float(o.get("label_smoothing", 0.0))
    if name == "huber":
        def loss(y, p):
            return huber(y, p, float(o.get("delta", 1.0)))
    elif name == "binary_crossentropy":
        def loss(y, p):
            y = y * (1.0 - smoothing) + 0.5 * smoothing if smoothing else y
            if logits:
                return F.binary_cross_entropy_with_logits(p, y, reduction="none").mean(-1)
            return binary_crossentropy(y, p)
    elif name == "categorical_crossentropy":
        def loss(y, p):
            y = y * (1.0 - smoothing) + smoothing / y.shape[-1] if smoothing else y
            if logits:
                return -(y * F.log_softmax(p, dim=-1)).sum(-1)
            return categorical_crossentropy(y, p)
    elif name == "sparse_categorical_crossentropy":
        def loss(y, p):
            if not logits:
                return sparse_categorical_crossentropy(y, p)
            ids = y.long()
            if ids.dim() == p.dim():
                ids = ids.squeeze(-1)
            return -torch.gather(F.log_softmax(p, dim=-1), -1, ids.unsqueeze(-1)).squeeze(-1)
    else:
        raise ValueError(f"loss {name} takes no options here")
    loss.__name__ = name
    return loss


def loss_value(loss, y_true, y_pred, sample_weight=None):
    """The batch's loss: Keras' per-sample ``loss`` (a function above), averaged (sum_over_batch_size);
    with ``sample_weight`` (one per sample) each value is weighed first, and the mean stays over
    the batch, as Keras reduces it."""
    if loss.__name__ != "sparse_categorical_crossentropy":  # class ids stay ids
        y_true = y_true.to(y_pred.dtype).reshape(y_pred.shape)
    values = loss(y_true, y_pred)
    if sample_weight is not None:
        values = values * sample_weight.reshape(-1, *([1] * (values.dim() - 1))).to(values.dtype)
    return values.mean()


# metrics: streaming, as Keras' (reset each epoch, updated per batch) ------------------------------

class Metric:
    """Mean of a per-sample value over every sample seen since ``reset``."""

    def __init__(self, fn):
        self.fn = fn
        self.reset()

    def reset(self):
        self.total, self.count = 0.0, 0

    def update(self, y_true, y_pred):
        values = self.fn(y_true, y_pred).detach()
        self.total = self.total + values.double().sum()  # stays on the device: no sync per batch
        self.count += values.numel()

    def result(self):
        return float(self.total) / max(self.count, 1)


def squared_error(y, p):
    return (y.to(p.dtype).reshape(p.shape) - p) ** 2


class RootMeanSquaredError(Metric):
    def __init__(self):
        super().__init__(squared_error)

    def result(self):
        return math.sqrt(super().result())


class Confusion:
    """True/false positives and negatives at thresholds; precision, recall or ROC AUC from them."""

    def __init__(self, kind, thresholds=(0.5,)):
        self.kind = kind
        if kind == "auc":
            inner = [(i + 1) / 199 for i in range(198)]
            thresholds = [-EPSILON] + inner + [1.0 + EPSILON]
        self.thresholds = torch.tensor(thresholds, dtype=torch.float64)
        self.reset()

    def reset(self):
        n = len(self.thresholds)
        self.tp, self.fp, self.tn, self.fn = (torch.zeros(n, dtype=torch.float64) for _ in range(4))

    def update(self, y_true, y_pred):
        if y_pred.shape[-1] > 1 and y_true.numel() * y_pred.shape[-1] == y_pred.numel():  # class ids: one-hot
            y_true = F.one_hot(y_true.reshape(y_pred.shape[:-1]).long(), y_pred.shape[-1])
        p = y_pred.detach().double().reshape(-1, 1).cpu()
        y = y_true.detach().double().reshape(-1, 1).cpu() > 0.5
        above = p > self.thresholds
        self.tp += (above & y).sum(0)
        self.fp += (above & ~y).sum(0)
        self.tn += (~above & ~y).sum(0)
        self.fn += (~above & y).sum(0)

    def result(self):
        if self.kind == "precision":
            return float(self.tp[0] / (self.tp[0] + self.fp[0])) if self.tp[0] + self.fp[0] > 0 else 0.0
        if self.kind == "recall":
            return float(self.tp[0] / (self.tp[0] + self.fn[0])) if self.tp[0] + self.fn[0] > 0 else 0.0
        tpr = self.tp / (self.tp + self.fn).clamp_min(EPSILON)
        fpr = self.fp / (self.fp + self.tn).clamp_min(EPSILON)
        return float(((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2).sum())


class R2Score:
    """1 - residual / total sum of squares per target column, averaged over columns."""

    def reset(self):
        self.n, self.s, self.ss, self.res = 0, 0.0, 0.0, 0.0

    def __init__(self):
        self.reset()

    def update(self, y_true, y_pred):
        y = y_true.detach().double().reshape(y_pred.shape[0], -1)
        p = y_pred.detach().double().reshape(y_pred.shape[0], -1)
        self.n += y.shape[0]
        self.s = self.s + y.sum(0)
        self.ss = self.ss + (y * y).sum(0)
        self.res = self.res + ((y - p) ** 2).sum(0)

    def result(self):
        if not self.n:
            return 0.0
        total = self.ss - self.s * self.s / self.n
        return float((1 - self.res / torch.as_tensor(total).clamp_min(EPSILON)).mean())


def binary_accuracy(y, p):
    return ((p > 0.5).to(p.dtype) == y.to(p.dtype).reshape(p.shape)).to(p.dtype)


def categorical_accuracy(y, p):
    return (p.argmax(-1) == y.reshape(p.shape).argmax(-1)).to(p.dtype)


def sparse_categorical_accuracy(y, p):
    return (p.argmax(-1) == y.reshape(p.shape[:-1]).long()).to(p.dtype)


def top_k_categorical_accuracy(y, p, k=5):
    ids = y.reshape(p.shape).argmax(-1)
    return (torch.topk(p, min(k, p.shape[-1]), dim=-1).indices == ids.unsqueeze(-1)).any(-1).to(p.dtype)


def sparse_top_k_categorical_accuracy(y, p, k=5):
    ids = y.reshape(p.shape[:-1]).long()
    return (torch.topk(p, min(k, p.shape[-1]), dim=-1).indices == ids.unsqueeze(-1)).any(-1).to(p.dtype)


def log_cosh_error(y, p):
    return log_cosh(y.to(p.dtype).reshape(p.shape), p)


def cosine_similarity_metric(y, p):
    return -cosine_similarity(y.to(p.dtype).reshape(p.shape), p)


def as_targets(fn):
    """A loss as a metric: labels reshaped to the predictions first (as in training)."""
    def metric(y, p):
        return fn(y if fn is sparse_categorical_crossentropy else y.to(p.dtype).reshape(p.shape), p)
    return metric


# Keras' metric name -> a fresh streaming metric
METRICS = {
    **{f.__name__: (lambda f: lambda: Metric(f))(f) for f in (
        binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy,
        sparse_top_k_categorical_accuracy, log_cosh_error)},
    "cosine_similarity": lambda: Metric(cosine_similarity_metric),
    "auc": lambda: Confusion("auc"),
    "precision": lambda: Confusion("precision"),
    "recall": lambda: Confusion("recall"),
    "root_mean_squared_error": RootMeanSquaredError,
    "r2_score": R2Score,
    **{f.__name__: (lambda f: lambda: Metric(as_targets(f)))(f) for f in (
        mean_squared_error, mean_absolute_error, mean_absolute_percentage_error, mean_squared_logarithmic_error,
        binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy, kl_divergence, poisson,
        hinge)},
}


# optimizers PyTorch lacks: Keras' Ftrl and Lion -----------------------------------------------

class Ftrl(torch.optim.Optimizer):
    """Keras' FTRL-proximal (``keras.optimizers.Ftrl``), without the shrinkage term when it is 0."""

    def __init__(self, params, lr=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0):
        super().__init__(params, dict(lr=lr, power=learning_rate_power, init=initial_accumulator_value,
                                      l1=l1_regularization_strength, l2=l2_regularization_strength,
                                      l2_shrinkage=l2_shrinkage_regularization_strength, beta=beta))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            lr, power, l1, l2, beta = group["lr"], group["power"], group["l1"], group["l2"], group["beta"]
            l2 = l2 + beta / (2.0 * lr)
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["accumulator"] = torch.full_like(p, group["init"])
                    state["linear"] = torch.zeros_like(p)
                g = p.grad + 2 * group["l2_shrinkage"] * p
                acc, linear = state["accumulator"], state["linear"]
                new_acc = acc + p.grad * p.grad
                linear.add_(g - (new_acc.pow(-power) - acc.pow(-power)) / lr * p)
                quadratic = new_acc.pow(-power) / lr + 2 * l2
                clipped = torch.clamp(linear, -l1, l1)
                p.copy_((clipped - linear) / quadratic)
                acc.copy_(new_acc)


class Lion(torch.optim.Optimizer):
    """Keras' Lion: the sign of an interpolated momentum."""

    def __init__(self, params, lr=0.001, beta_1=0.9, beta_2=0.99):
        super().__init__(params, dict(lr=lr, beta_1=beta_1, beta_2=beta_2))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                m = self.state[p].setdefault("momentum", torch.zeros_like(p))
                p.add_(torch.sign(m * group["beta_1"] + p.grad * (1 - group["beta_1"])), alpha=-group["lr"])
                m.mul_(group["beta_2"]).add_(p.grad, alpha=1 - group["beta_2"])

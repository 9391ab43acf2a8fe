"""Built-in core layers: dense, activations, dropout, reshaping, embeddings, normalization, noise."""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..params import Activation, Bool, Dim, Float, Int, Optional, Param
from ..registry import LayerDef, ParamCount, ShapeError
from .common import (Axes, BatchShape, constraint, fmt, initializer, known_last, macs, need_rank, prod,
                     regularizer)

_RATE = Param("rate", Float(min=0.0, max=1.0, max_open=True), positional=True, doc="fraction of units dropped")
_SEED = Param("seed", Optional(Int(min=0)), default=None)


def _same(attrs, shapes):
    return shapes[0]


# dense ------------------------------------------------------------------------------------

def _dense_shape(a, shapes):
    known_last(shapes[0], "dense")
    return (*shapes[0][:-1], a["units"])


def _dense_params(a, shapes):
    return ParamCount(shapes[0][-1] * a["units"] + (a["units"] if a["use_bias"] else 0))


DENSE = LayerDef(
    "dense", "dense",
    (Param("units", Int(min=1), positional=True, doc="output size"),
     Param("activation", Activation(), default=None, positional=True),
     Param("use_bias", Bool(), default=True),
     initializer("kernel_initializer", "glorot_uniform"),
     initializer("bias_initializer", "zeros"),
     regularizer("kernel_regularizer"), regularizer("bias_regularizer"), regularizer("activity_regularizer"),
     constraint("kernel_constraint"), constraint("bias_constraint")),
    _dense_shape, _dense_params, doc="Fully connected layer on the last axis.",
    count_macs=lambda a, s: macs(s[0], a["units"]))


# activations and element-wise layers ------------------------------------------------------------

ACTIVATION = LayerDef(
    "activation", "activation", (Param("activation", Activation(), positional=True),), _same,
    doc="Applies an activation; `relu` alone on a line means `activation relu`.")

LEAKY_RELU = LayerDef(
    "leakyrelu", "leaky_re_lu", (Param("negative_slope", Float(min=0.0), default=0.3, positional=True),),
    _same, doc="Leaky ReLU: x for x > 0, negative_slope * x otherwise.")

RELU = LayerDef(
    "relu", "re_lu",
    (Param("max_value", Optional(Float(min=0.0)), default=None, positional=True, doc="upper bound (6 for ReLU6)"),
     Param("negative_slope", Float(min=0.0), default=0.0, doc="slope below the threshold"),
     Param("threshold", Float(min=0.0), default=0.0, doc="values below it are scaled by negative_slope")),
    _same,
    doc="ReLU with options: relu max_value=6 (MobileNet's ReLU6); relu alone is the activation.")


def _dropout_shape(a, shapes):
    noise = a["noise_shape"]
    s = shapes[0]
    if noise is not None:
        if len(noise) != len(s) + 1:
            raise ShapeError(f"noise_shape {_written(noise)} has {len(noise)} axes, the input {fmt(s)} has {len(s) + 1}",
                             "give one size per axis, batch first: noise_shape=(?, 1, 1, 1) for images")
        for n, d in zip(noise[1:], s):
            if n is not None and n != 1 and d is not None and n != d:
                raise ShapeError(f"noise_shape {_written(noise)} does not broadcast to the input {fmt(s)}",
                                 "each size must be 1, ? or the input's size on that axis")
    return s


def _written(shape) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


DROPOUT = LayerDef("dropout", "dropout",
                   (_RATE, Param("noise_shape", Optional(BatchShape()), default=None,
                                 doc="the mask's shape, batch first; 1 shares it along an axis"), _SEED),
                   _dropout_shape, doc="Randomly zeroes inputs while training.")

GAUSSIAN_NOISE = LayerDef("gaussiannoise", "gaussian_noise",
                          (Param("stddev", Float(min=0.0), positional=True), _SEED), _same,
                          doc="Adds zero-centred Gaussian noise while training.")


def _spatial_dropout_shape(rank):
    def rule(a, shapes):
        need_rank(shapes[0], rank, "", f"spatialdropout{rank - 1}d takes {'(steps, channels)' if rank == 2 else '(rows, cols, channels)'}")
        return shapes[0]
    return rule


SPATIAL_DROPOUT_1D = LayerDef("spatialdropout1d", "spatial_dropout1d", (_RATE, _SEED), _spatial_dropout_shape(2),
                              doc="Drops whole 1-D feature maps.")
SPATIAL_DROPOUT_2D = LayerDef("spatialdropout2d", "spatial_dropout2d", (_RATE, _SEED), _spatial_dropout_shape(3),
                              doc="Drops whole 2-D feature maps.")

RESCALING = LayerDef("rescaling", "rescaling",
                     (Param("scale", Float(), positional=True), Param("offset", Float(), default=0.0, positional=True)),
                     _same, doc="x * scale + offset, e.g. rescaling 0.00392 for 8-bit pixels.")


# reshaping ------------------------------------------------------------------------------

def _flatten_shape(a, shapes):
    s = shapes[0]
    if any(d is None for d in s):
        return (None,)
    return (prod(s),)


FLATTEN = LayerDef("flatten", "flatten", (), _flatten_shape, doc="Flattens everything but the batch axis.")


def _reshape_shape(a, shapes):
    target = tuple(a["target_shape"])
    if sum(1 for d in target if d == -1) > 1:
        raise ShapeError(f"at most one dimension may be -1, got {target}")
    src = shapes[0]
    if any(d is None for d in src):
        return tuple(None if d == -1 else d for d in target)
    total = prod(src)
    fixed = prod(d for d in target if d != -1)
    if -1 in target:
        if total % fixed:
            raise ShapeError(f"cannot reshape {fmt(src)} ({total} values) into {target}",
                             f"{total} is not divisible by {fixed}")
        return tuple(total // fixed if d == -1 else d for d in target)
    if fixed != total:
        raise ShapeError(f"cannot reshape {fmt(src)} ({total} values) into {fmt(target)} ({fixed} values)",
                         "the number of values must stay the same; one dimension may be -1")
    return target


RESHAPE = LayerDef("reshape", "reshape",
                   (Param("target_shape", Dim(allow_unknown=False, allow_minus_one=True), positional=True,
                          variadic=True),),
                   _reshape_shape, doc="reshape 28 28 1, or reshape (28, 28, 1).")


def _permute_shape(a, shapes):
    dims = tuple(a["dims"])
    s = shapes[0]
    if sorted(dims) != list(range(1, len(s) + 1)):
        raise ShapeError(f"dims {dims} must be a permutation of 1..{len(s)} for {fmt(s)}",
                         "axis numbers start at 1 (0 is the batch)")
    return tuple(s[d - 1] for d in dims)


PERMUTE = LayerDef("permute", "permute", (Param("dims", Int(min=1), positional=True, variadic=True),),
                   _permute_shape, doc="permute 2 1 swaps the two non-batch axes.")


def _repeat_shape(a, shapes):
    need_rank(shapes[0], 1, "", "repeatvector takes (features,)")
    return (a["n"], shapes[0][0])


REPEAT_VECTOR = LayerDef("repeatvector", "repeat_vector", (Param("n", Int(min=1), positional=True),),
                         _repeat_shape, doc="(features,) to (n, features).")


# embedding ------------------------------------------------------------------------------

EMBEDDING = LayerDef(
    "embedding", "embedding",
    (Param("input_dim", Int(min=1), positional=True, doc="vocabulary size"),
     Param("output_dim", Int(min=1), positional=True, doc="vector size"),
     initializer("embeddings_initializer", "uniform"),
     Param("mask_zero", Bool(), default=False),
     regularizer("embeddings_regularizer")),
    lambda a, s: (*s[0], a["output_dim"]),
    lambda a, s: ParamCount(a["input_dim"] * a["output_dim"]),
    doc="Integer ids to dense vectors.")


def _position_shape(a, shapes):
    s = shapes[0]
    need_rank(s, 2, "", "positionembedding takes (steps, features), e.g. after embedding")
    known_last(s, "positionembedding")
    if s[0] is not None and s[0] > a["max_length"]:
        raise ShapeError(f"a sequence of {s[0]} steps is longer than max_length {a['max_length']}",
                         f"raise max_length to at least {s[0]}")
    return s


POSITION_EMBEDDING = LayerDef(
    "positionembedding", "position_embedding",
    (Param("max_length", Int(min=1), positional=True, doc="the longest sequence: positions 0..max_length-1"),
     initializer("embeddings_initializer", "uniform")),
    _position_shape, lambda a, s: ParamCount(a["max_length"] * s[0][-1]),
    doc="Adds a learned vector per position (an embedding of 0..steps-1) to a (steps, features) input.")


# normalization --------------------------------------------------------------------------

_AXIS = Param("axis", Int(), default=-1)
_CENTER = Param("center", Bool(), default=True)
_SCALE = Param("scale", Bool(), default=True)


def _axis_dim(a, shapes, what):
    s = shapes[0]
    axis = a["axis"]
    idx = axis - 1 if axis > 0 else len(s) + axis
    if not 0 <= idx < len(s):
        raise ShapeError(f"axis {axis} is out of range for {fmt(s)}")
    d = s[idx]
    if d is None:
        raise ShapeError(f"needs a known size on axis {axis}, got {fmt(s)}", f"{what} creates weights per feature")
    return d


def _batchnorm_params(a, shapes):
    c = _axis_dim(a, shapes, "batchnorm")
    return ParamCount(c * (int(a["center"]) + int(a["scale"])), 2 * c)


BATCHNORM = LayerDef(
    "batchnorm", "batch_normalization",
    (_AXIS, Param("momentum", Float(min=0.0, max=1.0), default=0.99), Param("epsilon", Float(min=0.0, min_open=True), default=1e-3),
     _CENTER, _SCALE),
    _same, _batchnorm_params, aliases=("batchnormalization",), doc="Normalizes with batch statistics.")


def _layernorm_params(a, shapes):
    c = _axis_dim(a, shapes, "layernorm")
    return ParamCount(c * (int(a["center"]) + int(a["scale"])))


LAYERNORM = LayerDef(
    "layernorm", "layer_normalization",
    (_AXIS, Param("epsilon", Float(min=0.0, min_open=True), default=1e-3), _CENTER, _SCALE),
    _same, _layernorm_params, aliases=("layernormalization",), doc="Normalizes each sample over its features.")


def _groupnorm_params(a, shapes):
    c = _axis_dim(a, shapes, "groupnorm")
    if c % a["groups"] or a["groups"] > c:
        raise ShapeError(f"{c} channels cannot be split into {a['groups']} groups",
                         f"choose groups dividing {c}")
    return ParamCount(c * (int(a["center"]) + int(a["scale"])))


GROUPNORM = LayerDef(
    "groupnorm", "group_normalization",
    (Param("groups", Int(min=1), default=32, positional=True), _AXIS,
     Param("epsilon", Float(min=0.0, min_open=True), default=1e-3), _CENTER, _SCALE),
    _same, _groupnorm_params, aliases=("groupnormalization",),
    doc="Normalizes over groups of channels.")


def _normalization_params(a, shapes):
    s = shapes[0]
    axes = a["axis"]
    axes = () if axes is None else (axes,) if isinstance(axes, int) else axes
    rank = len(s) + 1
    kept = []
    for axis in axes:
        if not -rank <= axis < rank:
            raise ShapeError(f"axis {axis} is out of range for {fmt(s)}", f"use an axis from 1 to {rank - 1}, or -1")
        i = axis % rank
        if i == 0:
            raise ShapeError("cannot keep statistics per batch index (axis 0)",
                             "axes count the batch as 0; the last axis is -1")
        if s[i - 1] is None:
            raise ShapeError(f"needs a known size on axis {axis}, got {fmt(s)}",
                             "normalization keeps a mean and variance per index of that axis")
        kept.append(s[i - 1])
    # mean and variance per kept index, and the count of samples adapt() has seen
    return ParamCount(0, 2 * prod(kept) + 1)


def _normalization_shape(a, shapes):
    _normalization_params(a, shapes)
    return shapes[0]


NORMALIZATION = LayerDef(
    "normalization", "normalization",
    (Param("axis", Optional(Axes()), default=-1, doc="axes with their own mean and variance; none: one for all"),
     Param("invert", Bool(), default=False, doc="undo the normalization instead")),
    _normalization_shape, _normalization_params,
    doc="(x - mean) / sqrt(variance) with stored, non-trainable statistics (set by adapt, or loaded).")


@hookimpl
def nndsl_layers():
    return [DENSE, ACTIVATION, RELU, LEAKY_RELU, DROPOUT, GAUSSIAN_NOISE, SPATIAL_DROPOUT_1D, SPATIAL_DROPOUT_2D,
            RESCALING, FLATTEN, RESHAPE, PERMUTE, REPEAT_VECTOR, EMBEDDING, POSITION_EMBEDDING, BATCHNORM, LAYERNORM,
            GROUPNORM, NORMALIZATION]


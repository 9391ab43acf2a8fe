"""Built-in convolution, pooling and spatial reshaping layers (1-D, 2-D and 3-D).

Shape and parameter rules follow Keras 3 exactly (``compute_conv_output_shape``,
``compute_pooling_output_shape``, the transposed-convolution length rule), including
``data_format`` and unknown (``?``) spatial sizes, which stay unknown. Where Keras would
fail while building, the rules raise ShapeError in the user's terms instead.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..hookspecs import hookimpl
from ..params import Activation, Bool, Choice, Int, IntTuple, Optional, Padding, Param
from ..registry import LayerDef, ParamCount, ShapeError
from .common import (DATA_FORMAT, Padding1D, as_tuple, constraint, fmt, initializer, macs, prod,
                     regularizer)

_AXES = {1: ("steps",), 2: ("rows", "cols"), 3: ("dim1", "dim2", "dim3")}
_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area")


# layout: where the channels are, and messages about it -----------------------------------------

def _first(a: Mapping[str, Any]) -> bool:
    return a.get("data_format") == "channels_first"


def _layout(rank: int, first: bool) -> str:
    axes = ", ".join(_AXES[rank])
    return f"(batch, channels, {axes})" if first else f"(batch, {axes}, channels)"


def _factor(n: int, rank: int) -> tuple[int, ...] | None:
    """Equal spatial sizes whose product is n (784 -> (28, 28)), if there are any."""
    root = round(n ** (1 / rank))
    for r in (root - 1, root, root + 1):
        if r > 0 and r ** rank == n:
            return (r,) * rank
    return None


def _rank_hint(name: str, shape, rank: int, first: bool, ranks: tuple[int, ...]) -> str:
    n = len(shape)
    sibling = None
    if n - 1 in ranks and n - 1 != rank:
        sibling = f"use {name.replace(f'{rank}d', f'{n - 1}d', 1)} for {_layout(n - 1, first)} inputs"
    if 0 < n <= rank and None not in shape:
        spatial = tuple(shape) if n == rank else _factor(shape[0], rank) if n == 1 else None
        if spatial:
            dims = (1, *spatial) if first else (*spatial, 1)
            tip = "reshape first, e.g. reshape " + " ".join(map(str, dims))
            return tip + (f", or {sibling}" if sibling else "")
    return sibling or f"reshape each sample to ({_layout(rank, first)[len('(batch, '):]} first"


def _split(name: str, shape, rank: int, first: bool, ranks: tuple[int, ...] = (1, 2, 3)):
    """(spatial dims, channels) of an input, or a ShapeError saying which layout was expected."""
    if len(shape) != rank + 1:
        raise ShapeError(f"expects a {rank + 2}-D input {_layout(rank, first)}, got {fmt(shape)}",
                         _rank_hint(name, shape, rank, first, ranks))
    return (tuple(shape[1:]), shape[0]) if first else (tuple(shape[:-1]), shape[-1])


def _join(spatial, channels, first: bool) -> tuple:
    return (channels, *spatial) if first else (*spatial, channels)


def _channels(name: str, shape, first: bool) -> int:
    c = shape[0] if first else shape[-1]
    if c is None:
        where = "first" if first else "last"
        raise ShapeError(f"needs a known channel dimension, got {fmt(shape)}",
                         f"{name} creates weights per input channel (the {where} axis); "
                         "give the input a fixed size there, e.g. input 28 28 3")
    return c


def _window(n, size: int, stride: int, dilation: int, padding: str, axis: str, what: str):
    """One spatial output length of a convolution or pooling window (Keras' formula)."""
    if n is None:
        return None
    if padding != "valid":  # same, causal
        return (n - 1) // stride + 1
    span = dilation * (size - 1) + 1
    if n < span:
        spans = f"{what} {size} with dilation_rate {dilation} spans {span}" if dilation > 1 else f"{what} {size}"
        raise ShapeError(f"{spans} is larger than the {axis} axis ({n}) with padding=valid",
                         f"use padding=same to keep the size, or a smaller {what}")
    return (n - span) // stride + 1


def _no_strided_dilation(a) -> None:
    strides, dilation = as_tuple(a["strides"], 1), as_tuple(a["dilation_rate"], 1)
    if max(strides) > 1 and max(dilation) > 1:
        raise ShapeError(f"strides {a['strides']} cannot be combined with dilation_rate {a['dilation_rate']}",
                         "Keras supports strides > 1 or dilation_rate > 1, not both; set one of them to 1")


def _conv_spatial(rank, a, spatial):
    kernel = as_tuple(a["kernel_size"], rank)
    strides = as_tuple(a["strides"], rank)
    dilation = as_tuple(a["dilation_rate"], rank)
    return tuple(_window(n, k, s, d, a["padding"], axis, "kernel_size")
                 for n, k, s, d, axis in zip(spatial, kernel, strides, dilation, _AXES[rank]))


# convolutions ---------------------------------------------------------------------------------

def _conv_rules(name: str, rank: int):
    def groups_of(a, c):
        g = a["groups"]
        if a["filters"] % g:
            raise ShapeError(f"filters {a['filters']} cannot be split into {g} groups",
                             f"groups must divide filters; choose filters a multiple of {g}")
        if c % g:
            raise ShapeError(f"{c} input channels cannot be split into {g} groups",
                             f"groups must divide the number of input channels ({c})")
        return g

    def shape(a, shapes):
        first = _first(a)
        spatial, _ = _split(name, shapes[0], rank, first)
        c = _channels(name, shapes[0], first)
        _no_strided_dilation(a)
        groups_of(a, c)
        return _join(_conv_spatial(rank, a, spatial), a["filters"], first)

    def params(a, shapes):
        first = _first(a)
        c = _channels(name, shapes[0], first)
        kernel = prod(as_tuple(a["kernel_size"], rank))
        return ParamCount(kernel * (c // groups_of(a, c)) * a["filters"] + (a["filters"] if a["use_bias"] else 0))

    def count_macs(a, shapes):
        # every output position: a kernel window over the input channels of its group
        c = _channels(name, shapes[0], _first(a))
        spatial, _ = _split(name, shape(a, shapes), rank, _first(a))
        return macs(spatial, as_tuple(a["kernel_size"], rank), c // groups_of(a, c), a["filters"])

    return shape, params, count_macs


def _transpose_length(n, k, s, d, op, padding, axis):
    if n is None:
        return None
    span = d * (k - 1) + 1
    if padding == "valid":
        out = (n - 1) * s + span + (max(span, s) - span if op is None else op)
    else:
        out = n * s if op is None else (n - 1) * s + span % 2 + op
    if out <= 0:
        raise ShapeError(f"the output's {axis} axis would be empty ({out})",
                         "use a larger output_padding or padding=valid")
    return out


def _transpose_rules(name: str, rank: int):
    def shape(a, shapes):
        first = _first(a)
        spatial, _ = _split(name, shapes[0], rank, first)
        _channels(name, shapes[0], first)
        _no_strided_dilation(a)
        kernel = as_tuple(a["kernel_size"], rank)
        strides = as_tuple(a["strides"], rank)
        dilation = as_tuple(a["dilation_rate"], rank)
        ops = (None,) * rank if a["output_padding"] is None else as_tuple(a["output_padding"], rank)
        for op, s in zip(ops, strides):
            if op is not None and op >= s:
                raise ShapeError(f"output_padding {a['output_padding']} must be less than strides {a['strides']}",
                                 "each output_padding value must be smaller than the stride on its axis")
        out = tuple(_transpose_length(n, k, s, d, op, a["padding"], axis)
                    for n, k, s, d, op, axis in zip(spatial, kernel, strides, dilation, ops, _AXES[rank]))
        return _join(out, a["filters"], first)

    def params(a, shapes):
        c = _channels(name, shapes[0], _first(a))
        kernel = prod(as_tuple(a["kernel_size"], rank))
        return ParamCount(kernel * c * a["filters"] + (a["filters"] if a["use_bias"] else 0))

    def count_macs(a, shapes):
        # every input position scatters a kernel window of filters outputs
        spatial, c = _split(name, shapes[0], rank, _first(a))
        return macs(spatial, as_tuple(a["kernel_size"], rank), c, a["filters"])

    return shape, params, count_macs


def _separable_rules(name: str, rank: int):
    def shape(a, shapes):
        first = _first(a)
        spatial, _ = _split(name, shapes[0], rank, first, (1, 2))
        _channels(name, shapes[0], first)
        return _join(_conv_spatial(rank, a, spatial), a["filters"], first)

    def params(a, shapes):
        c = _channels(name, shapes[0], _first(a))
        inner = c * a["depth_multiplier"]
        depthwise = prod(as_tuple(a["kernel_size"], rank)) * inner
        return ParamCount(depthwise + inner * a["filters"] + (a["filters"] if a["use_bias"] else 0))

    def count_macs(a, shapes):
        # depthwise at each output position, then a 1x1 pointwise convolution
        c = _channels(name, shapes[0], _first(a))
        spatial, _ = _split(name, shape(a, shapes), rank, _first(a))
        inner = c * a["depth_multiplier"]
        return macs(spatial, as_tuple(a["kernel_size"], rank), inner) + macs(spatial, inner, a["filters"])

    return shape, params, count_macs


def _depthwise_rules(name: str, rank: int):
    def shape(a, shapes):
        first = _first(a)
        spatial, _ = _split(name, shapes[0], rank, first, (1, 2))
        c = _channels(name, shapes[0], first)
        return _join(_conv_spatial(rank, a, spatial), c * a["depth_multiplier"], first)

    def params(a, shapes):
        out = _channels(name, shapes[0], _first(a)) * a["depth_multiplier"]
        return ParamCount(prod(as_tuple(a["kernel_size"], rank)) * out + (out if a["use_bias"] else 0))

    def count_macs(a, shapes):
        spatial, out = _split(name, shape(a, shapes), rank, _first(a))
        return macs(spatial, as_tuple(a["kernel_size"], rank), out)

    return shape, params, count_macs


def _padding_param(causal: bool = False) -> Param:
    choices = ("valid", "same", "causal") if causal else ("valid", "same")
    return Param("padding", Choice(choices, fold_case=True), default="valid")


def _bias_and(*names: str) -> tuple[Param, ...]:
    return (Param("use_bias", Bool(), default=True),
            *(initializer(f"{n}_initializer", "zeros" if n == "bias" else "glorot_uniform") for n in names),
            *(regularizer(f"{n}_regularizer") for n in names),
            regularizer("activity_regularizer"),
            *(constraint(f"{n}_constraint") for n in names))


def _conv(rank: int, *, transpose: bool = False) -> LayerDef:
    suffix = "transpose" if transpose else ""
    name = f"conv{rank}d{suffix}"
    auto_name = f"conv{rank}d{'_transpose' if transpose else ''}"
    rules = _transpose_rules if transpose else _conv_rules
    params = (
        Param("filters", Int(min=1), positional=True, doc="number of output channels"),
        Param("kernel_size", IntTuple(rank), positional=True, doc="window size, an int or one per axis"),
        Param("activation", Activation(), default=None, positional=True),
        Param("strides", IntTuple(rank), default=1),
        _padding_param(causal=rank == 1 and not transpose),
        *((Param("output_padding", Optional(IntTuple(rank, min=0)), default=None),) if transpose else ()),
        DATA_FORMAT,
        Param("dilation_rate", IntTuple(rank), default=1),
        *(() if transpose else (Param("groups", Int(min=1), default=1, doc="split channels into groups"),)),
        *_bias_and("kernel", "bias"),
    )
    what = "Transposed convolution (upsampling)" if transpose else "Convolution"
    shape, count, count_macs = rules(name, rank)
    return LayerDef(name, auto_name, params, shape, count, count_macs=count_macs,
                    aliases=(f"convolution{rank}d{suffix}",), category="convolution",
                    doc=f"{what} over {rank}-D {_layout(rank, False)} inputs: {name} 32 3 relu.")


_DEPTH_MULTIPLIER = Param("depth_multiplier", Int(min=1), default=1, doc="output channels per input channel")


def _separable(rank: int) -> LayerDef:
    name = f"separableconv{rank}d"
    auto_name = f"separable_conv{rank}d"
    params = (
        Param("filters", Int(min=1), positional=True, doc="number of output channels"),
        Param("kernel_size", IntTuple(rank), positional=True),
        Param("activation", Activation(), default=None, positional=True),
        Param("strides", IntTuple(rank), default=1),
        _padding_param(),
        DATA_FORMAT,
        Param("dilation_rate", IntTuple(rank), default=1),
        _DEPTH_MULTIPLIER,
        *_bias_and("depthwise", "pointwise", "bias"),
    )
    shape, count, count_macs = _separable_rules(name, rank)
    return LayerDef(name, auto_name, params, shape, count, count_macs=count_macs,
                    aliases=(f"separableconvolution{rank}d",), category="convolution",
                    doc=f"Depthwise then pointwise {rank}-D convolution: {name} 64 3 relu.")


def _depthwise(rank: int) -> LayerDef:
    name = f"depthwiseconv{rank}d"
    auto_name = f"depthwise_conv{rank}d"
    params = (
        Param("kernel_size", IntTuple(rank), positional=True),
        Param("activation", Activation(), default=None, positional=True),
        Param("strides", IntTuple(rank), default=1),
        _padding_param(),
        _DEPTH_MULTIPLIER,
        DATA_FORMAT,
        Param("dilation_rate", IntTuple(rank), default=1),
        *_bias_and("depthwise", "bias"),
    )
    shape, count, count_macs = _depthwise_rules(name, rank)
    return LayerDef(name, auto_name, params, shape, count, count_macs=count_macs, category="convolution",
                    doc=f"One {rank}-D filter per input channel: {name} 3 depth_multiplier=2.")


# pooling --------------------------------------------------------------------------------------

def _pool(rank: int, kind: str) -> LayerDef:
    long = "max" if kind == "max" else "average"
    auto_name = f"{long}_pooling{rank}d"
    name = f"{kind}pool{rank}d"

    def shape(a, shapes):
        first = _first(a)
        spatial, c = _split(name, shapes[0], rank, first)
        size = as_tuple(a["pool_size"], rank)
        strides = as_tuple(a["pool_size"] if a["strides"] is None else a["strides"], rank)
        out = tuple(_window(n, p, s, 1, a["padding"], axis, "pool_size")
                    for n, p, s, axis in zip(spatial, size, strides, _AXES[rank]))
        return _join(out, c, first)

    params = (
        # Keras defaults MaxPooling's pool_size to 2 but makes AveragePooling's required
        Param("pool_size", IntTuple(rank), positional=True,
              **({"default": 2 if rank == 1 else (2,) * rank} if kind == "max" else {})),
        Param("strides", Optional(IntTuple(rank)), default=None, doc="defaults to pool_size"),
        _padding_param(),
        DATA_FORMAT,
    )
    return LayerDef(name, auto_name, params, shape, aliases=(f"{long}pooling{rank}d",), category="pooling",
                    doc=f"{'Maximum' if kind == 'max' else 'Average'} over {rank}-D windows: {name} 2.")


def _global_pool(rank: int, kind: str) -> LayerDef:
    long = "max" if kind == "max" else "average"
    auto_name = f"global_{long}_pooling{rank}d"
    name = f"global{kind}pool{rank}d"

    def shape(a, shapes):
        first = _first(a)
        _, c = _split(name, shapes[0], rank, first)
        return _join((1,) * rank, c, first) if a["keepdims"] else (c,)

    params = (DATA_FORMAT, Param("keepdims", Bool(), default=False, doc="keep the spatial axes, as size 1"))
    return LayerDef(name, auto_name, params, shape, aliases=(f"global{long}pooling{rank}d",),
                    category="pooling",
                    doc=f"{'Maximum' if kind == 'max' else 'Average'} over all {rank}-D positions, per channel.")


# upsampling, zero padding, cropping -------------------------------------------------------------

def _upsampling(rank: int) -> LayerDef:
    name = f"upsampling{rank}d"
    auto_name = f"up_sampling{rank}d"

    def shape(a, shapes):
        first = _first(a)
        spatial, c = _split(name, shapes[0], rank, first)
        size = as_tuple(a["size"], rank)
        return _join(tuple(None if n is None else n * f for n, f in zip(spatial, size)), c, first)

    if rank == 1:  # UpSampling1D takes an int size and no data_format
        params: tuple[Param, ...] = (Param("size", Int(min=1), default=2, positional=True),)
    else:
        params = (Param("size", IntTuple(rank), default=(2,) * rank, positional=True), DATA_FORMAT)
    if rank == 2:
        params += (Param("interpolation", Choice(_INTERPOLATIONS), default="nearest"),)
    return LayerDef(name, auto_name, params, shape,
                    category="reshaping", doc=f"Repeats each {rank}-D position size times: {name} 2.")


def _pairs(value, rank: int) -> tuple[tuple[int, int], ...]:
    """Any accepted padding/cropping value as one (before, after) pair per spatial axis."""
    if isinstance(value, int):
        return ((value, value),) * rank
    if rank == 1:
        return (tuple(value),)
    return tuple(v if isinstance(v, tuple) else (v, v) for v in value)


def _edges(rank: int, kind: str) -> LayerDef:
    crop = kind == "cropping"
    name = f"cropping{rank}d" if crop else f"zeropadding{rank}d"
    auto_name = f"cropping{rank}d" if crop else f"zero_padding{rank}d"
    arg = "cropping" if crop else "padding"
    defaults = {("padding", 1): 1, ("padding", 2): (1, 1), ("padding", 3): ((1, 1),) * 3,
                ("cropping", 1): (1, 1), ("cropping", 2): ((0, 0),) * 2, ("cropping", 3): ((1, 1),) * 3}

    def shape(a, shapes):
        first = _first(a)
        spatial, c = _split(name, shapes[0], rank, first)
        out = []
        for n, (lo, hi), axis in zip(spatial, _pairs(a[arg], rank), _AXES[rank]):
            if n is None:
                out.append(None)
            elif not crop:
                out.append(n + lo + hi)
            elif lo + hi >= n:
                raise ShapeError(f"cropping {lo} + {hi} leaves nothing of the {axis} axis ({n})",
                                 f"crop fewer than {n} positions in total on that axis")
            else:
                out.append(n - lo - hi)
        return _join(tuple(out), c, first)

    params: tuple[Param, ...] = (Param(arg, Padding1D() if rank == 1 else Padding(n=rank),
                                       default=defaults[(arg, rank)], positional=True),)
    if not (crop and rank == 1):  # Cropping1D has no data_format
        params += (DATA_FORMAT,)
    what = "Removes" if crop else "Adds zeros at"
    return LayerDef(name, auto_name, params, shape,
                    category="reshaping",
                    doc=f"{what} the edges of each {rank}-D spatial axis: {name} 1, or (before, after) pairs.")


LAYERS: tuple[LayerDef, ...] = (
    *(_conv(r) for r in (1, 2, 3)),
    *(_conv(r, transpose=True) for r in (1, 2, 3)),
    *(_separable(r) for r in (1, 2)),
    *(_depthwise(r) for r in (1, 2)),
    *(_pool(r, k) for k in ("max", "avg") for r in (1, 2, 3)),
    *(_global_pool(r, k) for k in ("avg", "max") for r in (1, 2, 3)),
    *(_upsampling(r) for r in (1, 2, 3)),
    *(_edges(r, "padding") for r in (1, 2, 3)),
    *(_edges(r, "cropping") for r in (1, 2, 3)),
)


@hookimpl
def nndsl_layers():
    return list(LAYERS)

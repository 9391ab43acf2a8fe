"""The torch backend's lowering table: (kind, name) -> how that construct becomes PyTorch.

Kinds: ``layer`` (a function ``(node, input_shapes) -> Lowered``), ``activation``, ``loss`` and
``metric`` (the name of a function or class in :mod:`nndsl_torch.runtime`), ``optimizer`` (a
function ``(ir.Optimizer) -> Call``). Lowerings are plain data (a :class:`Call` names a class
and its arguments), so checking what the backend supports never imports torch, and the
in-process builder and the script emitter read the same descriptions. A construct whose
values this backend cannot honour raises :class:`Unsupported` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from .schedules import CONSTRAINTS, REGULARIZERS, SCHEDULES


class Unsupported(Exception):
    """This construct (or one of its values) has no lowering in the torch backend."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Call:
    """``cls(*args, **kwargs)``: ``cls`` names a class in :mod:`nndsl_torch.runtime`, or a dotted
    ``torch.*`` path. Arguments are plain values or nested Calls."""

    cls: str
    args: tuple = ()
    kwargs: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Lowered:
    """One layer: the module to construct, and the activation applied to its output (or None)."""

    call: Call
    activation: str | None = None
    takes_mask: bool = False   # consumes the (batch, steps) mask of a masked sequence
    keeps_mask: bool = False   # passes its input's mask on unchanged
    makes_mask: bool = False   # embedding mask_zero=true


Shape = tuple

# Attribute names no lowering reads: they change nothing PyTorch computes (seeds), or they are
# options whose only legal value was enforced when the spec was checked.
_IGNORED = {"seed", "return_state", "stateful", "unroll", "data_format"}


def _refuse_extras(node, attrs: Mapping[str, Any]) -> None:
    """Regularizers and constraints are entries of the lowering table (kinds ``regularizer`` and
    ``constraint``): the backend reports those it lacks, and the trainer adds weight penalties
    (an ``activity_regularizer`` is refused for training by :func:`nndsl_torch.model.plan`)."""


def _init(attrs: Mapping[str, Any], name: str) -> str:
    value = attrs[name]
    if not isinstance(value, str):
        written = getattr(value, "name", value)
        raise Unsupported(f"{name}={written}(...) with arguments has no lowering in backend 'torch'; "
                          f"initializer names do ({name}={written})")
    return value


def _activation(value) -> str | None:
    if value is None or value == "linear":
        return None
    if not isinstance(value, str) or value not in ACTIVATIONS:
        raise Unsupported(f"activation '{value}' has no lowering in backend 'torch'")
    return ACTIVATIONS[value]


def _channels_first(a) -> bool:
    return a.get("data_format") == "channels_first"


def _channels(a, shape) -> int:
    return shape[0] if _channels_first(a) else shape[-1]


def _kw(**pairs) -> tuple[tuple[str, Any], ...]:
    return tuple(pairs.items())


# layers -------------------------------------------------------------------------------------

def _dense(node, shapes):
    a = node.attr
    _refuse_extras(node, a)
    return Lowered(Call("Dense", (shapes[0][-1], a["units"]), _kw(
        use_bias=a["use_bias"], kernel_initializer=_init(a, "kernel_initializer"),
        bias_initializer=_init(a, "bias_initializer"))), _activation(a["activation"]), keeps_mask=True)


def _activation_layer(node, shapes):
    name = _activation(node.attr["activation"])
    return Lowered(Call("Activation", (name or "linear",)), keeps_mask=True)


def _simple(cls: str, *names: str, keeps_mask: bool = False):
    def lower(node, shapes):
        a = node.attr
        return Lowered(Call(cls, tuple(a[n] for n in names)), keeps_mask=keeps_mask)
    return lower


def _dropout(node, shapes):
    a = node.attr
    if a.get("noise_shape") is not None:
        return Lowered(Call("Dropout", (a["rate"], tuple(a["noise_shape"]))), keeps_mask=True)
    return Lowered(Call("torch.nn.Dropout", (a["rate"],)), keeps_mask=True)


def _relu(node, shapes):
    a = node.attr
    return Lowered(Call("ReLU", (), _kw(max_value=a["max_value"], negative_slope=a["negative_slope"],
                                        threshold=a["threshold"])), keeps_mask=True)


def _position_embedding(node, shapes):
    a = node.attr
    return Lowered(Call("PositionEmbedding", (a["max_length"], shapes[0][-1]), _kw(
        embeddings_initializer=_init(a, "embeddings_initializer"))), keeps_mask=True)


def _normalization(node, shapes):
    a = node.attr
    shape = shapes[0]
    rank = len(shape) + 1
    axes = a["axis"]
    axes = () if axes is None else (axes,) if isinstance(axes, int) else tuple(axes)
    kept = sorted({axis % rank for axis in axes})
    return Lowered(Call("Normalization", (tuple(shape[i - 1] for i in kept),
                                          tuple(shape[i - 1] if i in kept else 1 for i in range(1, rank))),
                        _kw(invert=a["invert"])))


def _reshape(node, shapes):
    return Lowered(Call("Reshape", tuple(node.attr["target_shape"])))


def _permute(node, shapes):
    return Lowered(Call("Permute", tuple(node.attr["dims"])))


def _embedding(node, shapes):
    a = node.attr
    _refuse_extras(node, a)
    return Lowered(Call("Embedding", (a["input_dim"], a["output_dim"]), _kw(
        embeddings_initializer=_init(a, "embeddings_initializer"))), makes_mask=bool(a["mask_zero"]))


def _norm(cls: str, *names: str, keeps_mask: bool = False):
    def lower(node, shapes):
        a = node.attr
        shape = shapes[0]
        axis = a["axis"]
        index = axis - 1 if axis > 0 else len(shape) + axis
        if cls == "GroupNorm" and index != len(shape) - 1:
            raise Unsupported("groupnorm on an axis other than the last has no lowering in backend 'torch'")
        # axes count the batch as 0 in both frameworks, so Keras' axis is PyTorch's dim
        return Lowered(Call(cls, (shape[index],), _kw(**{n: a[n] for n in names}, axis=axis)),
                       keeps_mask=keeps_mask)
    return lower


def _conv(rank: int):
    def lower(node, shapes):
        a = node.attr
        _refuse_extras(node, a)
        return Lowered(Call("Conv", (rank, _channels(a, shapes[0]), a["filters"], a["kernel_size"]), _kw(
            strides=a["strides"], padding=a["padding"], dilation_rate=a["dilation_rate"], groups=a["groups"],
            use_bias=a["use_bias"], channels_first=_channels_first(a),
            kernel_initializer=_init(a, "kernel_initializer"), bias_initializer=_init(a, "bias_initializer"))),
            _activation(a["activation"]))
    return lower


def _conv_transpose(rank: int):
    def lower(node, shapes):
        a = node.attr
        _refuse_extras(node, a)
        return Lowered(Call("ConvTranspose", (rank, _channels(a, shapes[0]), a["filters"], a["kernel_size"]), _kw(
            strides=a["strides"], padding=a["padding"], output_padding=a["output_padding"],
            dilation_rate=a["dilation_rate"], use_bias=a["use_bias"], channels_first=_channels_first(a),
            kernel_initializer=_init(a, "kernel_initializer"), bias_initializer=_init(a, "bias_initializer"))),
            _activation(a["activation"]))
    return lower


def _depthwise(rank: int):
    def lower(node, shapes):
        a = node.attr
        _refuse_extras(node, a)
        return Lowered(Call("DepthwiseConv", (rank, _channels(a, shapes[0]), a["kernel_size"]), _kw(
            strides=a["strides"], padding=a["padding"], depth_multiplier=a["depth_multiplier"],
            dilation_rate=a["dilation_rate"], use_bias=a["use_bias"], channels_first=_channels_first(a),
            depthwise_initializer=_init(a, "depthwise_initializer"),
            bias_initializer=_init(a, "bias_initializer"))), _activation(a["activation"]))
    return lower


def _separable(rank: int):
    def lower(node, shapes):
        a = node.attr
        _refuse_extras(node, a)
        return Lowered(Call("SeparableConv", (rank, _channels(a, shapes[0]), a["filters"], a["kernel_size"]), _kw(
            strides=a["strides"], padding=a["padding"], dilation_rate=a["dilation_rate"],
            depth_multiplier=a["depth_multiplier"], use_bias=a["use_bias"], channels_first=_channels_first(a),
            depthwise_initializer=_init(a, "depthwise_initializer"),
            pointwise_initializer=_init(a, "pointwise_initializer"),
            bias_initializer=_init(a, "bias_initializer"))), _activation(a["activation"]))
    return lower


def _pool(rank: int, kind: str):
    def lower(node, shapes):
        a = node.attr
        return Lowered(Call("Pool", (rank, kind, a["pool_size"]), _kw(
            strides=a["strides"], padding=a["padding"], channels_first=_channels_first(a))))
    return lower


def _global_pool(rank: int, kind: str):
    def lower(node, shapes):
        a = node.attr
        return Lowered(Call("GlobalPool", (rank, kind), _kw(keepdims=a["keepdims"],
                                                            channels_first=_channels_first(a))))
    return lower


def _upsampling(rank: int):
    def lower(node, shapes):
        a = node.attr
        interpolation = a.get("interpolation", "nearest")
        if interpolation not in ("nearest", "bilinear"):
            raise Unsupported(f"upsampling2d interpolation={interpolation} has no lowering in backend 'torch' "
                              "(nearest and bilinear do)")
        return Lowered(Call("UpSampling", (rank, a["size"]), _kw(interpolation=interpolation,
                                                                 channels_first=_channels_first(a))))
    return lower


def _pairs(value, rank: int) -> tuple:
    if isinstance(value, int):
        return ((value, value),) * rank
    if rank == 1:
        return (tuple(value),)
    return tuple(v if isinstance(v, tuple) else (v, v) for v in value)


def _edges(rank: int, crop: bool):
    def lower(node, shapes):
        a = node.attr
        arg = "cropping" if crop else "padding"
        return Lowered(Call("Cropping" if crop else "ZeroPadding", (rank, _pairs(a[arg], rank)),
                            _kw(channels_first=_channels_first(a))))
    return lower


def _merge(mode: str):
    def lower(node, shapes):
        return Lowered(Call("Merge", (mode,)))
    return lower


def _concat(node, shapes):
    return Lowered(Call("Concatenate", (), _kw(axis=node.attr["axis"])))


def _dot(node, shapes):
    a = node.attr
    return Lowered(Call("Dot", (a["axes"],), _kw(normalize=a["normalize"])))


_RNN_KEYS = ("activation", "recurrent_activation", "use_bias", "return_sequences", "go_backwards", "reset_after",
             "unit_forget_bias", "dropout", "recurrent_dropout")


def _rnn_call(cell: str, a: Mapping[str, Any], features: int, node, go_backwards: bool | None = None) -> Call:
    _refuse_extras(node, a)
    kwargs: dict[str, Any] = {}
    for key in _RNN_KEYS:
        if key in a:
            kwargs[key] = a[key]
    for key in ("activation", "recurrent_activation"):
        if key in kwargs:
            kwargs[key] = _activation(kwargs[key]) or "linear"
    if go_backwards is not None:
        kwargs["go_backwards"] = go_backwards
    for key in ("kernel_initializer", "recurrent_initializer", "bias_initializer"):
        kwargs[key] = _init(a, key)
    return Call("Recurrent", (cell, features, a["units"]), tuple(kwargs.items()))


def _rnn(cell: str):
    def lower(node, shapes):
        return Lowered(_rnn_call(cell, node.attr, shapes[0][-1], node), takes_mask=True)
    return lower


def _bidirectional(node, shapes):
    a = node.attr
    cell = a["layer"]
    if cell not in ("lstm", "gru", "simplernn"):
        raise Unsupported(f"bidirectional {cell} has no lowering in backend 'torch'")
    features = shapes[0][-1]
    return Lowered(Call("Bidirectional", (_rnn_call(cell, a, features, node, False),
                                          _rnn_call(cell, a, features, node, True)),
                        _kw(merge_mode=a["merge_mode"])), takes_mask=True)


def _attention(node, shapes):
    a = node.attr
    _refuse_extras(node, a)
    query = shapes[0]
    value = shapes[1] if len(shapes) > 1 else query
    key = shapes[2] if len(shapes) > 2 else value
    if len(query) != 2:
        raise Unsupported("multiheadattention over more than one axis (inputs of rank > 3) has no lowering in "
                          "backend 'torch'")
    return Lowered(Call("MultiHeadAttention", (query[-1], value[-1], key[-1], a["num_heads"], a["key_dim"]), _kw(
        value_dim=a["value_dim"], dropout=a["dropout"], use_bias=a["use_bias"], output_shape=a["output_shape"],
        use_gate=a["use_gate"], kernel_initializer=_init(a, "kernel_initializer"),
        bias_initializer=_init(a, "bias_initializer"))))


# Keras' preprocessing layers hold lookup tables, vocabularies and string tensors, which have no
# torch.nn counterpart, and its augmentation layers are image ops PyTorch keeps in torchvision
# (not a dependency). They have no entry in the table; TorchBackend.reasons says why (the hint of
# their E700 diagnostic and the coverage table's note).
_STRINGS = ("PyTorch has no string tensors; turn text and categories into integer ids in the data, or train "
            "with a Keras backend")
_ADAPTED = ("its adapted lookup table is a Keras layer state with no torch.nn counterpart; train with a Keras "
            "backend")
_IMAGE_OPS = "image augmentation and resizing are torchvision's, not torch.nn's; train with a Keras backend"
PREPROCESSING_REFUSED: dict[str, str] = {
    "textvectorization": _STRINGS, "stringlookup": _STRINGS,
    "integerlookup": _ADAPTED, "discretization": _ADAPTED,
    **{name: _IMAGE_OPS for name in ("randomflip", "randomrotation", "randomzoom", "randomcontrast", "randomcrop",
                                     "resizing", "centercrop")},
}


LAYERS: dict[str, Callable[[Any, Sequence[Shape]], Lowered]] = {
    "dense": _dense,
    "activation": _activation_layer,
    "relu": _relu,
    "positionembedding": _position_embedding,
    "normalization": _normalization,
    "leakyrelu": _simple("LeakyReLU", "negative_slope", keeps_mask=True),
    "dropout": _dropout,
    "gaussiannoise": _simple("GaussianNoise", "stddev", keeps_mask=True),
    "spatialdropout1d": _simple("SpatialDropout", "rate", keeps_mask=True),
    "spatialdropout2d": _simple("SpatialDropout", "rate"),
    "rescaling": _simple("Rescaling", "scale", "offset", keeps_mask=True),
    "flatten": lambda node, shapes: Lowered(Call("torch.nn.Flatten")),
    "reshape": _reshape,
    "permute": _permute,
    "repeatvector": _simple("RepeatVector", "n"),
    "embedding": _embedding,
    "batchnorm": _norm("BatchNorm", "momentum", "epsilon", "center", "scale"),
    "layernorm": _norm("LayerNorm", "epsilon", "center", "scale", keeps_mask=True),
    "groupnorm": _norm("GroupNorm", "groups", "epsilon", "center", "scale"),
    **{f"conv{r}d": _conv(r) for r in (1, 2, 3)},
    **{f"conv{r}dtranspose": _conv_transpose(r) for r in (1, 2, 3)},
    **{f"depthwiseconv{r}d": _depthwise(r) for r in (1, 2)},
    **{f"separableconv{r}d": _separable(r) for r in (1, 2)},
    **{f"{k}pool{r}d": _pool(r, k) for k in ("max", "avg") for r in (1, 2, 3)},
    **{f"global{k}pool{r}d": _global_pool(r, k) for k in ("max", "avg") for r in (1, 2, 3)},
    **{f"upsampling{r}d": _upsampling(r) for r in (1, 2, 3)},
    **{f"zeropadding{r}d": _edges(r, False) for r in (1, 2, 3)},
    **{f"cropping{r}d": _edges(r, True) for r in (1, 2, 3)},
    **{m: _merge(m) for m in ("add", "subtract", "multiply", "average", "maximum", "minimum")},
    "concat": _concat,
    "dot": _dot,
    "simplernn": _rnn("simplernn"),
    "lstm": _rnn("lstm"),
    "gru": _rnn("gru"),
    "bidirectional": _bidirectional,
    "multiheadattention": _attention,
}

# activations: the spec's name -> runtime.ACTIVATIONS key (Keras' sparsemax has no PyTorch kernel)
ACTIVATIONS: dict[str, str] = {n: n for n in (
    "linear", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "gelu", "elu", "selu", "celu", "softplus",
    "softsign", "swish", "silu", "mish", "exponential", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh",
    "relu6", "leaky_relu", "log_sigmoid", "glu", "tanh_shrink", "hard_shrink", "soft_shrink", "squareplus",
    "sparse_plus", "sparse_sigmoid")}

# losses: every built-in one; the runtime.LOSSES key is the loss's spelled-out name, which the
# language defines (nndsl.registry.LossDef.long: mse -> mean_squared_error), see loss_function()
LOSSES: tuple[str, ...] = (
    "mse", "mae", "mape", "msle", "huber", "log_cosh", "binary_crossentropy", "binary_focal_crossentropy",
    "categorical_crossentropy", "categorical_focal_crossentropy", "sparse_categorical_crossentropy",
    "kl_divergence", "poisson", "hinge", "squared_hinge", "categorical_hinge", "cosine_similarity")


# loss options runtime.configured_loss honours, by the loss's long name (Keras' meaning; axis only
# -1); the rest are refused when the spec is checked
LOSS_OPTIONS: dict[str, tuple[str, ...]] = {
    "binary_crossentropy": ("from_logits", "label_smoothing", "axis"),
    "categorical_crossentropy": ("from_logits", "label_smoothing", "axis"),
    "sparse_categorical_crossentropy": ("from_logits",),
    "huber": ("delta",),
}


def loss_function(name: str, registry) -> str:
    """The runtime.LOSSES key of a spec's loss: its table entry when that names one (a plugin's
    lowering), else the loss's spelled-out name."""
    definition = registry.losses[name]
    entry = registry.lowerings("torch").get("loss", definition.name)
    return entry if isinstance(entry, str) else definition.long


# metrics: the spec's name -> runtime.METRICS key
METRICS: dict[str, str] = {
    "accuracy": "accuracy",  # resolved by the output's loss and shape, as Keras resolves it
    **{n: n for n in ("binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
                      "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "auc", "precision",
                      "recall", "binary_crossentropy", "categorical_crossentropy",
                      "sparse_categorical_crossentropy", "kl_divergence", "poisson", "cosine_similarity",
                      "log_cosh_error", "hinge", "r2_score")},
    "mse": "mean_squared_error", "mae": "mean_absolute_error", "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error", "rmse": "root_mean_squared_error",
}


# optimizers -----------------------------------------------------------------------------------

# Keras' keyword -> PyTorch's, per optimizer; "lr" is the learning rate.
_OPTIMIZERS: dict[str, tuple[str, dict[str, str]]] = {
    "sgd": ("torch.optim.SGD", {"momentum": "momentum", "nesterov": "nesterov"}),
    "rmsprop": ("torch.optim.RMSprop", {"rho": "alpha", "momentum": "momentum", "epsilon": "eps",
                                        "centered": "centered"}),
    "adam": ("torch.optim.Adam", {"epsilon": "eps", "amsgrad": "amsgrad"}),
    "adamw": ("torch.optim.AdamW", {"epsilon": "eps", "amsgrad": "amsgrad", "weight_decay": "weight_decay"}),
    "adagrad": ("torch.optim.Adagrad", {"initial_accumulator_value": "initial_accumulator_value",
                                        "epsilon": "eps"}),
    "adadelta": ("torch.optim.Adadelta", {"rho": "rho", "epsilon": "eps"}),
    "adamax": ("torch.optim.Adamax", {"epsilon": "eps"}),
    "nadam": ("torch.optim.NAdam", {"epsilon": "eps"}),
    "ftrl": ("Ftrl", {k: k for k in ("learning_rate_power", "initial_accumulator_value",
                                     "l1_regularization_strength", "l2_regularization_strength",
                                     "l2_shrinkage_regularization_strength", "beta")}),
    "lion": ("Lion", {"beta_1": "beta_1", "beta_2": "beta_2"}),
}
_BETAS = {"adam", "adamw", "adamax", "nadam"}
# handled by the training loop, not the optimizer
GRADIENT_CLIPPING = ("clipnorm", "clipvalue", "global_clipnorm")
_REFUSED_WHEN_SET = ("use_ema", "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps")


def optimizer_call(opt, registry=None) -> Call:
    """The torch.optim (or runtime) constructor for an ``ir.Optimizer``, without the parameters
    (a learning-rate schedule: its step-0 rate; ``registry`` gives the schedule's defaults)."""
    if opt.name not in _OPTIMIZERS:
        raise Unsupported(f"optimizer '{opt.name}' has no lowering in backend 'torch'")
    cls, names = _OPTIMIZERS[opt.name]
    a = opt.attr
    for key in _REFUSED_WHEN_SET:
        if a.get(key):
            raise Unsupported(f"optimizer option {key} has no lowering in backend 'torch'")
    if a.get("weight_decay") and opt.name != "adamw":
        raise Unsupported(f"weight_decay on optimizer '{opt.name}' has no lowering in backend 'torch' "
                          "(Keras decouples it; use adamw)")
    # a schedule starts at its step-0 rate; the trainer sets each step's (nndsl_torch.schedules)
    kwargs: dict[str, Any] = {"lr": a["learning_rate"] if isinstance(a["learning_rate"], (int, float))
                              else _schedule_start(a["learning_rate"], registry)}
    for key, torch_key in names.items():
        if key in a:  # every value, defaults included: Keras' defaults are not PyTorch's
            kwargs[torch_key] = a[key]
    if opt.name in _BETAS:
        kwargs["betas"] = (a["beta_1"], a["beta_2"])
    return Call(cls, (), tuple(kwargs.items()))


def _schedule_start(schedule, registry) -> float:
    from .schedules import learning_rate

    if registry is None:
        from nndsl.plugins import default_registry

        registry = default_registry()
    return learning_rate(schedule, registry, 0)


def default_optimizer():
    """Keras' compile() default when the spec names none: RMSprop(0.001)."""
    from nndsl import ir

    return ir.Optimizer("rmsprop", (("learning_rate", 0.001), ("rho", 0.9), ("momentum", 0.0),
                                    ("epsilon", 1e-7), ("centered", False)), ())


def table() -> dict[tuple[str, str], Any]:
    """Every lowering keyed by (kind, name): what the plugin registers with nndsl."""
    out: dict[tuple[str, str], Any] = {}
    out.update({("layer", k): v for k, v in LAYERS.items()})
    out.update({("activation", k): v for k, v in ACTIVATIONS.items()})
    out.update({("loss", k): None for k in LOSSES})  # None: the runtime function of LossDef.long
    out.update({("metric", k): v for k, v in METRICS.items()})
    out.update({("optimizer", k): optimizer_call for k in _OPTIMIZERS})
    out.update({("callback", k): k for k in CALLBACKS})
    out.update({("initializer", k): k for k in INITIALIZERS})
    out.update({("schedule", k): k for k in SCHEDULES})          # stepped by the trainer
    out.update({("regularizer", k): k for k in REGULARIZERS})    # penalties added by the trainer
    out.update({("constraint", k): k for k in CONSTRAINTS})      # projections after each step
    return out


# initializers by name (runtime.initialize); one written with arguments is refused by _init
INITIALIZERS = ("zeros", "ones", "constant", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
                "lecun_normal", "variance_scaling", "random_normal", "random_uniform", "truncated_normal",
                "orthogonal", "identity")


# run by nndsl_torch.trainer
CALLBACKS = ("early_stopping", "reduce_lr_on_plateau", "terminate_on_nan", "learning_rate_scheduler", "csv_logger")

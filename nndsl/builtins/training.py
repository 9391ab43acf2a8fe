"""Built-in optimizers, losses and metrics: names, signatures and defaults (Keras 3's, the reference)."""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..params import Bool, Float, Int, Object, Optional, Param
from ..registry import LossDef, MetricDef, OptimizerDef


def _lr(default: float) -> Param:
    return Param("learning_rate", Object("schedules", "a learning-rate schedule", number=Float(min=0.0, min_open=True)),
                 default=default, positional=True, doc="step size: a number or a schedule, cosine_decay(1e-3, 1000)")


_COMMON = (
    Param("weight_decay", Optional(Float(min=0.0)), default=None),
    Param("clipnorm", Optional(Float(min=0.0, min_open=True)), default=None),
    Param("clipvalue", Optional(Float(min=0.0, min_open=True)), default=None),
    Param("global_clipnorm", Optional(Float(min=0.0, min_open=True)), default=None),
    Param("use_ema", Bool(), default=False),
    Param("ema_momentum", Float(min=0.0, max=1.0), default=0.99),
    Param("ema_overwrite_frequency", Optional(Int(min=1)), default=None),
    Param("loss_scale_factor", Optional(Float(min=0.0, min_open=True)), default=None),
    Param("gradient_accumulation_steps", Optional(Int(min=1)), default=None),
)

_UNIT = Float(min=0.0, max=1.0)
_EPS = Param("epsilon", Float(min=0.0), default=1e-7)


_DOCS = {
    "sgd": "stochastic gradient descent, with optional momentum",
    "rmsprop": "RMSprop: gradients scaled by a moving average of their squares",
    "adam": "Adam: adaptive moment estimation",
    "adamw": "Adam with decoupled weight decay",
    "adagrad": "Adagrad: per-parameter rates from accumulated squared gradients",
    "adadelta": "Adadelta: Adagrad with a window of past gradients",
    "adamax": "Adamax: Adam with the infinity norm",
    "nadam": "Adam with Nesterov momentum",
    "ftrl": "FTRL-proximal, for wide sparse models",
    "lion": "Lion: sign-based updates with momentum",
}


def _opt(name, lr, *own, common=_COMMON):
    own_names = {p.name for p in own}
    return OptimizerDef(name, (_lr(lr), *own, *(p for p in common if p.name not in own_names)), doc=_DOCS[name])


OPTIMIZERS = [
    _opt("sgd", 0.01, Param("momentum", _UNIT, default=0.0), Param("nesterov", Bool(), default=False)),
    _opt("rmsprop", 0.001, Param("rho", _UNIT, default=0.9), Param("momentum", _UNIT, default=0.0),
         _EPS, Param("centered", Bool(), default=False)),
    _opt("adam", 0.001, Param("beta_1", _UNIT, default=0.9), Param("beta_2", _UNIT, default=0.999),
         _EPS, Param("amsgrad", Bool(), default=False)),
    _opt("adamw", 0.001, Param("weight_decay", Float(min=0.0), default=0.004),
         Param("beta_1", _UNIT, default=0.9), Param("beta_2", _UNIT, default=0.999), _EPS,
         Param("amsgrad", Bool(), default=False)),
    _opt("adagrad", 0.001, Param("initial_accumulator_value", Float(min=0.0), default=0.1), _EPS),
    _opt("adadelta", 0.001, Param("rho", _UNIT, default=0.95), _EPS),
    _opt("adamax", 0.001, Param("beta_1", _UNIT, default=0.9), Param("beta_2", _UNIT, default=0.999), _EPS),
    _opt("nadam", 0.001, Param("beta_1", _UNIT, default=0.9), Param("beta_2", _UNIT, default=0.999), _EPS),
    _opt("ftrl", 0.001, Param("learning_rate_power", Float(max=0.0), default=-0.5),
         Param("initial_accumulator_value", Float(min=0.0), default=0.1),
         Param("l1_regularization_strength", Float(min=0.0), default=0.0),
         Param("l2_regularization_strength", Float(min=0.0), default=0.0),
         Param("l2_shrinkage_regularization_strength", Float(min=0.0), default=0.0),
         Param("beta", Float(min=0.0), default=0.0)),
    _opt("lion", 0.001, Param("beta_1", _UNIT, default=0.9), Param("beta_2", _UNIT, default=0.99)),
]

_FROM_LOGITS = Param("from_logits", Bool(), default=False,
                     doc="the output holds logits (no softmax or sigmoid); the loss applies it")
_SMOOTHING = Param("label_smoothing", Float(min=0.0, max=1.0), default=0.0,
                   doc="move targets this far towards uniform")
_AXIS = Param("axis", Int(), default=-1, doc="the class axis")
_ALPHA = Param("alpha", Float(min=0.0, max=1.0), default=0.25, doc="focal loss class balance")
_GAMMA = Param("gamma", Float(min=0.0), default=2.0, doc="focal loss focusing: larger ignores easy samples more")

# Loss options, by loss name (Keras 3's loss classes' arguments, reduction/name/dtype left out).
_LOSS_PARAMS = {
    "binary_crossentropy": (_FROM_LOGITS, _SMOOTHING, _AXIS),
    "binary_focal_crossentropy": (
        Param("apply_class_balancing", Bool(), default=False, doc="weight classes by alpha"),
        _ALPHA, _GAMMA, _FROM_LOGITS, _SMOOTHING, _AXIS),
    "categorical_crossentropy": (_FROM_LOGITS, _SMOOTHING, _AXIS),
    "categorical_focal_crossentropy": (_ALPHA, _GAMMA, _FROM_LOGITS, _SMOOTHING, _AXIS),
    "sparse_categorical_crossentropy": (
        _FROM_LOGITS, Param("ignore_class", Optional(Int()), default=None, doc="a label id that adds no loss")),
    "huber": (Param("delta", Float(min=0.0, min_open=True), default=1.0, doc="where the loss turns linear"),),
    "cosine_similarity": (_AXIS,),
}

# (name, labels, aliases); what each computes is Keras 3's loss of that name (the reference)
_LOSSES = [
    ("mse", "one_hot", ("mean_squared_error",)),
    ("mae", "one_hot", ("mean_absolute_error",)),
    ("mape", "values", ("mean_absolute_percentage_error",)),
    ("msle", "values", ("mean_squared_logarithmic_error",)),
    ("huber", "one_hot", ()),
    ("log_cosh", "one_hot", ()),
    ("binary_crossentropy", "binary", ("bce",)),
    ("binary_focal_crossentropy", "binary", ()),
    ("categorical_crossentropy", "one_hot", ("cce",)),
    ("categorical_focal_crossentropy", "one_hot", ()),
    ("sparse_categorical_crossentropy", "sparse", ("scce",)),
    ("kl_divergence", "one_hot", ("kld",)),
    ("poisson", "values", ()),
    ("hinge", "binary", ()),
    ("squared_hinge", "binary", ()),
    ("categorical_hinge", "one_hot", ()),
    ("cosine_similarity", "one_hot", ()),
]

# (name, the name run logs it under, aliases)
_METRICS = [
    ("accuracy", "accuracy", ("acc",)),
    ("binary_accuracy", "binary_accuracy", ()),
    ("categorical_accuracy", "categorical_accuracy", ()),
    ("sparse_categorical_accuracy", "sparse_categorical_accuracy", ()),
    ("top_k_categorical_accuracy", "top_k_categorical_accuracy", ()),
    ("sparse_top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", ()),
    ("auc", "auc", ()),
    ("precision", "precision", ()),
    ("recall", "recall", ()),
    ("mse", "mean_squared_error", ("mean_squared_error",)),
    ("mae", "mean_absolute_error", ("mean_absolute_error",)),
    ("mape", "mean_absolute_percentage_error", ("mean_absolute_percentage_error",)),
    ("msle", "mean_squared_logarithmic_error", ("mean_squared_logarithmic_error",)),
    ("rmse", "root_mean_squared_error", ("root_mean_squared_error",)),
    ("binary_crossentropy", "binary_crossentropy", ()),
    ("categorical_crossentropy", "categorical_crossentropy", ()),
    ("sparse_categorical_crossentropy", "sparse_categorical_crossentropy", ()),
    ("kl_divergence", "kl_divergence", ()),
    ("poisson", "poisson", ()),
    ("cosine_similarity", "cosine_similarity", ()),
    ("log_cosh_error", "log_cosh_error", ()),
    ("hinge", "hinge", ()),
    ("r2_score", "r2_score", ()),
]


@hookimpl
def nndsl_optimizers():
    return OPTIMIZERS


# the short names spelled out (LossDef.long_name); the other losses' names are already long
_LONG_NAMES = {"mse": "mean_squared_error", "mae": "mean_absolute_error", "mape": "mean_absolute_percentage_error",
               "msle": "mean_squared_logarithmic_error"}


@hookimpl
def nndsl_losses():
    return [LossDef(n, labels, aliases, doc=f"the {n} loss", params=_LOSS_PARAMS.get(n, ()),
                    long_name=_LONG_NAMES.get(n)) for n, labels, aliases in _LOSSES]


@hookimpl
def nndsl_metrics():
    return [MetricDef(n, aliases, doc=f"the {n} metric", log_name=None if logged == n else logged)
            for n, logged, aliases in _METRICS]

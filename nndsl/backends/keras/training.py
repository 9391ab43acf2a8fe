"""The Keras lowering of the training vocabulary: configured objects, losses with options, callbacks.

Definitions (``nndsl/builtins/objects.py``, ``callbacks.py``, ``training.py``) say what a
name means; :data:`OBJECTS` says which Keras 3 class builds it and becomes entries of the Keras
lowering table (:func:`nndsl.backends.keras.table.builtin_lowerings`), so a plugin can add or
replace one through ``nndsl_lowerings``. Everything here returns KerasCall descriptions, so
the in-process build and the emitted script read the same lowering. No Keras import.
"""

from __future__ import annotations

from typing import Callable

from ... import ir
from .lower import HELPERS, KerasCall, KerasLowering, keras_object, lower

# (kind, name) -> (keras module, class). Kinds are the registry tables' singulars.
OBJECTS: dict[tuple[str, str], tuple[str, str]] = {
    ("regularizer", "l1"): ("regularizers", "L1"),
    ("regularizer", "l2"): ("regularizers", "L2"),
    ("regularizer", "l1_l2"): ("regularizers", "L1L2"),
    ("regularizer", "orthogonal_regularizer"): ("regularizers", "OrthogonalRegularizer"),
    ("constraint", "max_norm"): ("constraints", "MaxNorm"),
    ("constraint", "min_max_norm"): ("constraints", "MinMaxNorm"),
    ("constraint", "non_neg"): ("constraints", "NonNeg"),
    ("constraint", "unit_norm"): ("constraints", "UnitNorm"),
    ("initializer", "glorot_uniform"): ("initializers", "GlorotUniform"),
    ("initializer", "glorot_normal"): ("initializers", "GlorotNormal"),
    ("initializer", "he_uniform"): ("initializers", "HeUniform"),
    ("initializer", "he_normal"): ("initializers", "HeNormal"),
    ("initializer", "lecun_uniform"): ("initializers", "LecunUniform"),
    ("initializer", "lecun_normal"): ("initializers", "LecunNormal"),
    ("initializer", "zeros"): ("initializers", "Zeros"),
    ("initializer", "ones"): ("initializers", "Ones"),
    ("initializer", "constant"): ("initializers", "Constant"),
    ("initializer", "random_normal"): ("initializers", "RandomNormal"),
    ("initializer", "random_uniform"): ("initializers", "RandomUniform"),
    ("initializer", "truncated_normal"): ("initializers", "TruncatedNormal"),
    ("initializer", "orthogonal"): ("initializers", "Orthogonal"),
    ("initializer", "variance_scaling"): ("initializers", "VarianceScaling"),
    ("initializer", "identity"): ("initializers", "Identity"),
    ("schedule", "cosine_decay"): ("optimizers.schedules", "CosineDecay"),
    ("schedule", "cosine_decay_restarts"): ("optimizers.schedules", "CosineDecayRestarts"),
    ("schedule", "exponential_decay"): ("optimizers.schedules", "ExponentialDecay"),
    ("schedule", "inverse_time_decay"): ("optimizers.schedules", "InverseTimeDecay"),
    ("schedule", "piecewise_constant_decay"): ("optimizers.schedules", "PiecewiseConstantDecay"),
    ("schedule", "polynomial_decay"): ("optimizers.schedules", "PolynomialDecay"),
    ("callback", "early_stopping"): ("callbacks", "EarlyStopping"),
    ("callback", "reduce_lr_on_plateau"): ("callbacks", "ReduceLROnPlateau"),
    ("callback", "model_checkpoint"): ("callbacks", "ModelCheckpoint"),
    ("callback", "csv_logger"): ("callbacks", "CSVLogger"),
    ("callback", "terminate_on_nan"): ("callbacks", "TerminateOnNaN"),
    ("callback", "learning_rate_scheduler"): ("callbacks", "LearningRateScheduler"),
    ("callback", "tensorboard"): ("callbacks", "TensorBoard"),
    # Losses with options (`loss bce from_logits=true`); without options a loss is its Keras name.
    ("loss", "mse"): ("losses", "MeanSquaredError"),
    ("loss", "mae"): ("losses", "MeanAbsoluteError"),
    ("loss", "mape"): ("losses", "MeanAbsolutePercentageError"),
    ("loss", "msle"): ("losses", "MeanSquaredLogarithmicError"),
    ("loss", "huber"): ("losses", "Huber"),
    ("loss", "log_cosh"): ("losses", "LogCosh"),
    ("loss", "binary_crossentropy"): ("losses", "BinaryCrossentropy"),
    ("loss", "binary_focal_crossentropy"): ("losses", "BinaryFocalCrossentropy"),
    ("loss", "categorical_crossentropy"): ("losses", "CategoricalCrossentropy"),
    ("loss", "categorical_focal_crossentropy"): ("losses", "CategoricalFocalCrossentropy"),
    ("loss", "sparse_categorical_crossentropy"): ("losses", "SparseCategoricalCrossentropy"),
    ("loss", "kl_divergence"): ("losses", "KLDivergence"),
    ("loss", "poisson"): ("losses", "Poisson"),
    ("loss", "hinge"): ("losses", "Hinge"),
    ("loss", "squared_hinge"): ("losses", "SquaredHinge"),
    ("loss", "categorical_hinge"): ("losses", "CategoricalHinge"),
    ("loss", "cosine_similarity"): ("losses", "CosineSimilarity"),
}


# Python packages a lowering needs beyond the core install: (kind, name) -> (module, pip extra).
REQUIRES: dict[tuple[str, str], tuple[str, str]] = {
    ("callback", "tensorboard"): ("tensorboard", "nndsl[tensorboard]"),
}


def missing_package(kind: str, name: str) -> str | None:
    """A sentence saying what to install when (kind, name) needs a package that is absent."""
    import importlib.util

    need = REQUIRES.get((kind, name))
    if need is None or importlib.util.find_spec(need[0]) is not None:
        return None
    return f"{kind} {name} needs the {need[0]} package, which is not installed: pip install {need[1]}"


def epoch_schedule_call(schedule, lowering: KerasLowering) -> KerasCall:
    return KerasCall("epoch_schedule", (lower(schedule, lowering),), (), HELPERS)


def callback_call(callback: ir.Callback, lowering: KerasLowering,
                  resolve_path: Callable[[str], str] | None = None) -> KerasCall:
    """The Keras callback for a ``callback`` statement.

    ``resolve_path`` maps the paths the callback writes (params of kind Path): ``nndsl run``
    puts relative ones inside the run directory; the emitted script leaves them as written.
    """
    from ...params import Path

    definition = lowering.registry.callbacks[callback.name]
    paths = {p.name for p in definition.params if isinstance(p.kind, Path)}
    given = dict(callback.options)
    options = []
    for p in definition.params:
        if p.name in paths and resolve_path is not None:
            value = resolve_path(given.get(p.name, p.default))
        elif p.name in given:
            value = given[p.name]
        elif p.name in paths or p.required:
            value = p.default  # Keras requires it; nndsl gives it a default
        else:
            continue
        if callback.name == "learning_rate_scheduler" and p.name == "schedule":
            value = epoch_schedule_call(value, lowering)
        options.append((p.name, value))
    return keras_object("callback", callback.name, options, lowering)

"""Signatures of the statement keywords that are not layers: input, fit, data, callback.

Layers, optimizers, losses and metrics come from the registry; these few statements are
part of the language itself.
"""

from __future__ import annotations

from .params import Bool, Choice, Dim, Float, Int, Name, Optional, Param, Text

# Words with a fixed meaning at the start of a statement; not usable as tensor names.
STATEMENT_KEYWORDS = ("input", "optimizer", "loss", "metrics", "fit", "data", "callback")
# Reserved for the language: `output` is a keyword, `block`/`repeat` are kept for later.
RESERVED_WORDS = ("output", "block", "repeat", "true", "false", "none")

INPUT_DTYPES = ("float32", "float16", "bfloat16", "float64", "int32", "int64", "uint8", "bool")

INPUT_PARAMS = (
    Param("shape", Dim(), positional=True, variadic=True, doc="the dimensions, without the batch"),
    Param("dtype", Choice(INPUT_DTYPES), default="float32"),
)

FIT_PARAMS = (
    Param("epochs", Int(min=1), default=10),
    Param("batch_size", Int(min=1), default=32),
    Param("validation_split", Float(min=0.0, max=1.0, max_open=True), default=0.0),
    Param("shuffle", Bool(), default=True),
    Param("test_split", Float(min=0.0, max=1.0, max_open=True), default=0.1,
          doc="share held out as a test set when the data has no test split"),
    Param("steps_per_execution", Int(min=1), default=None, doc="batches per compiled call (Keras compile)"),
    Param("jit_compile", Optional(Choice(("true", "false", "auto"))), default=None,
          doc="XLA compilation (Keras compile); auto lets Keras decide"),
    Param("seed", Int(min=0), default=None),
    Param("pipeline", Optional(Choice(("numpy", "tfdata"))), default=None,
          doc="how fit is fed: tfdata (nndsl's default, see nndsl/perf.py) or Keras' NumPy adapter"),
)

DATA_PARAMS = (
    Param("source", Text(), positional=True, doc="a registered data set name or a quoted path"),
    Param("label", Name(), default=None, doc="label column of a CSV file (default: the last column)"),
)

_MONITOR = Param("monitor", Name(), default="val_loss")
_MODE = Param("mode", Choice(("auto", "min", "max")), default="auto")

CALLBACKS = {
    "early_stopping": ("EarlyStopping", (
        _MONITOR,
        Param("patience", Int(min=0), default=0),
        Param("min_delta", Float(min=0.0), default=0.0),
        _MODE,
        Param("restore_best_weights", Bool(), default=False),
        Param("start_from_epoch", Int(min=0), default=0),
        Param("baseline", Optional(Float()), default=None),
    )),
    "reduce_lr_on_plateau": ("ReduceLROnPlateau", (
        _MONITOR,
        Param("factor", Float(min=0.0, max=1.0, min_open=True, max_open=True), default=0.1),
        Param("patience", Int(min=0), default=10),
        Param("min_delta", Float(min=0.0), default=1e-4),
        Param("cooldown", Int(min=0), default=0),
        Param("min_lr", Float(min=0.0), default=0.0),
        _MODE,
    )),
}

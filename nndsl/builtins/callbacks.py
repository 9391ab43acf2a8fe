"""Built-in training callbacks: ``callback NAME key=value...``.

Signatures follow Keras 3's callbacks; the Keras lowering is a table in
:mod:`nndsl.backends.keras.training`. Params of kind :class:`~nndsl.params.Path` are files
the callback writes: ``nndsl run`` resolves relative ones inside the run directory.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import ast
from ..hookspecs import hookimpl
from ..params import Bool, Choice, Float, Int, Kind, Name, Object, Optional, Param, Path, Text
from ..registry import ObjectDef


@dataclass(frozen=True)
class Frequency(Kind):
    """``epoch`` (or ``batch`` where allowed), or a number of batches."""

    words: tuple[str, ...] = ("epoch",)

    @property
    def expected(self) -> str:  # type: ignore[override]
        return " or ".join(self.words) + " or a number of batches"

    def convert(self, value, ctx):
        if isinstance(value, (ast.Ident, ast.String)):
            word = value.name if isinstance(value, ast.Ident) else value.value
            if word in self.words:
                return word
        if isinstance(value, ast.Number) and isinstance(value.value, int) and value.value >= 1:
            return value.value
        raise self.wrong(value)


MONITOR = Param("monitor", Name(), default="val_loss", doc="the logged quantity to watch (loss, val_accuracy, ...)")
_MODE = Param("mode", Choice(("auto", "min", "max")), default="auto", doc="whether smaller or larger is better")


def _checkpoint_path(v) -> str | None:
    path = v["filepath"]
    if v["save_weights_only"]:
        if not path.endswith(".weights.h5"):
            return f"with save_weights_only=true the file name must end in .weights.h5, got {path!r}"
    elif not path.endswith(".keras"):
        return f"the file name must end in .keras (a whole model), got {path!r}"
    return None


CALLBACKS = [
    ObjectDef("early_stopping", (
        MONITOR,
        Param("patience", Int(min=0), default=0, doc="epochs without improvement before stopping"),
        Param("min_delta", Float(min=0.0), default=0.0, doc="smallest change that counts as an improvement"),
        _MODE,
        Param("restore_best_weights", Bool(), default=False, doc="end with the weights of the best epoch"),
        Param("start_from_epoch", Int(min=0), default=0, doc="epochs to wait before watching"),
        Param("baseline", Optional(Float()), default=None, doc="a value the monitor must beat"),
    ), doc="stop training when the monitored quantity stops improving"),
    ObjectDef("reduce_lr_on_plateau", (
        MONITOR,
        Param("factor", Float(min=0.0, max=1.0, min_open=True, max_open=True), default=0.1,
              doc="the learning rate is multiplied by it"),
        Param("patience", Int(min=0), default=10, doc="epochs without improvement before reducing"),
        Param("min_delta", Float(min=0.0), default=1e-4, doc="smallest change that counts as an improvement"),
        Param("cooldown", Int(min=0), default=0, doc="epochs to wait after a reduction"),
        Param("min_lr", Float(min=0.0), default=0.0, doc="lower bound of the learning rate"),
        _MODE,
    ), doc="reduce the learning rate when the monitored quantity stops improving"),
    ObjectDef("model_checkpoint", (
        Param("filepath", Path(), default="checkpoint.keras", positional=True,
              doc="where to save (.keras, or .weights.h5 with save_weights_only); inside the run directory"),
        MONITOR,
        Param("save_best_only", Bool(), default=False, doc="save only when the monitor improves"),
        Param("save_weights_only", Bool(), default=False, doc="save the weights, not the whole model"),
        _MODE,
        Param("save_freq", Frequency(), default="epoch", doc="epoch, or every N batches"),
        Param("initial_value_threshold", Optional(Float()), default=None, doc="a value the first save must beat"),
    ), doc="save the model (or its best version) while training", validate=_checkpoint_path),
    ObjectDef("csv_logger", (
        Param("filename", Path(), default="training_log.csv", positional=True,
              doc="the CSV file; inside the run directory"),
        Param("separator", Text(), default=",", doc="column separator"),
        Param("append", Bool(), default=False, doc="append to an existing file instead of replacing it"),
    ), doc="write each epoch's logs to a CSV file"),
    ObjectDef("terminate_on_nan", (), doc="stop training when the loss becomes NaN"),
    ObjectDef("learning_rate_scheduler", (
        Param("schedule", Object("schedules", "a learning-rate schedule"), positional=True,
              doc="a schedule whose step is the epoch number, e.g. exponential_decay(0.01, 1, 0.9)"),
    ), doc="set the learning rate at the start of each epoch from a schedule of the epoch number"),
    ObjectDef("tensorboard", (
        Param("log_dir", Path(), default="logs", positional=True, doc="TensorBoard log folder; inside the run directory"),
        Param("histogram_freq", Int(min=0), default=0, doc="weight histograms every N epochs (0: never)"),
        Param("write_graph", Bool(), default=True, doc="write the model graph"),
        Param("write_images", Bool(), default=False, doc="write weights as images"),
        Param("update_freq", Frequency(("epoch", "batch")), default="epoch", doc="how often to write the logs"),
        Param("profile_batch", Int(min=0), default=0, doc="profile this batch (0: no profiling)"),
    ), doc="write TensorBoard logs"),
]

# Keras callbacks nndsl deliberately leaves out, with what to use instead.
NOT_CALLBACKS = {
    "backup_and_restore": "nndsl run already checkpoints every epoch; continue an interrupted run with "
                          "'nndsl run --resume RUN_DIR'",
    "lambda_callback": "a spec holds no Python code; a plugin can register a callback",
}


@hookimpl
def nndsl_callbacks():
    return CALLBACKS

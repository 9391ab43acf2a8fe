"""``nndsl export``: write a run's model as SavedModel, ONNX, TFLite (LiteRT) or ``.keras``, verified.

Keras 3's ``model.export`` writes the SavedModel, ONNX (through tf2onnx) and LiteRT files; the
``.keras`` file is the run's own. An export only counts once it has been **verified**: the
artifact is loaded in the runtime that will serve it (:mod:`.verify`: TensorFlow's SavedModel
loader, onnxruntime, the LiteRT/TFLite interpreter, Keras' safe loader), run on real rows of the
run's test data, and compared with the run's Keras model. The artifact is written into a
temporary directory beside ``--out`` and renamed into place only after it passed, so a failed
export (or a Ctrl-C) leaves nothing half-written.

Exports use Keras' TensorFlow backend: every format here is a TensorFlow or ONNX graph, and
a ``.keras`` file is backend-neutral, so runs trained on JAX or PyTorch Keras export the same
way. ``nndsl export`` picks that backend itself (:func:`prefer_tensorflow`); a library caller
whose process already runs Keras on another backend is told to export in its own process.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import RunError, UsageError
from . import outputs
from .verify import VerificationError, named_outputs, verify

DEFAULT_TOLERANCE = 1e-4
DEFAULT_ROWS = 32


@dataclass(frozen=True)
class Format:
    """One export target: where it goes by default, what it needs, and how it is verified.

    Attributes:
        name: the ``--to`` value.
        default_name: file or directory name under ``RUN/export/``.
        needs: (module, package) pairs that must be importable, in the ``extra`` named.
        extra: the nndsl extra that installs ``needs`` (``pip install 'nndsl[onnx]'``).
        keras_format: ``model.export``'s ``format=`` (None: copy the ``.keras`` file).
        runtime: what loads the artifact for the check, in words.
    """

    name: str
    default_name: str
    needs: tuple[tuple[str, str], ...]
    extra: str | None
    keras_format: str | None
    runtime: str


FORMATS = {
    "savedmodel": Format("savedmodel", "savedmodel", (), None, "tf_saved_model", "tf.saved_model.load"),
    "onnx": Format("onnx", "model.onnx", (("onnx", "onnx"), ("onnxruntime", "onnxruntime"), ("tf2onnx", "tf2onnx")),
                   "onnx", "onnx", "onnxruntime"),
    "tflite": Format("tflite", "model.tflite", (), "tflite", "litert", "the LiteRT interpreter"),
    "keras": Format("keras", "model.keras", (), None, None, "keras.saving.load_model"),
}


@dataclass(frozen=True)
class ExportResult:
    """What was written and how well it matched: ``max_diff`` against ``tolerance`` on ``rows`` rows."""

    path: str
    format: str
    max_diff: float
    tolerance: float
    rows: int
    split: str
    runtime: str
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"path": self.path, "format": self.format, "max_abs_diff": self.max_diff,
                "tolerance": self.tolerance, "rows": self.rows, "split": self.split, "runtime": self.runtime,
                "notes": list(self.notes)}


class MissingExtra(UsageError):
    """A format needs packages that are not installed; the message says exactly what to install."""


def missing_extra(fmt: Format) -> str | None:
    """The install sentence for a format whose packages are absent (None: all present)."""
    import importlib.util

    def absent(module: str) -> bool:
        try:
            return importlib.util.find_spec(module) is None
        except (ImportError, ValueError):
            return True

    missing = [package for module, package in fmt.needs if absent(module)]
    if not missing:
        return None
    every = ", ".join(p for _, p in fmt.needs)
    return (f"export --to {fmt.name} needs {every}; not installed: {', '.join(missing)}. "
            f"Install them with: pip install 'nndsl[{fmt.extra}]'")


def prefer_tensorflow() -> str | None:
    """Make this process's Keras use TensorFlow if Keras is not imported yet; returns a note when
    that overrides a configured backend (``KERAS_BACKEND``), else None."""
    from ..kerasenv import configured, installed

    if "keras" in sys.modules or not installed("tensorflow"):
        return None
    name, origin = configured()
    os.environ["KERAS_BACKEND"] = "tensorflow"
    if name and name != "tensorflow" and origin == "KERAS_BACKEND":
        return (f"exporting with Keras' tensorflow backend ({origin} selects {name} for training; "
                "the exported graphs and the .keras file do not depend on it)")
    return None


def default_out(run_dir: str, fmt: Format) -> str:
    return os.path.join(run_dir, "export", fmt.default_name)


def export_run(target: str, to: str, registry, *, out: str | None = None, rows: int = DEFAULT_ROWS,
               tolerance: float = DEFAULT_TOLERANCE, force: bool = False,
               info: Callable[[str], None] = lambda line: None) -> ExportResult:
    """Export a run's trained model to ``to`` and verify it; returns what was written.

    Args:
        target: the run directory.
        to: one of :data:`FORMATS`.
        out: where to write (default ``RUN/export/<name>``); refused if it exists unless ``force``.
        rows: how many rows of the run's test data (validation, then training, when it held out
            none) the check runs.
        tolerance: the largest absolute difference accepted, scaled by the outputs' magnitude
            when that exceeds 1 (regression outputs).
        info: receives progress lines.

    Raises:
        UsageError (bad target, format, or out), MissingExtra, DataError (the run's data is
        gone), VerificationError (exit 4: the artifact failed its check; nothing is left on disk).
    """
    if to not in FORMATS:
        raise UsageError(f"unknown export format {to!r} (choose from {', '.join(FORMATS)})")
    if rows < 1:
        raise UsageError(f"--rows must be at least 1, got {rows}")
    if not tolerance > 0:
        raise UsageError(f"--tolerance must be positive, got {tolerance}")
    fmt = FORMATS[to]
    sentence = missing_extra(fmt)
    if sentence:
        raise MissingExtra(sentence)
    run_dir, model_path, trainer, settings = _open_run(target, registry)
    out = out or default_out(run_dir, fmt)
    final = os.path.abspath(out)
    if os.path.exists(final) and not force:
        raise UsageError(f"{out} already exists; pass --force to replace it (or choose another --out)")
    if fmt.name == "tflite" and not final.endswith(".tflite"):
        raise UsageError(f"--out {out}: a TFLite file must end in .tflite")
    if fmt.name == "onnx" and not final.endswith(".onnx"):
        raise UsageError(f"--out {out}: an ONNX file must end in .onnx")
    if fmt.name == "keras" and not final.endswith(".keras"):
        raise UsageError(f"--out {out}: a Keras file must end in .keras")

    keras = _keras_for(fmt)
    from .runner import Reporter, load_data
    from .use import _run_model

    model_ir = _run_model(run_dir, registry)
    trainer.load(model_ir, model_path)
    keras_model = trainer.keras_model
    trained_on = settings.get("keras_backend") or "tensorflow"
    prepared = load_data(settings, model_ir, registry, Reporter(quiet=True))
    x, split = _rows(prepared, rows)
    n = len(next(iter(x.values())))
    inputs = _conform(keras_model, x)
    reference = named_outputs(keras_model, keras_model.predict(
        inputs if len(inputs) > 1 else next(iter(inputs.values())), verbose=0))

    parent = os.path.dirname(final)
    try:
        os.makedirs(parent, exist_ok=True)
        work = tempfile.mkdtemp(prefix=".tmp-export-", dir=parent)
    except OSError as e:
        raise UsageError(f"{out}: cannot write: {e.strerror or e}") from None
    try:
        staged = os.path.join(work, os.path.basename(final))
        info(f"exporting {model_path} (trained on Keras' {trained_on} backend) as {fmt.name}")
        _write(fmt, keras_model, model_path, staged, keras)
        got, runtime, notes = verify(fmt.name, staged, inputs, model_ir, registry)
        diff, scale = _compare(reference, got, fmt.name)
        allowed = tolerance * max(1.0, scale)
        if not diff <= allowed:  # NaN fails too
            raise VerificationError(
                f"export --to {fmt.name} failed verification: {runtime} gives outputs up to {diff:.3g} away from "
                f"the Keras model's on {n} {split} rows (tolerance {allowed:.1e}); nothing was written to {out}")
        _install(staged, final, force)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ExportResult(out, fmt.name, diff, allowed, n, split, runtime, tuple(notes))


def _open_run(target: str, registry):
    """(run dir, model file, Keras trainer, run.json) for a run directory; clear errors otherwise."""
    from .use import locate

    if not os.path.isdir(target):
        raise UsageError(f"{target}: no such run directory" if not os.path.exists(target) else
                         f"{target}: export takes a run directory (it verifies on the run's data), not a file")
    if not os.path.isfile(os.path.join(target, outputs.RUN)):
        raise UsageError(f"{target} is not an nndsl run directory (no {outputs.RUN})")
    model_path, run_dir, trainer = locate(target, registry)
    settings = outputs.read_json(os.path.join(target, outputs.RUN))
    if trainer.framework != "Keras":
        raise UsageError(f"{target} was trained by the {settings.get('backend')} backend ({trainer.model_file}); "
                         "nndsl export reads Keras runs (model.keras) only: train with a Keras backend "
                         "(--backend keras-functional, on any KERAS_BACKEND) to export")
    return run_dir or target, model_path, trainer, settings


def _keras_for(fmt: Format):
    """Keras on the TensorFlow backend (every format but ``keras`` needs it), imported quietly."""
    from ..kerasenv import import_keras, installed

    if fmt.keras_format is not None and not installed("tensorflow"):
        raise MissingExtra(f"export --to {fmt.name} needs TensorFlow (its exporters and checks run on Keras' "
                           "tensorflow backend), which is not installed: pip install tensorflow")
    keras = import_keras()
    backend = keras.backend.backend()
    if fmt.keras_format is not None and backend != "tensorflow":
        raise UsageError(f"export --to {fmt.name} needs Keras' tensorflow backend, but this process already runs "
                         f"Keras on {backend}; run `nndsl export` in its own process (it picks tensorflow), "
                         "or set KERAS_BACKEND=tensorflow")
    return keras


def _rows(prepared, rows: int) -> tuple[dict, str]:
    """The first ``rows`` rows of the test split (else validation, else training), by input name."""
    for split, x in (("test", prepared.x_test), ("validation", prepared.x_val), ("training", prepared.x_train)):
        if x is not None and _length(x):
            if not isinstance(x, dict):
                x = {"": x}
            try:
                return {k: v[:rows] for k, v in x.items()}, split
            except (TypeError, KeyError, AttributeError):
                raise UsageError(f"the run's {split} data is streamed, not held in memory; export verifies on "
                                 "in-memory rows only (for now)") from None
    raise UsageError("the run's data has no rows to verify the export on")


def _length(x) -> int:
    return len(next(iter(x.values()))) if isinstance(x, dict) else len(x)


def _conform(keras_model, x: dict) -> dict:
    """The rows by the Keras model's input names, in its input dtypes (what every runtime is fed)."""
    import numpy as np

    names = [t.name for t in keras_model.inputs]
    if list(x) == [""]:
        x = {names[0]: x[""]}
    def cast(value, dtype: str):
        value = np.asarray(value)
        return value if dtype == "string" else np.ascontiguousarray(value.astype(dtype))

    return {name: cast(x[name], str(t.dtype)) for name, t in zip(names, keras_model.inputs)}


def _write(fmt: Format, keras_model, model_path: str, staged: str, keras) -> None:
    """Write the artifact to ``staged``; the exporter's own errors become a RunError."""
    if fmt.keras_format is None:
        shutil.copyfile(model_path, staged)
        return
    from .quiet import native_stderr_filtered

    try:
        with warnings.catch_warnings(), native_stderr_filtered():
            warnings.simplefilter("ignore")
            _quiet_tf2onnx()
            keras_model.export(staged, format=fmt.keras_format, verbose=False)
    except Exception as e:  # noqa: BLE001 - the converter's message is the useful part
        raise RunError(f"export --to {fmt.name} failed while converting: {type(e).__name__}: "
                       f"{str(e).strip().splitlines()[0] if str(e).strip() else ''}") from e
    if not os.path.exists(staged):
        raise RunError(f"export --to {fmt.name}: the converter wrote nothing")


def _quiet_tf2onnx() -> None:
    """tf2onnx logs every rewrite at INFO to stderr; keep only its warnings."""
    import logging

    logging.getLogger("tf2onnx").setLevel(logging.WARNING)


def _compare(reference: dict, got: dict, fmt: str) -> tuple[float, float]:
    """(largest absolute difference, largest reference magnitude) over all outputs, matched by name
    (or by position for one output, whose name runtimes often replace)."""
    import numpy as np

    if set(got) != set(reference):
        if len(got) == len(reference) == 1:
            got = {next(iter(reference)): next(iter(got.values()))}
        else:
            raise VerificationError(f"export --to {fmt} failed verification: its outputs are "
                                    f"{', '.join(sorted(got))}, the model's are {', '.join(sorted(reference))}")
    diff = 0.0
    scale = 0.0
    for name, ref in reference.items():
        value = np.asarray(got[name])
        if value.shape != ref.shape:
            raise VerificationError(f"export --to {fmt} failed verification: output {name!r} has shape "
                                    f"{value.shape}, the model's has {ref.shape}")
        if ref.size:
            delta = np.abs(value.astype("float64") - ref.astype("float64"))
            diff = max(diff, float(np.nan if np.isnan(delta).any() else delta.max()))
            scale = max(scale, float(np.nanmax(np.abs(ref))))
    return diff, scale


def _install(staged: str, final: str, force: bool) -> None:
    """Move the verified artifact into place; a replaced one goes only once the new one is there."""
    old = None
    if os.path.exists(final):
        if not force:  # appeared while exporting
            raise UsageError(f"{final} appeared while exporting; nothing was replaced")
        old = staged + ".old"
        os.replace(final, old)
    try:
        os.replace(staged, final)
    except OSError:
        if old is not None:
            os.replace(old, final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True) if os.path.isdir(old) else os.unlink(old)

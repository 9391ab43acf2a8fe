"""``nndsl evaluate`` and ``nndsl predict``: use what ``nndsl run`` trained.

Models load with ``keras.models.load_model(path, safe_mode=True)`` (no arbitrary code from the
file); inputs with ``np.load(allow_pickle=False)``. Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from ..diagnostics import UsageError
from . import outputs
from .runner import Reporter, RunError, load_data


def locate(target: str) -> tuple[str, str | None]:
    """(model file, run directory or None) for ``DIR`` or ``model.keras``."""
    if os.path.isdir(target):
        path = os.path.join(target, outputs.MODEL)
        if not os.path.isfile(path):
            state = os.path.join(target, outputs.STATE)
            hint = (f"; the run has a checkpoint: finish it with `nndsl run --resume {target}`"
                    if os.path.isfile(state) else "")
            raise UsageError(f"{target}: no {outputs.MODEL} in this directory{hint}")
        run_dir = target
    elif os.path.isfile(target):
        path = target
        run_dir = os.path.dirname(os.path.abspath(target))
    else:
        raise UsageError(f"{target}: no such run directory or model file")
    if not path.endswith(".keras"):
        raise UsageError(f"{target}: expected a .keras model file (or a run directory)")
    is_run = os.path.isfile(os.path.join(run_dir, outputs.RUN)) and os.path.isfile(os.path.join(run_dir, outputs.SPEC))
    return path, run_dir if is_run else None


def load_model(path: str):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    try:
        return keras.models.load_model(path, safe_mode=True)
    except Exception as e:  # noqa: BLE001 - a corrupt or foreign file: say which and why
        raise RunError(f"{path}: cannot load the model: {type(e).__name__}: {e}") from e


def evaluate(target: str, registry, *, data: str | None = None, as_json: bool = False) -> dict[str, Any]:
    """Metrics of a trained model: on its run's held-out test set, or on ``data``.

    The run's own data is split exactly as in training (same seed and shares), so its test
    set is the one the run never trained on. Other data is evaluated on its test split when
    it has one, otherwise on all of its samples.
    """
    from ..check import check_source, read_source
    from .runner import data_reference

    path, run_dir = locate(target)
    if run_dir is None:
        raise UsageError(f"{target} is not inside an nndsl run directory (no {outputs.RUN} and {outputs.SPEC} "
                         "beside it); evaluate needs the run's spec to prepare data the same way")
    reporter = Reporter(quiet=False, as_json=as_json)
    settings = outputs.read_json(os.path.join(run_dir, outputs.RUN))
    model = check_source(read_source(os.path.join(run_dir, outputs.SPEC)), registry).model
    if data is not None:
        settings = {**settings, "data": data_reference(model, data, registry, os.getcwd())[0]}
        prepared = load_data(settings, model, registry, reporter, test_split=0.0, validation_split=0.0)
        x, y = (prepared.x_test, prepared.y_test) if prepared.x_test is not None else (prepared.x_train,
                                                                                       prepared.y_train)
    else:
        prepared = load_data(settings, model, registry, reporter)
        if prepared.x_test is None:
            raise UsageError(f"the run {run_dir} held out no test set (test_split=0); pass --data")
        x, y = prepared.x_test, prepared.y_test
    keras_model = load_model(path)
    n = len(next(iter(x.values())) if isinstance(x, dict) else x)
    try:
        result = keras_model.evaluate(x, y, batch_size=settings.get("batch_size", 32), verbose=0, return_dict=True)
    except (ValueError, TypeError) as e:
        raise RunError(f"evaluating {path} failed: {type(e).__name__}: {e}") from e
    metrics = {k: float(v) for k, v in result.items()}
    if as_json:
        print(json.dumps({"model": path, "samples": n, "metrics": metrics}))
    else:
        print(f"evaluated {path} on {n:,} samples: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    return metrics


def _conform(x, keras_model) -> tuple[Any, list[str]]:
    """Shape and scale ``x`` like training did: uint8 pixels to [0, 1], reshape when sizes match."""
    import numpy as np

    notes = []
    if len(keras_model.inputs) != 1:
        raise UsageError(f"predict takes models with one input; this one has {len(keras_model.inputs)}")
    target = tuple(keras_model.inputs[0].shape[1:])
    sample = tuple(x.shape[1:])
    if sample != target:
        known = None not in target
        size = int(np.prod(target)) if known else None
        if known and x.shape == target:
            x = x[None]
            notes.append(f"one sample of shape {target}")
        elif known and x.ndim >= 1 and int(np.prod(sample)) == size:
            x = x.reshape((len(x),) + target)
            notes.append(f"reshaped {sample} -> {target}")
        else:
            raise UsageError(f"the model takes samples of shape {target}, but the input's samples are {sample}")
    if x.dtype == np.uint8 and "float" in str(keras_model.inputs[0].dtype):
        x = np.divide(x, np.float32(255.0), dtype=np.float32)
        notes.append("scaled uint8 pixels to [0, 1]")
    elif not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise UsageError(f"the input has dtype {x.dtype}; expected numbers")
    return x, notes


def predict(target: str, input_path: str, registry=None, *, output: str | None = None,
            as_json: bool = False):
    """Predictions of a trained model for the samples in a ``.npy`` file."""
    import numpy as np

    path, _ = locate(target)
    try:
        with open(input_path, "rb") as fh:
            head = fh.read(6)
        if head != b"\x93NUMPY":
            raise UsageError(f"{input_path}: not a .npy array" + (" (it looks like a pickle, which nndsl never "
                                                                   "loads)" if head[:1] == b"\x80" else ""))
        x = np.load(input_path, allow_pickle=False)
    except OSError as e:
        raise UsageError(f"{input_path}: cannot read: {e.strerror or e}") from None
    except ValueError as e:
        raise UsageError(f"{input_path}: cannot load without unpickling ({e}); save plain numeric arrays") from None
    keras_model = load_model(path)
    x, notes = _conform(x, keras_model)
    for note in notes:
        print(f"input: {note}", file=sys.stderr)
    y = keras_model.predict(x, verbose=0)
    if isinstance(y, dict) or isinstance(y, (list, tuple)):
        raise UsageError("predict writes one array; this model has several outputs")
    y = np.asarray(y)
    if output:
        outputs.save_with(output if output.endswith(".npy") else output + ".npy", lambda p: np.save(p, y))
        print(f"wrote {len(y):,} predictions of shape {tuple(y.shape[1:])} to {output}", file=sys.stderr)
    elif as_json:
        print(json.dumps({"predictions": y.tolist()}))
    else:
        classes = y.shape[-1] if y.ndim == 2 and y.shape[-1] > 1 else None
        for i, row in enumerate(y):
            if classes:
                print(f"{i}\tclass {int(np.argmax(row))}\t(p={float(np.max(row)):.4f})")
            else:
                print(f"{i}\t" + " ".join(f"{v:.6g}" for v in np.ravel(row)))
    return y

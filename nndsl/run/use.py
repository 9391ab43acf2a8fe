"""``nndsl evaluate`` and ``nndsl predict``: use what ``nndsl run`` trained.

Models load through the trainer of the backend that trained them (``run.json`` names it): Keras
with ``keras.models.load_model(path, safe_mode=True)`` (no arbitrary code from the file), other
backends from weights only; inputs with ``np.load(allow_pickle=False)``. Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from ..diagnostics import UsageError
from . import outputs
from .runner import Reporter, RunError, load_data
from .trainer import Trainer, trainer_for


def _run_settings(run_dir: str) -> dict | None:
    path = os.path.join(run_dir, outputs.RUN)
    if not (os.path.isfile(path) and os.path.isfile(os.path.join(run_dir, outputs.SPEC))):
        return None
    return outputs.read_json(path)


def _run_model(run_dir: str, registry):
    from ..check import check_source, read_source

    return check_source(read_source(os.path.join(run_dir, outputs.SPEC)), registry).model


def locate(target: str, registry=None) -> tuple[str, str | None, Trainer]:
    """(model file, run directory or None, the trainer that reads it) for ``DIR`` or a model file.

    A run directory's ``run.json`` names its backend, whose trainer knows the model file; a
    bare ``.keras`` file is read by Keras.
    """
    if os.path.isdir(target):
        run_dir = target
        settings = _run_settings(run_dir)
        trainer = _trainer(run_dir, settings, registry)
        path = os.path.join(target, trainer.model_file)
        if not os.path.isfile(path):
            state = os.path.join(target, outputs.STATE)
            hint = (f"; the run has a checkpoint: finish it with `nndsl run --resume {target}`"
                    if os.path.isfile(state) else "")
            raise UsageError(f"{target}: no {trainer.model_file} in this directory{hint}")
    elif os.path.isfile(target):
        path = target
        run_dir = os.path.dirname(os.path.abspath(target))
        settings = _run_settings(run_dir)
        trainer = _trainer(run_dir, settings, registry)
        if os.path.basename(path) != trainer.model_file and not (settings is None and path.endswith(".keras")):
            if not path.endswith(".keras"):
                raise UsageError(f"{target}: expected a .keras model file (or a run directory)")
            trainer = _keras_trainer(registry)
    else:
        raise UsageError(f"{target}: no such run directory or model file")
    return path, run_dir if settings is not None else None, trainer


def _registry(registry):
    if registry is not None:
        return registry
    from ..plugins import default_registry

    return default_registry()


def _keras_trainer(registry) -> Trainer:
    registry = _registry(registry)
    return registry.backends["keras-functional"].trainer(registry)


def _trainer(run_dir: str, settings: dict | None, registry) -> Trainer:
    """The trainer of the backend the run used (Keras when there is no run, or it named none)."""
    if settings is None or not settings.get("backend"):
        return _keras_trainer(registry)
    registry = _registry(registry)
    return trainer_for(_run_model(run_dir, registry), settings, registry)


def evaluate(target: str, registry, *, data: str | None = None, as_json: bool = False) -> dict[str, Any]:
    """Metrics of a trained model: on its run's held-out test set, or on ``data``.

    The run's own data is split exactly as in training (same seed and shares), so its test
    set is the one the run never trained on. Other data is evaluated on its test split when
    it has one, otherwise on all of its samples.
    """
    from .runner import data_reference

    path, run_dir, trainer = locate(target, registry)
    if run_dir is None:
        raise UsageError(f"{target} is not inside an nndsl run directory (no {outputs.RUN} and {outputs.SPEC} "
                         "beside it); evaluate needs the run's spec to prepare data the same way")
    reporter = Reporter(quiet=False, as_json=as_json)
    settings = outputs.read_json(os.path.join(run_dir, outputs.RUN))
    model = _run_model(run_dir, registry)
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
    trainer.load(model, path)
    n = len(next(iter(x.values())) if isinstance(x, dict) else x)
    try:
        metrics = trainer.evaluate(x, y, settings.get("batch_size", 32))
    except (ValueError, TypeError) as e:
        raise RunError(f"evaluating {path} failed: {type(e).__name__}: {e}") from e
    if as_json:
        print(json.dumps({"model": path, "samples": n, "metrics": metrics}))
    else:
        print(f"evaluated {path} on {n:,} samples: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    return metrics


def _conform(x, specs: list[tuple[tuple, str]]) -> tuple[Any, list[str]]:
    """Shape and scale ``x`` like training did: uint8 pixels to [0, 1], reshape when sizes match."""
    import numpy as np

    notes = []
    if len(specs) != 1:
        raise UsageError(f"predict takes models with one input; this one has {len(specs)}")
    target, dtype = specs[0]
    target = tuple(target)
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
    if x.dtype == np.uint8 and "float" in str(dtype):
        x = np.divide(x, np.float32(255.0), dtype=np.float32)
        notes.append("scaled uint8 pixels to [0, 1]")
    elif not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise UsageError(f"the input has dtype {x.dtype}; expected numbers")
    return x, notes


def predict(target: str, input_path: str, registry=None, *, output: str | None = None,
            as_json: bool = False):
    """Predictions of a trained model for the samples in a ``.npy`` file."""
    import numpy as np

    path, run_dir, trainer = locate(target, registry)
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
    trainer.load(_run_model(run_dir, _registry(registry)) if run_dir else None, path)
    x, notes = _conform(x, trainer.input_specs())
    for note in notes:
        print(f"input: {note}", file=sys.stderr)
    settings = _run_settings(run_dir) if run_dir else None
    y = trainer.predict(x, (settings or {}).get("batch_size", 32))
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

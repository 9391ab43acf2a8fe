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


def _conform_one(x, target: tuple, dtype: str, label: str) -> tuple[Any, list[str]]:
    """Shape and scale one input like training did: uint8 pixels to [0, 1], reshape when sizes match."""
    import numpy as np

    notes = []
    if dtype == "string":
        if x.dtype.kind not in "US":
            raise UsageError(f"{label} has dtype {x.dtype}; the model's input takes strings (text or categories)")
    elif not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_) or np.iscomplexobj(x):
        raise UsageError(f"{label} has dtype {x.dtype}; expected numbers")
    sample = tuple(x.shape[1:])
    if sample != target:
        known = None not in target
        size = int(np.prod(target)) if known else None
        if known and x.shape == target:
            x = x[None]
            notes.append(f"{label}: one sample of shape {target}")
        elif known and x.ndim >= 1 and int(np.prod(sample)) == size:
            x = x.reshape((len(x),) + target)
            notes.append(f"{label}: reshaped {sample} -> {target}")
        elif len(sample) == len(target) and all(t is None or t == s for s, t in zip(sample, target)):
            pass
        else:
            raise UsageError(f"{label}: the model takes samples of shape {target}, but these are {sample}")
    if x.dtype == np.uint8 and "float" in dtype:
        x = np.divide(x, np.float32(255.0), dtype=np.float32)
        notes.append(f"{label}: scaled uint8 pixels to [0, 1]")
    elif "int" in dtype and np.issubdtype(x.dtype, np.floating):
        if not np.all(x == np.round(x)):
            raise UsageError(f"{label}: the model's input is {dtype} (ids), but the array has fractional values")
        x = x.astype(dtype)
    return x, notes


def _read_inputs(input_path: str) -> dict[str, Any]:
    """The arrays of a ``.npy`` (one, named "") or ``.npz`` (by name) file, never unpickling."""
    import zipfile

    import numpy as np

    try:
        with open(input_path, "rb") as fh:
            head = fh.read(6)
        if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
            with np.load(input_path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            if not arrays:
                raise UsageError(f"{input_path}: the archive holds no arrays")
            return arrays
        if head != b"\x93NUMPY":
            raise UsageError(f"{input_path}: not a .npy array or .npz archive" + (
                " (it looks like a pickle, which nndsl never loads)" if head[:1] == b"\x80" else ""))
        return {"": np.load(input_path, allow_pickle=False)}
    except OSError as e:
        raise UsageError(f"{input_path}: cannot read: {e.strerror or e}") from None
    except (ValueError, zipfile.BadZipFile, EOFError) as e:
        raise UsageError(f"{input_path}: cannot load without unpickling ({e}); save plain numeric arrays") from None


def _by_input(arrays: dict[str, Any], names: list[str], input_path: str) -> dict[str, Any]:
    """Match the file's arrays to the model's inputs by name (one unnamed array: the only input)."""
    if list(arrays) == [""]:
        if len(names) != 1:
            raise UsageError(f"the model has {len(names)} inputs ({', '.join(names)}); a .npy holds one array: "
                             f"save them by name in an .npz (np.savez(path, {', '.join(f'{n}=...' for n in names)}))")
        return {names[0]: arrays[""]}
    if len(names) == 1 and len(arrays) == 1:
        return {names[0]: next(iter(arrays.values()))}
    missing = [n for n in names if n not in arrays]
    extra = sorted(set(arrays) - set(names))
    if missing or extra:
        raise UsageError(f"{input_path} has arrays {', '.join(sorted(arrays))}, but the model's inputs are "
                         f"{', '.join(names)}" + (f"; missing: {', '.join(missing)}" if missing else "")
                         + (f"; not inputs: {', '.join(extra)}" if extra else "")
                         + f" (save one array per input: np.savez(path, {', '.join(f'{n}=...' for n in names)}))")
    return {n: arrays[n] for n in names}


def _names(trainer: Trainer, model, count: int, kind: str) -> list[str]:
    """The model's input (output) names in the trainer's order: the file's own, else the spec's."""
    names = getattr(trainer, f"{kind}_names", lambda: None)()
    spec = None
    if model is not None:
        spec = [i.name for i in model.inputs] if kind == "input" else list(model.outputs)
    if spec is not None and (not names or sorted(names) != sorted(spec)):
        names = spec
    if not names or len(names) != count:
        names = [f"{kind}_{i}" for i in range(count)] if count > 1 else [kind if kind == "input" else "predictions"]
    return list(names)


def _rank(y, *, classes: bool, top: int | None):
    """Class ids (argmax) or the ``top`` best ids and their probabilities.

    A single sigmoid unit is two classes: 0 with probability 1 - p, 1 with p.
    """
    import numpy as np

    if top is None and not classes:
        return y, None
    if y.ndim < 2:
        raise UsageError(f"--classes/--top need per-class outputs; this output has shape {tuple(y.shape[1:])}")
    if y.shape[-1] == 1:
        y = np.concatenate([1.0 - y, y], axis=-1)
    if top is None:
        return np.argmax(y, axis=-1), None
    ids = np.argsort(-y, axis=-1, kind="stable")[..., :top]
    return ids, np.take_along_axis(y, ids, axis=-1)


def predict(target: str, input_path: str, registry=None, *, output: str | None = None,
            as_json: bool = False, classes: bool = False, top: int | None = None):
    """Predictions of a trained model for the samples in a ``.npy`` or ``.npz`` (arrays by input name).

    Returns a dict of arrays keyed by output name (class ids with ``classes``; with ``top`` the
    K best ids, and their probabilities under ``NAME_probabilities``). ``output`` ``.npz``
    holds one array per output name; ``.npy`` (single-output models) the one array.
    """
    import numpy as np

    if top is not None and top < 1:
        raise UsageError(f"--top must be at least 1, got {top}")
    path, run_dir, trainer = locate(target, registry)
    arrays = _read_inputs(input_path)
    model = _run_model(run_dir, _registry(registry)) if run_dir else None
    trainer.load(model, path)
    specs = trainer.input_specs()
    names = _names(trainer, model, len(specs), "input")
    given = _by_input(arrays, names, input_path)
    x = {}
    for name, (shape, dtype) in zip(names, specs):
        label = f"input '{name}'" if len(names) > 1 else "the input"
        x[name], notes = _conform_one(given[name], tuple(shape), dtype, label)
        for note in notes:
            print(f"input: {note}", file=sys.stderr)
    counts = {len(a) for a in x.values()}
    if len(counts) > 1:
        raise UsageError("the inputs disagree on the number of samples: "
                         + ", ".join(f"{n} has {len(a):,}" for n, a in x.items()))
    if model is not None:
        _check_ids(model, x)
    settings = _run_settings(run_dir) if run_dir else None
    raw = trainer.predict(x if len(x) > 1 else next(iter(x.values())), (settings or {}).get("batch_size", 32))
    if isinstance(raw, dict):
        out_names = list(raw)
        ys = [np.asarray(raw[n]) for n in out_names]
    else:
        ys = [np.asarray(a) for a in (raw if isinstance(raw, (list, tuple)) else [raw])]
        out_names = _names(trainer, model, len(ys), "output")
    result: dict[str, Any] = {}
    for name, y in zip(out_names, ys):
        ranked, probabilities = _rank(y, classes=classes, top=top)
        result[name] = ranked
        if probabilities is not None:
            result[f"{name}_probabilities"] = probabilities
    _write_predictions(result, out_names, output, as_json, classes=classes, top=top)
    return result


def _check_ids(model, x) -> None:
    """The run's embeddings take ids 0..input_dim-1: say so instead of predicting garbage."""
    from ..datasets import DataError
    from ..prepare import _check_ids as check_ids

    for inp in model.inputs:
        try:
            check_ids(x[inp.name], inp, model, "the input")
        except DataError as e:
            raise UsageError(str(e)) from None


def _write_predictions(result: dict, out_names: list[str], output: str | None, as_json: bool, *,
                       classes: bool, top: int | None) -> None:
    import numpy as np

    if output:
        single = len(out_names) == 1
        if output.endswith(".npy") or (not output.endswith(".npz") and single):
            if not single:
                raise UsageError(f"the model has {len(out_names)} outputs ({', '.join(out_names)}); "
                                 "write them to an .npz (one array per output name)")
            target = output if output.endswith(".npy") else output + ".npy"
            y = result[out_names[0]]
            outputs.save_with(target, lambda p: np.save(p, y))
        else:
            target = output if output.endswith(".npz") else output + ".npz"
            outputs.save_with(target, lambda p: np.savez(p, **result))
        what = "top-%d class ids" % top if top else "class ids" if classes else "predictions"
        shapes = ", ".join(f"{n} {tuple(result[n].shape[1:])}" for n in out_names)
        n = len(result[out_names[0]])
        print(f"wrote {what} for {n:,} samples to {target}: {shapes}", file=sys.stderr)
        return
    if as_json:
        if len(out_names) == 1 and not top:
            print(json.dumps({"predictions": result[out_names[0]].tolist()}))
        else:
            print(json.dumps({"predictions": {k: v.tolist() for k, v in result.items()}}))
        return
    for i in range(len(result[out_names[0]])):
        cells = []
        for name in out_names:
            row = result[name][i]
            prefix = f"{name}: " if len(out_names) > 1 else ""
            if top:
                p = result[f"{name}_probabilities"][i]
                cells.append(prefix + "classes " + " ".join(f"{int(c)} ({float(q):.4f})" for c, q in zip(row, p)))
            elif classes:
                cells.append(prefix + "class " + " ".join(str(int(c)) for c in np.ravel(row)))
            elif np.ndim(row) == 1 and row.shape[0] > 1:
                cells.append(prefix + f"class {int(np.argmax(row))}\t(p={float(np.max(row)):.4f})")
            else:
                cells.append(prefix + " ".join(f"{v:.6g}" for v in np.ravel(row)))
        print(f"{i}\t" + "\t".join(cells))

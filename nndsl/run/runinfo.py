"""Read a run directory back, finished or not, for ``nndsl curves`` and ``nndsl compare``.

A run writes ``history.csv`` and ``state.json`` after every epoch and ``metrics.json`` only
at the end (:mod:`.outputs`), so a killed run still has its curves: this module reads what is
there and says what state the run is in. Nothing here imports a framework.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..errors import RunDirError
from . import outputs


@dataclass(frozen=True)
class RunInfo:
    """What one run directory holds.

    Attributes:
        path: the directory as given.
        settings: ``run.json`` (how the run was started).
        history: one dict per finished epoch (``epoch`` and every logged metric).
        metrics: ``metrics.json`` (None until the run ends).
        spec: the spec text the run trained (``spec.nn``; "" when missing).
        state: ``finished``, ``interrupted`` (Ctrl-C; the model was saved), ``running``,
            ``stopped`` (killed: checkpoint but no final model) or ``empty`` (no epoch finished).
    """

    path: str
    settings: dict
    history: tuple[dict, ...]
    metrics: dict | None
    spec: str
    state: str
    notes: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        return os.path.basename(os.path.normpath(self.path)) or self.path

    @property
    def epochs(self) -> int:
        return len(self.history)

    @property
    def epochs_planned(self) -> int | None:
        return (self.metrics or {}).get("epochs_planned") or self.settings.get("epochs")

    @property
    def spec_hash(self) -> str:
        """The first 12 hex digits of the spec text's SHA-256 (equal specs, equal hashes)."""
        return hashlib.sha256(self.spec.encode("utf-8")).hexdigest()[:12] if self.spec else ""

    def metric_names(self) -> list[str]:
        names: list[str] = []
        for row in self.history:
            for key in row:
                if key != "epoch" and key not in names:
                    names.append(key)
        return names

    def series(self, name: str) -> list[tuple[int, float]]:
        """(epoch, value) for every epoch that logged ``name``."""
        return [(row["epoch"], row[name]) for row in self.history if row.get(name) is not None]


def lower_is_better(metric: str) -> bool:
    """Losses and errors fall as a model learns; accuracy, AUC, precision... rise."""
    base = metric[4:] if metric.startswith("val_") else metric
    return any(word in base for word in ("loss", "error", "mse", "mae", "mape", "msle", "crossentropy",
                                         "hinge", "huber", "poisson", "divergence", "logcosh"))


def best(run: RunInfo, metric: str) -> tuple[int, float] | None:
    """(epoch, value) of the best epoch for ``metric`` (lowest loss, highest accuracy)."""
    points = run.series(metric)
    if not points:
        return None
    pick = min if lower_is_better(metric) else max
    return pick(points, key=lambda p: p[1])


def expand(paths: Sequence[str]) -> list[str]:
    """Run directories for the paths given: a directory holding runs (``runs/``) stands for each
    run inside it, in name order, one level down or, when none is, two (a tune directory's
    ``trials/NNNN/``); anything else is kept as given (and read as a run)."""
    found: list[str] = []
    for path in paths:
        if os.path.isdir(path) and not os.path.isfile(os.path.join(path, outputs.RUN)):
            inside = _runs_in(path)
            if not inside:
                for sub in sorted(os.listdir(path)):
                    if os.path.isdir(os.path.join(path, sub)):
                        inside.extend(_runs_in(os.path.join(path, sub)))
            if inside:
                found.extend(inside)
                continue
        found.append(path)
    return found


def _runs_in(folder: str) -> list[str]:
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [os.path.join(folder, n) for n in names if os.path.isfile(os.path.join(folder, n, outputs.RUN))]


def read_run(path: str) -> RunInfo:
    """A run directory as :class:`RunInfo`; a missing, foreign or damaged one is a RunDirError
    naming the file and what is wrong with it."""
    if not os.path.exists(path):
        raise RunDirError(f"{path}: no such run directory")
    if not os.path.isdir(path):
        raise RunDirError(f"{path}: not a directory (give a run directory, nndsl run's --out)")
    run_file = os.path.join(path, outputs.RUN)
    if not os.path.isfile(run_file):
        raise RunDirError(f"{path} is not an nndsl run directory (no {outputs.RUN})")
    settings = _json(run_file)
    if not isinstance(settings, dict):
        raise RunDirError(f"{run_file}: expected a JSON object")
    metrics_file = os.path.join(path, outputs.METRICS)
    metrics = _json(metrics_file) if os.path.isfile(metrics_file) else None
    notes: list[str] = []
    history = _history(path, notes)
    spec_file = os.path.join(path, outputs.SPEC)
    try:
        with open(spec_file, encoding="utf-8") as fh:
            spec = fh.read()
    except (OSError, UnicodeDecodeError):
        spec = ""
        notes.append(f"no readable {outputs.SPEC}")
    return RunInfo(path, settings, tuple(history), metrics if isinstance(metrics, dict) else None, spec,
                   _state(path, metrics, history), tuple(notes))


def _json(path: str) -> Any:
    try:
        return outputs.read_json(path)
    except OSError as e:
        raise RunDirError(f"{path}: cannot read: {e.strerror or e}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise RunDirError(f"{path}: not valid JSON ({e}); the run directory is damaged") from None


def _history(path: str, notes: list[str]) -> list[dict]:
    """``history.csv``; else the history in ``state.json`` (both are rewritten each epoch)."""
    csv_file = os.path.join(path, outputs.HISTORY)
    if os.path.isfile(csv_file):
        try:
            rows = outputs.read_history(csv_file)
        except OSError as e:
            raise RunDirError(f"{csv_file}: cannot read: {e.strerror or e}") from None
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
            raise RunDirError(f"{csv_file}: not a history nndsl wrote ({type(e).__name__}: {e})") from None
        if rows and any("epoch" not in r for r in rows):
            raise RunDirError(f"{csv_file}: not a history nndsl wrote (no epoch column)")
        return rows
    state_file = os.path.join(path, outputs.STATE)
    if os.path.isfile(state_file):
        state = _json(state_file)
        rows = state.get("history") if isinstance(state, dict) else None
        if isinstance(rows, list) and all(isinstance(r, dict) and "epoch" in r for r in rows):
            return [dict(r) for r in rows]
        raise RunDirError(f"{state_file}: has no per-epoch history")
    return []


def _state(path: str, metrics: dict | None, history: list[dict]) -> str:
    lock = os.path.join(path, outputs.LOCK)
    if os.path.exists(lock) and not outputs.RunDir._stale(lock):
        return "running"
    if metrics is not None:
        return "interrupted" if metrics.get("interrupted") else "finished"
    return "stopped" if history else "empty"


def describe_state(run: RunInfo) -> str:
    """The state in words, with the epochs (``stopped at epoch 3 of 10``)."""
    planned = run.epochs_planned
    of = f" of {planned}" if planned else ""
    return {
        "finished": f"finished ({run.epochs}{of} epochs)",
        "interrupted": f"interrupted at epoch {run.epochs}{of}",
        "running": f"running (epoch {run.epochs}{of} done)",
        "stopped": f"stopped at epoch {run.epochs}{of} (killed; nndsl run --resume continues it)",
        "empty": "no epoch finished",
    }[run.state]


def to_json(run: RunInfo) -> dict:
    return {"path": run.path, "state": run.state, "epochs": run.epochs, "epochs_planned": run.epochs_planned,
            "spec_hash": run.spec_hash, "history": list(run.history), "metrics": run.metrics,
            "notes": list(run.notes)}


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, default=outputs._jsonable)

"""``nndsl compare``: several runs side by side, and what differs between them.

One column per run: model, spec hash, parameters, state, epochs, time, backend, then each
metric's final value with its best epoch, and the test metrics of finished runs. Below the
table, what differs: the settings in ``run.json`` (epochs, batch size, seed, data, backend...)
and a unified diff of each spec against the first run's. ``--json`` gives the same as data.
Parameters come from checking the run's ``spec.nn`` (no framework is imported).
"""

from __future__ import annotations

import difflib
from typing import Any, Sequence

from ..errors import UsageError
from .runinfo import RunInfo, best, describe_state, expand, lower_is_better, read_run, to_json

# run.json keys that are bookkeeping, not a choice that changes the result
_NOT_SETTINGS = {"spec", "started", "model"}


def params_of(run: RunInfo, registry) -> int | None:
    """Trainable + frozen parameter count of the run's spec (None when it no longer checks)."""
    if not run.spec or registry is None:
        return None
    import os

    from ..check import check_source, read_source
    from . import outputs

    try:
        return check_source(read_source(os.path.join(run.path, outputs.SPEC)), registry).model.params.total
    except Exception:  # noqa: BLE001 - a spec that no longer checks (a plugin gone): no count, no failure
        return None


def _setting_text(value: Any) -> str:
    if isinstance(value, dict) and "value" in value:  # the data reference
        return str(value["value"])
    return "-" if value is None else str(value)


def differences(runs: Sequence[RunInfo]) -> dict:
    """{"settings": {key: [value per run]}, "specs": {run name: unified diff against the first}}."""
    keys: list[str] = []
    for run in runs:
        for key in run.settings:
            if key not in keys and key not in _NOT_SETTINGS:
                keys.append(key)
    settings = {}
    for key in keys:
        values = [_setting_text(run.settings.get(key)) for run in runs]
        if len(set(values)) > 1:
            settings[key] = values
    specs = {}
    first = runs[0]
    for run in runs[1:]:
        if run.spec != first.spec:
            specs[run.name] = "".join(difflib.unified_diff(
                first.spec.splitlines(keepends=True), run.spec.splitlines(keepends=True),
                fromfile=f"{first.name}/spec.nn", tofile=f"{run.name}/spec.nn"))
    return {"settings": settings, "specs": specs}


def _metric_rows(runs: Sequence[RunInfo]) -> list[tuple[str, list[str]]]:
    names: list[str] = []
    for run in runs:
        for name in run.metric_names():
            if name not in names:
                names.append(name)
    rows = []
    for name in names:
        cells = []
        for run in runs:
            points = run.series(name)
            if not points:
                cells.append("-")
                continue
            b = best(run, name)
            last = points[-1][1]
            cells.append(f"{last:.4f}" + (f" (best {b[1]:.4f} @{b[0]})" if b[0] != points[-1][0] else ""))
        rows.append((name, cells))
    tests: list[str] = []
    for run in runs:
        for name in ((run.metrics or {}).get("test") or {}):
            if name not in tests:
                tests.append(name)
    for name in tests:
        rows.append((f"test {name}", [_num((run.metrics or {}).get("test", {}).get(name), 4) for run in runs]))
    return rows


def _num(value: Any, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(runs: Sequence[RunInfo], params: Sequence[int | None]) -> list[tuple[str, list[str]]]:
    """Rows of (field, one cell per run)."""
    def metric(run, key):
        return (run.metrics or {}).get(key)

    rows = [
        ("model", [str(run.settings.get("model") or (run.metrics or {}).get("model") or "-") for run in runs]),
        ("spec", [run.spec_hash or "-" for run in runs]),
        ("params", [f"{p:,}" if p is not None else "-" for p in params]),
        ("state", [describe_state(run) for run in runs]),
        ("epochs", [f"{run.epochs}/{run.epochs_planned or '?'}" for run in runs]),
        ("backend", [_backend(run) for run in runs]),
        ("wall time", [f"{metric(run, 'wall_time_s'):.1f} s" if metric(run, "wall_time_s") is not None else "-"
                       for run in runs]),
        ("samples/s", [f"{metric(run, 'samples_per_second'):,.0f}" if metric(run, "samples_per_second") else "-"
                       for run in runs]),
    ]
    return rows + _metric_rows(runs)


def _backend(run: RunInfo) -> str:
    backend = run.settings.get("backend") or "keras"
    keras_backend = run.settings.get("keras_backend")
    return f"{backend} ({keras_backend})" if keras_backend and backend.startswith("keras") else backend


def render(runs: Sequence[RunInfo], params: Sequence[int | None]) -> str:
    rows = table(runs, params)
    header = ("", [run.name for run in runs])
    every = [header] + rows
    first = max(len(name) for name, _ in every)
    widths = [max(len(cells[i]) for _, cells in every) for i in range(len(runs))]
    lines = ["  ".join([name.ljust(first)] + [c.ljust(w) for c, w in zip(cells, widths)]).rstrip()
             for name, cells in every]
    lines.insert(1, "  ".join(["-" * first] + ["-" * w for w in widths]))
    diff = differences(runs)
    lines.append("")
    if len(runs) > 1:
        if diff["settings"]:
            lines.append("settings that differ:")
            for key, values in diff["settings"].items():
                lines.append(f"  {key}: " + " | ".join(values))
        else:
            lines.append("settings: the same")
        if diff["specs"]:
            for name, text in diff["specs"].items():
                lines.append(f"spec of {name} against {runs[0].name}:")
                lines.extend("  " + line for line in text.splitlines())
        else:
            lines.append("specs: the same" if len({r.spec_hash for r in runs}) == 1 else "")
    return "\n".join(lines).rstrip() + "\n"


def compare(paths: Sequence[str], registry, sort: str | None = None) -> tuple[list[RunInfo], list[int | None]]:
    """The runs (a folder of runs counts as each run in it) and their parameter counts, best first
    by ``sort`` when given (see :func:`sort_value`)."""
    runs = [read_run(p) for p in expand(paths)]
    params = [params_of(run, registry) for run in runs]
    if sort:
        values = [sort_value(run, p, sort) for run, p in zip(runs, params)]
        if all(v is None for v in values):
            keys = sorted({k for run in runs for k in run.metric_names()}
                          | {f"test_{k}" for run in runs for k in ((run.metrics or {}).get("test") or {})}
                          | set(_SORT_FIELDS))
            raise UsageError(f"--sort {sort}: no run has it; choose from {', '.join(keys)}")
        sign = 1 if lower_is_better(sort) or sort in ("wall_time", "params") else -1
        order = sorted(range(len(runs)), key=lambda i: (values[i] is None, sign * (values[i] or 0)))
        runs, params = [runs[i] for i in order], [params[i] for i in order]
    return runs, params


_SORT_FIELDS = ("wall_time", "samples_per_second", "epochs", "params")


def sort_value(run: RunInfo, params: int | None, key: str) -> float | None:
    """A run's value for ``--sort``: ``test_NAME`` (test metric), a history metric's final value
    (``val_accuracy``), or wall_time, samples_per_second, epochs, params."""
    metrics = run.metrics or {}
    if key == "wall_time":
        return metrics.get("wall_time_s")
    if key == "samples_per_second":
        return metrics.get("samples_per_second")
    if key == "epochs":
        return run.epochs
    if key == "params":
        return params
    if key.startswith("test_") and key[5:] in (metrics.get("test") or {}):
        return metrics["test"][key[5:]]
    points = run.series(key)
    return points[-1][1] if points else None


def as_json(runs: Sequence[RunInfo], params: Sequence[int | None]) -> dict:
    entries = []
    for run, p in zip(runs, params):
        entry = to_json(run)
        entry["params"] = p
        entry["settings"] = run.settings
        entry["best"] = {name: {"epoch": b[0], "value": b[1]} for name in run.metric_names()
                         if (b := best(run, name)) is not None}
        entry["final"] = dict(run.history[-1]) if run.history else {}
        entries.append(entry)
    return {"runs": entries, "differences": differences(runs)}

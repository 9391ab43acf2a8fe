"""``nndsl runs [DIR]``: every run in a folder, one row each, sortable and filterable.

Where ``nndsl compare`` puts a few runs side by side (one column each, then what differs),
this lists many: model, when it started, epochs done/planned, parameters, test metrics,
samples/s, wall time, device and state. ``--sort KEY`` takes the keys ``compare --sort``
does; ``--where`` keeps the runs that match (``state=finished``, ``model=mlp``,
``test_accuracy>=0.9``). Reads what :mod:`.runinfo` reads; no framework is imported.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Sequence

from ..errors import UsageError
from . import outputs
from .compare import _SORT_FIELDS, params_of, sort_value
from .runinfo import RunInfo, expand, lower_is_better, read_run

_WHERE = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(>=|<=|!=|=|>|<)\s*(.*?)\s*$")
TEXT_FIELDS = ("state", "model", "device", "backend", "name")


@dataclass(frozen=True)
class Condition:
    """One ``--where KEY OP VALUE``: text fields compare as text (= and != only), the rest as numbers."""

    key: str
    op: str
    value: str

    @classmethod
    def parse(cls, text: str) -> "Condition":
        m = _WHERE.match(text)
        if not m or not m.group(3):
            raise UsageError(f"--where {text!r}: write KEY=VALUE (state=finished, model=mlp) or a comparison "
                             "(test_accuracy>=0.9, epochs>5)")
        key, op, value = m.groups()
        if key in TEXT_FIELDS:
            if op not in ("=", "!="):
                raise UsageError(f"--where {text!r}: {key} is text; use = or !=")
        else:
            try:
                float(value)
            except ValueError:
                raise UsageError(f"--where {text!r}: {value!r} is not a number (text keys: "
                                 f"{', '.join(TEXT_FIELDS)})") from None
        return cls(key, op, value)

    def holds(self, row: dict) -> bool:
        if self.key in TEXT_FIELDS:
            equal = str(row.get(self.key) or "").lower() == self.value.lower()
            return equal if self.op == "=" else not equal
        have = row["values"].get(self.key)
        if have is None:
            return False
        want = float(self.value)
        return {"=": have == want, "!=": have != want, ">": have > want, "<": have < want,
                ">=": have >= want, "<=": have <= want}[self.op]


def _device(run: RunInfo) -> str:
    device = (run.metrics or {}).get("device") or {}
    if not isinstance(device, dict) or not device.get("kind"):
        return ""
    names = device.get("names") or []
    return device["kind"] + (f" ({names[0]})" if names and names[0] != device["kind"] else "")


def row_of(run: RunInfo, params: int | None) -> dict:
    """One run as the data behind a table row (and ``--json``)."""
    metrics = run.metrics or {}
    values: dict[str, float] = {}
    for key in _SORT_FIELDS:
        value = sort_value(run, params, key)
        if value is not None:
            values[key] = value
    for name in run.metric_names():
        value = sort_value(run, params, name)
        if value is not None:
            values[name] = value
    for name, value in (metrics.get("test") or {}).items():
        values["test_" + name] = value
    return {
        "name": run.name,
        "path": run.path,
        "model": run.settings.get("model") or metrics.get("model") or "",
        "started": run.settings.get("started") or "",
        "state": run.state,
        "epochs": run.epochs,
        "epochs_planned": run.epochs_planned,
        "params": params,
        "test": dict(metrics.get("test") or {}),
        "samples_per_second": metrics.get("samples_per_second"),
        "wall_time_s": metrics.get("wall_time_s"),
        "device": _device(run),
        "backend": run.settings.get("backend") or "keras",
        "values": values,
    }


def list_runs(folder: str, registry, *, sort: str | None = None, where: Sequence[str] = ()) -> list[dict]:
    """The runs in ``folder`` (see :func:`.runinfo.expand`) as rows, filtered, then sorted best first."""
    conditions = [Condition.parse(w) for w in where]
    paths = expand([folder])
    if paths == [folder] and os.path.isdir(folder) and not os.path.isfile(os.path.join(folder, outputs.RUN)):
        return []  # a folder with no run in it: an empty list, not an error
    runs = [read_run(p) for p in paths]
    rows = [row_of(run, params_of(run, registry)) for run in runs]
    rows = [r for r in rows if all(c.holds(r) for c in conditions)]
    if sort:
        if rows and all(r["values"].get(sort) is None for r in rows):
            keys = sorted({k for r in rows for k in r["values"]})
            raise UsageError(f"--sort {sort}: no run has it; choose from {', '.join(keys)}")
        sign = 1 if lower_is_better(sort) or sort in ("wall_time", "params") else -1
        rows.sort(key=lambda r: (r["values"].get(sort) is None, sign * (r["values"].get(sort) or 0)))
    return rows


def _cell(value: Any, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def render(rows: Sequence[dict]) -> str:
    if not rows:
        return "no runs\n"
    tests: list[str] = []
    for row in rows:
        for name in row["test"]:
            if name not in tests:
                tests.append(name)
    header = ["run", "model", "started", "epochs", "params"] + [f"test {t}" for t in tests] + [
        "samples/s", "wall time", "device", "state"]
    table = [header]
    for r in rows:
        table.append([r["name"], r["model"] or "-", r["started"].replace("T", " ") or "-",
                      f"{r['epochs']}/{r['epochs_planned'] or '?'}", _cell(r["params"], ",")]
                     + [_cell(r["test"].get(t), ".4f") for t in tests]
                     + [_cell(r["samples_per_second"], ",.0f"),
                        "-" if r["wall_time_s"] is None else f"{r['wall_time_s']:.1f} s",
                        r["device"] or "-", r["state"]])
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def as_json(rows: Sequence[dict]) -> dict:
    return {"runs": [{k: v for k, v in r.items() if k != "values"} | {"sort_keys": r["values"]} for r in rows]}

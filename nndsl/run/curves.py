"""``nndsl curves``: loss and every metric per epoch, training and validation, for one run or several.

From each run directory's history (finished, interrupted or killed runs alike, see
:mod:`.runinfo`). ``--out FILE.png|svg|pdf`` draws them with matplotlib (the ``plot`` extra;
headless Agg backend, one panel per metric, one colour per run, validation dashed); without
``--out`` they are printed as text: one sparkline per run and series, with first, last and
best values, so a terminal over SSH needs nothing else.
"""

from __future__ import annotations

import os
from typing import Sequence

from ..errors import UsageError
from . import outputs
from .runinfo import RunInfo, best, lower_is_better

IMAGE_FORMATS = ("png", "svg", "pdf")
_BARS = "▁▂▃▄▅▆▇█"


class MissingPlotExtra(UsageError):
    """matplotlib is not installed; the message says what to install."""


def panels(runs: Sequence[RunInfo]) -> list[str]:
    """The metrics to draw, one panel each: ``loss`` first, validation folded into its training twin."""
    names: list[str] = []
    for run in runs:
        for metric in run.metric_names():
            base = metric[4:] if metric.startswith("val_") else metric
            if base not in names:
                names.append(base)
    return sorted(names, key=lambda n: (n != "loss", names.index(n)))


def _plottable(runs: Sequence[RunInfo]) -> list[RunInfo]:
    with_epochs = [r for r in runs if r.history]
    if not with_epochs:
        raise UsageError("no finished epoch to draw in " + ", ".join(r.path for r in runs)
                         + " (a run records its history after each epoch)")
    return with_epochs


def sparkline(values: Sequence[float]) -> str:
    low, high = min(values), max(values)
    span = high - low
    top = len(_BARS) - 1
    return "".join(_BARS[0 if span == 0 else round((v - low) / span * top)] for v in values)


def render_text(runs: Sequence[RunInfo]) -> str:
    """One block per metric; per run and series: sparkline, first -> last, best and its epoch."""
    runs_with = _plottable(runs)
    skipped = [r for r in runs if not r.history]
    width = max(len(r.name) for r in runs_with)
    lines: list[str] = []
    for panel in panels(runs_with):
        direction = "lower" if lower_is_better(panel) else "higher"
        lines.append(f"{panel} ({direction} is better)")
        for run in runs_with:
            for series in (panel, "val_" + panel):
                points = run.series(series)
                if not points:
                    continue
                values = [v for _, v in points]
                b = best(run, series)
                label = "val  " if series.startswith("val_") else "train"
                lines.append(f"  {run.name:<{width}}  {label} {sparkline(values)}  "
                             f"{values[0]:.4g} -> {values[-1]:.4g}  best {b[1]:.4g} (epoch {b[0]})")
        lines.append("")
    for run in skipped:
        lines.append(f"{run.name}: no finished epoch yet")
    return "\n".join(lines).rstrip() + "\n"


def write_image(runs: Sequence[RunInfo], path: str) -> str:
    """Draw the curves into ``path`` (format from its extension), atomically; returns the path."""
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in IMAGE_FORMATS:
        raise UsageError(f"--out {path}: choose a .png, .svg or .pdf file")
    try:
        import matplotlib
    except ImportError:
        raise MissingPlotExtra("curves --out needs matplotlib, which is not installed: pip install 'nndsl[plot]' "
                               "(without --out, nndsl curves prints the curves as text)") from None
    matplotlib.use("Agg", force=True)  # headless: no display, no GUI toolkit
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    runs_with = _plottable(runs)
    names = panels(runs_with)
    columns = min(3, len(names))
    rows = (len(names) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(4.5 * columns, 3.2 * rows), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    try:
        for ax, panel in zip(axes.flat, names):
            for i, run in enumerate(runs_with):
                colour = colours[i % len(colours)]
                label = run.name if len(runs_with) > 1 else "training"
                for series, style, suffix in ((panel, "-", ""), ("val_" + panel, "--", " (validation)")):
                    points = run.series(series)
                    if points:
                        ax.plot([e for e, _ in points], [v for _, v in points], style, color=colour,
                                marker="o" if len(points) < 15 else None, markersize=3,
                                label=(label + suffix) if len(runs_with) > 1 or suffix else label)
            ax.set_title(panel)
            ax.set_xlabel("epoch")
            ax.grid(True, alpha=0.3)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.legend(fontsize="small")
        for ax in list(axes.flat)[len(names):]:
            ax.set_visible(False)
        fig.tight_layout()
        outputs.save_with(path, lambda tmp: fig.savefig(tmp, format=ext, dpi=120))
    finally:
        plt.close(fig)
    return path


PLOT_HINT = "curves.svg not drawn: pip install 'nndsl[plot]' (matplotlib) to get it; nndsl curves RUN prints them as text"


def draw_run_curves(run_path: str) -> str | None:
    """Draw ``curves.svg`` into a run directory that just ended; returns a line to show, or None.

    Called by ``nndsl run`` after the last files are written. Drawing is a courtesy, never a
    reason for a run to fail: no matplotlib gives the install hint, any other failure a
    warning line (the run's model, history and metrics are already saved).
    """
    from .runinfo import read_run

    try:
        import matplotlib  # noqa: F401 - only to know whether it is there
    except ImportError:
        return PLOT_HINT
    try:
        run = read_run(run_path)
        if not run.history:
            return None
        write_image([run], os.path.join(run_path, outputs.CURVES))
    except Exception as e:  # noqa: BLE001 - a figure must never cost a trained run
        return f"warning: curves.svg not drawn: {type(e).__name__}: {e}"
    return None

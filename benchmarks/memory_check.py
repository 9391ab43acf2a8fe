"""Peak memory of ``nndsl check`` on large specs, against the bare interpreter's own.

Each measurement is a fresh child process; its peak resident set size comes from
``os.wait4`` (the kernel's ``ru_maxrss`` for that one child), so nothing in this process
skews it. Prints the peak of ``python -c pass``, of ``nndsl check`` on the seed spec and on
generated specs of ``--layers`` layers (a chain and a DAG with merges, from compile.py), and
each one's excess over the interpreter. The target is tens of megabytes over it.

Run: ``python benchmarks/memory_check.py`` (``--layers 100 --repeats 1`` for a quick look).
Linux and macOS only (``os.wait4``); numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compile import SEED_SPEC, SHAPES, nndsl_argv  # noqa: E402 - benchmarks are scripts, not a package


def peak_rss_mb(argv: list[str]) -> float:
    """Peak resident memory of one run of ``argv``, in MiB; exits if the command fails."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {err.decode()[-2000:]}")
    kib = usage.ru_maxrss / (1024 if sys.platform == "darwin" else 1)  # macOS reports bytes
    return kib / 1024


def median_peak(argv: list[str], repeats: int) -> float:
    return statistics.median(peak_rss_mb(argv) for _ in range(repeats))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=10_000, help="layers in the generated specs")
    ap.add_argument("--repeats", type=int, default=3, help="runs per measurement (median is shown)")
    args = ap.parse_args(argv)

    rows: list[tuple[str, float]] = [("python -c pass", median_peak([sys.executable, "-c", "pass"], args.repeats))]
    rows.append(("nndsl check mnist_mlp.nn", median_peak(nndsl_argv("check", SEED_SPEC), args.repeats)))
    with tempfile.TemporaryDirectory() as tmp:
        for shape, make in SHAPES.items():
            path = os.path.join(tmp, f"{shape}_{args.layers}.nn")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(make(args.layers))
            size_kb = os.path.getsize(path) / 1024
            rows.append((f"nndsl check {shape} of {args.layers:,} layers ({size_kb:,.0f} KiB)",
                         median_peak(nndsl_argv("check", path), args.repeats)))
    base = rows[0][1]
    print(f"Peak resident memory (fresh process each, median of {args.repeats})")
    print(f"{'command':<52} {'peak MiB':>9} {'over python':>12}")
    for label, mb in rows:
        print(f"{label:<52} {mb:>9.1f} {mb - base:>+12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

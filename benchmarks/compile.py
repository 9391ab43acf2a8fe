"""Compile-side benchmark: how long nndsl takes to check and emit specs, and how it scales.

Generates specs of 10 to 10,000 layers, both plain chains and DAGs with merges (residual
``add`` blocks and ``concat`` branches), and times, in this process with the registry and
grammar already warm:

- ``check``: parse + resolve + infer + lint into the IR (:func:`nndsl.check_source`);
- ``emit``: the standalone Keras script (``nndsl.emit(model, "python")``) from that IR.

For each it prints the median of ``--repeats`` runs (one run from 100,000 layers up), the time
per layer and the ratio to the previous size (10x more layers should cost about 10x: the cost
grows linearly), then the targets of issue 13: a 10,000-layer check (chain and DAG) in 0.3 s,
a spec that expands to 10,000 layers through blocks/repeat no slower than its flat expansion,
and the cost from 1,000 to 100,000 layers against linear. Then, unless ``--no-cold`` is
given, it times fresh processes: ``python -c pass``, ``nndsl --help`` and ``nndsl check`` on
the seed spec (target: 0.10 s) and ``python -c "import tensorflow"`` (``--no-tensorflow``
skips the latter). The machine's load average is printed with each table: on a shared
machine read the ratios, not the absolute times.

Run: ``python benchmarks/compile.py`` (``--sizes 10 100 --repeats 2`` for a quick look).
Nothing here imports TensorFlow in-process; timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from typing import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED_SPEC = os.path.join(ROOT, "spec", "examples", "mnist_mlp.nn")
WIDTH = 32
TRAINING = "rmsprop 0.001\nloss mse\nmetrics accuracy\n"


def chain_spec(layers: int) -> str:
    """``input 32`` then ``layers`` dense layers, alternating activations, then training."""
    acts = ("relu", "tanh", "sigmoid", "linear")
    body = "".join(f"dense {WIDTH} {acts[i % len(acts)]}\n" for i in range(layers))
    return f"input {WIDTH}\n{body}{TRAINING}"


def dag_spec(layers: int) -> str:
    """A DAG of exactly ``layers`` layers: residual and concat blocks, merged at every step.

    Residual block (2 layers)::

        h1 = x0 -> dense 32 relu
        x1 = add(h1, x0)

    Concat block (3 layers, two branches off one tensor)::

        a2 = x1 -> dense 16 relu
        b2 = x1 -> dense 16 tanh
        x2 = concat(a2, b2)
    """
    lines = [f"input x0 {WIDTH}"]
    made, block, prev = 0, 0, "x0"
    while made < layers:
        block += 1
        left = layers - made
        cur = f"x{block}"
        if left >= 3 and block % 2 == 0:
            lines += [f"a{block} = {prev} -> dense {WIDTH // 2} relu", f"b{block} = {prev} -> dense {WIDTH // 2} tanh",
                      f"{cur} = concat(a{block}, b{block})"]
            made += 3
        elif left >= 2:
            lines += [f"h{block} = {prev} -> dense {WIDTH} relu", f"{cur} = add(h{block}, {prev})"]
            made += 2
        else:
            lines.append(f"{cur} = {prev} -> dense {WIDTH} relu")
            made += 1
        prev = cur
    lines.append(f"output {prev}")
    return "\n".join(lines) + "\n" + TRAINING


def block_spec(layers: int) -> str:
    """Language v2: a residual block (2 layers) repeated, expanding to exactly ``layers`` layers."""
    copies, extra = divmod(layers, 2)
    lines = ["block res(x, w):", "    h = x -> dense w relu", "    output add(h, x)", f"input x0 {WIDTH}",
             f"y = x0 -> repeat {copies} res {WIDTH}" if copies else "y = x0 -> dense 1"]
    if extra and copies:
        lines.append(f"z = y -> dense {WIDTH} relu")
    return "\n".join(lines) + "\n" + TRAINING


def flat_spec(layers: int) -> str:
    """What ``nndsl expand`` prints for :func:`block_spec`: the same model, written out flat."""
    from nndsl.check import check_source
    from nndsl.diagnostics import Source
    from nndsl.flat import render_flat
    from nndsl.plugins import default_registry

    registry = default_registry()
    return render_flat(check_source(Source(block_spec(layers), "block.nn"), registry), registry)


SHAPES: dict[str, Callable[[int], str]] = {"chain": chain_spec, "dag": dag_spec, "block": block_spec,
                                           "flat": flat_spec}


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall-clock and median CPU seconds of ``fn()``.

    CPU time is the steadier of the two on a shared machine: other processes stretch the
    wall clock, not this process's own CPU time.
    """
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return statistics.median(wall), statistics.median(cpu)


def run_scaling(sizes: list[int], repeats: int) -> list[dict]:
    import nndsl
    from nndsl.diagnostics import Source
    from nndsl.plugins import default_registry

    registry = default_registry()
    nndsl.check(chain_spec(2), registry=registry)  # warm: grammar, curated tables, imports
    rows = []
    from nndsl.parser import MAX_SOURCE_CHARS

    for shape, make in SHAPES.items():
        for n in sizes:
            text = make(n)
            if len(text) > MAX_SOURCE_CHARS:  # the flat expansion of 100,000 layers: past the size limit
                print(f"({shape} of {n:,} layers skipped: {len(text):,} characters, over the "
                      f"{MAX_SOURCE_CHARS:,} limit)")
                continue
            source = Source(text, f"{shape}_{n}.nn")
            model = nndsl.check_source(source, registry).model
            assert len(model.nodes) == n, (shape, n, len(model.nodes))
            runs = repeats if n < 100_000 else 1
            check_s, check_cpu = median_time(lambda: nndsl.check_source(source, registry), runs)
            emit_s, emit_cpu = median_time(lambda: nndsl.emit(model, "python", registry=registry), runs)
            rows.append({"shape": shape, "layers": n, "check": check_s, "check_cpu": check_cpu,
                         "emit": emit_s, "emit_cpu": emit_cpu})
    return rows


def load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def print_scaling(rows: list[dict], repeats: int) -> None:
    print(f"Compile scaling (median of {repeats}; check = parse+expand+bind+infer+lint -> IR; emit = --python); "
          f"{load()}")
    print(f"{'spec':<6} {'layers':>7} | {'check s':>8} {'cpu s':>8} {'us/layer':>8} {'x prev':>6} | "
          f"{'emit s':>8} {'cpu s':>8} {'us/layer':>8} {'x prev':>6}")
    prev: dict[str, dict] = {}
    for r in rows:
        p = prev.get(r["shape"])

        def ratio(key: str) -> str:
            return f"{r[key] / p[key]:6.1f}" if p and p[key] > 0 else f"{'-':>6}"

        print(f"{r['shape']:<6} {r['layers']:>7} | {r['check']:>8.4f} {r['check_cpu']:>8.4f} "
              f"{r['check_cpu'] / r['layers'] * 1e6:>8.1f} {ratio('check_cpu')} | {r['emit']:>8.4f} "
              f"{r['emit_cpu']:>8.4f} {r['emit_cpu'] / r['layers'] * 1e6:>8.1f} {ratio('emit_cpu')}")
        prev[r["shape"]] = r
    for r in rows:
        if r["layers"] == 10_000:
            verdict = "yes" if min(r["check"], r["check_cpu"]) <= 0.3 else "NO"
            print(f"{r['shape']} of {r['layers']:,} layers checks in {r['check']:.3f} s wall, {r['check_cpu']:.3f} s CPU: "
                  f"target 0.3 s: {verdict}")
    by = {(r["shape"], r["layers"]): r for r in rows}
    for shape in SHAPES:
        small, big = by.get((shape, 1_000)), by.get((shape, 100_000))
        if small and big:
            print(f"{shape}: 1,000 -> 100,000 layers costs {big['check_cpu'] / small['check_cpu']:.0f}x the CPU time "
                  f"(linear: 100x)")
    print("(us/layer and x prev use CPU time; x prev is the cost relative to the previous size, so linear\n"
          " growth reads as the size ratio, e.g. 10.0 from 1,000 to 10,000 layers)")
    flat = {r["layers"]: r for r in rows if r["shape"] == "flat"}
    for r in rows:
        if r["shape"] == "block" and r["layers"] in flat:
            f = flat[r["layers"]]
            print(f"v2 blocks vs the same model written flat, {r['layers']:,} layers: check "
                  f"{r['check_cpu'] / f['check_cpu']:.2f}x the CPU time of the flat spec (target: <= 1)")


def median_process(argv: list[str], repeats: int, env: dict | None = None) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return statistics.median(times)


def nndsl_argv(*args: str) -> list[str]:
    """``nndsl ARGS`` as a fresh interpreter running the installed console entry point."""
    return [sys.executable, "-c", "import sys; from nndsl.cli import main; sys.exit(main())", *args]


def run_cold(repeats: int, tensorflow: bool) -> None:
    print(f"\nCold start (fresh process, median of {repeats}; {load()})")
    base = median_process([sys.executable, "-c", "pass"], repeats)
    helped = median_process(nndsl_argv("--help"), repeats)
    check = median_process(nndsl_argv("check", SEED_SPEC), repeats)
    print(f"  {'python -c pass':<34} {base:8.3f} s")
    print(f"  {'nndsl --help':<34} {helped:8.3f} s   {helped / base:5.1f}x python -c pass")
    print(f"  {'nndsl check mnist_mlp.nn':<34} {check:8.3f} s   {check / base:5.1f}x python -c pass   "
          f"target 0.10 s: {'yes' if check <= 0.10 else 'NO'}")
    if tensorflow:
        tf = median_process([sys.executable, "-c", "import tensorflow"], repeats,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        label = 'python -c "import tensorflow"'
        print(f"  {label:<34} {tf:8.3f} s")
        print(f"  import tensorflow / nndsl check: {tf / check:.1f}x")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1_000, 10_000, 100_000], help="layer counts")
    ap.add_argument("--repeats", type=int, default=5, help="runs per measurement (median is shown)")
    ap.add_argument("--cold-repeats", type=int, default=5, help="fresh processes per cold-start measurement")
    ap.add_argument("--no-cold", action="store_true", help="skip the fresh-process cold-start timings")
    ap.add_argument("--no-tensorflow", action="store_true", help="skip timing 'import tensorflow'")
    ap.add_argument("--write", metavar="DIR", help="also write the generated specs to DIR (for profiling)")
    args = ap.parse_args(argv)
    if args.write:
        os.makedirs(args.write, exist_ok=True)
        for shape, make in SHAPES.items():
            for n in args.sizes:
                with open(os.path.join(args.write, f"{shape}_{n}.nn"), "w", encoding="utf-8") as fh:
                    fh.write(make(n))
    rows = run_scaling(args.sizes, args.repeats)
    print_scaling(rows, args.repeats)
    if not args.no_cold:
        run_cold(args.cold_repeats, not args.no_tensorflow)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Side by side: check_source CPU time and cold starts of two nndsl checkouts under the same load.

Run: python benchmarks/frontend_compare.py OLD_ROOT NEW_ROOT (e.g. a worktree at an older
commit and the current one). Timings are printed, never asserted.
"""
import os
import statistics
import subprocess
import sys
import time

ROOTS = {f"old ({sys.argv[1]})": sys.argv[1], f"new ({sys.argv[2]})": sys.argv[2]}
code = r'''
import sys, time, gc, statistics
sys.path.insert(0, "benchmarks")
from compile import chain_spec, dag_spec, block_spec, flat_spec
import nndsl
from nndsl.diagnostics import Source
from nndsl.plugins import default_registry
reg = default_registry()
nndsl.check(chain_spec(2), registry=reg)
for name, make in (("chain", chain_spec), ("dag", dag_spec), ("block", block_spec), ("flat", flat_spec)):
    for n in (1000, 10000):
        src = Source(make(n), "x.nn")
        cpu = []
        for _ in range(3):
            c = time.process_time(); nndsl.check_source(src, reg); cpu.append(time.process_time() - c)
        print(name, n, round(statistics.median(cpu), 4))
'''
res = {}
for label, root in ROOTS.items():
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env={**os.environ, "PYTHONPATH": root}, capture_output=True, text=True).stdout
    for line in out.split("\n"):
        if line:
            s, n, t = line.split(); res.setdefault((s, int(n)), {})[label] = float(t)
print(f"load {os.getloadavg()[0]:.1f}")
for k, v in res.items():
    a, b = (v[k2] for k2 in ROOTS)
    print(f"{k[0]:<6} {k[1]:>6}  old {a:.3f}  new {b:.3f}  {a/b:.1f}x")
def med(argv, cwd, n=9):
    ts = []
    for _ in range(n):
        t = time.perf_counter(); subprocess.run(argv, cwd=cwd, env={**os.environ, "PYTHONPATH": cwd}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); ts.append(time.perf_counter() - t)
    return statistics.median(ts)
for i in range(1):
    for label, root in ROOTS.items():
        p = med([sys.executable, "-c", "pass"], root)
        h = med([sys.executable, "-m", "nndsl.cli", "--help"], root)
        c = med([sys.executable, "-m", "nndsl.cli", "check", "spec/examples/mnist_mlp.nn"], root)
        print(f"cold {label}: pass {p:.3f}  --help {h:.3f} ({h/p:.1f}x)  check {c:.3f} ({c/p:.1f}x)  load {os.getloadavg()[0]:.1f}")

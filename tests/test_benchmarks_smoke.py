"""The compile-side benchmarks still run: each on a tiny size, in a fresh process.

Benchmarks are not tests and assert no timings; this only keeps them from rotting (a renamed
function, a spec the generators write that no longer checks).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import nndsl

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")
sys.path.insert(0, BENCH)
import compile as compile_bench  # noqa: E402 - benchmarks/compile.py, a script


def _run(script: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, os.path.join(BENCH, script), *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.parametrize("shape", sorted(compile_bench.SHAPES))
@pytest.mark.parametrize("layers", [1, 2, 3, 7, 10])
def test_generated_specs_have_exactly_that_many_layers(shape, layers, registry):
    model = nndsl.check(compile_bench.SHAPES[shape](layers), registry=registry)
    assert len(model.nodes) == layers
    if layers >= 2:  # one layer is a chain whatever the generator meant
        assert model.is_chain == (shape == "chain")


def test_dag_spec_merges():
    model = nndsl.check(compile_bench.dag_spec(10))
    assert {n.op for n in model.nodes} == {"dense", "add", "concat"}


def test_compile_benchmark_runs():
    out = _run("compile.py", "--sizes", "10", "20", "--repeats", "1", "--cold-repeats", "1", "--no-tensorflow")
    lines = out.splitlines()
    for shape in compile_bench.SHAPES:
        assert any(line.split()[:2] == [shape, "20"] for line in lines), out
    assert "nndsl check mnist_mlp.nn" in out


def test_memory_benchmark_runs():
    out = _run("memory_check.py", "--layers", "20", "--repeats", "1")
    assert "python -c pass" in out
    assert "chain of 20 layers" in out and "dag of 20 layers" in out

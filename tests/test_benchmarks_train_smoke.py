"""The training benchmarks keep working: each runs on a tiny size in a subprocess (no timings asserted)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.keras, pytest.mark.slow]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def bench(name: str, *args: str) -> str:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", name), *args], capture_output=True,
                         text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_train_benchmark_runs_every_model():
    text = bench("train.py", "--models", "mlp,convnet,wide", "--epochs", "1", "--repeats", "1", "--rows", "300")
    assert "peak (NumPy float32 matmul)" in text
    for model in ("mlp 784-32-10", "convnet", "mlp 784-512-512-10"):
        assert f"{model}: 300 rows x 1 epochs" in text
    assert text.count("ratio nndsl/keras:") == 3
    assert "pipeline tfdata (default for tensorflow on CPU)" in text


def test_train_benchmark_puts_keras_backends_side_by_side():
    import importlib.util

    backends = [b for b in ("tensorflow", "jax", "torch") if importlib.util.find_spec(b) is not None]
    text = bench("train.py", "--backends", ",".join(backends), "--models", "mlp", "--epochs", "1",
                 "--repeats", "1", "--rows", "300")
    assert "Keras backends side by side" in text and "fastest for mlp 784-32-10:" in text
    for backend in backends:
        assert f"| mlp 784-32-10 | {backend} |" in text
        assert f"=== KERAS_BACKEND={backend} ===" in text


def test_train_benchmark_applies_plan_overrides():
    text = bench("train.py", "--models", "mlp", "--epochs", "1", "--repeats", "1", "--rows", "300",
                 "--plan", "steps_per_execution=1", "--plan", "pipeline=numpy", "--plan", "precision=mixed_bfloat16")
    assert "steps_per_execution 1 (given" in text and "pipeline numpy (given)" in text
    assert "dtype policy mixed_bfloat16 (given)" in text


def test_memory_benchmark_compares_nndsl_run_with_hand_written_keras():
    text = bench("memory_run.py", "--rows", "500")
    assert "hand-written Keras" in text and "nndsl run" in text
    assert "ratio nndsl/hand-written:" in text
    assert "float32 x_train (450, 784)" in text


def test_normalization_csv_benchmark_runs():
    text = bench("normalization_csv.py", "--rows", "300", "--epochs", "1", "--seeds", "0",
                 "--variants", "raw", "normalization")
    assert "300 rows x 98 pixel columns (0..255), 1 epochs" in text
    assert text.count("| raw |") == 1 and text.count("| normalization |") == 1


def test_zoo_benchmark_models_match_their_hand_written_keras():
    """The reduced zoo ResNet/Transformer written by hand are the same models nndsl builds (Keras is the oracle)."""
    import importlib.util

    import nndsl
    from nndsl.plugins import default_registry

    spec = importlib.util.spec_from_file_location("bench_train", os.path.join(ROOT, "benchmarks", "train.py"))
    train = importlib.util.module_from_spec(spec)
    sys.modules["bench_train"] = train  # its dataclasses look their module up
    try:
        spec.loader.exec_module(train)
    finally:
        sys.modules.pop("bench_train", None)
    registry = default_registry()
    for name in ("resnet", "transformer"):
        case = train.cases()[name]
        ir_model = nndsl.check(case.spec, registry=registry)
        by_hand = case.tutorial()
        assert by_hand.count_params() == nndsl.build(ir_model, registry=registry).count_params() == ir_model.params.total
        assert train.macs_per_sample(ir_model) > 0

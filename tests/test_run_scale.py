"""Spec callbacks, mixed precision, MirroredStrategy, Keras on JAX."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from nndsl.cli import main

pytestmark = pytest.mark.keras

SPEC = """\
input 8
dense 16 relu
dense 3 softmax
adam 0.01
loss categorical_crossentropy
metrics accuracy
fit epochs={epochs} batch_size=16
data "d.npz"
"""


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    monkeypatch.setenv("NNDSL_OFFLINE", "1")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8)).astype("float32")
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5).astype("int64"))

    def write(extra: str = "", epochs: int = 2):
        path = tmp_path / "tiny.nn"
        path.write_text(SPEC.format(epochs=epochs) + extra)
        return path

    return write


def history(run_dir):
    with open(os.path.join(run_dir, "history.csv"), newline="") as fh:
        return list(csv.DictReader(fh))


def test_early_stopping_from_the_spec_stops_training(tiny, tmp_path):
    spec = tiny("callback early_stopping monitor=loss patience=0 min_delta=100\n", epochs=10)
    assert main(["run", str(spec), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert len(history(tmp_path / "run")) == 2  # epoch 2 cannot improve by 100: stop


def test_reduce_lr_on_plateau_from_the_spec(tiny, tmp_path):
    spec = tiny("callback reduce_lr_on_plateau monitor=loss factor=0.5 patience=0 min_delta=100\n", epochs=3)
    assert main(["run", str(spec), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    rates = [float(r["learning_rate"]) for r in history(tmp_path / "run")]
    # the logged rate is the one each epoch trained with; epoch 2 fails to improve, so epoch 3 halves it
    assert rates == pytest.approx([0.01, 0.01, 0.005])


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_precision_sets_the_dtype_policy(tiny, tmp_path, policy):
    import keras

    out = tmp_path / "run"
    assert main(["run", str(tiny()), "--out", str(out), "--quiet", "--precision", policy]) == 0
    assert json.loads((out / "metrics.json").read_text())["precision"] == policy
    model = keras.models.load_model(out / "model.keras")
    assert model.layers[0].dtype_policy.name == policy
    assert main(["run", str(tiny()), "--out", str(tmp_path / "plain"), "--quiet"]) == 0
    assert keras.mixed_precision.global_policy().name == "float32"  # the next run is back to float32


def _subprocess(code: str, cwd, extra_env=None):
    env = {**os.environ, "NNDSL_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3", **(extra_env or {})}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def test_strategy_mirrored_on_two_logical_cpus(tiny, tmp_path):
    spec = tiny()
    done = _subprocess(f"""
        import sys
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from nndsl.cli import main
        sys.exit(main(["run", {str(spec)!r}, "--out", "run", "--strategy", "mirrored"]))
    """, tmp_path, {"KERAS_BACKEND": "tensorflow"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "strategy mirrored (2 replicas)" in done.stdout
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert (metrics["strategy"], metrics["replicas"]) == ("mirrored", 2)
    assert len(metrics["device"]["names"]) == 2 and metrics["test"]["accuracy"] > 0


def test_mirrored_needs_tensorflow_backend_message(tiny, tmp_path, monkeypatch):
    from nndsl.run.device import place

    from nndsl.diagnostics import UsageError

    with pytest.raises(UsageError, match="needs the TensorFlow backend"):
        place("jax", "mirrored")
    with pytest.raises(UsageError, match="--workers needs --strategy multiworker"):
        place("tensorflow", "auto", workers=["127.0.0.1:1"])


def _has_jax() -> bool:
    try:
        import importlib.util

        return importlib.util.find_spec("jax") is not None
    except Exception:  # noqa: BLE001
        return False


@pytest.mark.slow
@pytest.mark.skipif(not _has_jax(), reason="jax is not installed (pip install -e .[test])")
def test_keras_on_jax_trains_a_spec(tiny, tmp_path):
    spec = tiny(epochs=3)
    done = _subprocess(f"""
        import sys
        from nndsl.cli import main
        code = main(["run", {str(spec)!r}, "--out", "run", "--quiet", "--seed", "1"])
        import keras
        assert keras.backend.backend() == "jax", keras.backend.backend()
        sys.exit(code)
    """, tmp_path, {"KERAS_BACKEND": "jax"})
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["keras_backend"] == "jax" and metrics["epochs"] == 3
    losses = [float(r["loss"]) for r in history(tmp_path / "run")]
    assert losses[-1] < losses[0]


def test_workers_flag_becomes_tf_config():
    from nndsl.diagnostics import UsageError
    from nndsl.run.device import tf_config_from

    config = json.loads(tf_config_from(["10.0.0.1:2222", "10.0.0.2:2222"], 1))
    assert config == {"cluster": {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]},
                      "task": {"type": "worker", "index": 1}}
    with pytest.raises(UsageError, match="out of range"):
        tf_config_from(["a:1", "b:2"], 2)
    with pytest.raises(UsageError, match="not host:port"):
        tf_config_from(["a:1", "nohost"], 0)


def test_multiworker_without_a_cluster_is_a_usage_error(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert main(["run", str(tiny()), "--out", str(tmp_path / "run"), "--strategy", "multiworker"]) == 2
    assert "needs TF_CONFIG" in capsys.readouterr().err
    monkeypatch.setenv("TF_CONFIG", "{not json")
    assert main(["run", str(tiny()), "--out", str(tmp_path / "run"), "--strategy", "multiworker"]) == 2
    assert "TF_CONFIG is not valid" in capsys.readouterr().err

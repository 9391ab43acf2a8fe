"""``nndsl run --backend torch``: the run directory contract every backend shares."""

from __future__ import annotations

import csv
import json
import os
import re
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from nndsl.run import outputs

pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SPEC = """\
input 8
dense 16 relu
dense 3 softmax
adam 0.01 clipnorm=1.0
loss categorical_crossentropy
metrics accuracy
fit epochs={epochs} batch_size=16 validation_split=0.2
data "d.npz"
"""


def write_data(path, n=200, features=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5).astype("int64")
    np.savez(path, x=x, y=y)


def env():
    return {**os.environ, "NNDSL_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}


def nndsl(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "nndsl.cli", *map(str, args)], env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def run(*args, timeout=300):
    proc = nndsl(*args)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


@pytest.fixture
def spec(tmp_path, installed):
    write_data(tmp_path / "d.npz")
    path = tmp_path / "tiny.nn"
    path.write_text(SPEC.format(epochs=3))
    return path


def history(out):
    with open(out / "history.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_run_writes_the_same_run_directory_as_keras_and_never_imports_tensorflow(spec, tmp_path):
    out = tmp_path / "run"
    code = ("import sys\nfrom nndsl.cli import main\n"
            f"rc = main(['run', '--backend', 'torch', {str(spec)!r}, '--out', {str(out)!r}, '--seed', '1'])\n"
            "print('imported:', sorted(m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules))\n"
            "sys.exit(rc)\n")
    proc = subprocess.run([sys.executable, "-c", code], env=env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = proc.stdout
    assert "imported: []" in printed
    assert "data: d.npz (200 samples)" in printed and "device: CPU" in printed
    assert "Epoch 3/3" in printed and "test: loss" in printed
    names = set(os.listdir(out))
    assert {"history.csv", "metrics.json", "spec.nn", "run.json", "state.json", "ckpt-0003.pt"} <= names
    assert ({"model.pt"} <= names) != ({"model.safetensors"} <= names)
    assert not [n for n in names if n.startswith(".") or n.endswith(".keras")], names
    assert (out / "spec.nn").read_text() == spec.read_text()
    rows = history(out)
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["test"]) == {"loss", "accuracy"}
    assert metrics["samples"] == {"train": 144, "validation": 36, "test": 20}
    assert metrics["train"]["loss"] == pytest.approx(float(rows[-1]["loss"]))
    assert metrics["device"]["backend"] == "torch" and metrics["torch_version"]
    assert json.loads((out / "run.json").read_text())["backend"] == "torch"


@pytest.mark.slow
def test_evaluate_and_predict_use_the_torch_weights(spec, tmp_path):
    out = tmp_path / "run"
    rc, _, err = run("run", "--backend", "torch", spec, "--out", out, "--seed", 2, "--quiet")
    assert rc == 0, err
    test_accuracy = json.loads((out / "metrics.json").read_text())["test"]["accuracy"]
    rc, printed, err = run("evaluate", out)
    assert rc == 0, err
    assert f"accuracy {test_accuracy:.4f}" in printed
    np.save(tmp_path / "in.npy", np.random.default_rng(0).normal(size=(5, 8)).astype("float32"))
    rc, _, err = run("predict", out, tmp_path / "in.npy", "-o", tmp_path / "pred.npy")
    assert rc == 0, err
    pred = np.load(tmp_path / "pred.npy")
    assert pred.shape == (5, 3)
    np.testing.assert_allclose(pred.sum(axis=1), 1.0, rtol=1e-5)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


@pytest.mark.slow
def test_a_pickle_in_place_of_the_weights_is_refused_not_run(spec, tmp_path):
    out = tmp_path / "run"
    rc, _, err = run("run", "--backend", "torch", spec, "--out", out, "--quiet")
    assert rc == 0, err
    model = next(out / n for n in os.listdir(out) if n.startswith("model."))
    with open(model, "wb") as fh:
        pickle.dump({"weight": _Evil()}, fh)
    rc, _, err = run("evaluate", out)
    assert rc == 4 and "cannot load the weights" in err and "Traceback" not in err
    assert not os.path.exists("pwned") and not (tmp_path / "pwned").exists()


def test_unsupported_training_is_a_spec_error_before_any_data_is_read(tmp_path, installed):
    path = tmp_path / "bad.nn"
    path.write_text("input 8\ndense 2 sparsemax\nadam 0.01\nloss mse\ncallback tensorboard\ndata \"missing.npz\"\n")
    rc, _, err = run("run", "--backend", "torch", path, "--out", tmp_path / "run")
    assert rc == 1 and "bad.nn:2:1: error[E700]: activation 'sparsemax' has no lowering in backend 'torch'" in err
    assert "bad.nn:5:1: error[E700]: callback 'tensorboard' has no lowering in backend 'torch'" in err
    assert not (tmp_path / "run").exists()


def test_strategies_are_refused_with_a_reason(spec, tmp_path):
    rc, _, err = run("run", "--backend", "torch", spec, "--strategy", "mirrored", "--out", tmp_path / "r")
    assert rc == 2 and "--backend torch trains on one device" in err


def test_the_tensorboard_flag_is_refused_before_any_data_is_read(spec, tmp_path):
    rc, _, err = run("run", "--backend", "torch", spec, "--tensorboard", "--out", tmp_path / "r")
    assert rc == 2 and "--tensorboard writes Keras' TensorBoard logs; PyTorch runs do not write them" in err
    assert "Traceback" not in err and not (tmp_path / "r").exists()


def state_epoch(out):
    try:
        with open(out / "state.json") as fh:
            return json.load(fh)["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def wait_for(predicate, proc, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the run ended (rc {proc.returncode}) before the awaited state:\n{err[-3000:]}")
        time.sleep(0.02)
    proc.kill()
    pytest.fail("timed out")


@pytest.fixture
def slow_spec(tmp_path, installed):
    write_data(tmp_path / "d.npz", n=4000, features=8)
    path = tmp_path / "slow.nn"
    path.write_text(SPEC.format(epochs=12).replace("batch_size=16", "batch_size=16"))
    return path


@pytest.mark.slow
def test_sigkill_then_resume_continues_from_the_checkpoint(slow_spec, tmp_path):
    out = tmp_path / "run"
    proc = nndsl("run", "--backend", "torch", slow_spec, "--out", out, "--quiet", "--seed", 1)
    wait_for(lambda: state_epoch(out) >= 2, proc)
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = state_epoch(out)
    assert 2 <= done < 12
    assert not any(n.startswith("model.") and n != outputs.DIAGRAM for n in os.listdir(out))  # no model.pt
    # state.json names its checkpoint; a kill just after the next one was written leaves that too.
    ckpts = sorted(n for n in os.listdir(out) if n.startswith("ckpt-"))
    assert ckpts in ([f"ckpt-{done:04d}.pt"], [f"ckpt-{done:04d}.pt", f"ckpt-{done + 1:04d}.pt"])
    resumed = nndsl("run", "--resume", out)
    stdout, stderr = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, stderr[-3000:]
    assert f"resuming {out} at epoch {done + 1} of 12" in stdout
    rows = history(out)
    assert [int(r["epoch"]) for r in rows] == list(range(1, 13))
    losses = [float(r["loss"]) for r in rows]
    assert losses[done] < losses[0]  # weights and optimizer state came back


@pytest.mark.slow
def test_ctrl_c_saves_what_was_trained(slow_spec, tmp_path):
    out = tmp_path / "run"
    proc = nndsl("run", "--backend", "torch", slow_spec, "--out", out, "--quiet")
    wait_for(lambda: state_epoch(out) >= 1, proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-3000:]
    assert "interrupted" in stderr and "Traceback" not in stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["interrupted"] is True and 1 <= metrics["epochs"] < 12
    assert any(n.startswith("model.") for n in os.listdir(out)) and not (out / ".lock").exists()


@pytest.mark.slow
def test_the_seed_spec_reaches_the_bar_on_the_bundled_digits(tmp_path, installed):
    """The issue's bar, as for Keras: >= 0.85 test accuracy on the bundled digits, offline."""
    out = tmp_path / "run"
    rc, printed, err = run("run", "--backend", "torch", os.path.join(ROOT, "spec", "examples", "mnist_mlp.nn"),
                           "--out", out, "--seed", 0)
    assert rc == 0, err[-3000:]
    assert "bundled MNIST subset" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.85, metrics["test"]


EXAMPLES = sorted(n for n in os.listdir(os.path.join(ROOT, "spec", "examples")) if n.endswith(".nn"))


@pytest.mark.slow
@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_trains_one_epoch_with_torch(name, tmp_path, monkeypatch):
    from nndsl.run import RunOptions, run as run_spec
    from torch_plugin_registry import torch_registry

    from nndsl.errors import UsageError

    monkeypatch.setenv("NNDSL_OFFLINE", "1")
    path = os.path.join(ROOT, "spec", "examples", name)
    options = RunOptions(backend="torch", epochs=1, out=str(tmp_path / "run"), quiet=True)
    if re.search(r'^data "[^"]*/"', open(path, encoding="utf-8").read(), re.M):
        # a folder streams through tf.data, which the PyTorch trainer refuses, saying why
        with pytest.raises(UsageError, match="Keras backend"):
            run_spec(path, options, torch_registry())
        return
    result = run_spec(path, options, torch_registry())
    assert result.metrics["epochs"] == 1 and result.metrics["test"]
    assert all(np.isfinite(v) for v in result.metrics["test"].values())


def test_loss_weights_weigh_the_total_as_keras_does(tmp_path, monkeypatch):
    from nndsl.run import RunOptions, run as run_spec
    from torch_plugin_registry import torch_registry

    monkeypatch.setenv("NNDSL_OFFLINE", "1")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 4)).astype("float32")
    np.savez(tmp_path / "d.npz", x_in=x, y_a=(x[:, 0] > 0).astype("float32"), y_b=x[:, 1:3])
    (tmp_path / "w.nn").write_text(
        "input in 4\nh = in -> dense 8 relu\noutput a = h -> dense 1 sigmoid\noutput b = h -> dense 2\n"
        "adam 0.01\nloss a=binary_crossentropy b=mse\nloss_weights a=1.0 b=0.5\nfit epochs=1 batch_size=16\n"
        "data \"d.npz\"\n")
    result = run_spec(str(tmp_path / "w.nn"), RunOptions(backend="torch", out=str(tmp_path / "run"), quiet=True),
                      torch_registry())
    test = result.metrics["test"]
    assert test["loss"] == pytest.approx(test["a_loss"] + 0.5 * test["b_loss"], rel=1e-5)

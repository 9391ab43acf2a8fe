"""A killed run resumes from its last checkpoint; Ctrl-C saves what was trained; the seed bar."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytestmark = [pytest.mark.keras, pytest.mark.slow]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = """\
input 32
dense 64 relu
dense 4 softmax
sgd 0.01
loss sparse_categorical_crossentropy
metrics accuracy
fit epochs={epochs} batch_size=16
data "d.npz"
"""


def env():
    return {**os.environ, "NNDSL_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}


def nndsl(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "nndsl.cli", *map(str, args)], env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.fixture
def slow_spec(tmp_path):
    """Enough rows that one epoch takes a noticeable fraction of a second."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6000, 32)).astype("float32")
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, :2] > 0).sum(axis=1).astype("int64"))
    path = tmp_path / "slow.nn"
    path.write_text(SPEC.format(epochs=12))
    return path


def wait_for(predicate, proc, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the run ended (rc {proc.returncode}) before the awaited state:\n{err[-3000:]}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("timed out")


def state_epoch(out):
    try:
        with open(out / "state.json") as fh:
            return json.load(fh)["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def test_sigkill_mid_epoch_then_resume_loses_at_most_one_epoch(slow_spec, tmp_path):
    out = tmp_path / "run"
    proc = nndsl("run", slow_spec, "--out", out, "--quiet", "--seed", 1)
    wait_for(lambda: state_epoch(out) >= 2, proc)
    time.sleep(0.1)  # now somewhere inside the next epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = state_epoch(out)
    assert 2 <= done < 12, "the kill should land mid-run"
    assert not (out / "model.keras").exists()  # only finished runs have a model.keras
    # state.json names its checkpoint; a kill between writing the next checkpoint and
    # state.json (outputs.RunDir.save_checkpoint's order) may leave that newer one too.
    ckpts = sorted(n for n in os.listdir(out) if n.startswith("ckpt-"))
    assert ckpts in ([f"ckpt-{done:04d}.keras"], [f"ckpt-{done:04d}.keras", f"ckpt-{done + 1:04d}.keras"])

    resumed = nndsl("run", "--resume", out)
    stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr[-3000:]
    assert f"resuming {out} at epoch {done + 1} of 12" in stdout
    with open(out / "history.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["epoch"]) for r in rows] == list(range(1, 13))
    losses = [float(r["loss"]) for r in rows]
    assert losses[-1] < losses[0]
    # optimizer state and weights came back: no jump back to the first epoch's loss after resuming
    assert losses[done] < losses[0]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 12 and metrics["test"]["accuracy"] > 0.5 and not metrics["interrupted"]
    assert not (out / ".lock").exists()


def test_ctrl_c_saves_what_was_trained(slow_spec, tmp_path):
    out = tmp_path / "run"
    proc = nndsl("run", slow_spec, "--out", out, "--quiet")
    wait_for(lambda: state_epoch(out) >= 1, proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-3000:]
    assert "interrupted" in stderr and "Traceback" not in stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["interrupted"] is True and 1 <= metrics["epochs"] < 12
    assert (out / "model.keras").exists() and not (out / ".lock").exists()

    resumed = nndsl("run", "--resume", out, "--quiet")
    _, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr[-3000:]
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 12


def test_the_seed_spec_reaches_the_bar_on_the_bundled_digits(tmp_path):
    """The issue's bar: >= 0.85 test accuracy, offline. (Its speed is measured, not asserted, by
    benchmarks/train.py.)"""
    out = tmp_path / "run"
    proc = nndsl("run", os.path.join(ROOT, "spec", "examples", "mnist_mlp.nn"), "--out", out, "--seed", 0)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-3000:]
    assert "bundled MNIST subset" in stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.85, metrics
    assert metrics["samples"]["test"] == 500 and metrics["epochs"] == 10

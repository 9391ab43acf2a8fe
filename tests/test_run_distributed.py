"""``--strategy multiworker``: two worker processes on 127.0.0.1 train one model together."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

pytestmark = [pytest.mark.keras, pytest.mark.slow]

SPEC = """\
input 8
dense 16 relu
dense 3 softmax
adam 0.01
loss categorical_crossentropy
metrics accuracy
fit epochs=4 batch_size=32 validation_split=0.1
data "d.npz"
"""


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_two_workers_end_with_identical_weights_and_a_falling_loss(tmp_path):
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 8)).astype("float32")
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5).astype("int64"))
    (tmp_path / "t.nn").write_text(SPEC)
    workers = ",".join(f"127.0.0.1:{p}" for p in free_ports(2))
    env = {**os.environ, "NNDSL_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    env.pop("TF_CONFIG", None)
    procs = [subprocess.Popen([sys.executable, "-m", "nndsl.cli", "run", "t.nn", "--strategy", "multiworker",
                               "--workers", workers, "--task-index", str(i), "--out", "out", "--seed", "0"],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    results = []
    try:
        for p in procs:
            results.append(p.communicate(timeout=240))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err[-3000:]
        assert "strategy multiworker (2 replicas)" in out
    chief, other = tmp_path / "out", tmp_path / "out" / "worker-1"
    a = keras.models.load_model(chief / "model.keras").get_weights()
    b = keras.models.load_model(other / "model.keras").get_weights()
    assert len(a) == len(b) == 4
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wa, wb)
    for run_dir in (chief, other):
        with open(run_dir / "history.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        losses = [float(r["loss"]) for r in rows]
        assert len(losses) == 4 and losses[-1] < losses[0]
        # the spec's metrics are reported on the validation rows each epoch
        accuracy = [float(r["val_accuracy"]) for r in rows]
        assert all(0.0 <= a <= 1.0 for a in accuracy) and accuracy[-1] > 0.4


@pytest.mark.parametrize("spec, expected", [
    ("input 4; dense 3 softmax; loss sparse_categorical_crossentropy; metrics accuracy", "SparseCategoricalAccuracy"),
    ("input 4; dense 3 softmax; loss categorical_crossentropy; metrics accuracy", "CategoricalAccuracy"),
    ("input 4; dense 1 sigmoid; loss binary_crossentropy; metrics accuracy", "BinaryAccuracy"),
    ("input 4; dense 1; loss mse; metrics mae", "MeanAbsoluteError"),
])
def test_validation_metrics_resolve_like_compile(spec, expected, registry):
    import keras

    import nndsl
    from nndsl.run.distributed import validation_metrics

    model = nndsl.check(spec, registry=registry)
    ((output, log, metric),) = validation_metrics(keras, model, registry)
    assert output == model.outputs[0] and log.startswith("val_")
    if expected.endswith("Accuracy"):
        assert type(metric).__name__ == expected
    else:
        metric.update_state(np.zeros((2, 1), "float32"), np.ones((2, 1), "float32"))
        assert float(metric.result()) == pytest.approx(1.0)

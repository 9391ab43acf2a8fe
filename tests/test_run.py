"""``nndsl run`` / ``evaluate`` / ``predict``: the run directory, overrides, faults, resume."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

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
fit epochs={epochs} batch_size={batch} validation_split=0.2
data "d.npz"
"""


def write_data(path, n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5).astype("int64")  # 3 learnable classes
    np.savez(path, x=x, y=y)


@pytest.fixture
def spec(tmp_path, monkeypatch):
    monkeypatch.setenv("NNDSL_OFFLINE", "1")
    write_data(tmp_path / "d.npz")
    path = tmp_path / "tiny.nn"
    path.write_text(SPEC.format(epochs=2, batch=16))
    return path


def run_cli(*args) -> int:
    return main([str(a) for a in args])


def history_rows(run_dir):
    with open(os.path.join(run_dir, "history.csv"), newline="") as fh:
        return list(csv.DictReader(fh))


def test_run_writes_a_complete_run_directory(spec, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli("run", spec, "--out", out, "--seed", 1) == 0
    printed = capsys.readouterr().out
    assert "data: d.npz (200 samples)" in printed
    assert "held out 10% (20 samples) as test set" in printed
    assert "device: CPU" in printed
    names = set(os.listdir(out))
    assert {"model.keras", "history.csv", "metrics.json", "spec.nn", "run.json", "state.json", "model.svg"} <= names
    assert (out / "model.svg").read_text().startswith("<?xml")
    assert (out / "curves.svg").read_text().startswith("<?xml")  # matplotlib is in the test extra
    assert not [n for n in names if n.startswith(".")], names  # no lock, no temporary files left
    assert (out / "spec.nn").read_text() == spec.read_text()
    rows = history_rows(out)
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["test"]) == {"loss", "accuracy"}
    assert metrics["train"]["loss"] == pytest.approx(float(rows[-1]["loss"]))
    assert metrics["validation"]["accuracy"] == pytest.approx(float(rows[-1]["val_accuracy"]))
    assert metrics["samples"] == {"train": 144, "validation": 36, "test": 20}
    assert metrics["samples_per_second"] > 0 and metrics["wall_time_s"] >= metrics["fit_time_s"] > 0
    assert metrics["device"]["kind"] in ("CPU", "GPU")



def test_run_without_matplotlib_says_once_how_to_get_curves_and_succeeds(spec, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    out = tmp_path / "run"
    assert run_cli("run", spec, "--out", out, "--seed", 1) == 0
    printed = capsys.readouterr().out
    assert printed.count("pip install 'nndsl[plot]'") == 1
    assert (out / "model.keras").exists() and not (out / "curves.svg").exists()

def test_model_loads_in_a_process_that_never_imported_nndsl(spec, tmp_path):
    out = tmp_path / "run"
    assert run_cli("run", spec, "--out", out, "--quiet") == 0
    code = textwrap.dedent(f"""
        import sys, keras
        m = keras.models.load_model({str(out / 'model.keras')!r})
        assert m.output_shape == (None, 3), m.output_shape
        assert not [k for k in sys.modules if k.startswith('nndsl')]
        print('loaded', m.count_params())
    """)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "loaded 195" in done.stdout


def test_seed_makes_a_cpu_run_reproducible(spec, tmp_path):
    for name in ("a", "b"):
        assert run_cli("run", spec, "--out", tmp_path / name, "--seed", 7, "--quiet") == 0
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert (a["train"], a["validation"], a["test"]) == (b["train"], b["validation"], b["test"])
    assert history_rows(tmp_path / "a") == history_rows(tmp_path / "b")


def test_cli_flags_override_the_fit_statement(spec, tmp_path):
    out = tmp_path / "run"
    assert run_cli("run", spec, "--out", out, "--epochs", 3, "--batch-size", 8, "--quiet") == 0
    assert len(history_rows(out)) == 3
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["batch_size"] == 8 and metrics["epochs"] == 3


def test_fast_path_flags_override_the_spec_and_defaults(spec, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli("run", spec, "--out", out, "--steps-per-execution", 3, "--pipeline", "numpy",
                   "--jit-compile", "false") == 0
    printed = capsys.readouterr().out
    assert "steps_per_execution 3 (given" in printed
    assert "jit_compile false (given)" in printed and "pipeline numpy (given)" in printed
    settings = json.loads((out / "run.json").read_text())
    assert (settings["steps_per_execution"], settings["pipeline"], settings["jit_compile"]) == (3, "numpy", "false")


def test_data_flag_overrides_the_spec_and_resolves_from_cwd(spec, tmp_path, monkeypatch):
    other = tmp_path / "elsewhere"
    other.mkdir()
    write_data(other / "more.npz", n=100, seed=3)
    monkeypatch.chdir(other)
    assert run_cli("run", spec, "--data", "more.npz", "--out", tmp_path / "run", "--quiet") == 0
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["samples"]["test"] == 10


def test_json_lines(spec, tmp_path, capsys):
    assert run_cli("run", spec, "--out", tmp_path / "run", "--json") == 0
    captured = capsys.readouterr()
    events = [json.loads(line) for line in captured.out.splitlines()]
    assert [e["event"] for e in events] == ["start", "epoch", "epoch", "end"]
    assert events[1]["epoch"] == 1 and "val_loss" in events[1]
    assert set(events[-1]["test"]) == {"loss", "accuracy"}
    assert "data: d.npz" in captured.err  # human notes go to stderr under --json


def test_default_run_directory_is_under_runs(spec, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli("run", spec, "--quiet") == 0
    (made,) = os.listdir(tmp_path / "runs")
    assert made.startswith("tiny-") and os.path.isfile(tmp_path / "runs" / made / "model.keras")


def test_existing_run_is_never_overwritten(spec, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli("run", spec, "--out", out, "--quiet") == 0
    before = {n: (out / n).read_bytes() for n in os.listdir(out)}
    assert run_cli("run", spec, "--out", out, "--quiet") == 2
    assert "already holds a run" in capsys.readouterr().err
    assert {n: (out / n).read_bytes() for n in os.listdir(out)} == before


def test_unwritable_out_fails_before_training(spec, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert run_cli("run", spec, "--out", blocker / "run") == 2
    err = capsys.readouterr().err
    assert "cannot create the run directory" in err
    assert "Epoch" not in err


def test_a_locked_directory_is_refused_and_a_stale_lock_taken_over(spec, tmp_path, capsys):
    import socket

    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / ".lock").write_text(f"{os.getpid()} {socket.gethostname()}\n")  # a live process holds it
    assert run_cli("run", spec, "--out", busy, "--quiet") == 2
    assert "in use by another run" in capsys.readouterr().err
    assert os.listdir(busy) == [".lock"]

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / "stale"
    stale.mkdir()
    (stale / ".lock").write_text(f"{dead.pid} {socket.gethostname()}\n")
    assert run_cli("run", spec, "--out", stale, "--quiet") == 0
    assert not (stale / ".lock").exists()


def test_bad_data_stops_before_training(spec, tmp_path, capsys):
    spec.write_text(SPEC.format(epochs=1, batch=16).replace("d.npz", "missing.npz"))
    assert run_cli("run", spec, "--out", tmp_path / "run") == 3
    assert "missing.npz" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_spec_without_a_loss_is_told_so_before_loading_data(spec, tmp_path, capsys):
    no_loss = tmp_path / "noloss.nn"
    no_loss.write_text("input 8\ndense 3 softmax\ndata \"d.npz\"\n")
    assert run_cli("run", no_loss, "--out", tmp_path / "run") == 1
    err = capsys.readouterr().err
    assert "error[E501]: nndsl run needs a loss" in err and "loss sparse_categorical_crossentropy" in err
    assert not (tmp_path / "run").exists()


def test_spec_without_data_asks_for_it(spec, tmp_path, capsys):
    spec.write_text(SPEC.format(epochs=1, batch=16).replace('data "d.npz"\n', ""))
    assert run_cli("run", spec, "--out", tmp_path / "run") == 2
    assert "--data" in capsys.readouterr().err


def test_evaluate_and_predict_a_run(spec, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli("run", spec, "--out", out, "--quiet", "--seed", 2) == 0
    capsys.readouterr()
    assert run_cli("evaluate", out, "--json") == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    evaluated = json.loads(line)
    test = json.loads((out / "metrics.json").read_text())["test"]
    assert evaluated["samples"] == 20
    assert evaluated["metrics"] == pytest.approx(test)  # the same held-out test set

    x = np.random.default_rng(5).normal(size=(4, 8)).astype("float32")
    np.save(tmp_path / "in.npy", x)
    assert run_cli("predict", out / "model.keras", tmp_path / "in.npy", "-o", tmp_path / "pred.npy") == 0
    pred = np.load(tmp_path / "pred.npy", allow_pickle=False)
    assert pred.shape == (4, 3)
    np.testing.assert_allclose(pred.sum(axis=1), 1.0, rtol=1e-5)
    assert run_cli("predict", out, tmp_path / "in.npy") == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 4


def test_predict_never_unpickles(spec, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli("run", spec, "--out", out, "--quiet", "--epochs", 1) == 0
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert run_cli("predict", out, tmp_path / "obj.npy") == 2
    assert "unpickling" in capsys.readouterr().err


def test_evaluate_needs_a_model(tmp_path, capsys):
    assert run_cli("evaluate", tmp_path / "nothing") == 2
    assert "no such run directory" in capsys.readouterr().err

"""``nndsl tune``: trials as runs, trials.csv, best.nn, pruning, failures, seeds, resume, shared studies."""

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

from nndsl.cli import main

pytestmark = pytest.mark.keras
optuna = pytest.importorskip("optuna")

SPEC = """\
# a tiny search
input 8
dense choice(4, 8) relu
dropout uniform(0.0, 0.5)
dense 3 softmax
adam loguniform(1e-3, 1e-1)
loss sparse_categorical_crossentropy
metrics accuracy
fit epochs={epochs} batch_size=32 validation_split=0.25
data "d.npz"
"""


def write_data(path, n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5).astype("int64")
    np.savez(path, x=x, y=y)


@pytest.fixture
def spec(tmp_path, monkeypatch):
    monkeypatch.setenv("NNDSL_OFFLINE", "1")
    write_data(tmp_path / "d.npz")
    path = tmp_path / "tiny.nn"
    path.write_text(SPEC.format(epochs=1))
    return path


def tune_cli(*args) -> int:
    return main(["tune", *[str(a) for a in args]])


def rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """One seeded two-trial tune, shared by the tests that only read it."""
    tmp_path = tmp_path_factory.mktemp("tuned")
    write_data(tmp_path / "d.npz")
    spec = tmp_path / "tiny.nn"
    spec.write_text(SPEC.format(epochs=1))
    out = tmp_path / "t"
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = tune_cli(spec, "--trials", 2, "--seed", 7, "--sampler", "random", "--out", out)
    return spec, out, code, printed.getvalue()


def test_a_tune_writes_runs_trials_csv_and_a_best_spec_that_checks_and_runs(tuned, tmp_path):
    spec, out, code, printed = tuned
    assert code == 0
    assert printed.count("\ntrial ") + printed.startswith("trial ") == 2  # a progress line per trial
    assert "best: trial" in printed and "trials/min" in printed
    table = rows(out / "trials.csv")
    assert [r["trial"] for r in table] == ["0", "1"]
    assert set(table[0]) >= {"state", "val_accuracy", "dense@3", "dropout@4", "adam@6", "val_loss", "run_dir"}
    for r in table:  # each trial is an ordinary run directory
        assert r["state"] == "complete"
        run_dir = out / r["run_dir"]
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert metrics["validation"]["accuracy"] == pytest.approx(float(r["val_accuracy"]))
        assert f"dense {r['dense@3']} relu" in (run_dir / "spec.nn").read_text()
    settings = json.loads((out / "tune.json").read_text())
    assert settings["objective"] == "val_accuracy" and settings["direction"] == "maximize"
    assert (out / "study.db").is_file()
    # best.nn: the spec with the best values, no spaces left, valid from its own folder
    best = (out / "best.nn").read_text()
    best_row = max(table, key=lambda r: float(r["val_accuracy"]))
    assert f"dense {best_row['dense@3']} relu" in best and "choice(" not in best
    assert 'data "../d.npz"' in best and "# a tiny search" in best
    assert main(["check", str(out / "best.nn")]) == 0
    assert main(["run", str(out / "best.nn"), "--out", str(tmp_path / "best-run"), "--quiet", "--seed", "1"]) == 0
    assert (tmp_path / "best-run" / "model.keras").is_file()


def test_seeded_tunes_choose_the_same_values(tuned, tmp_path):
    spec, first, _, _ = tuned
    assert tune_cli(spec, "--trials", 2, "--seed", 7, "--sampler", "random", "--out", tmp_path / "b", "--quiet") == 0
    a, b = rows(first / "trials.csv"), rows(tmp_path / "b" / "trials.csv")
    keys = ("dense@3", "dropout@4", "adam@6", "val_accuracy")
    assert [[r[k] for k in keys] for r in a] == [[r[k] for k in keys] for r in b]
    assert len({(r["dense@3"], r["dropout@4"]) for r in a}) > 1  # and they are drawn, not one value


def test_values_the_checker_rejects_are_failed_trials_with_the_reason(spec, tmp_path, capsys):
    spec.write_text(SPEC.format(epochs=1).replace("dense 3 softmax",
                                                   "reshape choice((2, 2), (2, 4))\nflatten\ndense 3 softmax"))
    out = tmp_path / "t"
    assert tune_cli(spec, "--trials", 4, "--sampler", "grid", "--out", out, "--seed", 0) == 2
    assert "give it a step" in capsys.readouterr().err  # grid needs finite spaces
    spec.write_text(spec.read_text().replace("uniform(0.0, 0.5)", "choice(0.1)").replace(
        "loguniform(1e-3, 1e-1)", "0.01"))
    assert tune_cli(spec, "--sampler", "grid", "--out", out, "--seed", 0) == 0
    table = rows(out / "trials.csv")
    assert sorted((r["dense@3"], r["reshape@5"], r["dropout@4"]) for r in table) == sorted(
        (d, r, p) for d in ("4", "8") for r in ("(2, 2)", "(2, 4)") for p in ("0.1",))  # the whole grid
    for r in table:
        fits = (r["dense@3"], r["reshape@5"]) in (("4", "(2, 2)"), ("8", "(2, 4)"))
        assert r["state"] == ("complete" if fits else "failed"), r
        if not fits:
            assert "reshape" in r["error"] and "E400" in r["error"] and r["run_dir"] == ""
    assert "choice(" not in (out / "best.nn").read_text()


def test_pruned_trials_stop_early_and_keep_their_run(spec, tmp_path, monkeypatch):
    """A pruner that always prunes: every trial ends after its first epoch, recorded as pruned."""
    from nndsl.run import tune as tune_mod

    spec.write_text(SPEC.format(epochs=5))
    real = tune_mod._go

    def always_prune(*args, **kwargs):
        monkeypatch.setattr(optuna.pruners, "MedianPruner", lambda **kw: _Always())
        return real(*args, **kwargs)

    class _Always(optuna.pruners.BasePruner):
        def prune(self, study, trial):
            return True

    monkeypatch.setattr(tune_mod, "_go", always_prune)
    out = tmp_path / "t"
    assert tune_cli(spec, "--trials", 1, "--seed", 0, "--out", out, "--quiet") == 0
    table = rows(out / "trials.csv")
    assert [r["state"] for r in table] == ["pruned"] and [r["epochs"] for r in table] == ["1"]
    metrics = json.loads((out / table[0]["run_dir"] / "metrics.json").read_text())
    assert metrics["stopped"].startswith("pruned") and metrics["test"] == {}
    assert not (out / "best.nn").exists()  # no complete trial: no best


@pytest.mark.slow
def test_json_lines(spec, tmp_path, capsys):
    assert tune_cli(spec, "--trials", 1, "--seed", 0, "--out", tmp_path / "t", "--json") == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in lines] == ["trial", "end"]
    assert set(lines[0]["values"]) == {"dense@3", "dropout@4", "adam@6"}
    assert lines[-1]["counts"]["complete"] == 1 and lines[-1]["best"]["trial"] == 0


@pytest.mark.parametrize("text, args, message", [
    ("input 8\ndense 3 softmax\nloss mse\nfit validation_split=0.2\ndata \"d.npz\"\n", (), "no search spaces"),
    (SPEC.format(epochs=1).replace(" validation_split=0.25", ""), (), "validation_split"),
    pytest.param(SPEC.format(epochs=1), ("--objective", "val_nope"), "val_nope", marks=pytest.mark.slow),
])
def test_usage_errors(spec, tmp_path, capsys, text, args, message):
    spec.write_text(text)
    assert tune_cli(spec, "--trials", 1, "--out", tmp_path / "t", *args) == 2
    assert message in capsys.readouterr().err


def test_without_optuna_the_message_says_what_to_install(spec, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    assert tune_cli(spec, "--trials", 1, "--out", tmp_path / "t") == 2
    assert "pip install 'nndsl[tune]'" in capsys.readouterr().err
    assert not (tmp_path / "t").exists()


@pytest.mark.slow
def test_resume_extends_a_finished_tune_without_repeating_values(spec, tmp_path, capsys):
    out = tmp_path / "t"
    assert tune_cli(spec, "--trials", 1, "--seed", 3, "--sampler", "random", "--out", out, "--quiet") == 0
    assert tune_cli("--resume", out, "--trials", 2, "--quiet") == 0
    table = rows(out / "trials.csv")
    assert len(table) == 2 and all(r["state"] == "complete" for r in table)
    assert table[1]["dropout@4"] != table[0]["dropout@4"]  # the seeded sampler moved on
    assert tune_cli("--resume", out, "--epochs", 3) == 2  # settings are fixed at the start
    assert json.loads((out / "tune.json").read_text())["trials"] == 2


@pytest.mark.slow
def test_a_killed_tune_resumes_and_reruns_the_cut_trial(spec, tmp_path):
    spec.write_text(SPEC.format(epochs=12))
    out = tmp_path / "t"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", "nndsl.cli", "tune", str(spec), "--trials", "2", "--seed", "5",
                             "--out", str(out), "--no-prune", "--quiet"], env=env, cwd=tmp_path)
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "trials" / "0000" / "state.json").exists():
        time.sleep(0.5)
    assert (out / "trials" / "0000" / "state.json").exists(), "the first trial never checkpointed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    cut = json.loads((out / "trials" / "0000" / "state.json").read_text())["epoch"]
    assert cut < 12
    spec.write_text(SPEC.format(epochs=1))  # the tune keeps its own copy of the spec
    assert main(["tune", "--resume", str(out), "--quiet"]) == 0
    table = rows(out / "trials.csv")
    assert table[0]["state"] == "failed" and "died" in table[0]["error"]
    assert [r["state"] for r in table[1:]] == ["complete", "complete"]
    # the cut trial ran again with the same values, to the end
    assert [table[1][k] for k in ("dense@3", "dropout@4", "adam@6")] == \
        [table[0][k] for k in ("dense@3", "dropout@4", "adam@6")]
    assert table[1]["epochs"] == "12"


@pytest.mark.slow
def test_jobs_share_one_study(spec, tmp_path, capsys):
    out = tmp_path / "t"
    assert tune_cli(spec, "--trials", 4, "--jobs", 2, "--seed", 0, "--out", out, "--quiet") == 0
    table = rows(out / "trials.csv")
    assert len(table) >= 4 and sum(r["state"] == "complete" for r in table) >= 4
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{out / 'study.db'}")
    assert len({t.user_attrs.get("pid") for t in study.trials}) == 2  # two processes ran trials


def test_grids_directions_and_objective_names():
    from nndsl.diagnostics import Source
    from nndsl.parser import parse_recovering
    from nndsl.run.tune import default_direction, grid_of, objective_key
    from nndsl.spaces import find_spaces

    text = "input 4\ndense int(2, 8, step=3)\ndropout uniform(0.0, 0.3, step=0.1)\ndense choice(relu, gelu)\n"
    source = Source(text)
    spaces, _ = find_spaces(parse_recovering(source)[0], source)
    grid = grid_of(spaces)
    assert grid["dense@2"] == [2, 5, 8] and grid["dense@4"] == ["relu", "gelu"]
    assert grid["dropout@3"] == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert [default_direction(o) for o in ("val_accuracy", "val_auc", "val_loss", "val_mae", "val_top_k_accuracy")] \
        == ["maximize", "maximize", "minimize", "minimize", "maximize"]
    logs = {"loss": 1.0, "val_loss": 1.0, "val_out_accuracy": 0.5}
    assert objective_key("val_accuracy", logs) == "val_out_accuracy"
    assert objective_key("val_loss", logs) == "val_loss" and objective_key("val_auc", logs) is None

"""``nndsl curves`` and ``nndsl compare``: read finished, interrupted and killed run directories;
bad ones are clear errors. Run directories are written with nndsl's own writers (no training)."""

from __future__ import annotations

import json
import os
import socket
import sys

import pytest

from nndsl.cli import main
from nndsl.run import outputs
from nndsl.run.runinfo import best, read_run

SPEC = """\
input 8
dense {width} relu
dense 3 softmax
adam 0.01
loss categorical_crossentropy
metrics accuracy
fit epochs={epochs} batch_size=16
"""


def make_run(path, *, width=16, epochs=3, done=None, seed=1, finished=True, losses=None, history_csv=True):
    """A run directory as nndsl run leaves it: ``done`` epochs of ``epochs``; unfinished ones
    (killed) have history and state but no metrics.json or model."""
    done = epochs if done is None else done
    os.makedirs(path)
    outputs.write_text(os.path.join(path, outputs.SPEC), SPEC.format(width=width, epochs=epochs))
    outputs.write_json(os.path.join(path, outputs.RUN), {
        "spec": "/x/tiny.nn", "model": "tiny", "data": {"kind": "path", "value": "d.npz", "options": [],
                                                          "base_dir": "/x"},
        "epochs": epochs, "batch_size": 16, "seed": seed, "backend": None, "keras_backend": "tensorflow",
        "started": "2026-12-04T15:00:00"})
    losses = losses or [1.0 / (e + 1) for e in range(done)]
    history = [{"epoch": e + 1, "loss": losses[e], "accuracy": 0.5 + 0.1 * e, "val_loss": losses[e] + 0.1,
                "val_accuracy": 0.45 + 0.1 * e - (0.2 if e == done - 1 and done > 2 else 0)} for e in range(done)]
    if history:
        if history_csv:
            outputs.write_text(os.path.join(path, outputs.HISTORY), outputs.history_csv(history))
        outputs.write_json(os.path.join(path, outputs.STATE), {"epoch": done, "checkpoint": "ckpt.keras",
                                                               "history": history})
    if finished:
        outputs.write_json(os.path.join(path, outputs.METRICS), {
            "model": "tiny", "interrupted": done < epochs, "epochs": done, "epochs_planned": epochs,
            "test": {"loss": 0.4, "accuracy": 0.8}, "wall_time_s": 12.5, "samples_per_second": 1234.0})
    return path


def test_best_is_the_lowest_loss_and_the_highest_accuracy(tmp_path):
    run = read_run(make_run(tmp_path / "a", epochs=4, losses=[0.9, 0.5, 0.7, 0.6]))
    assert best(run, "loss") == (2, 0.5)
    assert best(run, "val_accuracy") == (3, pytest.approx(0.65))  # the last epoch fell back
    assert run.state == "finished" and run.epochs == 4


def test_curves_text_shows_every_series_with_first_last_and_best(tmp_path, capsys):
    make_run(tmp_path / "a", epochs=4, losses=[0.9, 0.5, 0.7, 0.6])
    assert main(["curves", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "loss (lower is better)"
    assert "  a  train █▁▄▃  0.9 -> 0.6  best 0.5 (epoch 2)" in out
    assert "accuracy (higher is better)" in out and "  a  val   " in out


def test_curves_read_a_killed_run_and_skip_one_without_epochs(tmp_path, capsys):
    make_run(tmp_path / "killed", epochs=10, done=3, finished=False, history_csv=False)  # state.json only
    make_run(tmp_path / "fresh", epochs=10, done=0, finished=False)
    assert main(["curves", str(tmp_path / "killed"), str(tmp_path / "fresh")]) == 0
    out = capsys.readouterr().out
    assert "killed  train" in out and "fresh: no finished epoch yet" in out
    assert main(["curves", str(tmp_path / "fresh")]) == 2
    assert "no finished epoch to draw" in capsys.readouterr().err


@pytest.mark.parametrize("ext", ["png", "svg"])
def test_curves_out_draws_an_image_atomically(tmp_path, capsys, ext):
    pytest.importorskip("matplotlib")
    make_run(tmp_path / "a")
    make_run(tmp_path / "b", width=32, epochs=5)
    out = tmp_path / f"curves.{ext}"
    assert main(["curves", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(out)]) == 0
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG") if ext == "png" else b"<svg" in data[:500]
    assert [n for n in os.listdir(tmp_path) if n.startswith(".tmp")] == []
    assert "wrote" in capsys.readouterr().out


def test_curves_out_without_matplotlib_says_what_to_install(tmp_path, capsys, monkeypatch):
    make_run(tmp_path / "a")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    assert main(["curves", str(tmp_path / "a"), "--out", str(tmp_path / "c.png")]) == 2
    err = capsys.readouterr().err
    assert "curves --out needs matplotlib, which is not installed: pip install 'nndsl[plot]'" in err
    assert "Traceback" not in err and not (tmp_path / "c.png").exists()


def test_compare_tables_states_metrics_and_what_differs(tmp_path, capsys):
    make_run(tmp_path / "a")
    make_run(tmp_path / "b", width=32, epochs=5, seed=2)
    make_run(tmp_path / "c", epochs=10, done=2, finished=False)  # killed
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    rows = {line.split("  ")[0]: line for line in out.splitlines()}
    assert "finished (3 of 3 epochs)" in rows["state"] and "stopped at epoch 2 of 10" in rows["state"]
    assert rows["params"].split()[1:] == ["195", "387", "195"]
    assert rows["epochs"].split()[1:] == ["3/3", "5/5", "2/10"]
    assert "12.5 s" in rows["wall time"] and rows["wall time"].rstrip().endswith("-")
    assert "test accuracy" in rows
    assert "  epochs: 3 | 5 | 10" in out and "  seed: 1 | 2 | 1" in out
    assert "-dense 16 relu\n  +dense 32 relu" in out


def test_compare_json_has_runs_best_and_differences(tmp_path, capsys):
    make_run(tmp_path / "a", epochs=4, losses=[0.9, 0.5, 0.7, 0.6])
    make_run(tmp_path / "b", epochs=4, losses=[0.9, 0.5, 0.7, 0.6])
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    first = report["runs"][0]
    assert first["best"]["loss"] == {"epoch": 2, "value": 0.5} and first["params"] == 195
    assert first["final"]["loss"] == 0.6 and first["state"] == "finished"
    assert report["differences"] == {"settings": {}, "specs": {}}
    assert first["spec_hash"] == report["runs"][1]["spec_hash"]


def test_a_run_whose_lock_is_held_by_a_live_process_is_running(tmp_path):
    path = make_run(tmp_path / "a", epochs=5, done=2, finished=False)
    with open(os.path.join(path, ".lock"), "w") as fh:
        fh.write(f"{os.getpid()} {socket.gethostname()}\n")
    assert read_run(path).state == "running"
    with open(os.path.join(path, ".lock"), "w") as fh:
        fh.write(f"999999999 {socket.gethostname()}\n")  # a killed run's lock
    assert read_run(path).state == "stopped"


@pytest.mark.parametrize("command", ["curves", "compare"])
@pytest.mark.parametrize("setup, message", [
    (lambda p: None, "no such run directory"),
    (lambda p: p.mkdir(), "is not an nndsl run directory (no run.json)"),
    (lambda p: p.write_text("x"), "not a directory"),
    (lambda p: (p.mkdir(), (p / "run.json").write_text("{broken")), "run.json: not valid JSON"),
    (lambda p: (make_run(p), (p / "history.csv").write_text("epoch,loss\n1,abc\n")),
     "history.csv: not a history nndsl wrote"),
])
def test_bad_run_directories_are_clear_errors(tmp_path, capsys, command, setup, message):
    target = tmp_path / "r"
    setup(target)
    assert main([command, str(target)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.keras
def test_curves_and_compare_read_what_nndsl_run_wrote(tmp_path, capsys, monkeypatch):
    import numpy as np

    monkeypatch.setenv("NNDSL_OFFLINE", "1")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 8)).astype("float32")
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype("int64"))
    (tmp_path / "t.nn").write_text(SPEC.format(width=4, epochs=2) + 'data "d.npz"\n')
    assert main(["run", str(tmp_path / "t.nn"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    capsys.readouterr()
    if _has_matplotlib():
        svg = (tmp_path / "run" / "curves.svg").read_text()  # nndsl run drew its own curves
        assert svg.startswith("<?xml")
    assert main(["curves", str(tmp_path / "run")]) == 0
    assert "  run  train " in capsys.readouterr().out
    assert main(["compare", str(tmp_path / "run"), "--json"]) == 0
    run = json.loads(capsys.readouterr().out)["runs"][0]
    assert run["state"] == "finished" and run["epochs"] == 2 and set(run["metrics"]["test"]) == {"loss", "accuracy"}
    assert main(["runs", str(tmp_path), "--where", "state=finished", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["runs"][0]
    assert row["name"] == "run" and row["device"].startswith(("CPU", "GPU")) and row["samples_per_second"] > 0


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def test_draw_run_curves_writes_curves_svg_into_the_run(tmp_path):
    pytest.importorskip("matplotlib")
    from nndsl.run.curves import draw_run_curves

    run = make_run(tmp_path / "a")
    assert draw_run_curves(str(run)) is None
    svg = (run / "curves.svg").read_text()
    assert svg.startswith("<?xml") and "accuracy" in svg and "loss" in svg
    assert not [n for n in os.listdir(run) if n.startswith(".tmp")]
    outputs.RunDir(str(run)).discard(remove_directory=False)  # a discarded run takes its curves too
    assert not (run / "curves.svg").exists()


def test_draw_run_curves_without_matplotlib_gives_the_install_hint(tmp_path, monkeypatch):
    from nndsl.run.curves import draw_run_curves

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    run = make_run(tmp_path / "a")
    assert draw_run_curves(str(run)) == ("curves.svg not drawn: pip install 'nndsl[plot]' (matplotlib) to get it; "
                                         "nndsl curves RUN prints them as text")
    assert not (run / "curves.svg").exists()


def test_a_failure_to_draw_is_a_warning_not_an_error(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from nndsl.run import curves

    def broken(runs, path):
        raise OSError("disk full")

    monkeypatch.setattr(curves, "write_image", broken)
    run = make_run(tmp_path / "a")
    assert curves.draw_run_curves(str(run)) == "warning: curves.svg not drawn: OSError: disk full"
    assert not (run / "curves.svg").exists()


def test_a_folder_of_runs_stands_for_each_run_and_sort_puts_the_best_first(tmp_path, capsys):
    make_run(tmp_path / "runs" / "a", epochs=3, losses=[0.9, 0.8, 0.7])
    make_run(tmp_path / "runs" / "b", epochs=3, losses=[0.9, 0.5, 0.3])
    (tmp_path / "runs" / "notes").mkdir()  # not a run: ignored inside a folder of runs
    assert main(["compare", str(tmp_path / "runs"), "--sort", "loss", "--json"]) == 0
    assert [r["path"][-1] for r in json.loads(capsys.readouterr().out)["runs"]] == ["b", "a"]
    assert main(["compare", str(tmp_path / "runs"), "--sort", "accuracy", "--json"]) == 0  # higher first
    assert [r["path"][-1] for r in json.loads(capsys.readouterr().out)["runs"]] == ["a", "b"]
    assert main(["curves", str(tmp_path / "runs")]) == 0
    assert "  b  train" in capsys.readouterr().out
    assert main(["compare", str(tmp_path / "runs"), "--sort", "f1"]) == 2
    assert "--sort f1: no run has it; choose from accuracy, epochs, loss" in capsys.readouterr().err


def test_curves_and_compare_import_no_framework(tmp_path):
    import subprocess

    make_run(tmp_path / "a")
    code = ("import sys; from nndsl.cli import main; "
            f"main(['curves', {str(tmp_path / 'a')!r}]); main(['compare', {str(tmp_path / 'a')!r}, '--json']); "
            f"main(['runs', {str(tmp_path)!r}, '--sort', 'loss']); "
            "print(sorted(m for m in ('tensorflow', 'keras', 'jax', 'torch', 'matplotlib') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_a_tune_directory_stands_for_its_trials(tmp_path, capsys):
    tune = tmp_path / "tune"
    make_run(tune / "trials" / "0000", width=16, losses=[0.9, 0.8, 0.7])
    make_run(tune / "trials" / "0001", width=32, losses=[0.9, 0.6, 0.4])
    (tune / "tune.json").write_text("{}")
    assert main(["compare", str(tune), "--sort", "val_loss", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [os.path.basename(r["path"]) for r in report["runs"]] == ["0001", "0000"]
    assert "-dense 32 relu\n+dense 16 relu" in report["differences"]["specs"]["0000"]

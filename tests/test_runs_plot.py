"""``nndsl runs`` (a table of every run in a folder, sortable and filterable) and ``nndsl plot``
(several runs' curves on shared axes). Run directories come from test_curves_compare's writer."""

from __future__ import annotations

import json
import os

import pytest

from nndsl.cli import main
from test_curves_compare import make_run


@pytest.fixture
def runs(tmp_path):
    make_run(tmp_path / "runs" / "a", epochs=3, losses=[0.9, 0.8, 0.7])
    make_run(tmp_path / "runs" / "b", epochs=3, losses=[0.9, 0.5, 0.3], width=32)
    make_run(tmp_path / "runs" / "c", epochs=5, done=2, finished=False)  # killed after epoch 2
    return tmp_path / "runs"


def names(capsys) -> list[str]:
    return [r["name"] for r in json.loads(capsys.readouterr().out)["runs"]]


def test_runs_lists_each_run_with_its_columns(runs, capsys):
    assert main(["runs", str(runs)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["run", "model", "started", "epochs", "params", "test", "loss", "test", "accuracy",
                                "samples/s", "wall", "time", "device", "state"]
    a = lines[2].split()
    assert a[0] == "a" and a[1] == "tiny" and "3/3" in a and "195" in a and "0.8000" in a and a[-1] == "finished"
    assert lines[4].split()[0] == "c" and "2/5" in lines[4] and lines[4].endswith("stopped")
    assert main(["runs", str(runs), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["runs"]
    assert [r["params"] for r in data] == [8 * 16 + 16 + 16 * 3 + 3, 8 * 32 + 32 + 32 * 3 + 3, 195]
    assert data[0]["test"] == {"loss": 0.4, "accuracy": 0.8} and data[0]["sort_keys"]["test_accuracy"] == 0.8


def test_runs_defaults_to_the_runs_folder(runs, capsys, monkeypatch):
    monkeypatch.chdir(runs.parent)
    assert main(["runs", "--json"]) == 0
    assert names(capsys) == ["a", "b", "c"]


def test_runs_sort_and_where(runs, capsys):
    assert main(["runs", str(runs), "--sort", "loss", "--json"]) == 0
    assert names(capsys) == ["b", "c", "a"]  # lowest final loss first: 0.3, 0.5, 0.7
    assert main(["runs", str(runs), "--where", "state=finished", "--sort", "loss", "--json"]) == 0
    assert names(capsys) == ["b", "a"]
    assert main(["runs", str(runs), "--where", "state!=finished", "--json"]) == 0
    assert names(capsys) == ["c"]
    assert main(["runs", str(runs), "--where", "params>200", "--json"]) == 0
    assert names(capsys) == ["b"]
    assert main(["runs", str(runs), "--where", "test_accuracy>=0.8", "--where", "loss<0.5", "--json"]) == 0
    assert names(capsys) == ["b"]  # every condition holds; c has no test metrics at all


@pytest.mark.parametrize("argv, message", [
    (["--where", "state>3"], "--where 'state>3': state is text; use = or !="),
    (["--where", "loss=low"], "--where 'loss=low': 'low' is not a number"),
    (["--where", "finished"], "--where 'finished': write KEY=VALUE"),
    (["--sort", "f1"], "--sort f1: no run has it; choose from accuracy, epochs, loss"),
])
def test_runs_bad_options_are_usage_errors(runs, capsys, argv, message):
    assert main(["runs", str(runs)] + argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_runs_of_an_empty_folder_and_of_a_missing_one(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["runs", str(tmp_path / "empty")]) == 0
    assert capsys.readouterr().out == "no runs\n"
    assert main(["runs", str(tmp_path / "nowhere")]) == 2
    assert "no such run directory" in capsys.readouterr().err


def test_plot_draws_several_runs_on_shared_axes(runs, tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    out = tmp_path / "both.png"
    assert main(["plot", str(runs / "a"), str(runs / "b"), "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
    assert f"wrote {out}: a (3 epochs), b (3 epochs)" in capsys.readouterr().out
    monkeypatch.chdir(tmp_path)
    assert main(["plot", str(runs)]) == 0  # a folder: every run in it; default file curves.svg here
    svg = (tmp_path / "curves.svg").read_text()
    assert svg.startswith("<?xml") and all(name in svg for name in ("a (validation)", "b (validation)"))


def test_plot_without_matplotlib_says_what_to_install(runs, tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["plot", str(runs / "a"), "-o", str(tmp_path / "x.svg")]) == 2
    assert "pip install 'nndsl[plot]'" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "x.svg")

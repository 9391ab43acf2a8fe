"""What `nndsl run` prints (issue 15.4): --quiet keeps the test line, --silent prints nothing,
early stopping says when it stopped and which weights the model keeps, mixed precision on a CPU warns."""

from __future__ import annotations

import json

import pytest

from nndsl.cli import main
from nndsl.run import runner
from test_run import SPEC, write_data

pytestmark = pytest.mark.keras


@pytest.fixture
def spec(tmp_path):
    write_data(tmp_path / "d.npz")
    path = tmp_path / "tiny.nn"
    path.write_text(SPEC.format(epochs=2, batch=16))
    return path


def test_quiet_prints_only_the_final_test_line(spec, tmp_path, capsys):
    assert main(["run", str(spec), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    out, err = capsys.readouterr()
    test = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]
    assert out == "test: " + ", ".join(f"{k} {v:.4f}" for k, v in test.items()) + "\n"
    assert err == ""


def test_silent_prints_nothing(spec, tmp_path, capsys):
    assert main(["run", str(spec), "--out", str(tmp_path / "run"), "--silent"]) == 0
    assert capsys.readouterr() == ("", "")
    assert (tmp_path / "run" / "model.keras").exists()


def test_silent_still_reports_errors(tmp_path, capsys):
    assert main(["run", str(tmp_path / "missing.nn"), "--silent"]) == 2
    assert "missing.nn" in capsys.readouterr().err


def test_quiet_and_silent_exclude_each_other(spec, capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", str(spec), "--quiet", "--silent"])
    assert e.value.code == 2
    capsys.readouterr()


@pytest.mark.parametrize("restore, kept", [
    ("true", "early stopping: restored the weights of epoch 1 (best val_loss "),
    ("false", "early stopping: kept the weights of epoch 2, the last (restore_best_weights=false)"),
])
def test_early_stopping_says_when_it_stopped_and_what_it_kept(spec, tmp_path, capsys, restore, kept):
    # min_delta=10: only the first epoch counts as an improvement, so it stops after epoch 2
    spec.write_text(SPEC.format(epochs=6, batch=16)
                    + f"callback early_stopping monitor=val_loss patience=1 min_delta=10 "
                      f"restore_best_weights={restore}\n")
    assert main(["run", str(spec), "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "early stopping: val_loss did not improve for 1 epoch; stopped after epoch 2 of 6" in out
    assert kept in out
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"] == 2


def test_early_stopping_that_never_fires_says_nothing_about_stopping(spec, tmp_path, capsys):
    spec.write_text(SPEC.format(epochs=2, batch=16) + "callback early_stopping monitor=val_loss patience=5\n")
    assert main(["run", str(spec), "--out", str(tmp_path / "run")]) == 0
    assert "stopped after" not in capsys.readouterr().out


def test_mixed_precision_on_a_cpu_warns(spec, tmp_path, capsys):
    assert main(["run", str(spec), "--out", str(tmp_path / "run"), "--precision", "mixed_float16",
                 "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "warning: mixed_float16 on a CPU is usually slower than float32" in out
    assert "benchmarks/precision_cpu.py" in out


def test_which_precisions_warn(monkeypatch):
    assert runner.precision_warning("float32", "CPU") is None
    assert runner.precision_warning("mixed_float16", "GPU") is None
    assert "usually slower" in runner.precision_warning("mixed_float16", "CPU")
    monkeypatch.setattr(runner, "_cpu_has_bfloat16", lambda: True)
    assert runner.precision_warning("mixed_bfloat16", "CPU") is None
    monkeypatch.setattr(runner, "_cpu_has_bfloat16", lambda: False)
    assert "no bfloat16 instructions" in runner.precision_warning("mixed_bfloat16", "CPU")

"""Guard rails around a run (issue 14): a run that fails before training leaves nothing it made,
and never touches what was there before it."""

from __future__ import annotations

import os

import numpy as np
import pytest

from nndsl.cli import main

SPEC = """\
input tokens 5 dtype=int32
embedding 40 16
flatten
dense 2 softmax
adam 0.01
loss sparse_categorical_crossentropy
fit epochs=1 batch_size=16
data "ids.npz"
"""


@pytest.fixture
def ids_spec(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "ids.npz", x=rng.integers(0, 40, size=(64, 5)).astype("int32"),
             y=rng.integers(0, 2, size=64))
    path = tmp_path / "ids.nn"
    path.write_text(SPEC)
    return path


@pytest.mark.keras
def test_an_interrupt_while_building_leaves_no_run_directory(ids_spec, tmp_path, monkeypatch):
    import keras

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(keras.Model, "compile", interrupted)
    out = tmp_path / "run"
    assert main(["run", str(ids_spec), "--out", str(out)]) == 130
    assert not out.exists()


def test_a_new_run_refuses_a_directory_holding_the_users_own_spec(ids_spec, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "spec.nn").write_text("the user's own spec")
    assert main(["run", str(ids_spec), "--out", str(out)]) == 2
    assert "holds a spec.nn that the run would overwrite" in capsys.readouterr().err
    assert sorted(os.listdir(out)) == ["spec.nn"]
    assert (out / "spec.nn").read_text() == "the user's own spec"

"""A full disk fails clearly and never corrupts what is already on disk.

The disk is made to fill up at chosen moments by making the write path raise ENOSPC, the
error a real full disk gives; the properties checked are the ones a user relies on.
"""

from __future__ import annotations

import errno
import json
import os

import pytest

from nndsl.run import outputs
from test_run import run_cli, spec, write_data  # noqa: F401 - the fixture and helpers

pytestmark = pytest.mark.keras


def _full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_atomic_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    outputs.write_json(str(target), {"version": 1})
    monkeypatch.setattr(os, "fsync", _full_disk)
    with pytest.raises(OSError):
        outputs.write_json(str(target), {"version": 2})
    assert json.loads(target.read_text()) == {"version": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def _fills_the_disk_halfway(self, path, *args, **kwargs):
    """Keras' own save, cut off by a full disk after the first bytes (what a real disk does)."""
    with open(path, "wb") as fh:
        fh.write(b"PK\x03\x04 half a model")
    raise OSError(errno.ENOSPC, "No space left on device")


def test_disk_full_during_a_checkpoint_is_a_clear_error(spec, tmp_path, monkeypatch, capsys):
    import keras

    earlier = tmp_path / "earlier"
    assert run_cli("run", spec, "--out", earlier, "--quiet") == 0
    before = {p.name: p.read_bytes() for p in earlier.iterdir() if p.is_file()}

    # The disk fills below nndsl's atomic writer (outputs.save_with), which stays real.
    monkeypatch.setattr(keras.Model, "save", _fills_the_disk_halfway)
    second = tmp_path / "second"
    code = run_cli("run", spec, "--out", second, "--quiet")
    err = capsys.readouterr().err
    assert code == 4, err
    assert "No space left on device" in err and "internal error" not in err
    assert {p.name: p.read_bytes() for p in earlier.iterdir() if p.is_file()} == before
    # no half-written checkpoint and no temporary is left; nothing was trained, so nothing stays
    assert not second.exists() or [p.name for p in second.iterdir()] == []


def test_disk_full_after_some_epochs_keeps_the_last_whole_checkpoint(spec, tmp_path, monkeypatch, capsys):
    import keras

    real_save = keras.Model.save
    saves = []

    def save_then_fill(self, path, *args, **kwargs):
        saves.append(path)
        if len(saves) >= 2:
            return _fills_the_disk_halfway(self, path)
        return real_save(self, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save", save_then_fill)
    out = tmp_path / "run"
    assert run_cli("run", spec, "--out", out, "--quiet") == 4
    assert "No space left on device" in capsys.readouterr().err
    state = json.loads((out / "state.json").read_text())
    assert state["epoch"] == 1 and state["checkpoint"] == "ckpt-0001.keras"
    assert not [p.name for p in out.iterdir() if p.name.startswith(".tmp")]
    monkeypatch.undo()
    keras.models.load_model(out / "ckpt-0001.keras")  # whole, loadable

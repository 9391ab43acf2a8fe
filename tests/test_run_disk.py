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


def test_disk_full_during_a_checkpoint_is_a_clear_error(spec, tmp_path, monkeypatch, capsys):
    earlier = tmp_path / "earlier"
    assert run_cli("run", spec, "--out", earlier, "--quiet") == 0
    before = {p.name: p.read_bytes() for p in earlier.iterdir() if p.is_file()}

    monkeypatch.setattr(outputs, "save_with", _full_disk)
    code = run_cli("run", spec, "--out", tmp_path / "second", "--quiet")
    err = capsys.readouterr().err
    assert code == 4, err
    assert "No space left on device" in err and "internal error" not in err
    assert {p.name: p.read_bytes() for p in earlier.iterdir() if p.is_file()} == before
    leftovers = [p.name for p in (tmp_path / "second").iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []

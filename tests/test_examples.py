"""Every bundled example runs with `nndsl run` as shipped, or says what data it needs (issue 15.6)."""

from __future__ import annotations

import glob
import importlib.util
import os

import numpy as np
import pytest

from nndsl.check import check
from nndsl.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "spec", "examples", "*.nn")))
DATA = os.path.join(ROOT, "spec", "examples", "data")


def _model(path, registry):
    with open(path, encoding="utf-8") as fh:
        return check(fh.read(), os.path.basename(path), registry=registry)


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_each_example_has_its_data_or_says_what_it_needs(path, registry):
    model = _model(path, registry)
    data = model.training.data
    if data is None:
        with open(path, encoding="utf-8") as fh:
            comments = " ".join(line for line in fh if line.lstrip().startswith("#")).lower()
        assert "data" in comments, f"{path}: no data statement and no comment saying what data it expects"
    elif data.kind == "path":
        assert os.path.exists(os.path.join(os.path.dirname(path), data.value)), data.value
    else:
        assert data.value in registry.datasets


def test_shipped_data_is_small_and_remade_byte_for_byte(tmp_path):
    spec = importlib.util.spec_from_file_location("make_data", os.path.join(DATA, "make_data.py"))
    make_data = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_data)
    make_data.HERE = str(tmp_path)
    for make in (make_data.mnist_functional, make_data.multi_io, make_data.residual, make_data.text_lstm):
        make(np.random.default_rng(15))
    shipped = sorted(n for n in os.listdir(DATA) if n.endswith(".npz"))
    assert shipped == sorted(os.listdir(tmp_path))
    for name in shipped:
        with open(os.path.join(DATA, name), "rb") as a, open(tmp_path / name, "rb") as b:
            assert a.read() == b.read(), f"{name} differs from what make_data.py makes"
    assert sum(os.path.getsize(os.path.join(DATA, n)) for n in shipped) < 200_000


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_each_example_with_data_trains_one_epoch(path, registry, tmp_path, monkeypatch, capsys):
    if _model(path, registry).training.data is None:
        pytest.skip("no data statement: the spec's comment says what it expects")
    monkeypatch.setenv("NNDSL_OFFLINE", "1")
    assert main(["run", path, "--epochs", "1", "--out", str(tmp_path / "run"), "--quiet", "--seed", "0"]) == 0
    assert capsys.readouterr().out.startswith("test: ")
    assert (tmp_path / "run" / "model.keras").exists()

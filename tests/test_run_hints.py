"""W010: ``nndsl run`` hints at normalization for inputs far from unit scale that nothing rescales."""

from __future__ import annotations

import numpy as np
import pytest

import nndsl
from nndsl.run.hints import scale_hints

RAW = np.random.default_rng(0).integers(0, 256, size=(50, 4)).astype(np.float32)


@pytest.mark.parametrize("spec, x, warned", [
    ("input 4\ndense 2", RAW, True),
    ("input 4\nnormalization\ndense 2", RAW, False),
    ("input 4\nrescaling 0.00392\ndense 2", RAW, False),
    ("input 4\nbatchnorm\ndense 2", RAW, False),
    ("input 4\ndense 2", RAW / 255.0, False),
    ("input 4\ndense 2", RAW - 300.0, True),
    ("input 4 dtype=int32\nembedding 300 2", RAW.astype(np.int32), False),  # ids, not magnitudes
])
def test_w010_for_raw_inputs_only(spec, x, warned, registry):
    hints = scale_hints(nndsl.check(spec, registry=registry), x)
    assert bool(hints) == warned, hints
    if warned:
        assert hints[0].startswith("warning[W010]: input values span ") and "add 'normalization'" in hints[0]


def test_w010_names_the_input_among_several(registry):
    model = nndsl.check("input a 4\ninput b 4\nn = b -> normalization\noutput y = concat(a, n) -> dense 1",
                        registry=registry)
    hints = scale_hints(model, {"a": RAW, "b": RAW})
    assert len(hints) == 1 and "input 'a' values span 0 to 255" in hints[0]


@pytest.mark.keras
def test_run_prints_w010_before_training(tmp_path, monkeypatch, capsys):
    from nndsl.cli import main

    monkeypatch.setenv("NNDSL_OFFLINE", "1")
    np.savez(tmp_path / "d.npz", x=RAW, y=(RAW[:, 0] > 128).astype(np.int64))
    spec = tmp_path / "raw.nn"
    spec.write_text(f'input 4\ndense 2 softmax\nadam\nloss sparse_categorical_crossentropy\nfit epochs=1\n'
                    f'data "{tmp_path / "d.npz"}"\n')
    assert main(["run", str(spec), "--out", str(tmp_path / "r")]) == 0
    assert "warning[W010]: input values span" in capsys.readouterr().out

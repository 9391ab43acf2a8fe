"""The emitted script loads and splits data exactly as `nndsl run` does.

For each file layout `nndsl run` reads, exec the emitted script's data functions and compare
their train / validation / test arrays with nndsl.datasets' own, row for row.
"""

from __future__ import annotations

import numpy as np
import pytest

import nndsl
from nndsl import datasets
from nndsl.prepare import prepare

pytestmark = pytest.mark.keras  # the emitted script imports keras at its top

RNG = np.random.default_rng(7)


def _emitted_data(spec: str, registry):
    source = nndsl.emit(spec, registry=registry)
    namespace: dict = {"__name__": "emitted", "__file__": "/nowhere/script.py"}  # the spec's paths are absolute
    exec(source, namespace)  # noqa: S102 - generated code under test
    return namespace["load_data"](), source


def _nndsl_data(spec: str, registry, base_dir: str):
    model = nndsl.check(spec, registry=registry)
    fit = model.training.fit_options
    raw = datasets.load(model.training.data, registry, base_dir=base_dir)
    p = prepare(raw, model, registry, seed=fit.get("seed") or 0,
                         validation_split=fit.get("validation_split", 0.0), test_split=fit.get("test_split", 0.1))
    return (p.x_train, p.y_train), (p.x_val, p.y_val), (p.x_test, p.y_test)


def _assert_same(a, b):
    if isinstance(a, dict):
        assert sorted(a) == sorted(b)
        for k in a:
            _assert_same(a[k], b[k])
        return
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)


def _compare(spec, registry, tmp_path):
    (train, val, test), source = _emitted_data(spec, registry)
    exp_train, exp_val, exp_test = _nndsl_data(spec, registry, str(tmp_path))
    for got, want in ((train, exp_train), (test, exp_test)):
        _assert_same(got[0], want[0])
        _assert_same(got[1], want[1])
    if exp_val[0] is None:
        assert val is None
    else:
        _assert_same(val[0], exp_val[0])
        _assert_same(val[1], exp_val[1])
    return source


def test_npz_x_y_pixels_one_hot(registry, tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=RNG.integers(0, 256, (60, 4, 4), dtype=np.uint8), y=RNG.integers(0, 3, 60))
    spec = f'input 16; dense 3 softmax; loss mse; fit epochs=1 validation_split=0.2 seed=3; data "{path}"'
    source = _compare(spec, registry, tmp_path)
    assert "allow_pickle=False" in source


def test_npz_with_its_own_test_split_sparse_labels(registry, tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x_train=RNG.random((40, 5)), y_train=RNG.integers(0, 4, 40),
             x_test=RNG.random((10, 5)), y_test=RNG.integers(0, 4, 10))
    spec = f'input 5; dense 4 softmax; loss sparse_categorical_crossentropy; fit validation_split=0.1; data "{path}"'
    _compare(spec, registry, tmp_path)


def test_npz_multi_input_multi_output_by_name(registry, tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x_a=RNG.random((30, 3)), x_b=RNG.integers(0, 256, (30, 2, 2), dtype=np.uint8),
             y_cls=RNG.integers(0, 5, 30), y_flag=RNG.integers(0, 2, 30))
    spec = (f'input a 3\ninput b 4\nh = concat(a, b) -> dense 8 relu\noutput cls = h -> dense 5 softmax\n'
            f'output flag = h -> dense 1 sigmoid\nloss cls=categorical_crossentropy flag=binary_crossentropy\n'
            f'fit validation_split=0.2\ndata "{path}"\n')
    _compare(spec, registry, tmp_path)


def test_npy_train_and_test_files(registry, tmp_path):
    for split, n in (("train", 20), ("test", 6)):
        np.save(tmp_path / f"x_{split}.npy", RNG.random((n, 3)).astype(np.float32))
        np.save(tmp_path / f"y_{split}.npy", RNG.integers(0, 2, n))
    spec = f'input 3; dense 1 sigmoid; loss binary_crossentropy; data "{tmp_path / "x_train.npy"}"'
    _compare(spec, registry, tmp_path)


def test_npy_pair(registry, tmp_path):
    np.save(tmp_path / "digits_x.npy", RNG.random((25, 6)).astype(np.float32))
    np.save(tmp_path / "digits_y.npy", RNG.random((25, 2)).astype(np.float32))
    spec = f'input 6; dense 2; loss mse; data "{tmp_path / "digits_x.npy"}"'
    _compare(spec, registry, tmp_path)


def test_csv_with_label_column(registry, tmp_path):
    rows = ["f1,label,f2"] + [f"{RNG.random():.4f},{i % 3},{RNG.random():.4f}" for i in range(30)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    spec = f'input 2; dense 3 softmax; loss sparse_categorical_crossentropy; data "{tmp_path / "t.csv"}" label=label'
    _compare(spec, registry, tmp_path)


def test_a_plugin_data_set_is_left_to_nndsl_run(registry):
    source = nndsl.emit("input 784; dense 10 softmax; loss mse; data mnist", registry=registry)
    assert "keras.datasets.mnist.load_data()" in source
    multi = nndsl.emit("input a 2\ninput b 2\nx = add(a, b) -> dense 1\nloss mse\ndata mnist\n", registry=registry)
    assert "load_data" not in multi and "nndsl run" in multi


@pytest.mark.slow
def test_the_emitted_script_trains_as_a_program(registry, tmp_path):
    import subprocess
    import sys

    path = tmp_path / "d.npz"
    np.savez(path, x=RNG.integers(0, 256, (64, 8), dtype=np.uint8), y=RNG.integers(0, 2, 64))
    spec = f'input 8; dense 4 relu; dense 2 softmax; adam 0.01; loss mse; metrics accuracy\nfit epochs=2 batch_size=16 validation_split=0.25\ndata "{path}"'
    script = tmp_path / "train.py"
    script.write_text(nndsl.emit(spec, registry=registry))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Epoch 2/2" in done.stdout and "val_loss" in done.stdout

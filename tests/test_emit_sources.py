"""The emitted script reads data folders and tables as `nndsl run` does: same files, rows, splits, values."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

import nndsl
from nndsl.data import prepare_data

from folder_data import png_bytes, write_digit_folder

pytestmark = pytest.mark.keras  # the emitted script imports keras at its top


def _emitted(spec: str, registry):
    source = nndsl.emit(spec, registry=registry)
    namespace: dict = {"__name__": "emitted", "__file__": "/nowhere/script.py"}  # the spec's paths are absolute
    exec(source, namespace)  # noqa: S102 - generated code under test
    return namespace["load_data"](), source


def _run_side(spec: str, registry, tmp_path):
    model = nndsl.check(spec, registry=registry)
    fit = model.training.fit_options
    return prepare_data(model.training.data, model, registry, base_dir=str(tmp_path), seed=fit.get("seed") or 0,
                        validation_split=fit.get("validation_split", 0.0), test_split=fit.get("test_split", 0.1))


def _batches(ds):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


def test_folder_script_lists_checks_splits_and_decodes_like_run(registry, tmp_path):
    write_digit_folder(tmp_path / "photos", classes=(4, 5, 6), per_class=12)
    (tmp_path / "photos" / "six" / "bad.png").write_bytes(png_bytes(np.zeros((28, 28), np.uint8))[:-12])
    spec = (f'input 20 20 1\nflatten\ndense 3 softmax\nloss categorical_crossentropy\n'
            f'fit validation_split=0.25 batch_size=5 seed=2 shuffle=false\ndata "{tmp_path / "photos"}/" bad_files=skip')
    (train, val, test), source = _emitted(spec, registry)
    p = _run_side(spec, registry, tmp_path)
    assert "is a truncated PNG" in source or "def image_problem" in source
    for got, want in ((train, p.x_train), (val, p.x_val), (test, p.x_test)):
        gx, gy = _batches(got.unbatch().batch(1000))
        wx, wy = _batches(want.dataset(1000))
        assert gx.shape == wx.shape and gx.shape[1:] == (20, 20, 1) and gy.shape[1:] == (3,)  # one-hot
        np.testing.assert_array_equal(gx, wx)
        np.testing.assert_array_equal(gy, wy)


@pytest.fixture
def penguins(tmp_path):
    package = pytest.importorskip("palmerpenguins")
    shutil.copy(os.path.join(os.path.dirname(package.__file__), "data", "penguins.csv"), tmp_path / "penguins.csv")
    return tmp_path / "penguins.csv"


@pytest.mark.parametrize("missing, kind", [("drop", "csv"), ("fill", "csv"), ("drop", "parquet")])
def test_table_script_feeds_columns_by_name_like_run(registry, tmp_path, penguins, missing, kind):
    if kind == "parquet":
        pytest.importorskip("pyarrow")
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq

        table = pcsv.read_csv(str(penguins), convert_options=pcsv.ConvertOptions(null_values=["NA"]))
        penguins = tmp_path / "penguins.parquet"
        pq.write_table(table, str(penguins))
    spec = (f"input bill_length_mm 1\ninput body_mass_g 1\ninput year 1\n"
            f"h = concat(bill_length_mm, body_mass_g, year) -> dense 8 relu\noutput species = h -> dense 3 softmax\n"
            f"loss categorical_crossentropy\nfit validation_split=0.2 seed=4\n"
            f'data "{penguins}" label=species missing={missing}')
    (train, val, test), _ = _emitted(spec, registry)
    p = _run_side(spec, registry, tmp_path)
    for got, want in ((train, (p.x_train, p.y_train)), (val, (p.x_val, p.y_val)), (test, (p.x_test, p.y_test))):
        assert sorted(got[0]) == sorted(want[0])
        for name in want[0]:
            np.testing.assert_allclose(got[0][name], want[0][name], rtol=1e-6)
            assert got[0][name].dtype == want[0][name].dtype
        np.testing.assert_array_equal(got[1], want[1])


def _has_string_inputs() -> bool:
    from nndsl.statements import INPUT_DTYPES

    return "string" in INPUT_DTYPES


@pytest.mark.skipif(not _has_string_inputs(), reason="string inputs are not in the language yet")
def test_a_table_with_words_reaches_fit_through_tf_data_in_the_script_as_in_run(registry, tmp_path, penguins):
    spec = ("input island 1 dtype=string\ninput body_mass_g 1\ni = island -> stringlookup -> embedding 8 2 -> flatten\n"
            "output species = concat(i, body_mass_g) -> dense 3 softmax\nloss sparse_categorical_crossentropy\n"
            f'fit seed=3 shuffle=false\ndata "{penguins}" label=species missing=fill')
    source = nndsl.emit(spec, registry=registry)
    assert "model.fit(as_dataset(train, SHUFFLE)" in source and "model.evaluate(as_dataset(test)" in source
    namespace: dict = {"__name__": "emitted", "__file__": "/nowhere/script.py"}
    exec(source, namespace)  # noqa: S102 - generated code under test
    train, _, test = namespace["load_data"]()
    p = _run_side(spec, registry, tmp_path)
    for got, want in ((train, p.x_train), (test, p.x_test)):
        (gx, gy), = list(namespace["as_dataset"](got).unbatch().batch(1000))
        (wx, wy), = list(want.dataset(1000))
        assert [w.decode() for w in gx["island"].numpy()[:, 0]] == [w.decode() for w in wx["island"].numpy()[:, 0]]
        np.testing.assert_array_equal(gx["body_mass_g"].numpy(), wx["body_mass_g"].numpy())
        np.testing.assert_array_equal(gy.numpy(), wy.numpy())


@pytest.mark.slow
def test_a_folder_script_adapts_preprocessing_on_its_streamed_training_rows(registry, tmp_path):
    import subprocess
    import sys

    write_digit_folder(tmp_path / "photos", classes=(0, 1), per_class=15)
    spec = ('input 28 28 1\nnormalization\nflatten\ndense 2 softmax\nloss sparse_categorical_crossentropy\n'
            'fit epochs=1 seed=1\ndata "photos/"')
    source = nndsl.emit(spec, registry=registry)
    assert "adapt_preprocessing(model, features(train), ADAPT)" in source
    (tmp_path / "script.py").write_text(source)
    out = subprocess.run([sys.executable, "script.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "adapted normalization (Normalization)" in out.stdout and "test:" in out.stdout

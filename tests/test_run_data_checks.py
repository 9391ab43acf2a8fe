"""Data checked against the model before training (issue 15.1): a clear data error, exit 3,
and nothing left on disk; on TensorFlow and on JAX alike."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from nndsl.check import check
from nndsl.cli import main
from nndsl.datasets import DataError, RawData
from nndsl.prepare import embeddings_fed_by, input_statement, prepare

EMBEDDING_SPEC = """\
input tokens 5 dtype=int32
{middle}embedding 40 16
flatten
dense 2 softmax
adam 0.01
loss sparse_categorical_crossentropy
fit epochs=1 batch_size=16
data "ids.npz"
"""


def write_ids(path, high=50, n=64):
    rng = np.random.default_rng(0)
    x = rng.integers(0, high, size=(n, 5)).astype("int32")
    np.savez(path, x=x, y=rng.integers(0, 2, size=n))
    return x


@pytest.fixture
def ids_spec(tmp_path):
    write_ids(tmp_path / "ids.npz")
    path = tmp_path / "ids.nn"
    path.write_text(EMBEDDING_SPEC.format(middle=""))
    return path


def test_ids_beyond_the_vocabulary_are_a_data_error_naming_the_fix(registry):
    model = check(EMBEDDING_SPEC.format(middle=""), registry=registry)
    x = np.zeros((4, 5), dtype="int32")
    x[2, 3] = 49
    with pytest.raises(DataError) as e:
        prepare(RawData(x, np.zeros(4, dtype="int64"), None, None, "t"), model, registry, test_split=0.0)
    message = str(e.value)
    assert "embedding 40 16 on line 2 takes ids 0..39" in message
    assert "input 'tokens' has ids up to 49 (first in sample 2, column 3)" in message
    assert "raise input_dim to 50" in message


def test_negative_ids_are_a_data_error(registry):
    model = check(EMBEDDING_SPEC.format(middle=""), registry=registry)
    x = np.zeros((4, 5), dtype="int32")
    x[1, 0] = -1
    with pytest.raises(DataError, match=r"negative id \(-1, first in sample 1, column 0\)"):
        prepare(RawData(x, np.zeros(4, dtype="int64"), None, None, "t"), model, registry, test_split=0.0)


def test_ids_inside_the_vocabulary_pass(registry):
    model = check(EMBEDDING_SPEC.format(middle=""), registry=registry)
    x = np.full((4, 5), 39, dtype="int32")
    prepared = prepare(RawData(x, np.zeros(4, dtype="int64"), None, None, "t"), model, registry, test_split=0.0)
    assert prepared.x_train.max() == 39


def test_the_test_split_is_checked_too(registry):
    model = check(EMBEDDING_SPEC.format(middle=""), registry=registry)
    ok, bad = np.zeros((4, 5), dtype="int32"), np.full((2, 5), 45, dtype="int32")
    y = np.zeros(4, dtype="int64")
    with pytest.raises(DataError, match="the test data for input 'tokens' has ids up to 45"):
        prepare(RawData(ok, y, bad, y[:2], "t"), model, registry)


def test_ids_are_followed_through_layers_that_keep_them(registry):
    spec = EMBEDDING_SPEC.format(middle="reshape (5, 1)\nflatten\n").replace("input tokens 5", "input tokens 5")
    model = check(spec, registry=registry)
    (embedding,) = embeddings_fed_by(model, "tokens")
    assert embedding.attr["input_dim"] == 40
    x = np.full((4, 5), 40, dtype="int32")
    with pytest.raises(DataError, match="embedding 40 16 on line 4 takes ids 0..39"):
        prepare(RawData(x, np.zeros(4, dtype="int64"), None, None, "t"), model, registry, test_split=0.0)


def test_ids_are_not_followed_through_layers_that_change_values(registry):
    model = check("input 5\ndense 5\nembedding 40 16\nflatten\ndense 2 softmax", registry=registry)
    assert embeddings_fed_by(model, model.inputs[0].name) == []


def test_several_inputs_name_the_one_with_bad_ids(registry):
    model = check("input a 3 dtype=int32\ninput b 3 dtype=int32\n"
                  "ea = a -> embedding 10 4 -> flatten\neb = b -> embedding 20 4 -> flatten\n"
                  "output y = concat(ea, eb) -> dense 1 sigmoid\nloss binary_crossentropy", registry=registry)
    x = {"a": np.full((4, 3), 9, dtype="int32"), "b": np.full((4, 3), 25, dtype="int32")}
    with pytest.raises(DataError, match="embedding 20 4 on line 4 takes ids 0..19; the data for input 'b'"):
        prepare(RawData(x, np.zeros(4, dtype="float32"), None, None, "t"), model, registry, test_split=0.0)


def test_shape_hint_gives_the_full_input_statement_with_the_channel_axis(registry):
    model = check("input 32 32 1\nconv2d 4 3\nflatten\ndense 10 softmax\nloss sparse_categorical_crossentropy",
                  registry=registry)
    x = np.zeros((4, 28, 28), dtype="uint8")
    with pytest.raises(DataError) as e:
        prepare(RawData(x, np.zeros(4, dtype="int64"), None, None, "t"), model, registry, test_split=0.0)
    assert e.value.hint.endswith("input 28 28 1")


def test_input_statement_keeps_name_and_dtype(registry):
    model = check("input image 8 8 1 dtype=uint8\nflatten\ndense 2", registry=registry)
    assert input_statement(model.inputs[0], (28, 28)) == "input image 28 28 1 dtype=uint8"
    assert input_statement(model.inputs[0], (28, 28, 3)) == "input image 28 28 3 dtype=uint8"


@pytest.mark.keras
def test_run_with_bad_ids_exits_3_and_leaves_no_run_directory(ids_spec, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(ids_spec), "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert "takes ids 0..39" in err and "raise input_dim to 50" in err
    assert "Traceback" not in err and "bug in nndsl" not in err
    assert not out.exists()


@pytest.mark.keras
@pytest.mark.slow
def test_jax_refuses_bad_ids_instead_of_training_to_nan(ids_spec, tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "jax", "NNDSL_OFFLINE": "1"}
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "nndsl.cli", "run", str(ids_spec), "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 3, done.stderr
    assert "takes ids 0..39" in done.stderr
    assert "nan" not in done.stdout.lower()
    assert not out.exists()


@pytest.mark.keras
def test_a_run_that_fails_before_its_first_epoch_leaves_nothing(ids_spec, tmp_path, monkeypatch, capsys):
    import keras

    write_ids(tmp_path / "ids.npz", high=40)

    def broken_compile(*args, **kwargs):
        raise RuntimeError("out of memory while building")

    monkeypatch.setattr(keras.Model, "compile", broken_compile)
    out = tmp_path / "run"
    assert main(["run", str(ids_spec), "--out", str(out)]) == 4
    assert "out of memory while building" in capsys.readouterr().err
    assert not out.exists()
    # a directory the user made stays, emptied of the run's files only
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["run", str(ids_spec), "--out", str(out)]) == 4
    assert sorted(os.listdir(out)) == ["notes.txt"]
    monkeypatch.undo()
    assert main(["run", str(ids_spec), "--out", str(out)]) == 0  # --out is not blocked


@pytest.mark.keras
def test_resume_of_a_run_without_a_checkpoint_says_so(ids_spec, tmp_path, capsys):
    write_ids(tmp_path / "ids.npz", high=40)
    out = tmp_path / "run"
    assert main(["run", str(ids_spec), "--out", str(out), "--seed", "1"]) == 0
    for name in ("state.json", "model.keras", "history.csv", "metrics.json"):
        (out / name).unlink()
    for name in os.listdir(out):
        if name.startswith("ckpt-"):
            (out / name).unlink()
    capsys.readouterr()
    assert main(["run", "--resume", str(out)]) == 0
    assert f"resuming {out} from the start (no checkpoint was saved)" in capsys.readouterr().out


@pytest.mark.keras
def test_a_framework_error_mid_fit_is_a_run_error_not_a_crash(ids_spec, tmp_path, monkeypatch, capsys):
    """What TensorFlow raised for bad ids (InvalidArgumentError, not a ValueError) was exit 70."""
    import keras
    import tensorflow as tf

    write_ids(tmp_path / "ids.npz", high=40)

    def failing_fit(*args, **kwargs):
        raise tf.errors.InvalidArgumentError(None, None, "indices[0,1] = 46 is not in [0, 40)")

    monkeypatch.setattr(keras.Model, "fit", failing_fit)
    out = tmp_path / "run"
    assert main(["run", str(ids_spec), "--out", str(out)]) == 4
    err = capsys.readouterr().err
    assert "training failed: InvalidArgumentError: indices[0,1] = 46 is not in [0, 40)" in err
    assert "bug in nndsl" not in err and not out.exists()

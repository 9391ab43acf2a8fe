"""``nndsl run`` adapts preprocessing layers on the training split only, and the state travels.

The data are built so that using any validation or test row would show: those rows hold
values near 1000, the training rows values near 0. Which rows are which comes from
:func:`nndsl.prepare.prepare` on a column of row numbers (the split depends only on the row
count and the seed), so the test knows the training rows without trusting the code under test
to report them.
"""

from __future__ import annotations

import json
import runpy

import numpy as np
import pytest

import nndsl
from nndsl.builtins.layers_preprocessing import adapt_plan
from nndsl.cli import main
from nndsl.datasets import RawData
from nndsl.prepare import prepare

pytestmark = pytest.mark.keras

N, SEED = 200, 3
SPEC = """\
input 3
normalization
dense 4 relu
dense 2 softmax
adam 0.01
loss sparse_categorical_crossentropy
metrics accuracy
fit epochs={epochs} batch_size=16 validation_split=0.25 seed={seed}
data "d.npz"
"""


def _training_rows(registry) -> np.ndarray:
    """The row numbers `run` trains on, from prepare() on data whose only column is the row number."""
    model = nndsl.check(SPEC.format(epochs=1, seed=SEED), registry=registry)
    rows = np.arange(N, dtype=np.float32)
    raw = RawData(x_train=np.stack([rows] * 3, axis=1), y_train=np.zeros(N, dtype=np.int64),
                                 x_test=None, y_test=None, source="rows")
    prepared = prepare(raw, model, registry, seed=SEED, validation_split=0.25, test_split=0.1)
    train = prepared.x_train[:, 0].astype(int)
    assert 0 < len(train) < N - 30  # validation and test rows exist
    return train


@pytest.fixture
def spec(tmp_path, monkeypatch, registry):
    monkeypatch.setenv("NNDSL_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    train = _training_rows(registry)
    x = rng.normal(1000.0, 5.0, size=(N, 3))  # validation and test rows: far from the training rows
    x[train] = rng.normal(0.0, 1.0, size=(len(train), 3)) * (1.0, 2.0, 3.0)
    y = (x[:, 0] > x[:, 1]).astype(np.int64)
    np.savez(tmp_path / "d.npz", x=x.astype(np.float32), y=y)
    path = tmp_path / "norm.nn"
    path.write_text(SPEC.format(epochs=1, seed=SEED))
    return path, x[train]


def _adapted(path):
    from nndsl.run.keras_trainer import load_keras_model

    layer = load_keras_model(str(path)).get_layer("normalization")
    return np.asarray(layer.mean).reshape(-1), np.asarray(layer.variance).reshape(-1)


def test_run_adapts_on_the_training_rows_only_and_says_so(spec, tmp_path, capsys):
    path, train_x = spec
    assert main(["run", str(path), "--out", "r"]) == 0
    out = capsys.readouterr().out
    assert (f"preprocessing: adapted 1 layer on the training split only ({len(train_x):,} samples; "
            "validation and test rows unused)") in out
    assert "  - normalization (Normalization): mean and variance of 3 value(s)" in out
    mean, variance = _adapted(tmp_path / "r" / "model.keras")
    np.testing.assert_allclose(mean, train_x.mean(axis=0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(variance, train_x.var(axis=0), rtol=1e-3)
    assert np.all(np.abs(mean) < 1.0)  # one validation or test row would move it by ~5


def test_the_adapted_state_is_used_by_evaluate_and_kept_by_resume(spec, tmp_path, capsys):
    path, train_x = spec
    assert main(["run", str(path), "--out", "r", "--quiet"]) == 0
    first = _adapted(tmp_path / "r" / "model.keras")
    capsys.readouterr()
    assert main(["evaluate", "r", "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert evaluated["metrics"] == pytest.approx(json.loads((tmp_path / "r" / "metrics.json").read_text())["test"])
    assert main(["run", "--resume", "r", "--epochs", "2"]) == 0
    assert "preprocessing: adapted" not in capsys.readouterr().out  # the checkpoint holds the state
    for before, after in zip(first, _adapted(tmp_path / "r" / "model.keras")):
        np.testing.assert_array_equal(before, after)


def test_the_emitted_script_adapts_the_same_way(spec, tmp_path, registry, capsys):
    path, train_x = spec
    script = tmp_path / "train.py"
    script.write_text(nndsl.emit(path.read_text(), registry=registry).replace('"d.npz"', f'"{tmp_path / "d.npz"}"'))
    namespace = runpy.run_path(str(script), run_name="__main__")
    assert "adapted normalization (Normalization): mean and variance of 3 value(s)" in capsys.readouterr().out
    layer = namespace["model"].get_layer("normalization")
    np.testing.assert_allclose(np.asarray(layer.mean).reshape(-1), train_x.mean(axis=0), rtol=1e-4, atol=1e-4)


def test_adapt_plan_lists_layers_that_take_state_from_data_with_their_inputs(registry):
    model = nndsl.check("""\
input a 3
input t dtype=string
input k 1 dtype=int64
x = a -> dense 4 -> normalization -> discretization num_bins=3
y = a -> discretization bin_boundaries=(0.0, 1.0)
w = t -> textvectorization 50 output_sequence_length=4 -> embedding 50 2 -> flatten
v = t -> stringlookup vocabulary=("p", "q") -> reshape 1
u = k -> integerlookup
output o = concat(x, y, w, v, u) -> dense 1
""", registry=registry)
    assert adapt_plan(model) == {"normalization": ("a",), "x": ("a",), "text_vectorization": ("t",), "u": ("k",)}


def test_adapting_strings_and_layers_deep_in_the_model(registry):
    from nndsl.backends.keras_helpers import adapt_preprocessing

    spec = """\
input t dtype=string
input c 1 dtype=string
input p 1
w = t -> textvectorization 20 output_sequence_length=3
k = c -> stringlookup
q = p -> dense 2 -> normalization
output o = concat(w, k, q) -> dense 1
"""
    model_ir = nndsl.check(spec, registry=registry)
    model = nndsl.build(model_ir, registry=registry)
    x = {"t": np.array(["the cat", "a dog", "the dog ran"]), "c": np.array([["red"], ["blue"], ["red"]]),
         "p": np.array([[1.0], [2.0], [4.0]], dtype=np.float32)}
    lines = adapt_preprocessing(model, x, adapt_plan(model_ir))
    assert lines == ["w (TextVectorization): a vocabulary of 7 entries",
                     "k (StringLookup): a vocabulary of 3 entries",
                     "q (Normalization): mean and variance of 2 value(s)"]
    hidden = np.asarray(model.get_layer("dense")(x["p"]))
    np.testing.assert_allclose(np.asarray(model.get_layer("q").mean).reshape(-1), hidden.mean(axis=0),
                               rtol=1e-5)


def test_augmentation_is_active_in_training_only(registry):
    model = nndsl.build("input 8 8 1\nrandomflip seed=1\nrandomrotation 0.3 seed=2\nrandomcontrast 0.5 seed=3\n"
                        "randomzoom 0.3 seed=4\nrandomcrop 6 6 seed=5", registry=registry)
    x = np.random.default_rng(0).random((4, 8, 8, 1)).astype(np.float32)
    inference = np.asarray(model(x, training=False))
    centre = np.asarray(nndsl.build("input 8 8 1\nresizing 6 6 crop_to_aspect_ratio=true", registry=registry)(x))
    np.testing.assert_allclose(inference, centre, rtol=1e-6)  # passed through, then randomcrop's centre window
    assert not np.allclose(np.asarray(model(x, training=True)), inference)


def test_randomcrop_takes_the_centre_window_outside_training(registry, tmp_path):
    """Keras 3.15's RandomCrop returns inference inputs uncropped (keras-team/keras#21868): the
    dense layer after it then fails in predict. nndsl's lowering crops the centre, and reloads."""
    from nndsl.run.keras_trainer import load_keras_model

    model = nndsl.build("input 8 8 1\nrandomcrop 6 6\nflatten\ndense 2", registry=registry)
    x = np.random.default_rng(0).random((4, 8, 8, 1)).astype(np.float32)
    centre = np.asarray(nndsl.build("input 8 8 1\nresizing 6 6 crop_to_aspect_ratio=true", registry=registry)(x))
    np.testing.assert_allclose(np.asarray(model.get_layer("random_crop")(x, training=False)), centre, rtol=1e-6)
    wide = np.asarray(nndsl.build("input 8 8 1\nrandomcrop 4 8", registry=registry)(x, training=False))
    np.testing.assert_allclose(wide, x[:, 2:6, :, :], rtol=1e-6)  # an exact centre window, no resizing
    assert model.predict(x, verbose=0).shape == (4, 2)
    model.save(tmp_path / "m.keras")
    np.testing.assert_allclose(load_keras_model(str(tmp_path / "m.keras")).predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)


def test_a_text_model_adapts_on_a_folder_and_predicts_from_a_string_array(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NNDSL_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    texts = {"neg": ["dull and slow", "a waste of time", "boring plot"], "pos": ["great fun", "a joy", "loved it"]}
    for label, lines in texts.items():
        (tmp_path / "reviews" / label).mkdir(parents=True)
        for i in range(8):
            (tmp_path / "reviews" / label / f"{i}.txt").write_text(lines[i % 3], encoding="utf-8")
    (tmp_path / "t.nn").write_text('input review dtype=string\ntextvectorization 30 output_sequence_length=4\n'
                                   'embedding 30 4\nglobalavgpool1d\ndense 2 softmax\nadam 0.05\n'
                                   'loss sparse_categorical_crossentropy\nfit epochs=2 test_split=0.25\n'
                                   'data "reviews/"\n')
    assert main(["run", "t.nn", "--out", "r"]) == 0
    assert "text_vectorization (TextVectorization): a vocabulary of" in capsys.readouterr().out
    np.save(tmp_path / "in.npy", np.array(["great fun", "boring plot", "never seen words"]))
    assert main(["predict", "r", "in.npy", "--classes"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3
    np.save(tmp_path / "bad.npy", np.zeros((2,)))
    assert main(["predict", "r", "bad.npy"]) == 2
    assert "takes strings" in capsys.readouterr().err


@pytest.mark.slow
def test_a_mixed_table_trains_through_adapted_lookups_and_normalization(tmp_path, monkeypatch, capsys):
    """A CSV with numeric and word columns: each column feeds its input by name, each
    preprocessing layer is adapted on the training rows, and the model learns the rule."""
    monkeypatch.setenv("NNDSL_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    rows = ["age,colour,price,label"]
    for _ in range(300):
        colour, age, price = rng.choice(["red", "green", "blue"]), rng.integers(18, 80), rng.normal(1000, 300)
        rows.append(f"{age},{colour},{price:.2f},{int((colour == 'red') ^ (price > 1000))}")
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "t.nn").write_text("""\
input age 1
input colour 1 dtype=string
input price 1
a = age -> normalization
c = colour -> stringlookup output_mode=one_hot max_tokens=5 pad_to_max_tokens=true
p = price -> normalization
output label = concat(a, c, p) -> dense 16 relu -> dense 2 softmax
adam 0.01
loss sparse_categorical_crossentropy
metrics accuracy
fit epochs=15 validation_split=0.2
data "t.csv" label=label
""")
    assert main(["run", "t.nn", "--out", "r", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "preprocessing: adapted 3 layers on the training split only (216 samples" in out
    assert "  - c (StringLookup): a vocabulary of 4 entries" in out  # red, green, blue and [UNK]
    assert "W010" not in out
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["test"]["accuracy"] >= 0.8

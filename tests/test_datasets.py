"""The data layer of ``nndsl run``: loading files and data sets, preparing them for a model."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from nndsl import ir
from nndsl.check import check
from nndsl.datasets import DataError, RawData, load, load_file
from nndsl.prepare import Prepared, prepare
from nndsl.hookspecs import hookimpl
from nndsl.plugins import build_registry, get_plugin_manager
from nndsl.registry import DatasetDef, ParamCount

MLP = "input 784\ndense 32 relu\ndense 10 softmax\nrmsprop 0.001\nloss {loss}\n"


def spec(registry, text: str) -> ir.Model:
    return check(text, registry=registry)


def ref(source: str, **options) -> ir.DataRef:
    kind = "path" if "." in source else "dataset"
    return ir.DataRef(kind, source, tuple(options.items()))


def digits(n: int = 200, seed: int = 1, shape=(28, 28)):
    """Fake digits whose pixels encode their label, so alignment of x and y can be checked."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, size=n).astype(np.uint8)
    x = np.zeros((n, *shape), np.uint8)
    x.reshape(n, -1)[:, 0] = y * 20
    return x, y


def run_prepare(registry, text, raw, **kw) -> Prepared:
    return prepare(raw, spec(registry, text), registry, **kw)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("NNDSL_OFFLINE", "1")


# Good paths -------------------------------------------------------------------------------


def test_npz_x_y_is_reshaped_scaled_one_hot_and_split(tmp_path, registry):
    x, y = digits(200)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    raw = load(ref("d.npz"), registry, base_dir=str(tmp_path))
    assert raw.x_test is None and "200 samples" in raw.source
    p = run_prepare(registry, MLP.format(loss="mse"), raw, seed=0, validation_split=0.1, test_split=0.1)
    assert p.x_train.shape == (162, 784) and p.x_train.dtype == np.float32
    assert p.x_val.shape == (18, 784) and p.x_test.shape == (20, 784)
    assert p.y_train.shape == (162, 10) and p.y_train.dtype == np.float32
    assert set(np.unique(p.y_train)) == {0.0, 1.0} and np.all(p.y_train.sum(axis=1) == 1)
    assert 0.0 <= p.x_train.min() and p.x_train.max() <= 1.0
    for xs, ys in ((p.x_train, p.y_train), (p.x_val, p.y_val), (p.x_test, p.y_test)):
        np.testing.assert_allclose(xs[:, 0], ys.argmax(axis=1) * 20 / 255, rtol=1e-6)  # rows stay aligned
    assert p.x_train.flags.c_contiguous
    assert p.notes == (
        "reshaped (28, 28) -> (784,)",
        "scaled uint8 pixels to [0, 1] (float32)",
        "one-hot encoded labels (10 classes) for loss mse",
        "shuffled 200 samples with seed 0",
        "held out 10% (20 samples) as test set",
        "held out 10% (18 samples) for validation",
        "train 162 / validation 18 / test 20 samples",
    )


def test_keras_mnist_npz_layout_loads_as_is_and_keeps_its_test_split(tmp_path, registry):
    x, y = digits(120)
    xt, yt = digits(30, seed=2)
    np.savez_compressed(tmp_path / "mnist.npz", x_train=x, y_train=y, x_test=xt, y_test=yt)
    raw = load(ref("mnist.npz"), registry, base_dir=str(tmp_path))
    p = run_prepare(registry, MLP.format(loss="sparse_categorical_crossentropy"), raw)
    assert p.x_train.shape == (120, 784) and p.x_val is None
    np.testing.assert_array_equal(p.y_test, yt)  # the data's own test set, in its own order
    assert p.y_test.dtype == np.int32 and p.y_train.shape == (120,)
    assert "test set: the data's own (30 samples)" in p.notes
    assert "labels as integer class ids (10 classes) for loss sparse_categorical_crossentropy" in p.notes


def test_channel_axis_is_added_for_conv_inputs(tmp_path, registry):
    x, y = digits(50)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    raw = load(ref("d.npz"), registry, base_dir=str(tmp_path))
    p = run_prepare(registry, "input 28 28 1\nflatten\ndense 10 softmax\nloss cce", raw, test_split=0.2)
    assert p.x_train.shape == (40, 28, 28, 1)
    assert "reshaped (28, 28) -> (28, 28, 1) (added a channel axis)" in p.notes


def test_float32_test_split_is_not_copied(registry):
    rng = np.random.default_rng(0)
    x, xt = rng.random((40, 4), dtype=np.float32), rng.random((10, 4), dtype=np.float32)
    raw = RawData(x, rng.random(40).astype(np.float32), xt, rng.random(10).astype(np.float32), "mem")
    p = prepare(raw, spec(registry, "input 4\ndense 1\nloss mse"), registry)
    assert np.shares_memory(p.x_test, xt)
    assert not any("converted" in n for n in p.notes)


def test_multi_output_npz_maps_arrays_by_output_name(tmp_path, registry):
    rng = np.random.default_rng(0)
    x = rng.random((60, 4)).astype(np.float64)
    np.savez(tmp_path / "m.npz", x=x, y_cls=rng.integers(0, 3, 60), y_reg=rng.random(60))
    model = spec(registry, "input a 4\nh = dense 8\noutput cls = h -> dense 3 softmax\n"
                           "output reg = h -> dense 1\nloss cls=sparse_categorical_crossentropy reg=mse")
    p = prepare(load(ref("m.npz"), registry, base_dir=str(tmp_path)), model, registry, test_split=0.25)
    assert isinstance(p.y_train, dict) and set(p.y_train) == {"cls", "reg"}
    assert p.y_train["cls"].shape == (45,) and p.y_train["cls"].dtype == np.int32
    assert p.y_train["reg"].shape == (45, 1) and p.y_train["reg"].dtype == np.float32
    assert p.x_train.dtype == np.float32 and "converted float64 to float32" in p.notes
    assert "output 'cls': labels as integer class ids (3 classes) for loss sparse_categorical_crossentropy" in p.notes


def _two_input_model(losses=(("", "categorical_crossentropy"),)) -> ir.Model:
    """a (4,) and b (3,) -> concatenate -> dense 2; built as IR so it needs no merge layer plugin."""
    return ir.Model(
        "two", (ir.Input("a", (4,), "float32"), ir.Input("b", (3,), "int32")),
        (ir.Node("cat", "concatenate", (), (), ("a", "b"), (7,), ParamCount()),
         ir.Node("out", "dense", (), (), ("cat",), (2,), ParamCount(16))),
        ("out",), ir.Training(losses=losses))


def test_multi_input_npz_maps_arrays_by_input_name(tmp_path, registry):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "m.npz", x_train_a=rng.random((30, 4)), x_train_b=rng.integers(0, 9, (30, 3)).astype(float),
             y_train=rng.integers(0, 2, 30), x_test_a=rng.random((5, 4)), x_test_b=np.ones((5, 3)),
             y_test=np.zeros(5, int))
    p = prepare(load(ref("m.npz"), registry, base_dir=str(tmp_path)), _two_input_model(), registry)
    assert set(p.x_train) == {"a", "b"} and p.x_train["b"].dtype == np.int32
    assert p.x_test["a"].shape == (5, 4) and p.y_train.shape == (30, 2)
    assert "input 'b': converted float64 to int32" in p.notes


def test_multi_input_names_must_match(tmp_path, registry):
    np.savez(tmp_path / "m.npz", x_a=np.zeros((5, 4)), x_c=np.zeros((5, 3)), y=np.zeros(5, int))
    with pytest.raises(DataError, match=r"inputs are a, b but the data's x arrays are x_a, x_c"):
        prepare(load(ref("m.npz"), registry, base_dir=str(tmp_path)), _two_input_model(), registry)
    np.savez(tmp_path / "one.npz", x=np.zeros((5, 4)), y=np.zeros(5, int))
    with pytest.raises(DataError, match=r"has 2 inputs \(a, b\) but the data has one 'x' array"):
        prepare(load(ref("one.npz"), registry, base_dir=str(tmp_path)), _two_input_model(), registry)


def test_csv_label_defaults_to_last_column(tmp_path, registry):
    (tmp_path / "d.csv").write_text("f1,f2,f3,label\n0.5,1,2,1\n1,2,3,0\n\n4,5,6,2\n")
    raw = load(ref("d.csv"), registry, base_dir=str(tmp_path))
    np.testing.assert_array_equal(raw.y_train, [1, 0, 2])
    assert raw.x_train.shape == (3, 3) and raw.x_train.dtype == np.float32
    assert "label column 'label'" in raw.source
    p = run_prepare(registry, "input 3\ndense 3 softmax\nloss cce", raw, test_split=0)
    assert p.y_train.shape == (3, 3) and p.x_test is None


def test_csv_label_option_picks_a_column(tmp_path, registry):
    (tmp_path / "d.csv").write_text('price,rooms,"area"\n100.5,3,70\n80.25,2,50\n')
    raw = load(ref("d.csv", label="price"), registry, base_dir=str(tmp_path))
    np.testing.assert_allclose(raw.y_train, [100.5, 80.25])
    np.testing.assert_array_equal(raw.x_train, [[3, 70], [2, 50]])
    p = run_prepare(registry, "input 2\ndense 1\nloss mse", raw, test_split=0)
    assert p.y_train.shape == (2, 1) and p.y_train.dtype == np.float32


def test_label_option_is_checked_against_the_spec(tmp_path, registry):
    model = spec(registry, 'input 2\ndense 1\nloss mse\ndata "d.csv" label=price')
    assert model.training.data.options == (("label", "price"),)
    (tmp_path / "d.csv").write_text("price,rooms,area\n1,2,3\n")
    assert load(model.training.data, registry, base_dir=str(tmp_path)).y_train.tolist() == [1]


def test_npy_pair_and_test_split_files(tmp_path, registry):
    x, y = digits(40)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    raw = load(ref("x.npy"), registry, base_dir=str(tmp_path))
    np.testing.assert_array_equal(raw.y_train, y)
    sub = tmp_path / "sub"
    sub.mkdir()
    for name, arr in (("x_train", x), ("y_train", y), ("x_test", x[:7]), ("y_test", y[:7])):
        np.save(sub / f"{name}.npy", arr)
    raw = load(ref("sub/x_train.npy"), registry, base_dir=str(tmp_path))
    assert len(raw.x_test) == 7 and "+ 7 test" in raw.source
    np.save(sub / "digits_x.npy", x)
    np.save(sub / "digits_y.npy", y)
    assert len(load(ref("sub/digits_x.npy"), registry, base_dir=str(tmp_path)).y_train) == 40


def test_labels_follow_the_loss(registry):
    rng = np.random.default_rng(0)
    x = rng.random((20, 4), dtype=np.float32)
    ids = np.arange(20) % 3
    raw = RawData(x, ids, None, None, "mem")
    base = "input 4\ndense 3 softmax\nloss {}"
    one_hot = run_prepare(registry, base.format("categorical_crossentropy"), raw, test_split=0)
    assert one_hot.y_train.shape == (20, 3) and one_hot.y_train.dtype == np.float32
    sparse = run_prepare(registry, base.format("scce"), raw, test_split=0)
    assert sparse.y_train.shape == (20,) and sparse.y_train.dtype == np.int32
    np.testing.assert_array_equal(one_hot.y_train.argmax(1), sparse.y_train)
    # one-hot labels given to a sparse loss become ids
    from_onehot = run_prepare(registry, base.format("scce"), RawData(x, np.eye(3)[ids], None, None, "m"), test_split=0)
    np.testing.assert_array_equal(from_onehot.y_train, sparse.y_train)
    assert "converted one-hot labels to class ids for loss sparse_categorical_crossentropy" in from_onehot.notes
    # already one-hot labels for mse are used as given
    given = run_prepare(registry, base.format("mse"), RawData(x, np.eye(3)[ids], None, None, "m"), test_split=0)
    np.testing.assert_array_equal(given.y_train.argmax(1), sparse.y_train)
    binary = run_prepare(registry, "input 4\ndense 1 sigmoid\nloss binary_crossentropy",
                         RawData(x, (ids > 0).astype(np.uint8), None, None, "m"), test_split=0)
    assert binary.y_train.shape == (20, 1) and binary.y_train.dtype == np.float32
    assert "binary labels as float32 for loss binary_crossentropy" in binary.notes
    regression = run_prepare(registry, "input 4\ndense 1\nloss mse", RawData(x, ids, None, None, "m"), test_split=0)
    assert regression.y_train.shape == (20, 1)  # one unit: the ids are values, not classes


def test_shuffle_is_seeded(registry):
    x, y = digits(100)
    raw = RawData(x, y, None, None, "mem")
    text = MLP.format(loss="scce")
    a, b = run_prepare(registry, text, raw, seed=3), run_prepare(registry, text, raw, seed=3)
    c = run_prepare(registry, text, raw, seed=4)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.y_train, c.y_train)
    assert not np.array_equal(a.y_train, y[: len(a.y_train)])


def test_mnist_offline_uses_the_bundled_subset_shuffled_and_balanced(registry):
    model = spec(registry, open(os.path.join(os.path.dirname(__file__), "..", "spec", "examples", "mnist_mlp.nn")).read())
    raw = load(model.training.data, registry)
    assert raw.source.startswith("bundled MNIST subset (5,000 digits, offline fallback")
    assert raw.x_train.shape == (5000, 28, 28) and raw.x_train.dtype == np.uint8
    assert np.all(np.diff(raw.y_train.astype(int)) >= 0)  # sorted by class: the reason to shuffle
    p = prepare(raw, model, registry, seed=0, validation_split=0.1, test_split=0.1)
    assert (p.x_train.shape, p.x_val.shape, p.x_test.shape) == ((4050, 784), (450, 784), (500, 784))
    for ys, n in ((p.y_train, 4050), (p.y_val, 450), (p.y_test, 500)):
        counts = np.bincount(ys.argmax(axis=1), minlength=10)
        assert counts.sum() == n and counts.min() >= 0.6 * n / 10 and counts.max() <= 1.4 * n / 10
    # no digit is in two splits
    keys = [set(map(bytes, (xs * 255).round().astype(np.uint8))) for xs in (p.x_train, p.x_val, p.x_test)]
    assert not (keys[0] & keys[2]) and not (keys[1] & keys[2]) and not (keys[0] & keys[1])


def test_a_plugin_can_add_a_data_set(registry):
    class Plugin:
        @hookimpl
        def nndsl_datasets(self):
            return [DatasetDef("toy", lambda: RawData(np.ones((4, 2)), np.zeros(4), None, None, "toy data")),
                    DatasetDef("broken", lambda: 1 / 0), DatasetDef("wrong", lambda: (1, 2))]

    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(Plugin(), "toyplugin")
    reg = build_registry(pm)
    assert reg.owner("datasets", "toy") == "toyplugin"
    assert load(ref("toy"), reg).source == "toy data"
    with pytest.raises(DataError, match="data set 'broken' failed to load: ZeroDivisionError"):
        load(ref("broken"), reg)
    with pytest.raises(DataError, match="returned tuple; expected nndsl.datasets.RawData"):
        load(ref("wrong"), reg)


def test_unknown_data_set_is_a_spec_error(registry):
    from nndsl.diagnostics import SpecError

    with pytest.raises(SpecError) as info:
        spec(registry, "input 4\ndense 1\ndata mnsit")
    assert "did you mean 'mnist'" in info.value.render()


def test_data_layer_never_imports_keras():
    code = ("import sys, nndsl.datasets, nndsl.builtins.datasets\n"
            "assert not {'keras', 'tensorflow'} & set(sys.modules), 'imported keras'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_data_error_exit_code_and_hint():
    err = DataError("what went wrong", "how to fix it")
    assert err.exit_code == 3 and str(err) == "what went wrong\n  = hint: how to fix it"


# Bad data ---------------------------------------------------------------------------------


def _bad(registry, tmp_path, source, pattern, text=MLP.format(loss="mse"), **options):
    with pytest.raises(DataError, match=pattern):
        raw = load(ref(source, **options), registry, base_dir=str(tmp_path))
        prepare(raw, spec(registry, text), registry)


def test_missing_file_directory_and_unknown_type(tmp_path, registry):
    _bad(registry, tmp_path, "nope.npz", r"data file 'nope.npz' not found")
    (tmp_path / "dir.npz").mkdir()
    _bad(registry, tmp_path, "dir.npz", r"is a directory")
    (tmp_path / "d.txt").write_text("1")
    _bad(registry, tmp_path, "d.txt", r"unsupported data file type '.txt'.*expected .npz, .npy or .csv")


@pytest.mark.parametrize("arrays, pattern", [
    ({"images": np.zeros((3, 784)), "labels": np.zeros(3)}, r"fit no layout: images, labels"),
    ({"x": np.zeros((3, 784))}, r"has no 'y' array \(found: x\)"),
    ({"x": np.zeros((3, 784)), "y": np.zeros(3), "x_train": np.zeros((3, 784))}, r"mixes unsplit arrays"),
    ({"x_train": np.zeros((3, 784)), "y_train": np.zeros(3), "x_test": np.zeros((1, 784))},
     r"test split without 'y_test'"),
    ({"x": np.zeros((3, 784)), "x_a": np.zeros((3, 784)), "y": np.zeros(3)}, r"has both 'x' and per-name arrays"),
    ({"x_dense": np.zeros((3, 784)), "y": np.zeros(3, int)}, r"inputs are input_layer but the data's x arrays are x_dense"),
    ({"x": np.zeros((3, 27, 27), np.uint8), "y": np.zeros(3, int)},
     r"input 'input_layer' takes samples of shape \(784,\) but the data's samples are \(27, 27\) \(729 values"),
    ({"x": np.zeros((3, 784)), "y": np.array([0, 10, 3])}, r"labels .* range from 0 to 10, but the output has 10 classes"),
    ({"x": np.zeros((3, 784)), "y": np.array([0.5, 1, 2])}, r"fractional values, but loss mse wants class ids"),
    ({"x": np.full((3, 784), np.nan), "y": np.zeros(3, int)}, r"input 'input_layer' contains NaN \(first in sample 0\)"),
    ({"x": np.zeros((3, 784)), "y": np.zeros((3, 4))}, r"output 'dense_1' has shape \(10,\) but the labels have samples of shape \(4,\)"),
    ({"x": np.zeros((0, 784)), "y": np.zeros(0)}, r"the data is empty"),
    ({"x": np.zeros((3, 784)), "y": np.zeros(4, int)}, r"samples: x has 3, y has 4"),
    ({"x": np.array([["a"] * 784] * 3), "y": np.zeros(3, int)}, r"x has dtype <U1; expected numbers"),
    ({}, r"holds no arrays"),
])
def test_bad_npz(tmp_path, registry, arrays, pattern):
    np.savez(tmp_path / "d.npz", **arrays)
    _bad(registry, tmp_path, "d.npz", pattern)


def test_bad_labels_for_sparse_and_binary(registry):
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(DataError, match=r"range from -1 to 1, but the output has 3 classes"):
        prepare(RawData(x, np.array([-1, 0, 1]), None, None, "m"),
                spec(registry, "input 4\ndense 3 softmax\nloss scce"), registry)
    with pytest.raises(DataError, match=r"range from 0 to 2, but loss binary_crossentropy wants binary labels"):
        prepare(RawData(x, np.array([0, 1, 2]), None, None, "m"),
                spec(registry, "input 4\ndense 1 sigmoid\nloss bce"), registry)
    with pytest.raises(DataError, match=r"contains an infinite value \(first in sample 2\)"):
        prepare(RawData(x, np.array([0, 1, np.inf]), None, None, "m"), spec(registry, "input 4\ndense 1\nloss mse"),
                registry)
    with pytest.raises(DataError, match=r"no training samples left"):
        prepare(RawData(x[:1], np.zeros(1), None, None, "m"), spec(registry, "input 4\ndense 1\nloss mse"), registry)


class _Boom:
    """Unpickling this creates a file: proof that a pickle was (or was not) loaded."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_inside_npz_is_never_loaded(tmp_path, registry):
    marker = str(tmp_path / "pwned")
    np.savez(tmp_path / "d.npz", x=np.array([_Boom(marker)] * 3, dtype=object), y=np.zeros(3))
    _bad(registry, tmp_path, "d.npz", r"array 'x' holds Python objects \(a pickle\); nndsl never loads")
    (tmp_path / "p.npz").write_bytes(pickle.dumps({"x": _Boom(marker)}))
    _bad(registry, tmp_path, "p.npz", r"not an .npz archive: it looks like a Python pickle")
    np.save(tmp_path / "x.npy", np.array([_Boom(marker)], dtype=object), allow_pickle=True)
    np.save(tmp_path / "y.npy", np.zeros(1))
    _bad(registry, tmp_path, "x.npy", r"holds Python objects \(a pickle\)")
    assert not os.path.exists(marker)


def test_truncated_or_corrupt_files(tmp_path, registry):
    x, y = digits(300)
    np.savez_compressed(tmp_path / "good.npz", x=x, y=y)
    data = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    _bad(registry, tmp_path, "cut.npz", r"'cut.npz' is truncated or corrupt")
    flipped = bytearray(data)
    flipped[len(data) // 3: len(data) // 3 + 64] = b"\0" * 64
    (tmp_path / "flip.npz").write_bytes(bytes(flipped))
    _bad(registry, tmp_path, "flip.npz", r"truncated or corrupt")
    (tmp_path / "junk.npz").write_bytes(b"hello, world")
    _bad(registry, tmp_path, "junk.npz", r"not an .npz archive: it does not start with a NumPy or zip signature")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    raw = (tmp_path / "x.npy").read_bytes()
    (tmp_path / "x.npy").write_bytes(raw[: len(raw) // 2])
    _bad(registry, tmp_path, "x.npy", r"'x.npy' is truncated or corrupt")
    np.save(tmp_path / "single.npz", x)  # np.save appends .npy: write the bytes under an .npz name
    os.replace(tmp_path / "single.npz.npy", tmp_path / "single.npz")
    _bad(registry, tmp_path, "single.npz", r"is a single .npy array, not an .npz archive")


def test_npy_pair_conventions(tmp_path, registry):
    np.save(tmp_path / "images.npy", np.zeros((3, 784)))
    _bad(registry, tmp_path, "images.npy", r"cannot tell where the labels of 'images.npy' are")
    np.save(tmp_path / "x.npy", np.zeros((3, 784)))
    _bad(registry, tmp_path, "x.npy", r"labels file 'y.npy' not found beside 'x.npy'")


@pytest.mark.parametrize("text, pattern", [
    ("a,b,label\n1,2,0\n3,4\n", r"line 3 has 2 fields; the header has 3 \(a, b, label\)"),
    ("a,b,label\n1,2,0\n3,four,1\n", r"line 3, column 'b': 'four' is not a number"),
    ("1,2,0\n3,4,1\n", r"has no header row: its first row is numbers \(1, 2, 0\)"),
    ("a,b,label\n", r"has a header but no rows of data"),
    ("", r"is empty"),
    ("a,b,label\n1,2,nan\n", r"contains NaN"),
    ("a,b,label\n1,2,0\n", None),
])
def test_bad_csv(tmp_path, registry, text, pattern):
    (tmp_path / "d.csv").write_text(text)
    model = "input 2\ndense 2 softmax\nloss cce"
    if pattern is None:  # the good twin of the cases above
        assert load(ref("d.csv"), registry, base_dir=str(tmp_path)).x_train.shape == (1, 2)
        return
    _bad(registry, tmp_path, "d.csv", pattern, text=model)


def test_csv_label_column_must_exist_and_label_is_csv_only(tmp_path, registry):
    (tmp_path / "d.csv").write_text("a,b,c\n1,2,3\n")
    _bad(registry, tmp_path, "d.csv", r"has no column 'price' \(columns: a, b, c\)", label="price")
    np.savez(tmp_path / "d.npz", x=np.zeros((2, 784)), y=np.zeros(2))
    _bad(registry, tmp_path, "d.npz", r"label=price applies to CSV files", label="price")
    _bad(registry, tmp_path, "mnist", r"label=price applies to CSV files, not to data set 'mnist'", label="price")


# The real loader ----------------------------------------------------------------------------


@pytest.mark.keras
def test_real_keras_loader_path_falls_back_fast_or_loads_full_mnist(tmp_path):
    """Keras' own loader with a corrupt cache file: it re-downloads, or (offline) we fall back."""
    cache = tmp_path / "datasets"
    cache.mkdir()
    (cache / "mnist.npz").write_bytes(b"not mnist")
    env = {k: v for k, v in os.environ.items() if k != "NNDSL_OFFLINE"}
    env.update(KERAS_HOME=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="3")
    code = ("from nndsl.builtins.datasets import load_mnist\n"
            "r = load_mnist()\n"
            "print('SOURCE', r.source)\n"
            "print('SHAPE', r.x_train.shape, None if r.x_test is None else r.x_test.shape)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=240,
                         check=True).stdout
    source = next(line for line in out.splitlines() if line.startswith("SOURCE"))
    shape = next(line for line in out.splitlines() if line.startswith("SHAPE"))
    if "bundled" in source:
        assert "Keras' loader failed" in source and shape == "SHAPE (5000, 28, 28) None"
    else:
        assert source == "SOURCE MNIST (downloaded by Keras, 60,000 + 10,000)" and shape == "SHAPE (60000, 28, 28) (10000, 28, 28)"

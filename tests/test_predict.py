"""`nndsl predict` on multi-input, multi-output runs (issue 15.3), and Keras' safe mode (15.5)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nndsl.cli import main

pytestmark = pytest.mark.keras

TWO_BY_TWO = """\
input tokens 6 dtype=int32
input extra 3
t = tokens -> embedding 20 4 -> flatten
h = concat(t, extra) -> dense 8 relu
output kind = h -> dense 4 softmax
output flag = h -> dense 1 sigmoid
adam 0.01
loss kind=sparse_categorical_crossentropy flag=binary_crossentropy
fit epochs=1 batch_size=16
data "d.npz"
"""


def _inputs(n, seed=0):
    rng = np.random.default_rng(seed)
    return {"tokens": rng.integers(0, 20, size=(n, 6)).astype("int32"),
            "extra": rng.normal(size=(n, 3)).astype("float32")}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("two")
    x = _inputs(80)
    rng = np.random.default_rng(1)
    np.savez(folder / "d.npz", x_tokens=x["tokens"], x_extra=x["extra"],
             y_kind=rng.integers(0, 4, 80), y_flag=rng.integers(0, 2, 80))
    (folder / "m.nn").write_text(TWO_BY_TWO)
    assert main(["run", str(folder / "m.nn"), "--out", str(folder / "run"), "--quiet", "--seed", "1"]) == 0
    return folder


def predict(*args) -> int:
    return main(["predict", *map(str, args)])


def test_npz_by_input_name_gives_one_array_per_output_name(trained, tmp_path, capsys):
    import keras

    np.savez(tmp_path / "in.npz", **_inputs(5, seed=2))
    assert predict(trained / "run", tmp_path / "in.npz", "-o", tmp_path / "out.npz") == 0
    assert "to " + str(tmp_path / "out.npz") in capsys.readouterr().err
    with np.load(tmp_path / "out.npz", allow_pickle=False) as got:
        assert sorted(got.files) == ["flag", "kind"]
        kind, flag = got["kind"], got["flag"]
    assert kind.shape == (5, 4) and flag.shape == (5, 1)
    # the same numbers plain Keras gives for the same inputs
    model = keras.models.load_model(trained / "run" / "model.keras")
    want = model.predict(_inputs(5, seed=2), verbose=0)
    np.testing.assert_allclose(kind, want["kind"], rtol=1e-5)
    np.testing.assert_allclose(flag, want["flag"], rtol=1e-5)


def test_classes_writes_argmax_ids(trained, tmp_path, capsys):
    np.savez(tmp_path / "in.npz", **_inputs(5, seed=2))
    predict(trained / "run", tmp_path / "in.npz", "-o", tmp_path / "p.npz")
    assert predict(trained / "run", tmp_path / "in.npz", "--classes", "-o", tmp_path / "c.npz") == 0
    with np.load(tmp_path / "p.npz") as p, np.load(tmp_path / "c.npz") as c:
        np.testing.assert_array_equal(c["kind"], np.argmax(p["kind"], axis=-1))
        np.testing.assert_array_equal(c["flag"], (p["flag"][:, 0] > 0.5).astype(np.int64))
    capsys.readouterr()
    assert predict(trained / "run", tmp_path / "in.npz", "--classes", "--json") == 0
    printed = json.loads(capsys.readouterr().out)
    assert sorted(printed["predictions"]) == ["flag", "kind"] and len(printed["predictions"]["kind"]) == 5


def test_top_k_ids_and_their_probabilities(trained, tmp_path, capsys):
    np.savez(tmp_path / "in.npz", **_inputs(5, seed=2))
    predict(trained / "run", tmp_path / "in.npz", "-o", tmp_path / "p.npz")
    assert predict(trained / "run", tmp_path / "in.npz", "--top", "2", "-o", tmp_path / "t.npz") == 0
    with np.load(tmp_path / "p.npz") as p, np.load(tmp_path / "t.npz") as t:
        ids, probabilities = t["kind"], t["kind_probabilities"]
        assert ids.shape == (5, 2)
        np.testing.assert_array_equal(ids[:, 0], np.argmax(p["kind"], axis=-1))
        np.testing.assert_allclose(probabilities, np.take_along_axis(p["kind"], ids, axis=-1))
        assert np.all(probabilities[:, 0] >= probabilities[:, 1])
        # a single sigmoid unit is two classes: 1 with probability p, 0 with 1 - p
        flag = p["flag"][:, 0]
        np.testing.assert_array_equal(t["flag"][:, 0], (flag > 0.5).astype(np.int64))
        np.testing.assert_allclose(t["flag_probabilities"][:, 0], np.maximum(flag, 1 - flag), rtol=1e-6)
    assert predict(trained / "run", tmp_path / "in.npz", "--top", "9", "-o", tmp_path / "t9.npz") == 0
    with np.load(tmp_path / "t9.npz") as t:
        assert t["kind"].shape == (5, 4) and t["flag"].shape == (5, 2)  # K beyond the classes: all of them
    capsys.readouterr()
    assert predict(trained / "run", tmp_path / "in.npz", "--top", "2") == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("0\tkind: classes ") and "\tflag: classes " in first


@pytest.mark.parametrize("arrays, message", [
    ({"tokens": np.zeros((3, 6), "int32")}, "missing: extra"),
    ({**_inputs(3), "other": np.zeros((3, 1))}, "not inputs: other"),
    ({"tokens": np.zeros((3, 7), "int32"), "extra": np.zeros((3, 3), "float32")},
     "input 'tokens': the model takes samples of shape (6,), but these are (7,)"),
    ({"tokens": np.full((3, 6), "a"), "extra": np.zeros((3, 3), "float32")}, "input 'tokens' has dtype <U1"),
    ({"tokens": np.full((3, 6), 1.5), "extra": np.zeros((3, 3), "float32")}, "fractional values"),
    ({"tokens": np.full((3, 6), 25, "int32"), "extra": np.zeros((3, 3), "float32")},
     "embedding 20 4 on line 3 takes ids 0..19; the input for input 'tokens' has ids up to 25"),
    ({"tokens": np.zeros((3, 6), "int32"), "extra": np.zeros((4, 3), "float32")}, "disagree on the number"),
])
def test_bad_inputs_are_clear_errors(trained, tmp_path, capsys, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    assert predict(trained / "run", tmp_path / "bad.npz", "-o", tmp_path / "out.npz") == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out.npz").exists()


def test_a_multi_input_model_refuses_one_npy_and_a_multi_output_one_an_npy_output(trained, tmp_path, capsys):
    np.save(tmp_path / "one.npy", np.zeros((3, 6), "int32"))
    assert predict(trained / "run", tmp_path / "one.npy") == 2
    assert "save them by name in an .npz" in capsys.readouterr().err
    np.savez(tmp_path / "in.npz", **_inputs(3))
    assert predict(trained / "run", tmp_path / "in.npz", "-o", tmp_path / "out.npy") == 2
    assert "write them to an .npz" in capsys.readouterr().err
    assert not (tmp_path / "out.npy").exists()


def test_top_must_be_positive(trained, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["predict", str(trained / "run"), str(tmp_path / "x.npz"), "--top", "0"])
    assert e.value.code == 2
    capsys.readouterr()


# Keras safe mode: a model file with a Lambda never runs its code ------------------------------

def _lambda_model(path, marker):
    import keras

    def touch(t, marker=str(marker)):
        open(marker, "w").close()
        return t

    inputs = keras.Input((8,), name="input_layer")
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Lambda(touch)(inputs)))
    model.save(path)
    marker.unlink()  # building it ran the Lambda once; from here on nothing may


def test_safe_mode_refuses_a_lambda_and_runs_nothing(tmp_path, capsys):
    from test_run import SPEC, write_data

    write_data(tmp_path / "d.npz")
    (tmp_path / "tiny.nn").write_text(SPEC.format(epochs=1, batch=16))
    out = tmp_path / "run"
    assert main(["run", str(tmp_path / "tiny.nn"), "--out", str(out), "--quiet"]) == 0
    marker = tmp_path / "LAMBDA_RAN"
    _lambda_model(out / "model.keras", marker)
    np.save(tmp_path / "in.npy", np.zeros((2, 8), "float32"))
    capsys.readouterr()
    for argv in (["evaluate", str(out)], ["predict", str(out), str(tmp_path / "in.npy")],
                 ["predict", str(out / "model.keras"), str(tmp_path / "in.npy")]):
        assert main(argv) == 4, argv
        err = capsys.readouterr().err
        assert "cannot load the model" in err and "safe_mode" in err, err
        assert not marker.exists(), f"{argv}: the Lambda ran"

"""``nndsl export``: every format written, loaded in its own runtime and compared with the run's model;
a tampered or unloadable artifact fails the check (exit 4) and leaves nothing on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nndsl.cli import main
from nndsl.run import export as export_mod
from nndsl.run.export import FORMATS, MissingExtra, export_run
from nndsl.run.verify import VerificationError

pytestmark = pytest.mark.keras

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "spec", "examples")

SPEC = """\
input 8
dense 16 relu
dense 3 softmax
adam 0.01
loss categorical_crossentropy
metrics accuracy
fit epochs=2 batch_size=16 validation_split=0.2
data "d.npz"
"""


def _train(spec_path, out, *extra, env=None):
    """Train in a child process (a Keras backend other than this process's needs its own)."""
    environ = {**os.environ, "NNDSL_OFFLINE": "1", **(env or {})}
    done = subprocess.run([sys.executable, "-m", "nndsl.cli", "run", str(spec_path), "--out", str(out),
                           "--seed", "1", "--quiet", *extra], env=environ, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("export")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5).astype("int64")
    np.savez(base / "d.npz", x=x, y=y)
    (base / "tiny.nn").write_text(SPEC)
    assert main(["run", str(base / "tiny.nn"), "--out", str(base / "run"), "--seed", "1", "--quiet"]) == 0
    return base / "run"


def _leftovers(directory):
    return [n for n in os.listdir(directory) if n.startswith(".tmp")] if os.path.isdir(directory) else []


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_each_format_is_written_and_verified_on_the_runs_test_rows(tiny_run, registry, tmp_path, fmt):
    out = tmp_path / ("savedmodel" if fmt == "savedmodel" else f"model.{fmt}")
    result = export_run(str(tiny_run), fmt, registry, out=str(out))
    assert out.exists()
    assert result.split == "test" and result.rows == 20  # the run held out 10% of 200 rows
    assert result.max_diff <= result.tolerance == pytest.approx(1e-4)
    assert _leftovers(tmp_path) == []


def test_the_onnx_file_serves_the_keras_models_predictions(tiny_run, registry, tmp_path):
    import onnxruntime as ort

    from nndsl.run.keras_trainer import load_keras_model

    out = tmp_path / "m.onnx"
    export_run(str(tiny_run), "onnx", registry, out=str(out))
    x = np.random.default_rng(3).normal(size=(7, 8)).astype("float32")
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    want = load_keras_model(str(tiny_run / "model.keras")).predict(x, verbose=0)
    np.testing.assert_allclose(got, want, atol=1e-5)


def _perturbed(keras_model):
    """The same architecture with one bias moved: what a broken converter would hand back."""
    import keras

    clone = keras.models.clone_model(keras_model)
    weights = [w.copy() for w in keras_model.get_weights()]
    weights[-1] = weights[-1] + np.linspace(-0.5, 0.5, weights[-1].size).reshape(weights[-1].shape)  # not a
    # constant: softmax ignores one added to every logit
    clone.set_weights(weights)
    clone.predict(np.zeros((1, 8), "float32"), verbose=0)  # exporters need a model that was called
    return clone


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_tampered_artifact_fails_verification_and_leaves_nothing(tiny_run, registry, tmp_path, monkeypatch,
                                                                   capsys, fmt):
    original = export_mod._write

    def tampered(fmt_, keras_model, model_path, staged, keras):
        if fmt_.keras_format is None:
            _perturbed(keras_model).save(staged)
        else:
            original(fmt_, _perturbed(keras_model), model_path, staged, keras)

    monkeypatch.setattr(export_mod, "_write", tampered)
    out = tmp_path / "out" / ("savedmodel" if fmt == "savedmodel" else f"model.{fmt}")
    assert main(["export", str(tiny_run), "--to", fmt, "--out", str(out)]) == 4
    err = capsys.readouterr().err
    assert "failed verification" in err and "tolerance 1.0e-04" in err and "Traceback" not in err
    assert not out.exists()
    assert _leftovers(tmp_path / "out") == []


@pytest.mark.parametrize("fmt", ["onnx", "tflite", "keras"])
def test_an_artifact_its_runtime_cannot_load_fails_verification(tiny_run, registry, tmp_path, monkeypatch, fmt):
    def garbage(fmt_, keras_model, model_path, staged, keras):
        with open(staged, "wb") as fh:
            fh.write(b"\x00not a model\x00" * 10)

    monkeypatch.setattr(export_mod, "_write", garbage)
    out = tmp_path / f"model.{fmt}"
    with pytest.raises(VerificationError, match="does not run in"):
        export_run(str(tiny_run), fmt, registry, out=str(out))
    assert not out.exists() and _leftovers(tmp_path) == []


def test_a_replaced_export_is_swapped_only_after_the_new_one_verified(tiny_run, registry, tmp_path, monkeypatch):
    out = tmp_path / "model.onnx"
    out.write_bytes(b"the previous export")
    with pytest.raises(Exception, match="already exists; pass --force"):
        export_run(str(tiny_run), "onnx", registry, out=str(out))
    monkeypatch.setattr(export_mod, "_write", lambda f, m, p, staged, k: open(staged, "wb").write(b"junk"))
    with pytest.raises(VerificationError):
        export_run(str(tiny_run), "onnx", registry, out=str(out), force=True)
    assert out.read_bytes() == b"the previous export"
    monkeypatch.undo()
    export_run(str(tiny_run), "onnx", registry, out=str(out), force=True)
    assert out.read_bytes() != b"the previous export"


def test_a_missing_extra_says_exactly_what_to_install(tiny_run, tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tf2onnx" else real(name, *a))
    assert main(["export", str(tiny_run), "--to", "onnx", "--out", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("nndsl: error: export --to onnx needs onnx, onnxruntime, tf2onnx; not installed: tf2onnx. "
                           "Install them with: pip install 'nndsl[onnx]'")
    assert not (tmp_path / "m.onnx").exists()


def test_default_out_is_inside_the_run_and_json_reports_the_check(tiny_run, capsys):
    assert main(["export", str(tiny_run), "--to", "keras", "--json", "--force"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["path"] == os.path.join(str(tiny_run), "export", "model.keras")
    assert report["runtime"].startswith("keras.saving.load_model") and report["max_abs_diff"] == 0.0


@pytest.mark.parametrize("args, message", [
    (["nowhere"], "nowhere: no such run directory"),
    (["{tmp}"], "is not an nndsl run directory (no run.json)"),
    (["{run}", "--out", "{tmp}/x.bin"], "an ONNX file must end in .onnx"),
    (["{run}", "--tolerance", "0"], "--tolerance must be positive"),
])
def test_bad_targets_and_options_are_usage_errors(tiny_run, tmp_path, capsys, args, message):
    argv = [a.format(tmp=tmp_path, run=tiny_run) for a in args]
    assert main(["export", argv[0], "--to", "onnx", *argv[1:]]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.slow
def test_the_multi_io_example_exports_and_its_lstm_tflite_is_refused_with_the_reason(registry, tmp_path):
    run = _train(os.path.join(EXAMPLES, "multi_io.nn"), tmp_path / "run", "--epochs", "1")
    for fmt in ("savedmodel", "onnx", "keras"):
        result = export_run(str(run), fmt, registry, out=str(tmp_path / f"m-{fmt}" / FORMATS[fmt].default_name))
        assert result.max_diff <= result.tolerance, fmt
    # Keras 3.15 lowers an LSTM to TensorFlow TensorList ops (Flex); no interpreter here runs them,
    # so the file would be dead on a phone: the check must say so instead of reporting success.
    with pytest.raises(VerificationError, match=r"Select TF ops \(Flex\).*FlexTensorList|FlexTensorList.*Flex"):
        export_run(str(run), "tflite", registry, out=str(tmp_path / "m.tflite"))
    assert not (tmp_path / "m.tflite").exists()


@pytest.mark.slow
def test_the_convnet_exports_to_every_format(registry, tmp_path):
    run = _train(os.path.join(EXAMPLES, "mnist_convnet.nn"), tmp_path / "run", "--epochs", "1")
    for fmt in sorted(FORMATS):
        result = export_run(str(run), fmt, registry, out=str(tmp_path / fmt / FORMATS[fmt].default_name))
        assert result.max_diff <= result.tolerance, fmt


@pytest.mark.slow
@pytest.mark.parametrize("keras_backend", ["jax", "torch"])
def test_a_run_trained_on_another_keras_backend_exports(tiny_run, tmp_path, keras_backend):
    pytest.importorskip(keras_backend)
    spec = tiny_run.parent / "tiny.nn"
    run = _train(spec, tmp_path / "run", env={"KERAS_BACKEND": keras_backend})
    assert json.loads((run / "run.json").read_text())["keras_backend"] == keras_backend
    done = subprocess.run([sys.executable, "-m", "nndsl.cli", "export", str(run), "--to", "onnx"],
                          env={**os.environ, "KERAS_BACKEND": keras_backend}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"KERAS_BACKEND selects {keras_backend} for training" in done.stderr
    assert "verified with onnxruntime" in done.stdout
    assert (run / "export" / "model.onnx").is_file()


def test_a_run_of_the_pytorch_plugin_backend_is_refused_with_the_reason(tmp_path, capsys):
    pytest.importorskip("nndsl_torch")
    run = tmp_path / "run"
    run.mkdir()
    (run / "spec.nn").write_text(SPEC)
    (run / "run.json").write_text(json.dumps({"backend": "torch", "model": "tiny"}))
    (run / "model.pt").write_bytes(b"")
    assert main(["export", str(run), "--to", "onnx"]) == 2
    err = capsys.readouterr().err
    assert "was trained by the torch backend (model.pt); nndsl export reads Keras runs (model.keras) only" in err


def test_without_tensorflow_a_graph_format_says_to_install_it(tiny_run, tmp_path, monkeypatch, capsys):
    import nndsl.kerasenv

    real = nndsl.kerasenv.installed
    monkeypatch.setattr(nndsl.kerasenv, "installed", lambda m: m != "tensorflow" and real(m))
    assert main(["export", str(tiny_run), "--to", "savedmodel", "--out", str(tmp_path / "sm")]) == 2
    assert ("export --to savedmodel needs TensorFlow (its exporters and checks run on Keras' tensorflow backend), "
            "which is not installed: pip install tensorflow") in capsys.readouterr().err

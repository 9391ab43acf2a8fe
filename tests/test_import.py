"""``nndsl import``: Keras configs (data only) to specs that build the same Keras layers.

Keras is the oracle: a model is serialized with ``to_json()`` (or saved as ``.keras``), imported,
built back with ``nndsl.build``, and both models must have the same layer classes, configs
(the layer name aside), output shapes and parameter counts. The examples round-trip in the
fast suite; keras.applications VGG16, ResNet50, MobileNetV2, DenseNet121 and EfficientNetB0
and the zoo's other models in the slow one.
"""

from __future__ import annotations

import collections
import glob
import json
import os
import subprocess
import sys
import zipfile

import pytest

import nndsl
from nndsl import codes
from nndsl.diagnostics import SpecError
from nndsl.tools.import_keras import import_config, import_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "spec", "examples", "*.nn")))

SEQUENTIAL = {
    "module": "keras", "class_name": "Sequential",
    "config": {"name": "seq", "layers": [
        {"module": "keras.layers", "class_name": "InputLayer",
         "config": {"batch_shape": [None, 784], "dtype": "float32", "name": "input_layer"}},
        {"module": "keras.layers", "class_name": "Dense",
         "config": {"name": "dense", "units": 32, "activation": "relu", "use_bias": True,
                    "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                           "config": {"seed": None}},
                    "kernel_regularizer": None}},
        {"module": "keras.layers", "class_name": "Dense",
         "config": {"name": "dense_1", "units": 10, "activation": "softmax"}},
    ]},
    "compile_config": {"optimizer": {"module": "keras.optimizers", "class_name": "Adam",
                                     "config": {"name": "adam", "learning_rate": 0.0010000000474974513,
                                                "beta_1": 0.9}},
                       "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]},
}


def with_layer(layer: dict, index: int = 2) -> dict:
    data = json.loads(json.dumps(SEQUENTIAL))
    data["config"]["layers"].insert(index, layer)
    return data


# Without Keras ------------------------------------------------------------------------------

def test_a_sequential_config_becomes_a_chain():
    result = import_config(json.dumps(SEQUENTIAL))
    body = [ln for ln in result.text.splitlines() if ln and not ln.startswith("#")]
    assert body == ["input 784", "dense 32 relu", "dense 10 softmax", "adam", "loss sparse_categorical_crossentropy",
                    "metrics accuracy"]
    model = nndsl.check(result.text)
    assert model.params.total == 784 * 32 + 32 + 32 * 10 + 10


def test_an_unsupported_layer_is_named_with_its_position():
    data = with_layer({"module": "keras.layers", "class_name": "Lambda",
                       "config": {"name": "my_lambda", "function": {"class_name": "__lambda__",
                                                                    "config": {"code": "4wEAAAAAAAAA"}}}})
    text = json.dumps(data, indent=1)
    with pytest.raises(SpecError) as err:
        import_config(text)
    (d,) = err.value.diagnostics
    assert d.code == codes.IMPORT_UNSUPPORTED_LAYER and "'my_lambda'" in d.message and "Lambda" in d.message
    line = text.splitlines()[d.span.line - 1]
    assert '"my_lambda"' in line
    rendered = err.value.render()
    assert rendered.startswith(f"<config>:{d.span.line}:{d.span.column}: error[E740]")


def test_partial_writes_todo_lines():
    data = with_layer({"module": "keras.layers", "class_name": "Lambda", "config": {"name": "my_lambda"}})
    result = import_config(json.dumps(data), partial=True)
    assert "# TODO(nndsl import): layer 'my_lambda' (Lambda)" in result.text
    assert [d.code for d in result.warnings] == [codes.IMPORT_UNSUPPORTED_LAYER]


def test_an_option_nndsl_cannot_express_is_an_error_not_a_different_model():
    data = with_layer({"module": "keras.layers", "class_name": "Dense",
                       "config": {"name": "odd", "units": 4, "kernel_initializer": {
                           "module": "my.module", "class_name": "MyInit", "config": {}}}})
    with pytest.raises(SpecError) as err:
        import_config(json.dumps(data))
    assert err.value.diagnostics[0].code == codes.IMPORT_UNSUPPORTED_OPTION
    assert "MyInit" in err.value.diagnostics[0].message
    frozen = with_layer({"module": "keras.layers", "class_name": "Dense",
                         "config": {"name": "frozen", "units": 4, "trainable": False}})
    with pytest.raises(SpecError, match="trainable"):
        import_config(json.dumps(frozen))


def test_shared_layers_and_nested_models_are_reported():
    tensor = {"class_name": "__keras_tensor__", "config": {"shape": [None, 3], "keras_history": ["x", 0, 0]}}
    data = {"class_name": "Functional", "config": {"name": "f", "layers": [
        {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_shape": [None, 3]},
         "inbound_nodes": []},
        {"class_name": "Dense", "name": "shared", "config": {"name": "shared", "units": 3},
         "inbound_nodes": [{"args": [tensor], "kwargs": {}}, {"args": [tensor], "kwargs": {}}]},
        {"class_name": "Functional", "name": "inner", "config": {"name": "inner", "layers": []},
         "inbound_nodes": [{"args": [tensor], "kwargs": {}}]},
    ], "input_layers": [["x", 0, 0]], "output_layers": [["shared", 0, 0]]}}
    with pytest.raises(SpecError) as err:
        import_config(json.dumps(data))
    found = [(d.code, d.message.split("'")[1]) for d in err.value.diagnostics]
    assert found == [(codes.IMPORT_UNSUPPORTED_GRAPH, "shared"), (codes.IMPORT_UNSUPPORTED_GRAPH, "inner")]


@pytest.mark.parametrize("text", ["not json", "[]", '{"class_name": "Dense"}', '{"class_name": "MyModel", "config": {}}',
                                  '{"class_name": "Functional", "config": {"layers": [{"config": 3}]}}',
                                  '{"class_name": "Functional", "config": {"layers": [{"class_name": "Dense", '
                                  '"config": {"units": "x"}, "inbound_nodes": [{"args": 5}]}]}}',
                                  '{"class_name": "Sequential", "config": {"layers": []}}'])
def test_malformed_configs_are_diagnostics_never_tracebacks(text):
    with pytest.raises(SpecError) as err:
        import_config(text)
    assert all(d.code in codes.DESCRIPTIONS for d in err.value.diagnostics)


def test_keras_archive_is_read_without_running_anything(tmp_path):
    archive = tmp_path / "m.keras"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("config.json", json.dumps(SEQUENTIAL))
        zf.writestr("metadata.json", "{}")
        zf.writestr("model.weights.h5", b"\x89HDF not read")
    assert "dense 10 softmax" in import_model(str(archive)).text
    empty = tmp_path / "e.keras"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("other.json", "{}")
    with pytest.raises(SpecError) as err:
        import_model(str(empty))
    assert err.value.diagnostics[0].code == codes.IMPORT_BAD_FILE


def nndsl_cli(*args):
    return subprocess.run([sys.executable, "-m", "nndsl.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def test_cli_import(tmp_path):
    src = tmp_path / "m.json"
    src.write_text(json.dumps(SEQUENTIAL))
    out = tmp_path / "m.nn"
    r = nndsl_cli("import", str(src), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert nndsl_cli("check", str(out)).returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(with_layer({"class_name": "Lambda", "config": {"name": "lam"}})))
    r = nndsl_cli("import", str(bad), "-o", str(tmp_path / "bad.nn"))
    assert r.returncode == 1 and "error[E740]" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "bad.nn").exists()


def test_import_does_not_import_tensorflow(tmp_path):
    src = tmp_path / "m.json"
    src.write_text(json.dumps(SEQUENTIAL))
    code = ("import sys, io, contextlib; from nndsl import cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    assert cli.main(['import', {str(src)!r}]) == 0\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'torch'))\n"
            "assert not bad, bad")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert p.returncode == 0, p.stderr


# Round trips against Keras --------------------------------------------------------------------

def layer_signatures(model) -> collections.Counter:
    """(class, config without the name, output shape, parameter count) of every layer but inputs."""
    out = collections.Counter()
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        cfg = dict(layer.get_config())
        cfg.pop("name", None)
        out[(type(layer).__name__, json.dumps(cfg, sort_keys=True, default=str), str(layer.output.shape),
             layer.count_params())] += 1
    return out


def assert_round_trip(keras_model, tmp_path=None) -> str:
    if tmp_path is not None:
        path = tmp_path / "m.keras"
        keras_model.save(path)
        result = import_model(str(path))
    else:
        result = import_config(keras_model.to_json())
    built = nndsl.build(result.text, compile=False)
    assert built.count_params() == keras_model.count_params()
    a, b = layer_signatures(keras_model), layer_signatures(built)
    assert a - b == collections.Counter() and b - a == collections.Counter(), (list((a - b).elements())[:2],
                                                                               list((b - a).elements())[:2])
    return result.text


@pytest.mark.keras
@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_examples_round_trip(path, tmp_path):
    model = nndsl.build(nndsl.load(path))
    text = assert_round_trip(model, tmp_path)
    # The training section comes back too.
    spec = nndsl.load(path)
    imported = nndsl.check(text)
    assert imported.training.optimizer.name == spec.training.optimizer.name

    def per_output(pairs, model):  # what applies to each output ("" is every output)
        return {o: sorted(n for k, n in pairs if k in ("", o)) for o in model.outputs}

    assert per_output(imported.training.losses, imported) == per_output(spec.training.losses, spec)
    assert per_output(imported.training.metrics, imported) == per_output(spec.training.metrics, spec)
    # Only what differs from a default is written (Keras' "uniform" is nndsl's default "uniform").
    assert "initializer" not in text


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("name", ["VGG16", "ResNet50", "MobileNetV2", "DenseNet121", "EfficientNetB0"])
def test_keras_applications_round_trip(name):
    import keras

    model = getattr(keras.applications, name)(weights=None)
    text = assert_round_trip(model)
    assert len(text.splitlines()) < 4 * len(model.layers)


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("name", ["unet", "transformer_text"])
def test_zoo_round_trip(name):
    model = nndsl.build(nndsl.load(os.path.join(ROOT, "spec", "examples", "zoo", f"{name}.nn")), compile=False)
    assert_round_trip(model)

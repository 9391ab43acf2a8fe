"""nndsl-extras end to end, through the spec language: check, summary, emit, build.

These run against the installed distribution (CI installs it with pip, as a user would), so
they also prove the entry point works.
"""

from __future__ import annotations

import ast
import math
import subprocess
import sys

import pytest

import nndsl
from nndsl.plugins import build_registry, get_plugin_manager

SPEC = "input 8\nscale use_offset=true\ndense 4 relu\nscale\ndense 2 softmax\nadam 0.01\nloss mse\n"


@pytest.fixture
def registry():
    return build_registry(get_plugin_manager())


def test_the_entry_point_registers_the_layer_and_the_backend(registry):
    assert registry.owner("layers", "scale") == "extras"
    assert registry.owner("backends", "dot") == "extras"


def test_check_infers_shapes_and_counts(registry):
    model = nndsl.check(SPEC, registry=registry)
    scale = model.nodes[0]
    assert scale.op == "scale" and scale.shape == (8,) and scale.params.total == 16
    assert model.nodes[2].params.total == 4


def test_shape_errors_are_diagnostics(registry):
    with pytest.raises(nndsl.SpecError) as err:
        nndsl.check("input ?\nscale\n", registry=registry)
    assert err.value.diagnostics[0].code == "E400"
    assert "last dimension" in err.value.render()


def test_summary_from_the_cli(tmp_path):
    spec = tmp_path / "m.nn"
    spec.write_text(SPEC)
    out = subprocess.run([sys.executable, "-m", "nndsl.cli", "summary", str(spec)], capture_output=True,
                         text=True, check=True).stdout
    assert "scale (Scale)" in out and "(None, 8)" in out


def test_dot_backend_emits_a_graph(registry):
    text = nndsl.emit(SPEC, fmt="dot", backend="dot", registry=registry)
    assert text.startswith('digraph "model" {')
    assert '"input_layer" -> "scale"' in text
    assert 'color="darkgreen"' in text  # the layer's own lowering for this backend


def test_python_emit_imports_the_plugin_class(registry):
    source = nndsl.emit(SPEC, registry=registry)
    ast.parse(source)
    assert "import nndsl_extras.keras_layers" in source
    assert "nndsl_extras.keras_layers.Scale(use_offset=True" in source


keras_needed = pytest.mark.keras  # skipped without Keras, an error when CI requires it (conftest.py)


@keras_needed
def test_build_matches_keras_and_trains(registry):
    import numpy as np

    model_ir = nndsl.check(SPEC, registry=registry)
    model = nndsl.build(model_ir, registry=registry)
    for node in model_ir.nodes:
        layer = model.get_layer(node.name)
        assert tuple(layer.output.shape[1:]) == node.shape
        assert sum(math.prod(w.shape) for w in layer.trainable_weights) == node.params.trainable
    x = np.random.default_rng(0).random((64, 8)).astype("float32")
    y = np.eye(2)[(x.sum(axis=1) > 4).astype(int)]
    history = model.fit(x, y, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


@keras_needed
def test_emitted_script_equals_the_in_process_build(registry, tmp_path):
    source = nndsl.emit(SPEC, registry=registry)
    namespace: dict = {"__name__": "emitted"}
    exec(source, namespace)  # noqa: S102 - generated code under test
    emitted = namespace["build_model"]()
    built = nndsl.build(SPEC, registry=registry)
    assert [layer.get_config() for layer in emitted.layers] == [layer.get_config() for layer in built.layers]
    assert emitted.count_params() == built.count_params()


# Custom layers travel: a saved model loads with plain Keras once the plugin's module is imported.

_PLAIN_KERAS = """
import sys
import numpy as np
{imports}
import keras
model = keras.models.load_model(sys.argv[1])  # safe_mode stays on
np.save(sys.argv[2], model.predict(np.load(sys.argv[3]), verbose=0))
assert not [m for m in sys.modules if m == "nndsl" or m.startswith("nndsl.")], "nndsl was imported"
"""


def _plain_keras(tmp_path, model_path, imports):
    done = subprocess.run([sys.executable, "-c", _PLAIN_KERAS.format(imports=imports), str(model_path),
                           str(tmp_path / "out.npy"), str(tmp_path / "x.npy")],
                          capture_output=True, text=True, timeout=300)
    return done


@pytest.mark.keras
def test_a_saved_model_loads_with_plain_keras_once_the_plugin_module_is_imported(registry, tmp_path):
    import numpy as np

    model = nndsl.build(SPEC, registry=registry)
    x = np.random.default_rng(0).random((16, 8)).astype("float32")
    model.fit(x, np.eye(2)[np.arange(16) % 2], epochs=2, verbose=0)  # gamma and beta move off 1 and 0
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", x)
    done = _plain_keras(tmp_path, tmp_path / "m.keras", "import nndsl_extras.keras_layers")
    assert done.returncode == 0, done.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), model.predict(x, verbose=0), rtol=1e-5)
    # Keras never imports the module a file names: without the import it cannot find the class
    done = _plain_keras(tmp_path, tmp_path / "m.keras", "")
    assert done.returncode != 0 and "Could not locate class 'Scale'" in done.stderr


@pytest.mark.keras
def test_a_run_with_the_plugin_layer_evaluates_predicts_and_resumes(tmp_path, capsys):
    import json

    import numpy as np

    from nndsl.cli import main

    rng = np.random.default_rng(0)
    x = rng.random((80, 8)).astype("float32")
    np.savez(tmp_path / "d.npz", x=x, y=(x.sum(axis=1) > 4).astype("int64"))
    (tmp_path / "m.nn").write_text(SPEC + "fit epochs=1 batch_size=16\ndata \"d.npz\"\n")
    out = tmp_path / "run"
    assert main(["run", str(tmp_path / "m.nn"), "--out", str(out), "--quiet"]) == 0
    np.save(tmp_path / "x.npy", x[:3])

    def nndsl_cli(*args):  # a fresh process: only nndsl can have imported the plugin's Keras class
        return subprocess.run([sys.executable, "-m", "nndsl.cli", *map(str, args)], capture_output=True,
                              text=True, timeout=300)

    for args in (["predict", out, tmp_path / "x.npy"], ["evaluate", out],
                 ["run", "--resume", out, "--epochs", 2, "--quiet"]):
        done = nndsl_cli(*args)
        assert done.returncode == 0, (args, done.stderr[-2000:])
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 2
    # outside a run directory nndsl does not know the spec: a clear message, no Keras dump
    (tmp_path / "bare").mkdir()
    (out / "model.keras").rename(tmp_path / "bare" / "m.keras")
    done = nndsl_cli("predict", tmp_path / "bare" / "m.keras", tmp_path / "x.npy")
    assert done.returncode == 4, done.stderr[-2000:]
    err = done.stderr
    assert "uses the custom Keras class 'Scale' from module nndsl_extras.keras_layers" in err
    assert len(err) < 600

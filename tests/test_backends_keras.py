"""The built-in Keras backends build what a Keras user would write by hand."""

from __future__ import annotations

import pytest

import nndsl
from nndsl.backends.base import BackendError

pytestmark = pytest.mark.keras

SEED = "input 784; dense 32 relu; dense 10 softmax; rmsprop 0.001; loss mse; metrics accuracy"
FUNCTIONAL = """
input image 28 28 1
input meta 8
x = image -> conv2d 32 3 relu -> maxpool2d 2 -> flatten
h = concat(x, meta) -> dense 64 relu
output digit = h -> dense 10 softmax
output parity = h -> dense 1 sigmoid
loss digit=sparse_categorical_crossentropy parity=binary_crossentropy
metrics accuracy
adam 0.0003 beta_1=0.8
"""


def test_chain_defaults_to_sequential_with_input_first(registry):
    import keras

    model = nndsl.build(SEED, registry=registry)
    assert isinstance(model, keras.Sequential)
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense"]
    assert model.count_params() == nndsl.check(SEED, registry=registry).params.total
    assert type(model.optimizer).__name__ == "RMSprop"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.001)
    assert model.loss == "mean_squared_error"


def test_chain_through_self_attention_is_built_functionally(registry):
    """Sequential calls each layer with one tensor; self-attention needs it as query and value."""
    import keras

    spec = "input 10 16\nmultiheadattention 2 8\nglobalavgpool1d\ndense 2"
    model = nndsl.build(spec, registry=registry)
    assert not isinstance(model, keras.Sequential)
    assert model.count_params() == nndsl.check(spec, registry=registry).params.total
    with pytest.raises(BackendError, match="takes its input more than once"):
        nndsl.build(spec, "keras-sequential", registry=registry)


def test_dag_defaults_to_functional_with_spec_names(registry):
    import keras

    model = nndsl.build(FUNCTIONAL, registry=registry)
    assert not isinstance(model, keras.Sequential)
    assert [i.name for i in model.inputs] == ["image", "meta"]
    assert {"x", "h", "digit", "parity"} <= {layer.name for layer in model.layers}
    assert set(model.output_names) == {"digit", "parity"}
    assert float(model.optimizer.beta_1) == pytest.approx(0.8)
    assert model.loss == {"digit": "sparse_categorical_crossentropy", "parity": "binary_crossentropy"}


def test_sequential_refuses_a_dag_naming_the_first_merge(registry):
    with pytest.raises(BackendError) as err:
        nndsl.build(FUNCTIONAL, backend="keras-sequential", registry=registry)
    assert "keras-functional" in str(err.value)
    assert "2 inputs" in str(err.value)
    residual = "input 16\nx = dense 16\ny = dense 16\nz = add(x, y)\n"
    with pytest.raises(BackendError) as err:
        nndsl.build(residual, backend="keras-sequential", registry=registry)
    assert "'x' feeds 2 layers" in str(err.value)


def test_functional_backend_builds_a_chain_too(registry):
    import keras

    model = nndsl.build(SEED, backend="keras-functional", registry=registry)
    assert not isinstance(model, keras.Sequential)
    assert model.count_params() == nndsl.check(SEED, registry=registry).params.total


def test_unknown_backend_is_a_clear_error(registry):
    with pytest.raises(BackendError, match="unknown backend 'keras-seq'.*did you mean"):
        nndsl.build(SEED, backend="keras-seq", registry=registry)


def test_fit_compile_options_reach_keras(registry):
    model = nndsl.build(SEED + "\nfit steps_per_execution=4 jit_compile=false", registry=registry)
    assert model.steps_per_execution == 4
    assert model.jit_compile is False


# The Keras class each optimizer statement must build: the expectation, not the registry's own table.
OPTIMIZER_CLASSES = {"sgd": "SGD", "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW", "adagrad": "Adagrad",
                     "adadelta": "Adadelta", "adamax": "Adamax", "nadam": "Nadam", "ftrl": "Ftrl", "lion": "Lion"}


@pytest.mark.parametrize("opt", sorted(OPTIMIZER_CLASSES))
def test_every_optimizer_builds_and_updates_the_weights(opt, registry):
    import numpy as np

    model = nndsl.build(f"input 4; dense 2; {opt} 0.01; loss mse", registry=registry)
    assert type(model.optimizer).__name__ == OPTIMIZER_CLASSES[opt]
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    before = [w.copy() for w in model.get_weights()]
    x = np.random.default_rng(0).random((8, 4)).astype("float32")
    model.train_on_batch(x, np.ones((8, 2), dtype="float32"))
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights())), "no weight moved"


def _builtin(table: str) -> list[str]:
    from nndsl.plugins import build_registry, get_plugin_manager

    return build_registry(get_plugin_manager(load_entrypoints=False)).canonical(table)


def _descends(model, x, target) -> tuple[float, float]:
    first = model.train_on_batch(x, target, return_dict=True)["loss"]
    for _ in range(20):
        last = model.train_on_batch(x, target, return_dict=True)["loss"]
    return float(first), float(last)


@pytest.mark.parametrize("loss", _builtin("losses"))
def test_every_loss_compiles_and_is_minimised(loss, registry):
    import math

    import numpy as np

    x = np.random.default_rng(0).random((8, 4)).astype("float32")
    labels = registry.losses[loss].labels
    target = np.arange(8) % 3 if labels == "sparse" else np.eye(3)[np.arange(8) % 3].astype("float32")
    model = nndsl.build(f"input 4; dense 3 softmax; adam 0.05; loss {loss}", registry=registry)
    first, last = _descends(model, x, target)
    assert math.isfinite(first) and math.isfinite(last)
    assert last < first, f"loss {loss} did not go down on one repeated batch: {first} -> {last}"


@pytest.mark.parametrize("metric", _builtin("metrics"))
def test_every_metric_compiles_and_is_reported(metric, registry):
    import math

    import numpy as np

    x = np.random.default_rng(0).random((8, 4)).astype("float32")
    sparse = metric.startswith("sparse_")
    loss = "sparse_categorical_crossentropy" if sparse else "categorical_crossentropy"
    model = nndsl.build(f"input 4; dense 3 softmax; loss {loss}; metrics {metric}", registry=registry)
    logs = model.train_on_batch(x, np.arange(8) % 3 if sparse else np.eye(3)[np.arange(8) % 3], return_dict=True)
    reported = {k: v for k, v in logs.items() if k != "loss"}
    assert len(reported) == 1, f"metric {metric} is not in the training logs: {logs}"
    assert all(math.isfinite(float(v)) for v in reported.values())

"""nndsl.perf: the training plan (CLI over spec over defaults) and the batch pipeline."""

from __future__ import annotations

import numpy as np
import pytest

import nndsl
from nndsl.diagnostics import UsageError
from nndsl.perf import DEFAULT_PIPELINE, DEFAULT_STEPS_PER_EXECUTION, rows, training_plan

SEED = "input 784\ndense 32 relu\ndense 10 softmax\nrmsprop 0.001\nloss mse\n"


def model(registry, fit: str = ""):
    return nndsl.check(SEED + (f"fit {fit}\n" if fit else ""), registry=registry)


def test_defaults_cap_steps_per_execution_at_one_epoch(registry):
    small = training_plan(model(registry, "batch_size=128"), 1000)
    assert small.compile_options == {"steps_per_execution": 8}  # ceil(1000 / 128)
    big = training_plan(model(registry, "batch_size=128"), 60_000)
    assert big.compile_options == {"steps_per_execution": DEFAULT_STEPS_PER_EXECUTION}
    assert big.pipeline == DEFAULT_PIPELINE and big.batch_size == 128 and big.shuffle is True
    assert "jit_compile" not in big.compile_options  # left to Keras' "auto"


def test_spec_fit_settings_are_used(registry):
    plan = training_plan(model(registry, "steps_per_execution=5 jit_compile=false shuffle=false seed=3"), 60_000)
    assert plan.compile_options == {"steps_per_execution": 5, "jit_compile": False}
    assert plan.shuffle is False and plan.seed == 3 and plan.batch_size == 32
    assert any("steps_per_execution 5 (spec" in n for n in plan.notes)


def test_overrides_win_over_the_spec_and_none_means_not_given(registry):
    m = model(registry, "steps_per_execution=5 jit_compile=auto")
    plan = training_plan(m, 60_000, {"steps_per_execution": 2, "jit_compile": None, "pipeline": "tfdata"})
    assert plan.compile_options == {"steps_per_execution": 2, "jit_compile": "auto"}
    assert plan.pipeline == "tfdata"
    assert any("(given" in n for n in plan.notes)


@pytest.mark.parametrize("overrides, word", [
    ({"pipeline": "arrow"}, "pipeline"),
    ({"steps_per_execution": 0}, "steps_per_execution"),
    ({"jit_compile": "maybe"}, "jit_compile"),
])
def test_bad_overrides_are_usage_errors(registry, overrides, word):
    with pytest.raises(UsageError, match=word):
        training_plan(model(registry), 100, overrides)


def test_numpy_pipeline_passes_the_arrays_without_copying(registry):
    x, y = np.zeros((10, 784), np.float32), np.zeros((10, 10), np.float32)
    args = training_plan(model(registry, "batch_size=4 pipeline=numpy"), 10).fit_arguments(x, y)
    assert args["x"] is x and args["y"] is y and args["batch_size"] == 4 and args["shuffle"] is True


def test_rows_counts_arrays_and_dicts():
    assert rows(np.zeros((7, 2))) == 7
    assert rows({"a": np.zeros((5, 1)), "b": np.zeros((5, 3))}) == 5


@pytest.mark.keras
def test_tfdata_pipeline_yields_every_row_once_in_batches():
    from nndsl.perf import batch_dataset

    x = np.arange(10, dtype=np.float32).reshape(10, 1)
    y = {"out": np.arange(10, dtype=np.float32)}
    ordered = [(bx.numpy()[:, 0].tolist(), by["out"].numpy().tolist())
               for bx, by in batch_dataset(x, y, 4, shuffle=False)]
    assert ordered == [([0, 1, 2, 3], [0, 1, 2, 3]), ([4, 5, 6, 7], [4, 5, 6, 7]), ([8, 9], [8, 9])]
    ds = batch_dataset(x, y, 4, shuffle=True, seed=1)
    epochs = [[tuple(bx.numpy()[:, 0]) for bx, _ in ds] for _ in range(6)]
    for epoch in epochs:
        assert sorted(v for batch in epoch for v in batch) == list(range(10))
        assert sorted(epoch) == [(0, 1, 2, 3), (4, 5, 6, 7), (8, 9)]
    assert len({tuple(e) for e in epochs}) > 1  # the batch order changes between epochs


@pytest.mark.keras
def test_tfdata_fit_arguments_train_a_model(registry):
    m = model(registry, "batch_size=4")
    plan = training_plan(m, 10)
    assert plan.pipeline == "tfdata"
    x = np.random.default_rng(0).random((10, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)
    args = plan.fit_arguments(x, y)
    assert set(args) == {"x", "shuffle"} and args["shuffle"] is False  # the dataset shuffles itself
    keras_model = nndsl.build(m, registry=registry, **plan.compile_options)
    history = keras_model.fit(**args, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


# --- per Keras backend (issue 16): defaults from the measured table, only what the backend supports


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_each_backend_gets_its_measured_defaults_and_says_so(registry, backend):
    from nndsl.perf import backend_defaults

    table = backend_defaults(backend, "CPU")
    plan = training_plan(model(registry, "batch_size=128"), 60_000, backend=backend)
    assert plan.compile_options == {"steps_per_execution": table.steps_per_execution}
    assert plan.pipeline == table.pipeline and not plan.warnings
    assert f"(default for {backend} on CPU" in "; ".join(plan.notes)


def test_torch_runs_one_batch_per_call_and_never_reaches_keras_with_more(registry):
    plan = training_plan(model(registry), 60_000, backend="torch")
    assert plan.compile_options["steps_per_execution"] == 1 and plan.pipeline == "numpy"
    # the spec is backend-neutral: its setting is replaced, with a warning that says why
    plan = training_plan(model(registry, "steps_per_execution=64"), 60_000, backend="torch")
    assert plan.compile_options["steps_per_execution"] == 1
    assert plan.warnings and "steps_per_execution=64 is ignored" in plan.warnings[0]
    # a flag typed on the command line for this run is an error, not a Keras ValueError at fit time
    with pytest.raises(UsageError, match="--steps-per-execution 8: Keras on torch runs one batch per call"):
        training_plan(model(registry), 60_000, {"steps_per_execution": 8}, backend="torch")
    assert training_plan(model(registry), 60_000, {"steps_per_execution": 1}, backend="torch").warnings == ()


def test_gpus_fall_back_to_the_backends_cpu_row_until_measured(registry):
    from nndsl.perf import backend_defaults

    for backend in ("tensorflow", "jax", "torch"):
        assert backend_defaults(backend, "GPU") == backend_defaults(backend, "CPU")
    assert backend_defaults("numpy").multi_step is False  # a backend without measurements: Keras' defaults
    plan = training_plan(model(registry), 60_000, backend="jax", device="GPU")
    assert "default for jax on GPU" in plan.notes[0]


def test_tfdata_without_tensorflow_says_what_it_needs(registry, monkeypatch):
    import nndsl.kerasenv as kerasenv

    monkeypatch.setattr(kerasenv, "installed", lambda module: module != "tensorflow")
    with pytest.raises(UsageError, match="needs TensorFlow, which is not installed: install tensorflow"):
        training_plan(model(registry, "pipeline=tfdata"), 100, backend="jax")
    assert training_plan(model(registry), 100, backend="jax").pipeline == "numpy"

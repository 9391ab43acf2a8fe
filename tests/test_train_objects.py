"""Call values at work: regularizers, constraints, initializers and schedules change training.

Each test builds a spec with ``nndsl.build`` (the same lowering the emitted script uses), trains
a step or two on tiny data and asserts on the effect Keras gives the object.
"""

from __future__ import annotations

import numpy as np
import pytest

import nndsl

pytestmark = pytest.mark.keras

X = np.random.default_rng(0).standard_normal((32, 4)).astype("float32")
Y = (X[:, 0] > 0).astype("int64")


def _value(x) -> float:
    import keras

    return float(keras.ops.convert_to_numpy(x))


def _rate(model) -> float:
    """The optimizer's current learning rate (its schedule at the current step), on any backend."""
    return _value(model.optimizer.learning_rate)


def _build(spec: str, registry):
    return nndsl.build(nndsl.check(spec, registry=registry), registry=registry)


def test_l2_regularizer_adds_its_penalty_to_the_loss(registry):
    model = _build("input 4; dense 2 kernel_regularizer=l2(0.25); loss scce", registry)
    (penalty,) = model.losses
    kernel = model.layers[-1].kernel.numpy()
    assert float(penalty) == pytest.approx(0.25 * float(np.sum(kernel ** 2)), rel=1e-5)


def test_l1_l2_and_activity_regularizers_each_add_a_loss(registry):
    model = _build("input 4; dense 3 kernel_regularizer=l1_l2(l1=0.1, l2=0.2) activity_regularizer=l1(0.5); "
                   "dense 2; loss scce", registry)
    model(X[:2])
    assert len(model.losses) == 2
    kernel = model.layers[0].kernel.numpy()
    expected = 0.1 * np.abs(kernel).sum() + 0.2 * (kernel ** 2).sum()
    assert any(float(v) == pytest.approx(expected, rel=1e-5) for v in model.losses)


def test_exponential_decay_schedule_sets_the_learning_rate_per_step(registry):
    model = _build("input 4; dense 2; sgd exponential_decay(0.1, decay_steps=1, decay_rate=0.5); loss scce", registry)
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)  # 4 steps
    assert int(_value(model.optimizer.iterations)) == 4
    assert _rate(model) == pytest.approx(0.1 * 0.5 ** 4)


def test_piecewise_constant_decay_follows_its_boundaries(registry):
    model = _build("input 4; dense 2; sgd piecewise_constant_decay((2, 5), (0.1, 0.01, 0.001)); loss scce", registry)
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)  # 4 steps: between the boundaries
    assert _rate(model) == pytest.approx(0.01)
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)  # 8 steps: past the last boundary
    assert _rate(model) == pytest.approx(0.001)


def test_cosine_decay_warms_up_to_its_target(registry):
    model = _build("input 4; dense 2; adam cosine_decay(0.0, decay_steps=100, warmup_target=0.1, warmup_steps=8); "
                   "loss scce", registry)
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)  # 4 of 8 warm-up steps
    assert _rate(model) == pytest.approx(0.05, rel=1e-5)


@pytest.mark.parametrize("schedule", [
    "cosine_decay_restarts(0.1, 2)", "inverse_time_decay(0.1, 1, 1.0)", "polynomial_decay(0.1, 4, end_learning_rate=0.01)",
])
def test_every_schedule_lowers_and_lowers_the_rate(schedule, registry):
    model = _build(f"input 4; dense 2; sgd {schedule}; loss scce", registry)
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    assert 0.0 <= _rate(model) < 0.1


def test_max_norm_constraint_bounds_the_trained_weights(registry):
    model = _build("input 4; dense 3 kernel_constraint=max_norm(0.5) kernel_initializer=constant(2.0); "
                   "sgd 0.1; loss scce", registry)
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    norms = np.sqrt((model.layers[-1].kernel.numpy() ** 2).sum(axis=0))
    assert np.all(norms <= 0.5 + 1e-5)


def test_non_neg_constraint_keeps_weights_non_negative(registry):
    model = _build("input 4; dense 3 kernel_constraint=non_neg; sgd 1.0; loss scce", registry)
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    assert model.layers[-1].kernel.numpy().min() >= 0.0


def test_initializers_with_arguments(registry):
    model = _build("input 4; dense 3 kernel_initializer=constant(0.25) bias_initializer=random_uniform(1.0, 2.0, seed=3)",
                   registry)
    assert np.all(model.layers[-1].kernel.numpy() == 0.25)
    assert np.all((model.layers[-1].bias.numpy() >= 1.0) & (model.layers[-1].bias.numpy() <= 2.0))
    a = _build("input 4; dense 3 kernel_initializer=he_normal(seed=7)", registry).layers[-1].kernel.numpy()
    b = _build("input 4; dense 3 kernel_initializer=he_normal(seed=7)", registry).layers[-1].kernel.numpy()
    assert np.array_equal(a, b)


def test_emitted_script_lowers_call_values_the_same_way(registry):
    spec = ("input 4; dense 3 kernel_regularizer=l2(0.01) kernel_constraint=unit_norm(axis=0) "
            "kernel_initializer=orthogonal(gain=2.0, seed=1); adam polynomial_decay(0.01, 10); loss scce")
    model_ir = nndsl.check(spec, registry=registry)
    source = nndsl.emit(model_ir, registry=registry)
    assert "keras.regularizers.L2(l2=0.01)" in source
    assert "keras.optimizers.schedules.PolynomialDecay(initial_learning_rate=0.01, decay_steps=10)" in source
    namespace: dict = {"__name__": "emitted"}
    exec(source, namespace)  # noqa: S102 - generated code under test
    emitted, built = namespace["build_model"](), nndsl.build(model_ir, registry=registry)
    assert emitted.layers[-1].get_config() == built.layers[-1].get_config()
    assert emitted.optimizer.get_config()["learning_rate"] == built.optimizer.get_config()["learning_rate"]

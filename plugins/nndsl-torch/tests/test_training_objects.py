"""What the torch trainer applies beyond the model, checked against Keras: learning-rate
schedules, weight penalties (regularizers), class weights, terminate_on_nan."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nndsl  # noqa: E402
import nndsl_torch  # noqa: E402
from nndsl.params import Configured  # noqa: E402
from nndsl_torch.schedules import learning_rate  # noqa: E402


class _Quiet:
    quiet, as_json = True, False

    def info(self, line):
        pass


def _trainer(model, registry):
    from nndsl_torch.trainer import TorchTrainer

    trainer = TorchTrainer(registry.backends["torch"], registry)
    trainer.device = torch.device("cpu")
    trainer.build(model, {"batch_size": 8})
    return trainer


SCHEDULES = [
    ("cosine_decay", {"initial_learning_rate": 0.1, "decay_steps": 50, "alpha": 0.1}),
    ("cosine_decay", {"initial_learning_rate": 0.1, "decay_steps": 50, "warmup_target": 0.5, "warmup_steps": 10}),
    ("cosine_decay_restarts", {"initial_learning_rate": 0.1, "first_decay_steps": 7}),
    ("cosine_decay_restarts", {"initial_learning_rate": 0.1, "first_decay_steps": 7, "t_mul": 1.0, "m_mul": 0.5}),
    ("exponential_decay", {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.5, "staircase": True}),
    ("exponential_decay", {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.5}),
    ("inverse_time_decay", {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.5}),
    ("piecewise_constant_decay", {"boundaries": (10, 20), "values": (0.1, 0.05, 0.01)}),
    ("polynomial_decay", {"initial_learning_rate": 0.1, "decay_steps": 30, "power": 2.0}),
    ("polynomial_decay", {"initial_learning_rate": 0.1, "decay_steps": 30, "cycle": True}),
]


@pytest.mark.keras
@pytest.mark.parametrize("name,options", SCHEDULES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULES)])
def test_schedules_follow_keras_step_by_step(name, options, registry):
    import keras

    from nndsl.backends.keras.training import OBJECTS

    module, cls = OBJECTS[("schedule", name)]
    theirs = getattr(keras.optimizers.schedules, cls)(**{k: list(v) if isinstance(v, tuple) else v
                                                         for k, v in options.items()})
    ours = Configured("schedule", name, tuple(options.items()))
    for step in range(100):
        assert learning_rate(ours, registry, step) == pytest.approx(float(theirs(step)), rel=1e-5, abs=1e-8), step  # Keras: float32


def test_the_trainer_steps_the_schedule_each_update(registry):
    spec = ("input 4\ndense 3 softmax\nsgd exponential_decay(0.1, 2, 0.5)\nloss scce\nfit epochs=2 batch_size=8\n")
    model = nndsl.check(spec, registry=registry)
    trainer = _trainer(model, registry)
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.1)
    x = np.random.default_rng(0).normal(size=(20, 4)).astype("float32")
    y = np.arange(20) % 3

    class Prepared:
        x_train, y_train, x_val, y_val = x, y, None, None

    trainer.fit(Prepared, {"epochs": 2, "batch_size": 8, "shuffle": False}, initial_epoch=0,
                on_epoch_end=lambda epoch, logs: None, reporter=_Quiet())
    # 3 updates per epoch; the last one (step 5) used 0.1 * 0.5 ** (5 / 2)
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 2.5)


REGULARIZED = """\
input 6 3
conv1d 4 2 kernel_regularizer=l1_l2(l1=0.01, l2=0.02) bias_regularizer=l2(0.5)
lstm 5 kernel_regularizer=l2(0.01) recurrent_regularizer=l1(0.03)
dense 3 softmax kernel_regularizer=l2 bias_regularizer=l1(0.2)
adam 0.01
loss scce
"""


@pytest.mark.keras
def test_weight_penalties_add_to_the_loss_as_in_keras(registry):
    """Keras' evaluate() loss includes the regularization losses; so does the torch trainer's."""
    from nndsl.testing import randomize_weights

    model = nndsl.check(REGULARIZED, registry=registry)
    keras_model = nndsl.build(model, backend="keras-functional", registry=registry)
    randomize_weights(keras_model, seed=1)
    trainer = _trainer(model, registry)
    nndsl_torch.load_keras_weights(trainer.module, keras_model)
    assert len(trainer.penalties) == 6  # conv kernel and bias, lstm kernel and recurrent kernel, dense both
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 6, 3)).astype("float32")
    y = rng.integers(0, 3, size=10)
    want = keras_model.evaluate(x, y, batch_size=10, verbose=0, return_dict=True)["loss"]
    got = trainer.evaluate(x, y, 10)["loss"]
    assert got == pytest.approx(want, rel=1e-5)
    assert float(trainer._penalty().detach()) > 0.1  # the penalty is a real part of it


@pytest.mark.keras
@pytest.mark.parametrize("loss,labels", [("scce", "sparse"), ("cce", "one_hot")])
def test_class_weights_weigh_the_loss_as_keras_does(loss, labels, registry):
    """Keras turns class_weight into sample weights (by the label's class) and averages over the batch."""
    spec = f"input 4\ndense 3 softmax\nadam 0.01\nloss {loss}\nfit class_weight=(1.0, 3.0, 0.5)\n"
    model = nndsl.check(spec, registry=registry)
    keras_model = nndsl.build(model, backend="keras-functional", registry=registry)
    trainer = _trainer(model, registry)
    nndsl_torch.load_keras_weights(trainer.module, keras_model)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 4)).astype("float32")
    ids = rng.integers(0, 3, size=12)
    y = ids if labels == "sparse" else np.eye(3, dtype="float32")[ids]
    weights = np.array([1.0, 3.0, 0.5], dtype="float32")
    want = keras_model.evaluate(x, y, sample_weight=weights[ids], batch_size=12, verbose=0, return_dict=True)["loss"]
    class_weights = trainer._class_weights(y, _Quiet())
    out = trainer._forward({model.inputs[0].name: torch.from_numpy(x)})
    got, _ = trainer._loss({model.outputs[0]: torch.as_tensor(y)}, out, class_weights)
    assert float(got) == pytest.approx(want, rel=1e-5)


def test_balanced_class_weights_come_from_the_training_labels(registry):
    model = nndsl.check("input 4\ndense 2 softmax\nloss scce\nfit class_weight=balanced\n", registry=registry)
    trainer = _trainer(model, registry)
    weights = trainer._class_weights(np.array([0, 0, 0, 1]), _Quiet())
    assert weights.tolist() == pytest.approx([4 / 6, 2.0])


def test_terminate_on_nan_stops_within_the_epoch(registry):
    model = nndsl.check("input 2\ndense 1\nsgd 1e30\nloss mse\ncallback terminate_on_nan\n", registry=registry)
    trainer = _trainer(model, registry)
    x = np.full((64, 2), 1e10, dtype="float32")

    class Prepared:
        x_train, y_train, x_val, y_val = x, np.ones((64, 1), dtype="float32"), None, None

    epochs = []
    trainer.fit(Prepared, {"epochs": 5, "batch_size": 8, "shuffle": False}, initial_epoch=0,
                on_epoch_end=lambda epoch, logs: epochs.append(epoch), reporter=_Quiet())
    assert trainer.stop and epochs == [0]


CONSTRAINED = """\
input 6 6 3
conv2d 4 3 kernel_constraint=unit_norm(axis=(0, 1, 2)) bias_constraint=non_neg
reshape (16, 4)
lstm 5 return_sequences=true kernel_constraint=max_norm(0.5) recurrent_constraint=min_max_norm(0.2, 0.6, rate=0.5, axis=1)
multiheadattention 2 3 kernel_constraint=max_norm(0.3, axis=-1)
flatten
dense 3 softmax kernel_constraint=max_norm(0.4, axis=1) bias_constraint=max_norm(0.1)
adam 0.01
loss scce
"""


@pytest.mark.keras
def test_constraints_project_the_weights_as_keras_does(registry):
    """After a step Keras sets w <- constraint(w); the trainer does the same in PyTorch's layout."""
    from nndsl.testing import randomize_weights

    model = nndsl.check(CONSTRAINED, registry=registry)
    keras_model = nndsl.build(model, backend="keras-functional", registry=registry, compile=False)
    randomize_weights(keras_model, seed=2)
    for v in keras_model.trainable_variables:  # make every norm large enough for the constraints to bite
        v.assign(v * 3.0)
    trainer = _trainer(model, registry)
    nndsl_torch.load_keras_weights(trainer.module, keras_model)
    assert len(trainer.constraints) == 2 + 2 + 4 + 2  # conv kernel+bias, lstm 2, attention 4 kernels, dense 2
    trainer._project()
    for v in keras_model.trainable_variables:
        if getattr(v, "constraint", None) is not None:
            v.assign(v.constraint(v))
    want = nndsl.build(model, backend="torch", registry=registry)
    nndsl_torch.load_keras_weights(want, keras_model)
    got = trainer.module.state_dict()
    for name, value in want.state_dict().items():
        torch.testing.assert_close(got[name], value, atol=1e-6, rtol=1e-5, msg=name)


def test_a_depthwise_constraint_over_keras_axes_is_refused(registry):
    model = nndsl.check("input 8 8 3\ndepthwiseconv2d 3 depthwise_constraint=max_norm(2)\nflatten\ndense 2\n"
                        "loss mse\n", registry=registry)
    gaps = registry.backends["torch"].unsupported(model, registry)
    assert [(g.span.line, g.kind, g.training) for g in gaps] == [(2, "option", True)]
    assert "depthwise_constraint=max_norm" in gaps[0].message


def test_learning_rate_scheduler_sets_each_epochs_rate(registry):
    """callback learning_rate_scheduler: the schedule's step is the epoch, set as the epoch begins."""
    spec = ("input 4\ndense 3 softmax\nsgd 0.5\nloss scce\n"
            "callback learning_rate_scheduler exponential_decay(0.1, 1, 0.5)\n")
    model = nndsl.check(spec, registry=registry)
    trainer = _trainer(model, registry)
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")

    class Prepared:
        x_train, y_train, x_val, y_val = x, np.arange(16) % 3, None, None

    rates = []
    trainer.fit(Prepared, {"epochs": 3, "batch_size": 8}, initial_epoch=0,
                on_epoch_end=lambda epoch, logs: rates.append(logs["learning_rate"]), reporter=_Quiet())
    assert rates == pytest.approx([0.1, 0.05, 0.025])


@pytest.mark.keras
def test_csv_logger_writes_what_keras_writes(registry, tmp_path):
    """The same header and rows as Keras' CSVLogger, inside the run directory."""
    import csv

    import keras

    spec = "input 4\ndense 3 softmax\nsgd 0.1\nloss scce\nmetrics accuracy\ncallback csv_logger \"logs/train.csv\" separator=\";\"\n"
    model = nndsl.check(spec, registry=registry)
    trainer = _trainer(model, registry)
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")

    class Prepared:
        x_train, y_train, x_val, y_val = x, np.arange(16) % 3, None, None

    trainer.fit(Prepared, {"epochs": 2, "batch_size": 8, "run_dir": str(tmp_path)}, initial_epoch=0,
                on_epoch_end=lambda epoch, logs: None, reporter=_Quiet())
    with open(tmp_path / "logs" / "train.csv", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    keras_log = tmp_path / "keras.csv"
    reference = keras.callbacks.CSVLogger(str(keras_log), separator=";")
    reference.set_model(keras.Sequential([keras.Input((1,))]))
    reference.on_train_begin()
    for epoch in range(2):
        reference.on_epoch_end(epoch, {"loss": 1.0, "accuracy": 0.5})
    reference.on_train_end()
    with open(keras_log, newline="") as fh:
        want = list(csv.reader(fh, delimiter=";"))
    assert rows[0] == want[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [(r[0], r[3:]) for r in rows[1:]] == [(r[0], r[3:]) for r in want[1:]] == [("0", ["NA", "NA"]),
                                                                                          ("1", ["NA", "NA"])]


LOSS_CASES = [
    ("categorical_crossentropy", "CategoricalCrossentropy", {"from_logits": True}),
    ("categorical_crossentropy", "CategoricalCrossentropy", {"label_smoothing": 0.2}),
    ("categorical_crossentropy", "CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}),
    ("binary_crossentropy", "BinaryCrossentropy", {"from_logits": True}),
    ("binary_crossentropy", "BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.3}),
    ("binary_crossentropy", "BinaryCrossentropy", {"label_smoothing": 0.3}),
    ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", {"from_logits": True}),
    ("huber", "Huber", {"delta": 0.3}),
]


@pytest.mark.keras
@pytest.mark.parametrize("name,cls,options", LOSS_CASES, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(LOSS_CASES)])
def test_loss_options_compute_what_keras_computes(name, cls, options):
    import keras

    from nndsl_torch.runtime import configured_loss, loss_value

    rng = np.random.default_rng(0)
    pred = rng.normal(size=(8, 4)).astype("float32") * 3
    if not options.get("from_logits") and name != "huber":
        pred = (np.exp(pred) / np.exp(pred).sum(-1, keepdims=True)).astype("float32")
    ids = rng.integers(0, 4, size=8)
    y = {"sparse_categorical_crossentropy": ids, "binary_crossentropy": (rng.random((8, 4)) > 0.5).astype("float32")
         }.get(name, np.eye(4, dtype="float32")[ids])
    want = float(getattr(keras.losses, cls)(**options)(y, pred))
    got = float(loss_value(configured_loss(name, tuple(options.items())), torch.as_tensor(y), torch.as_tensor(pred)))
    assert got == pytest.approx(want, rel=1e-5)


def test_loss_options_torch_cannot_honour_are_reported(registry):
    model = nndsl.check("input 4\ndense 3\nloss cce from_logits=true axis=0\n", registry=registry)
    gaps = registry.backends["torch"].unsupported(model, registry)
    assert [g.message for g in gaps] == ["loss option axis=0 has no lowering in backend 'torch'"]

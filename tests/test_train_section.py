"""The training section at work: loss options and weights, class weights, callbacks.

In-process builds check the effect on the loss Keras computes; ``nndsl run`` checks what a
run does with each callback (files inside the run directory) and prints for class weights.
"""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest

import nndsl
from nndsl.cli import main

pytestmark = pytest.mark.keras

RNG = np.random.default_rng(0)
X = RNG.standard_normal((64, 4)).astype("float32")
Y = (X[:, 0] > 0.8).astype("int64")  # about 1 in 5 is class 1


def _build(spec: str, registry):
    return nndsl.build(nndsl.check(spec, registry=registry), registry=registry)


def _loss(model, x, y) -> float:
    return float(model.evaluate(x, y, verbose=0, return_dict=True)["loss"])


def test_from_logits_applies_the_softmax_inside_the_loss(registry):
    # small weights: no probability gets near the clipping epsilon of the softmax path
    logits = _build("input 4; dense 3 kernel_initializer=random_normal(0.0, 0.3, seed=1); "
                    "loss scce from_logits=true", registry)
    probs = _build("input 4; dense 3 softmax kernel_initializer=random_normal(0.0, 0.3, seed=1); loss scce", registry)
    y = np.random.default_rng(1).integers(0, 3, size=(64,))
    assert _loss(logits, X, y) == pytest.approx(_loss(probs, X, y), rel=1e-4)
    assert _loss(logits, X, y) != pytest.approx(_loss(_build(  # without from_logits the logits are misread
        "input 4; dense 3 kernel_initializer=random_normal(0.0, 0.3, seed=1); loss scce", registry), X, y), rel=1e-2)


def test_label_smoothing_changes_the_loss(registry):
    spec = "input 4; dense 2 softmax kernel_initializer=random_normal(0.0, 1.0, seed=2); loss cce{}"
    y = np.eye(2, dtype="float32")[Y]
    plain, smooth = _build(spec.format(""), registry), _build(spec.format(" label_smoothing=0.5"), registry)
    assert _loss(plain, X, y) != pytest.approx(_loss(smooth, X, y), rel=1e-3)
    assert smooth.loss.get_config()["label_smoothing"] == 0.5


def test_focal_loss_options_reach_keras(registry):
    model = _build("input 4; dense 1 sigmoid; loss binary_focal_crossentropy gamma=3.0 alpha=0.1 "
                   "apply_class_balancing=true", registry)
    config = model.loss.get_config()
    assert (config["gamma"], config["alpha"], config["apply_class_balancing"]) == (3.0, 0.1, True)


def test_per_output_loss_options_and_loss_weights(registry):
    spec = ("input a 4\noutput p = a -> dense 2 kernel_initializer=random_normal(0.0, 1.0, seed=3)\n"
            "output q = a -> dense 1 sigmoid\nloss p=scce(from_logits=true) q=bce\n{}")
    y = {"p": Y, "q": Y.astype("float32")}
    plain = _build(spec.format(""), registry)
    weighted = _build(spec.format("loss_weights p=0.5 q=2.0"), registry)
    weighted.set_weights(plain.get_weights())
    a = plain.evaluate(X, y, verbose=0, return_dict=True)
    b = weighted.evaluate(X, y, verbose=0, return_dict=True)
    assert b["p_loss"] == pytest.approx(a["p_loss"], rel=1e-5)  # each output's own loss is unweighted
    assert b["loss"] == pytest.approx(0.5 * a["p_loss"] + 2.0 * a["q_loss"], rel=1e-4)


def test_class_weights_weigh_the_loss_through_nndsls_tfdata_pipeline(registry):
    from nndsl.perf import training_plan

    model_ir = nndsl.check("input 4; dense 2 softmax kernel_initializer=zeros; sgd 1e-12; loss scce; "
                           "fit class_weight=(1.0, 3.0) pipeline=tfdata", registry=registry)
    model = nndsl.build(model_ir, registry=registry)
    plan = training_plan(model_ir, len(X), {"batch_size": 64})
    weights = dict(enumerate(model_ir.training.fit_options["class_weight"]))
    plain = model.fit(**plan.fit_arguments(X, Y), epochs=1, verbose=0).history["loss"][0]
    weighted = model.fit(**plan.fit_arguments(X, Y), epochs=1, verbose=0, class_weight=weights).history["loss"][0]
    share = float(Y.mean())
    # zero weights: every sample's loss is log 2, so the weighted mean is log 2 * mean weight
    assert plain == pytest.approx(np.log(2), rel=1e-4)
    assert weighted == pytest.approx(np.log(2) * ((1 - share) * 1.0 + share * 3.0), rel=1e-3)


# Through nndsl run ----------------------------------------------------------------------------

SPEC = """\
input 4
dense 8 relu kernel_regularizer=l2(0.001)
dense 2 softmax
adam 0.01
loss sparse_categorical_crossentropy
metrics accuracy
fit epochs={epochs} batch_size=16 validation_split=0.2 seed=1
data "d.npz"
"""


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    monkeypatch.setenv("NNDSL_OFFLINE", "1")
    np.savez(tmp_path / "d.npz", x=X.repeat(4, axis=0), y=Y.repeat(4, axis=0))

    def write(extra: str = "", epochs: int = 2):
        path = tmp_path / "tiny.nn"
        path.write_text(SPEC.format(epochs=epochs) + extra)
        return path

    return write


def test_balanced_class_weights_are_computed_from_the_training_labels_and_printed(tiny, tmp_path, capsys):
    spec = tiny("", epochs=1)
    spec.write_text(spec.read_text().replace("seed=1", "seed=1 class_weight=balanced"))
    assert main(["run", str(spec), "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("class weights"))
    assert "balanced, from" in line
    n = int(line.split("from ")[1].split(" ")[0].replace(",", ""))
    assert n < len(Y) * 4  # the training rows only: test and validation rows are held out
    weights = [float(part.split()[1]) for part in line.split(": ", 1)[1].split(", ")]
    assert weights[1] > 1.0 > weights[0]  # the rare class weighs more


def test_callbacks_write_inside_the_run_directory(tiny, tmp_path):
    spec = tiny('callback model_checkpoint "ckpt/best.keras" monitor=val_loss save_best_only=true\n'
                'callback csv_logger "log.csv"\n'
                "callback terminate_on_nan\n", epochs=2)
    out = tmp_path / "run"
    assert main(["run", str(spec), "--out", str(out), "--quiet"]) == 0
    assert (out / "ckpt" / "best.keras").is_file()
    with open(out / "log.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["epoch"] for r in rows] == ["0", "1"] and "val_accuracy" in rows[0]
    assert not (tmp_path / "log.csv").exists()  # nothing lands in the working or spec folder


def test_a_resumed_run_appends_to_its_csv_log(tiny, tmp_path):
    spec = tiny('callback csv_logger "log.csv"\n', epochs=1)
    out = tmp_path / "run"
    assert main(["run", str(spec), "--out", str(out), "--quiet"]) == 0
    assert main(["run", "--resume", str(out), "--epochs", "2", "--quiet"]) == 0
    with open(out / "log.csv", newline="") as fh:
        assert [r["epoch"] for r in csv.DictReader(fh)] == ["0", "1"]


def test_terminate_on_nan_stops_a_diverging_run(tiny, tmp_path):
    spec = tiny("callback terminate_on_nan\n", epochs=5)
    spec.write_text(spec.read_text().replace("adam 0.01", "sgd 1e30"))
    out = tmp_path / "run"
    main(["run", str(spec), "--out", str(out), "--quiet"])
    with open(out / "history.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1  # stopped in the first epoch, not after five


def test_tensorboard_writes_its_logs_inside_the_run_directory(tiny, tmp_path):
    pytest.importorskip("tensorboard")
    out = tmp_path / "run"
    assert main(["run", str(tiny('callback tensorboard "tb"\n', epochs=1)), "--out", str(out), "--quiet"]) == 0
    assert any(name.startswith("events.out") for _, _, files in os.walk(out / "tb") for name in files)


def test_tensorboard_without_its_package_says_what_to_install(tiny, tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    out = tmp_path / "run"
    assert main(["run", str(tiny('callback tensorboard "tb"\n', epochs=1)), "--out", str(out), "--quiet"]) == 4
    assert "pip install nndsl[tensorboard]" in capsys.readouterr().err
    assert not out.exists()  # failed before the first epoch: nothing left behind


def test_the_tensorboard_flag_writes_event_files_into_the_run_directory_and_resume_keeps_it(tiny, tmp_path):
    pytest.importorskip("tensorboard")
    out = tmp_path / "run"
    assert main(["run", str(tiny("", epochs=1)), "--out", str(out), "--quiet", "--tensorboard"]) == 0

    def events():
        return sorted(os.path.join(d, n) for d, _, files in os.walk(out / "tensorboard")
                      for n in files if n.startswith("events.out"))

    first = events()
    assert first  # Keras' TensorBoard callback wrote its train (and validation) logs
    assert json.loads((out / "run.json").read_text())["tensorboard"] == "tensorboard"
    assert main(["run", "--resume", str(out), "--epochs", "2", "--quiet"]) == 0
    assert len(events()) > len(first)  # the resumed epochs log too, without --tensorboard again


def test_the_tensorboard_flag_without_its_package_stops_before_anything_is_written(tiny, tmp_path, monkeypatch,
                                                                                   capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    out = tmp_path / "run"
    assert main(["run", str(tiny("", epochs=1)), "--out", str(out), "--quiet", "--tensorboard"]) == 4
    err = capsys.readouterr().err
    assert "--tensorboard needs the tensorboard package" in err and "pip install nndsl[tensorboard]" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_a_run_without_the_flag_records_no_tensorboard_and_writes_no_logs(tiny, tmp_path):
    out = tmp_path / "run"
    assert main(["run", str(tiny("", epochs=1)), "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "run.json").read_text())["tensorboard"] is None
    assert not (out / "tensorboard").exists()


def test_learning_rate_scheduler_sets_the_rate_per_epoch(tiny, tmp_path):
    spec = tiny("callback learning_rate_scheduler exponential_decay(0.1, decay_steps=1, decay_rate=0.5)\n", epochs=3)
    out = tmp_path / "run"
    assert main(["run", str(spec), "--out", str(out), "--quiet"]) == 0
    with open(out / "history.csv", newline="") as fh:
        rates = [float(r["learning_rate"]) for r in csv.DictReader(fh)]
    assert rates == pytest.approx([0.1, 0.05, 0.025])


def test_emitted_script_carries_callbacks_schedules_and_class_weights(tiny, tmp_path, registry):
    spec = tiny("callback learning_rate_scheduler exponential_decay(0.1, 1, 0.5)\n", epochs=1)
    spec.write_text(spec.read_text().replace("seed=1", "seed=1 class_weight=balanced"))
    source = nndsl.emit(nndsl.load(str(spec), registry=registry), registry=registry)
    assert "def epoch_schedule(schedule):" in source and "def balanced_class_weight(labels, classes):" in source
    assert "keras.callbacks.LearningRateScheduler(schedule=epoch_schedule(" in source
    assert "class_weight=balanced_class_weight(train[1], 2)" in source
    assert "import nndsl" not in source
    namespace: dict = {"__name__": "emitted"}
    exec(source, namespace)  # noqa: S102 - generated code under test: the helpers run as defined
    weights = namespace["balanced_class_weight"](np.array([0, 0, 0, 1]), 2)
    assert weights == pytest.approx({0: 4 / 6, 1: 2.0})
    schedule = namespace["epoch_schedule"](namespace["keras"].optimizers.schedules.ExponentialDecay(0.1, 1, 0.5))
    assert schedule(2, 0.1) == pytest.approx(0.025)


@pytest.mark.slow
def test_the_emitted_script_trains_the_training_section_exactly_as_run(tiny, tmp_path):
    """Class weights, a per-epoch schedule, loss options, regularizers and a CSV log, run both ways."""
    import json
    import subprocess
    import sys

    spec = tmp_path / "full.nn"
    spec.write_text("input 4\n"
                    "dense 8 relu kernel_regularizer=l2(0.001) kernel_constraint=max_norm(2)\n"
                    "dense 2\n"
                    "sgd 0.1 momentum=0.5\n"
                    "loss categorical_crossentropy from_logits=true label_smoothing=0.1\n"
                    "metrics accuracy\n"
                    "fit epochs=3 batch_size=16 class_weight=balanced\n"
                    "callback learning_rate_scheduler exponential_decay(0.1, decay_steps=1, decay_rate=0.5)\n"
                    'callback csv_logger "log.csv"\n'
                    'data "d.npz"\n')
    tiny()  # writes d.npz beside the spec
    script = tmp_path / "train.py"
    assert main(["emit", str(spec), "--seed", "3", "-o", str(script)]) == 0
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [ln for ln in done.stdout.splitlines() if ln.startswith("test: ")]
    words = line.split()[1:]
    script_metrics = {words[i]: float(words[i + 1]) for i in range(0, len(words), 2)}
    assert (tmp_path / "log.csv").is_file()  # the script's callbacks write where it runs

    out = tmp_path / "run"
    assert main(["run", str(spec), "--out", str(out), "--quiet", "--seed", "3", "--pipeline", "numpy"]) == 0
    run_metrics = json.loads((out / "metrics.json").read_text())["test"]
    for name, value in script_metrics.items():
        assert run_metrics[name] == pytest.approx(value, abs=1e-5), name
    with open(out / "history.csv", newline="") as fh:
        assert [float(r["learning_rate"]) for r in csv.DictReader(fh)] == pytest.approx([0.1, 0.05, 0.025])


def test_only_a_callback_that_watches_a_quantity_is_warned_about_missing_validation(tiny, tmp_path, capsys):
    # Before: every callback without a monitor option (csv_logger, tensorboard, ...) was said to
    # monitor val_loss when the fit held out no validation data.
    # (A callback that does watch val_* without validation data is E504 at check.)
    spec = tiny('callback csv_logger "log.csv"\n', epochs=1)
    spec.write_text(spec.read_text().replace(" validation_split=0.2", ""))
    assert main(["run", str(spec), "--out", str(tmp_path / "run"), "--tensorboard"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "run" / "log.csv").is_file()
    assert "monitors" not in out

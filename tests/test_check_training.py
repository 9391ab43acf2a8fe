"""`check` on the training vocabulary: call values, loss options and weights, class weights,
callbacks, and what can only fail later (issue 15). No Keras: all of it is the front end.
"""

from __future__ import annotations

import json

import pytest

import nndsl
from nndsl import codes, ir
from nndsl.cli import main
from nndsl.diagnostics import SpecError
from nndsl.params import Configured


def diagnostics(spec: str, registry) -> list:
    try:
        return list(nndsl.check_source(nndsl.diagnostics.Source(spec), registry).warnings)
    except SpecError as e:
        return list(e.diagnostics)


def codes_of(spec: str, registry) -> list[str]:
    return [d.code for d in diagnostics(spec, registry)]


# The misleading errors of issue 15, each now accepted ---------------------------------------

@pytest.mark.parametrize("spec", [
    "input 4; dense 2 softmax; loss scce; fit class_weight=balanced",                  # was: "blocks are not ..."
    "input 4; dense 2 softmax; loss scce; fit class_weight=(1.0, 3.0)",
    "input 4; dense 2; loss sparse_categorical_crossentropy from_logits=true",           # was: per-output loss error
    "input a 4; output p = a -> dense 2 softmax; output q = a -> dense 1 sigmoid; loss p=scce q=bce; "
    "loss_weights p=1.0 q=0.2",                                                         # was: unknown layer
    "input 4; dense 2 softmax; adam cosine_decay(1e-3, decay_steps=1000); loss scce",   # was: expected a number
    "input 4; dense 2 softmax kernel_regularizer=l2(0.01); loss scce",                  # was: positional-argument error
    'input 4; dense 2 softmax; loss scce; callback model_checkpoint "m.keras"',         # was: E210
    'input 4; dense 2 softmax; loss scce; callback csv_logger "log.csv"',
    "input 4; dense 2 softmax; loss scce; callback terminate_on_nan",
    "input 4; dense 2 softmax; sgd 0.1; loss scce; callback learning_rate_scheduler exponential_decay(0.1, 1, 0.9)",
])
def test_issue_15_spellings_check(spec, registry):
    assert not [d for d in diagnostics(spec, registry) if d.is_error]


def test_call_values_become_configured_objects_and_round_trip_through_json(registry):
    model = nndsl.check(
        "input 4; dense 2 softmax kernel_regularizer=l1_l2(l2=0.5) kernel_constraint=non_neg() "
        "kernel_initializer=uniform(-1, 1); sgd piecewise_constant_decay((10,), (0.1, 0.01)); loss scce",
        registry=registry)
    attrs = model.nodes[0].attr
    assert attrs["kernel_regularizer"] == Configured("regularizer", "l1_l2", (("l2", 0.5),))
    assert attrs["kernel_constraint"] == Configured("constraint", "non_neg", ())
    assert attrs["kernel_initializer"] == Configured("initializer", "random_uniform", (("minval", -1.0), ("maxval", 1.0)))
    lr = model.training.optimizer.attr["learning_rate"]
    assert lr == Configured("schedule", "piecewise_constant_decay", (("boundaries", (10,)), ("values", (0.1, 0.01))))
    data = json.loads(json.dumps(ir.to_json(model)))
    assert data["nodes"][0]["attrs"]["kernel_regularizer"] == {"object": "regularizer", "name": "l1_l2",
                                                               "options": {"l2": 0.5}}
    assert ir.from_json(data) == model


def test_bare_names_keep_working_and_mean_the_defaults(registry):
    model = nndsl.check("input 4; dense 2 kernel_regularizer=l2 kernel_initializer=he_normal bias_constraint=non_neg",
                        registry=registry)
    assert model.nodes[0].attr["kernel_regularizer"] == "l2"
    assert model.nodes[0].attr["kernel_initializer"] == "he_normal"


def test_loss_options_and_weights_in_the_ir(registry):
    model = nndsl.check("input a 4; output p = a -> dense 2; output q = a -> dense 1 sigmoid; "
                        "loss p=scce(from_logits=true) q=bce; loss_weights 1.0 0.2", registry=registry)
    t = model.training
    assert t.loss_options == (("p", (("from_logits", True),)),)
    assert t.loss_weights == (("p", 1.0), ("q", 0.2))
    assert t.loss_for("p") == ("sparse_categorical_crossentropy", {"from_logits": True})
    assert ir.from_json(json.loads(json.dumps(ir.to_json(model)))) == model


# Errors at the right place ------------------------------------------------------------------

@pytest.mark.parametrize("spec, code, column, words", [
    ("input 4; dense 2 kernel_regularizer=l3(0.01)", codes.ARG_TYPE, 37, "unknown regularizer 'l3'"),
    ("input 4; dense 2 kernel_regularizer=max_norm(3)", codes.ARG_TYPE, 37, "unknown regularizer"),
    ("input 4; dense 2 kernel_regularizer=l2(0.01, 2)", codes.ARG_TYPE, 46, "takes 1 positional argument"),
    ("input 4; dense 2 kernel_regularizer=l2(l3=1)", codes.ARG_TYPE, 40, "has no option 'l3'"),
    ("input 4; dense 2 kernel_regularizer=l2(-1)", codes.ARG_RANGE, 40, "at least 0"),
    ("input 4; dense 2 kernel_regularizer=l2(x=1, 0.1)", codes.ARG_ORDER, 45, "positional argument after"),
    ("input 4; dense 2; adam cosine_decay", codes.ARG_TYPE, 24, "needs 'initial_learning_rate'"),
    ("input 4; dense 2; adam cosine_decay(1e-3, 10, warmup_steps=5)", codes.ARG_RANGE, 24, "warmup_target"),
    ("input 4; dense 2; adam cosinedecay(1e-3, 10)", codes.ARG_TYPE, 24, "unknown schedule"),
    ("input 4; dense 2; sgd piecewise_constant_decay((2, 1), (1, 2, 3))", codes.ARG_RANGE, 23, "must increase"),
    ("input 4; dense 2 kernel_initializer=random_uniform(1, 0)", codes.ARG_RANGE, 37, "less than maxval"),
    ("input 4; dense 2; loss mse from_logits=true", codes.UNKNOWN_KEYWORD, 28, "takes no options"),
    ("input 4; dense 2; loss bce fromlogits=true", codes.UNKNOWN_KEYWORD, 28, "no option 'fromlogits'"),
    ("input 4; dense 2; loss mse out=mae", codes.SYNTAX, 28, "per-output losses in one statement"),
    ("input 4; dense 2; loss bce(label_smoothing=2)", codes.ARG_RANGE, 44, "at most 1.0"),
    ("input 4; dense 2; loss_weights 0.5 1; loss mse", codes.ARG_COUNT, 19, "2 weights for 1 output"),
    ("input 4; dense 2; loss_weights -1; loss mse", codes.ARG_RANGE, 32, "at least 0"),
    ("input 4; dense 2; fit class_weight=(1, -2)", codes.ARG_RANGE, 36, "at least 0"),
    ("input 4; dense 2; fit class_weight=bal", codes.ARG_TYPE, 36, "balanced or a tuple"),
    ("input 4; dense 3 softmax; loss scce; fit class_weight=(1, 2)", codes.ARG_RANGE, 38, "3 classes"),
    ("input 4; dense 2; callback backup_and_restore", codes.UNKNOWN_CALLBACK, 28, "backup_and_restore"),
    ('input 4; dense 2; callback model_checkpoint "m.h5"', codes.ARG_RANGE, 19, "must end in .keras"),
    ('input 4; dense 2; callback model_checkpoint "m.keras" save_weights_only=true', codes.ARG_RANGE, 19,
     ".weights.h5"),
    ('input 4; dense 2; callback csv_logger ""', codes.ARG_RANGE, 39, "empty path"),
    ("input 4; dense 2; callback learning_rate_scheduler 0.1", codes.ARG_TYPE, 52, "schedule"),
])
def test_errors_point_at_the_value(spec, code, column, words, registry):
    found = [d for d in diagnostics(spec, registry) if d.is_error]
    assert found and found[0].code == code, found
    assert found[0].span.column == column and words in found[0].message, found[0]


def test_a_python_dict_as_class_weight_is_told_the_tuple_form(registry):
    (d,) = diagnostics("input 4; dense 2 softmax; loss scce; fit class_weight={0: 1, 1: 3}", registry)
    assert d.code == codes.UNEXPECTED_CHARACTER and "blocks" not in (d.hint or "")
    assert "class_weight=(1.0, 3.0)" in d.hint


def test_hints_name_the_right_table_and_the_resume_command(registry):
    (d,) = diagnostics("input 4; dense 2 kernel_regularizer=max_norm(3)", registry)
    assert "'max_norm' is a constraint" in d.hint
    (d,) = diagnostics("input 4; dense 2; callback backup_and_restore", registry)
    assert "--resume" in d.hint


# What can only fail later, caught by check --------------------------------------------------

def test_validation_monitor_without_validation_data_is_an_error(registry):
    (d,) = diagnostics("input 4; dense 2 softmax; loss scce\ncallback early_stopping monitor=val_accuracy", registry)
    assert d.code == codes.NO_VALIDATION and (d.span.line, d.span.column) == (2, 33)
    assert "validation_split" in d.hint
    # the default monitor is val_loss: the bare callback needs validation data too
    assert codes.NO_VALIDATION in codes_of("input 4; dense 2 softmax; loss scce; callback reduce_lr_on_plateau",
                                           registry)
    assert codes_of("input 4; dense 2 softmax; loss scce; fit validation_split=0.1; callback early_stopping",
                    registry) == []
    # a checkpoint saved every epoch reads no monitor
    assert codes_of('input 4; dense 2 softmax; loss scce; callback model_checkpoint "m.keras"', registry) == []


def test_monitor_that_is_never_logged_is_a_warning_with_the_logged_names(registry):
    base = "input 4; dense 2 softmax; loss scce; fit validation_split=0.1; metrics {m}; callback early_stopping monitor={n}"
    (d,) = diagnostics(base.format(m="accuracy", n="val_auc"), registry)
    assert d.code == codes.UNKNOWN_MONITOR and not d.is_error and "val_accuracy" in d.hint
    (d,) = diagnostics(base.format(m="mse", n="val_mse"), registry)
    assert "monitor=val_mean_squared_error" in d.hint
    assert codes_of(base.format(m="auc", n="val_auc"), registry) == []
    multi = ("input a 4; output p = a -> dense 2 softmax; output q = a -> dense 1 sigmoid; loss p=scce q=bce; "
             "metrics p=accuracy; fit validation_split=0.1; callback early_stopping monitor={n}")
    assert codes_of(multi.format(n="val_p_accuracy"), registry) == []
    assert codes_of(multi.format(n="val_q_loss"), registry) == []
    assert codes_of(multi.format(n="val_accuracy"), registry) == [codes.UNKNOWN_MONITOR]


def test_a_scheduled_rate_cannot_also_be_set_by_a_callback(registry):
    assert codes.BAD_TRAINING in codes_of(
        "input 4; dense 2 softmax; adam cosine_decay(0.1, 10); loss scce; callback reduce_lr_on_plateau monitor=loss",
        registry)
    assert codes_of("input 4; dense 2 softmax; adam 0.1; loss scce; callback reduce_lr_on_plateau monitor=loss",
                    registry) == []


def test_class_weight_needs_one_output(registry):
    assert codes.BAD_TRAINING in codes_of(
        "input a 4; output p = a -> dense 2 softmax; output q = a -> dense 1 sigmoid; loss p=scce q=bce; "
        "fit class_weight=balanced", registry)
    assert codes_of("input 4; dense 1 sigmoid; loss bce; fit class_weight=(1, 5)", registry) == []  # 2 classes
    assert codes_of("input 4; dense 1 relu; loss poisson; fit class_weight=balanced", registry) == [codes.BAD_TRAINING]


@pytest.mark.parametrize("spec, words", [
    ("input 4; dense 2 softmax; loss scce from_logits=true", "already applies softmax"),
    ("input 4; dense 1 sigmoid; loss bce(from_logits=true)", "already applies sigmoid"),
    ("input 4; dense 3 sigmoid; loss scce", "wants a softmax"),
    ("input 4; dense 3; loss cce", "has no activation"),
    ("input 4; dense 1; loss bce", "add sigmoid"),
])
def test_loss_and_output_activation_that_disagree_warn(spec, words, registry):
    (d,) = diagnostics(spec, registry)
    assert d.code == codes.SUSPICIOUS and not d.is_error
    assert words in d.message + " " + d.hint
    assert d.span.column == spec.index("loss") + 1


@pytest.mark.parametrize("spec", [
    "input 4; dense 2 softmax; loss scce",
    "input 4; dense 2; loss scce from_logits=true",
    "input 4; dense 1 sigmoid; loss bce",
    "input 4; dense 2; loss mse",
    "input 4; dense 2; flatten; loss scce",  # the activation is not known: no guess
])
def test_agreeing_losses_do_not_warn(spec, registry):
    assert codes.SUSPICIOUS not in codes_of(spec, registry)


def test_check_reports_a_missing_data_file_relative_to_the_spec(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "specs"
    folder.mkdir()
    spec = folder / "m.nn"
    spec.write_text('input 4\ndense 2 softmax\nloss scce\ndata "d.npz"\n')
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.npz").write_bytes(b"")  # beside the working directory: not where run looks
    assert main(["check", str(spec)]) == 1
    err = capsys.readouterr().err
    assert "error[E505]" in err and "m.nn:4:1" in err and str(folder / "d.npz") in err
    (folder / "d.npz").write_bytes(b"")
    assert main(["check", str(spec)]) == 0
    # the library call (no file to resolve against) leaves data alone
    nndsl.check('input 4; dense 2 softmax; loss scce; data "nowhere.npz"')


def test_expressions_inside_call_values_are_evaluated_before_binding(registry):
    model = nndsl.check("let f = 2\ninput 4\ndense 4 kernel_regularizer=l2(0.001 * f)\n"
                        "sgd exponential_decay(0.1, decay_steps=10 * f, decay_rate=0.5)\nloss mse", registry=registry)
    assert model.nodes[0].attr["kernel_regularizer"].option["l2"] == pytest.approx(0.002)
    assert model.training.optimizer.attr["learning_rate"].option["decay_steps"] == 20

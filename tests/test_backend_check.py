"""``nndsl check --backend NAME`` (and emit, run, build): every construct the backend cannot
lower, as E700/E701 diagnostics at their lines, all at once, before any work.

The backend here is a plugin's toy with a tiny lowering table, so nothing needs Keras or torch.
"""

from __future__ import annotations

import json

import pytest

import nndsl
from nndsl import codes
from nndsl.backends.base import Backend, BackendError, lowering_diagnostics, require_lowerable
from nndsl.diagnostics import Source
from nndsl.errors import SpecError
from nndsl.lowering import KINDS, Lowering

from test_plugins import registry_with


class _Toy(Backend):
    name = "toy"
    description = "lowers a handful of constructs"
    emits = ("txt",)
    lowers = tuple(KINDS)

    def emit(self, model, registry, fmt="txt", **options):
        return f"{len(model.nodes)} layers\n"


def _toy_lowerings(backend):
    if backend != "toy":
        return None
    return [Lowering("layer", "dense", "D"), Lowering("layer", "flatten", "F"), Lowering("activation", "relu", "r"),
            Lowering("activation", "softmax", "s"), Lowering("optimizer", "adam", "A"),
            Lowering("loss", "sparse_categorical_crossentropy", "L"), Lowering("metric", "accuracy", "acc"),
            Lowering("initializer", "glorot_uniform", "g"), Lowering("initializer", "zeros", "z")]


@pytest.fixture
def toy():
    return registry_with(nndsl_backends=lambda: [_Toy()], nndsl_lowerings=_toy_lowerings)


SPEC = """\
input 8 8 3
conv2d 4 3 relu
flatten
dense 16 gelu kernel_regularizer=l2(0.01)
dense 10 softmax
sgd exponential_decay(0.1, 100, 0.5)
loss scce
metrics accuracy auc
fit validation_split=0.2
callback early_stopping
"""


def _diags(registry, text=SPEC, training=True):
    model = nndsl.check(text, registry=registry)
    return lowering_diagnostics(registry.backends["toy"], model, registry, training)


def test_every_missing_construct_is_reported_at_its_line(toy):
    found = [(d.code, d.span.line, d.message) for d in _diags(toy)]
    assert found == [
        ("E700", 2, "layer 'conv2d' has no lowering in backend 'toy'"),
        ("E700", 4, "activation 'gelu' has no lowering in backend 'toy'"),
        ("E700", 4, "regularizer 'l2' has no lowering in backend 'toy'"),
        ("E700", 6, "optimizer 'sgd' has no lowering in backend 'toy'"),
        ("E700", 6, "schedule 'exponential_decay' has no lowering in backend 'toy'"),
        ("E700", 8, "metric 'auc' has no lowering in backend 'toy'"),
        ("E700", 10, "callback 'early_stopping' has no lowering in backend 'toy'"),
    ]


def test_a_missing_loss_points_at_the_loss_name(toy):
    (diag,) = _diags(toy, "input 3\ndense 2\nadam\nloss mse\n")
    assert (diag.message, diag.span.line, diag.span.column) == ("loss 'mse' has no lowering in backend 'toy'", 4, 6)


def test_hints_name_the_backends_that_do_lower_it(toy):
    conv = _diags(toy)[0]
    assert "keras-functional and keras-sequential lower it" in conv.hint and "nndsl_lowerings" in conv.hint


def test_building_needs_only_what_the_model_uses(toy):
    """nndsl.build(compile=False) needs layers, activations and objects in layer arguments, not training."""
    kinds = {d.message.split()[0] for d in _diags(toy, training=False)}
    assert kinds == {"layer", "activation", "regularizer"}


def test_require_lowerable_with_a_source_raises_a_spec_error(toy):
    source = Source(SPEC, "m.nn")
    model = nndsl.check_source(source, toy).model
    with pytest.raises(SpecError) as err:
        require_lowerable(toy.backends["toy"], model, toy, source=source)
    assert len(err.value.diagnostics) == 7
    text = err.value.render()
    assert "m.nn:2:1: error[E700]: layer 'conv2d' has no lowering in backend 'toy'" in text
    assert text.rstrip().endswith("7 errors")


def test_api_emit_and_build_refuse_before_any_work(toy):
    with pytest.raises(BackendError) as err:
        nndsl.emit(SPEC, fmt="txt", backend="toy", registry=toy)
    assert "line 2: layer 'conv2d' has no lowering" in str(err.value)
    assert "line 10: callback 'early_stopping'" in str(err.value)
    assert nndsl.emit("input 3\nflatten\ndense 2 relu\nadam\nloss scce\n", fmt="txt", backend="toy",
                      registry=toy) == "2 layers\n"


def test_keras_backends_lower_every_builtin(registry):
    model = nndsl.check(SPEC, registry=registry)
    for name in ("keras-functional", "keras-sequential"):
        assert lowering_diagnostics(registry.backends[name], model, registry) == []


def test_an_unknown_backend_lists_the_installed_ones(toy):
    from nndsl.backends.base import get_backend

    with pytest.raises(BackendError, match=r"unknown backend 'tyo'; did you mean 'toy'\? \(installed: .*toy"):
        get_backend(toy, "tyo")


def test_losses_and_metrics_keep_their_spans_through_json(registry):
    model = nndsl.check("input a 3\noutput p = a -> dense 2 softmax\nloss p=scce\nmetrics p=accuracy\nfit epochs=2",
                        registry=registry)
    t = model.training
    assert [(s.line, s.column) for s in t.loss_spans] == [(3, 8)]
    assert [(s.line, s.column) for s in t.metric_spans] == [(4, 11)]
    assert t.fit_span.line == 5
    assert nndsl.ir.from_json(json.loads(json.dumps(nndsl.ir.to_json(model)))) == model


# the command line ---------------------------------------------------------------------------

@pytest.fixture
def cli(toy, monkeypatch, tmp_path, capsys):
    from nndsl import cli as cli_module

    monkeypatch.setattr(cli_module, "_registry", lambda: toy)
    path = tmp_path / "m.nn"
    path.write_text(SPEC, encoding="utf-8")

    def run(*argv):
        code = cli_module.main([a if a != "FILE" else str(path) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_check_backend_reports_all_at_once(cli):
    code, out, err = cli("check", "--backend", "toy", "FILE")
    assert code == 1 and out == ""
    assert err.count("error[E700]") == 7 and "7 errors" in err
    assert "m.nn:8:18: error[E700]: metric 'auc' has no lowering in backend 'toy'" in err


def test_check_without_backend_is_unchanged(cli):
    code, out, _ = cli("check", "FILE")
    assert code == 0 and out.startswith("ok:")


def test_check_backend_json(cli):
    code, out, _ = cli("check", "--backend", "toy", "--format", "json", "FILE")
    report = json.loads(out)
    assert code == 1 and not report["ok"]
    assert {d["code"] for d in report["diagnostics"]} == {codes.NO_LOWERING}


def test_check_unknown_backend_is_a_usage_error(cli):
    code, _, err = cli("check", "--backend", "nope", "FILE")
    assert code == 2 and "unknown backend 'nope'" in err and "installed: " in err and "toy" in err


def test_emit_reports_before_emitting(cli):
    code, out, err = cli("emit", "--format", "txt", "--backend", "toy", "FILE")
    assert code == 1 and out == "" and "7 errors" in err


def test_lowering_hook_clashes_are_printed(monkeypatch, tmp_path, capsys):
    """Two plugins lowering one construct for a backend: the CLI says so (the first one wins)."""
    import types

    from nndsl import cli as cli_module
    from nndsl.plugins import build_registry, get_plugin_manager

    pm = get_plugin_manager(load_entrypoints=False)
    for name in ("first", "second"):
        plugin = types.ModuleType(name)
        plugin.nndsl_lowerings = nndsl.hookimpl(lambda backend: _toy_lowerings(backend))
        pm.register(plugin, name)
    only_one = types.ModuleType("backend_owner")
    only_one.nndsl_backends = nndsl.hookimpl(lambda: [_Toy()])
    pm.register(only_one, "backend_owner")
    reg = build_registry(pm)
    monkeypatch.setattr(cli_module, "_registry", lambda: reg)
    path = tmp_path / "m.nn"
    path.write_text("input 3\ndense 2 relu\nadam\nloss scce\n", encoding="utf-8")
    assert cli_module.main(["check", "--backend", "toy", str(path)]) == 0
    err = capsys.readouterr().err
    assert "nndsl: warning: plugins 'first' and 'second' both lower layer 'dense' for backend 'toy'" in err

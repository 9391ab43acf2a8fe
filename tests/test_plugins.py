"""The plugin API: every hook documented and exercised, the manager's contract, nndsl plugins.

Each test gets a fresh plugin manager; plugins here are in-memory objects registered the way
an entry point would be (robustness against broken packages: test_plugin_robustness.py).
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import types

import numpy as np
import pytest

import nndsl
from nndsl import hookspecs
from nndsl.backends.base import Backend
from nndsl.params import Float, Param
from nndsl.plugins import PluginError, build_registry, get_plugin_manager
from nndsl.registry import (ActivationDef, DatasetDef, LayerDef, LossDef, MetricDef, OptimizerDef,
                            ParamCount)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOOKS = sorted(n for n in dir(hookspecs) if n.startswith("nndsl_"))


def plugin_object(**attrs) -> types.ModuleType:
    """A plugin object (a module, as installed plugins are) with the given attributes."""
    plugin = types.ModuleType("testplugin")
    plugin.__dict__.update(attrs)
    return plugin


def registry_with(**hooks):
    """A fresh registry with one extra plugin implementing the given hooks."""
    plugin = plugin_object(**{name: nndsl.hookimpl(fn) for name, fn in hooks.items()})
    pm = get_plugin_manager(load_entrypoints=False)
    assert pm.register(plugin, "testplugin", distribution="test", version="0")
    return build_registry(pm)


# The documentation and test meta-checks ------------------------------------------------------

def _doc_signature(name: str) -> str:
    fn = getattr(hookspecs, name)
    sig = inspect.signature(fn)
    ret = str(sig.return_annotation).strip("'\"")
    params = ", ".join(str(p).replace("'", "") for p in sig.parameters.values())
    return f"def {name}({params}) -> {ret}:"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_its_exact_signature(hook):
    guide = open(os.path.join(ROOT, "docs", "PLUGINS.md"), encoding="utf-8").read()
    assert f"### {hook}" in guide, f"docs/PLUGINS.md has no section for {hook}"
    assert _doc_signature(hook) in guide, f"docs/PLUGINS.md does not show {_doc_signature(hook)}"
    assert getattr(hookspecs, hook).__doc__ and "Called" in getattr(hookspecs, hook).__doc__


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook):
    source = open(__file__, encoding="utf-8").read()
    assert re.search(rf"def test_hook_{hook}\b", source), f"no test_hook_{hook} in tests/test_plugins.py"


def test_hookimpl_is_exported_and_specs_are_prefixed():
    assert nndsl.hookimpl is hookspecs.hookimpl
    assert HOOKS and all(h.startswith("nndsl_") for h in HOOKS)


# One test per hook, through the spec language ------------------------------------------------

def _double_shape(attrs, shapes):
    return (*shapes[0][:-1], shapes[0][-1] * 2)


def test_hook_nndsl_layers():
    layer = LayerDef("twice", "twice", (), _double_shape, lambda a, s: ParamCount(),
                     doc="x concatenated with itself")
    reg = registry_with(nndsl_layers=lambda: [layer])
    model = nndsl.check("input 5\ntwice\ndense 3", registry=reg)
    assert model.nodes[0].op == "twice" and model.nodes[0].shape == (10,)
    assert model.nodes[1].params.total == 10 * 3 + 3
    assert reg.owner("layers", "twice") == "testplugin"


def test_hook_nndsl_activations():
    reg = registry_with(nndsl_activations=lambda: [ActivationDef("hard_swish_v2")])
    model = nndsl.check("input 4\ndense 3 hard_swish_v2\nhard_swish_v2", registry=reg)
    assert model.nodes[0].attr["activation"] == "hard_swish_v2"
    assert model.nodes[1].op == "activation"


def test_hook_nndsl_optimizers():
    opt = OptimizerDef("sgd2", (Param("learning_rate", Float(min=0.0), default=0.01, positional=True),
                                       Param("momentum", Float(min=0.0, max=1.0), default=0.0)))
    reg = registry_with(nndsl_optimizers=lambda: [opt])
    model = nndsl.check("input 4; dense 2; sgd2 0.5 momentum=0.9; loss mse", registry=reg)
    assert model.training.optimizer.name == "sgd2"
    assert model.training.optimizer.attr["momentum"] == 0.9
    with pytest.raises(nndsl.SpecError, match="momentum"):
        nndsl.check("input 4; dense 2; sgd2 0.5 momentum=2", registry=reg)


def test_hook_nndsl_losses():
    reg = registry_with(nndsl_losses=lambda: [LossDef("l2", labels="one_hot")])
    model = nndsl.check("input 4; dense 2; loss l2", registry=reg)
    assert model.training.losses == (("", "l2"),)


def test_hook_nndsl_metrics():
    reg = registry_with(nndsl_metrics=lambda: [MetricDef("acc2")])
    model = nndsl.check("input 4; dense 2; loss mse; metrics acc2", registry=reg)
    assert model.training.metrics == (("", "acc2"),)


def _object(name, *params, **kw):
    from nndsl.params import Float, Param
    from nndsl.registry import ObjectDef

    return ObjectDef(name, tuple(Param(p, Float(min=0.0), default=0.5, positional=True) for p in params), **kw)


def test_hook_nndsl_regularizers():
    from nndsl.diagnostics import SpecError
    from nndsl.params import Configured

    reg = registry_with(nndsl_regularizers=lambda: [_object("l3", "factor", doc="cubic penalty")])
    model = nndsl.check("input 4; dense 2 kernel_regularizer=l3(0.1); loss mse", registry=reg)
    assert model.nodes[0].attr["kernel_regularizer"] == Configured("regularizer", "l3", (("factor", 0.1),))
    with pytest.raises(SpecError, match="l3"):
        nndsl.check("input 4; dense 2 kernel_regularizer=l3(0.1, 0.2)", registry=reg)


def test_hook_nndsl_constraints():
    reg = registry_with(nndsl_constraints=lambda: [_object("clip_norm", "limit")])
    model = nndsl.check("input 4; dense 2 kernel_constraint=clip_norm(2); loss mse", registry=reg)
    assert model.nodes[0].attr["kernel_constraint"].options == (("limit", 2.0),)


def test_hook_nndsl_initializers():
    reg = registry_with(nndsl_initializers=lambda: [_object("halves")])
    model = nndsl.check("input 4; dense 2 kernel_initializer=halves; loss mse", registry=reg)
    assert model.nodes[0].attr["kernel_initializer"] == "halves"


def test_hook_nndsl_schedules():
    reg = registry_with(nndsl_schedules=lambda: [_object("halving", "start")])
    model = nndsl.check("input 4; dense 2; adam halving(0.1); loss mse", registry=reg)
    assert model.training.optimizer.attr["learning_rate"].name == "halving"


def test_hook_nndsl_callbacks():
    reg = registry_with(nndsl_callbacks=lambda: [_object("print_epoch", "every")])
    model = nndsl.check("input 4; dense 2; loss mse; callback print_epoch 2", registry=reg)
    assert model.training.callbacks[0].name == "print_epoch"
    assert model.training.callbacks[0].options == (("every", 2.0),)


class _CountingBackend(Backend):
    name = "count-layers"
    description = "emits the number of layers"
    emits = ("txt",)

    def emit(self, model, registry, fmt="txt", **options):
        return f"{len(model.nodes)} layers\n"


def test_hook_nndsl_backends():
    reg = registry_with(nndsl_backends=lambda: [_CountingBackend()])
    assert nndsl.emit("input 4; dense 2; dense 1", fmt="txt", backend="count-layers", registry=reg) == "2 layers\n"


def test_hook_nndsl_lowerings():
    """A plugin lowers its own activation and a built-in loss for Keras, without touching a definition."""
    from nndsl.backends.keras import compile_arguments
    from nndsl.backends.keras.emit import emit_python
    from nndsl.lowering import Lowering

    calls = []

    def lowerings(backend):
        calls.append(backend)
        if backend == "keras":
            return [Lowering("activation", "hard_swish_v2", "hard_swish"), Lowering("loss", "mse", "huber")]
        return None

    reg = registry_with(nndsl_activations=lambda: [ActivationDef("hard_swish_v2")], nndsl_lowerings=lowerings)
    model = nndsl.check("input 4\ndense 3 hard_swish_v2\nloss mse", registry=reg)
    assert compile_arguments(model, reg)["loss"] == "huber"  # the plugin replaced the built-in entry
    assert 'layers.Dense(3, activation="hard_swish"' in emit_python(model, reg, sequential=True)
    assert reg.lowerings("keras").owner("loss", "mse") == "testplugin"
    assert calls == ["keras"]  # asked once per backend, through pluggy with the keyword argument


def test_hook_nndsl_datasets():
    from nndsl.datasets import RawData

    def load():
        x = np.zeros((10, 4), dtype="float32")
        return RawData(x, np.zeros(10, dtype="int64"), None, None, "ten zeros")

    reg = registry_with(nndsl_datasets=lambda: [DatasetDef("zeros", load)])
    model = nndsl.check("input 4; dense 2; loss mse; data zeros", registry=reg)
    assert model.training.data.kind == "dataset" and model.training.data.value == "zeros"
    assert reg.datasets["zeros"].load().source == "ten zeros"


def test_hook_nndsl_data_formats(tmp_path):
    from nndsl.data import prepare_data
    from nndsl.params import Int
    from nndsl.prepare import Prepared
    from nndsl.registry import DataFormatDef

    seen = {}

    def prepare(path, options, model, registry, *, shown, **split):
        seen.update(path=path, options=options, shown=shown, split=split)
        x = np.zeros((5, 4), "float32")
        return Prepared(x, x[:, :2], None, None, None, None, ("made up",), f"{shown} (zeros)")

    fmt = DataFormatDef("zeros", prepare, suffixes=(".zeros",), params=(Param("rows", Int(min=1), default=5),))
    reg = registry_with(nndsl_data_formats=lambda: [fmt])
    model = nndsl.check('input 4; dense 2; loss mse; data "a.zeros" rows=3', registry=reg)
    assert reg.data_format("a.zeros") is fmt and reg.data_format("photos/").name == "folder"
    p = prepare_data(model.training.data, model, reg, base_dir=str(tmp_path), seed=4)
    assert p.source == "a.zeros (zeros)" and seen["options"] == {"rows": 3} and seen["split"]["seed"] == 4
    assert seen["path"] == os.path.join(str(tmp_path), "a.zeros")


# The manager's contract -------------------------------------------------------------------------

def test_two_plugins_registering_one_name_is_an_error_naming_both():
    pm = get_plugin_manager(load_entrypoints=False)
    for name in ("first_plugin", "second_plugin"):
        layer = LayerDef("clash", "clash", (), lambda a, s: s[0])
        plugin = plugin_object(nndsl_layers=nndsl.hookimpl(lambda layer=layer: [layer]))
        pm.register(plugin, name)
    with pytest.raises(PluginError) as err:
        build_registry(pm)
    assert "first_plugin" in str(err.value) and "second_plugin" in str(err.value)


def test_a_plugin_cannot_take_a_builtin_name():
    with pytest.raises(PluginError, match="dense.*nndsl.builtins.layers_core.*testplugin"):
        registry_with(nndsl_layers=lambda: [LayerDef("dense", "dense", (), lambda a, s: s[0])])


def test_a_plugin_returning_nonsense_is_skipped_with_a_warning():
    reg = registry_with(nndsl_layers=lambda: ["not a layer"])
    assert any("testplugin" in w and "LayerDef" in w for w in reg.warnings)
    assert nndsl.check("input 4; dense 2", registry=reg).params.total == 10


def test_a_misspelled_hook_is_reported_and_the_plugin_skipped():
    pm = get_plugin_manager(load_entrypoints=False)
    plugin = plugin_object(nndsl_layer=nndsl.hookimpl(lambda: []))
    assert not pm.register(plugin, "typo_plugin")
    assert any("typo_plugin" in w for w in pm.warnings)


def test_autoload_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("NNDSL_DISABLE_PLUGIN_AUTOLOAD", "1")
    pm = get_plugin_manager()
    assert all(info.builtin for info in pm.info.values())


def test_nndsl_plugins_lists_builtins_and_installed_plugins():
    out = subprocess.run([sys.executable, "-m", "nndsl.cli", "plugins"], capture_output=True, text=True,
                         check=True).stdout
    assert "nndsl.builtins.layers_core (built-in)" in out
    assert "keras-sequential" in out and "dense" in out
    try:
        import nndsl_extras  # noqa: F401
    except ImportError:
        pytest.skip("the example plugin nndsl-extras is not installed")
    assert re.search(r"extras \(nndsl-extras [0-9.]+\)", out)
    assert "layers: scale" in out

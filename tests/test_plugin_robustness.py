"""Broken and hostile plugins: each is reported and skipped; nndsl keeps working.

Every plugin here is a real installed distribution (a ``*.dist-info`` folder with an
``entry_points.txt`` declaring the ``nndsl`` group, next to the module it names) created in
``tmp_path``, found through ``importlib.metadata`` exactly like a pip-installed package.

A plugin that *hangs* on import is skipped after ``NNDSL_PLUGIN_IMPORT_TIMEOUT`` seconds (its
import runs in a daemon thread that is abandoned); ``NNDSL_DISABLE_PLUGIN_AUTOLOAD=1`` is the
escape hatch that imports no installed plugin at all (both tested below).
"""

from __future__ import annotations

import importlib
import itertools
import sys
import textwrap

import pytest

from nndsl import codes
from nndsl.check import check_source
from nndsl.diagnostics import Source, SpecError
from nndsl.plugins import DISABLE_AUTOLOAD_ENV, PluginError, build_registry, get_plugin_manager, reset_default

SEED = "input 784; dense 32 relu; dense 10 softmax; rmsprop 0.001; loss mse"
_ids = itertools.count()

_HEADER = """\
import nndsl
from nndsl.params import Int, Param
from nndsl.registry import LayerDef, ParamCount, ShapeError
"""


def install(tmp_path, monkeypatch, body: str, entry: str | None = None) -> tuple[str, str]:
    """Install a fake distribution holding one plugin module; return (entry-point name, module)."""
    n = next(_ids)
    module = f"nndsl_fake_plugin_{n}_{tmp_path.name[-8:].replace('-', '_')}"
    name = f"fake{n}"
    (tmp_path / f"{module}.py").write_text(_HEADER + textwrap.dedent(body))
    info = tmp_path / f"nndsl_fake_{n}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: nndsl-fake-{n}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[nndsl]\n{name} = {entry or module}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV, raising=False)
    return name, module


@pytest.fixture(autouse=True)
def _fresh_default_registry():
    reset_default()
    yield
    reset_default()


def fresh_registry():
    pm = get_plugin_manager()
    return build_registry(pm)


def assert_seed_checks(registry) -> None:
    model = check_source(Source(SEED, "seed.nn"), registry).model
    assert model.params.total == 784 * 32 + 32 + 32 * 10 + 10


def warning_about(registry, name: str) -> str:
    found = [w for w in registry.warnings if name in w]
    assert found, f"no warning names {name!r}: {registry.warnings}"
    return found[0]


# Import-time failures ---------------------------------------------------------------------

def test_plugin_raising_on_import_is_skipped(tmp_path, monkeypatch):
    name, _ = install(tmp_path, monkeypatch, "raise RuntimeError('boom at import')\n")
    reg = fresh_registry()
    assert "boom at import" in warning_about(reg, name)
    assert_seed_checks(reg)


def test_plugin_calling_sys_exit_on_import_is_skipped(tmp_path, monkeypatch):
    name, _ = install(tmp_path, monkeypatch, "import sys\nsys.exit(3)\n")
    reg = fresh_registry()
    assert "SystemExit" in warning_about(reg, name)
    assert_seed_checks(reg)


def test_plugin_hanging_on_import_is_skipped_after_the_timeout(tmp_path, monkeypatch):
    import time

    name, _ = install(tmp_path, monkeypatch, "import threading\nthreading.Event().wait()\n")
    monkeypatch.setenv("NNDSL_PLUGIN_IMPORT_TIMEOUT", "0.5")
    started = time.monotonic()
    reg = fresh_registry()
    assert time.monotonic() - started < 10
    assert "did not finish within 0.5 s" in warning_about(reg, name)
    assert_seed_checks(reg)


def test_cli_works_despite_a_plugin_hanging_on_import(tmp_path, monkeypatch):
    import subprocess

    install(tmp_path, monkeypatch, "import time\nwhile True:\n    time.sleep(0.05)\n")
    spec = tmp_path / "seed.nn"
    spec.write_text(SEED + "\n")
    env = {**__import__("os").environ, "NNDSL_PLUGIN_IMPORT_TIMEOUT": "1",
           "PYTHONPATH": str(tmp_path) + __import__("os").pathsep + __import__("os").environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-m", "nndsl.cli", "check", str(spec)], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "ok: 2 layers" in done.stdout and "did not finish within 1 s" in done.stderr


def test_entry_point_naming_a_missing_module_is_skipped(tmp_path, monkeypatch):
    name, _ = install(tmp_path, monkeypatch, "", entry="nndsl_no_such_module_anywhere")
    reg = fresh_registry()
    assert "ModuleNotFoundError" in warning_about(reg, name)
    assert_seed_checks(reg)


def test_misspelled_hook_is_reported_and_skipped(tmp_path, monkeypatch):
    name, _ = install(tmp_path, monkeypatch, """
        @nndsl.hookimpl
        def nndsl_layer():
            return []
    """)
    pm = get_plugin_manager()
    assert any(name in w and "nndsl_layer" in w for w in pm.warnings), pm.warnings
    assert name not in pm.info
    assert_seed_checks(build_registry(pm))


def test_autoload_opt_out_imports_no_plugin(tmp_path, monkeypatch):
    sentinel = tmp_path / "imported.txt"
    _, module = install(tmp_path, monkeypatch, f"open({str(sentinel)!r}, 'w').close()\n")
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")
    reg = fresh_registry()
    assert not sentinel.exists() and module not in sys.modules
    assert_seed_checks(reg)


# Hook-time failures -----------------------------------------------------------------------

def test_hook_that_raises_is_skipped(tmp_path, monkeypatch):
    name, _ = install(tmp_path, monkeypatch, """
        @nndsl.hookimpl
        def nndsl_layers():
            raise ValueError("hook exploded")
    """)
    reg = fresh_registry()
    assert "hook exploded" in warning_about(reg, name)
    assert_seed_checks(reg)


def test_hook_that_calls_sys_exit_is_skipped(tmp_path, monkeypatch):
    name, _ = install(tmp_path, monkeypatch, """
        import sys

        @nndsl.hookimpl
        def nndsl_losses():
            sys.exit("bye")
    """)
    reg = fresh_registry()
    assert "SystemExit" in warning_about(reg, name)
    assert_seed_checks(reg)


_GOOD_LAYER = "LayerDef('{name}', '{name}', (), lambda a, s: s[0])"


@pytest.mark.parametrize("returned", [
    "42",
    "'dense'",
    "[None]",
    f"[{_GOOD_LAYER.format(name='okay_layer')}, None]",
    "{'name': 'dict_layer'}",
    _GOOD_LAYER.format(name="Bad Name"),
    _GOOD_LAYER.format(name="BIG"),
    _GOOD_LAYER.format(name="naïve"),
    "LayerDef(None, 'none_name', (), lambda a, s: s[0])",
    "LayerDef('alias_none', 'alias_none', (), lambda a, s: s[0], aliases=None)",
    "LayerDef('alias_bad', 'alias_bad', (), lambda a, s: s[0], aliases=('bad name',))",
    "LayerDef('alias_list', 'alias_list', (), lambda a, s: s[0], aliases=(['x'],))",
    "LayerDef('params_none', 'params_none', None, lambda a, s: s[0])",
    "LayerDef('params_junk', 'params_junk', ('units',), lambda a, s: s[0])",
    "LayerDef('shape_none', 'shape_none', (), None)",
    "LayerDef('caps_auto', 'Dense', (), lambda a, s: s[0])",  # auto names are lower-case identifiers
])
def test_malformed_registrations_are_skipped(tmp_path, monkeypatch, returned):
    name, _ = install(tmp_path, monkeypatch, f"""
        @nndsl.hookimpl
        def nndsl_layers():
            return {returned}
    """)
    reg = fresh_registry()
    warning_about(reg, name)
    assert "okay_layer" not in reg.layers  # the whole plugin's hook is skipped, not half of it
    assert_seed_checks(reg)


def test_malformed_optimizer_and_backend_are_skipped(tmp_path, monkeypatch):
    name, _ = install(tmp_path, monkeypatch, """
        @nndsl.hookimpl
        def nndsl_optimizers():
            return [object()]

        @nndsl.hookimpl
        def nndsl_backends():
            return ["not a backend"]
    """)
    reg = fresh_registry()
    assert sum(name in w for w in reg.warnings) == 2, reg.warnings
    assert_seed_checks(reg)


def test_two_plugins_registering_one_layer_is_an_error_naming_both(tmp_path, monkeypatch):
    body = """
        @nndsl.hookimpl
        def nndsl_layers():
            return [LayerDef('twin', 'twin', (), lambda a, s: s[0])]
    """
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, _ = install(tmp_path / "a", monkeypatch, body)
    second, _ = install(tmp_path / "b", monkeypatch, body)
    with pytest.raises(PluginError) as err:
        fresh_registry()
    assert "twin" in str(err.value) and first in str(err.value) and second in str(err.value)


def test_cli_exits_5_on_plugin_conflict(tmp_path, monkeypatch, capsys):
    from nndsl.cli import ExitCode, main

    install(tmp_path, monkeypatch, """
        @nndsl.hookimpl
        def nndsl_layers():
            return [LayerDef('dense', 'dense', (), lambda a, s: s[0])]
    """)
    spec = tmp_path / "seed.nn"
    spec.write_text(SEED)
    assert main(["check", str(spec)]) == ExitCode.PLUGIN_ERROR
    err = capsys.readouterr().err
    assert "dense" in err and "nndsl.builtins.layers_core" in err and "Traceback" not in err


def test_cli_check_works_despite_broken_plugins(tmp_path, monkeypatch, capsys):
    from nndsl.cli import main

    first, _ = install(tmp_path, monkeypatch, "raise ImportError('broken')\n")
    second, _ = install(tmp_path, monkeypatch, """
        @nndsl.hookimpl
        def nndsl_metrics():
            return [3]
    """)
    spec = tmp_path / "seed.nn"
    spec.write_text(SEED)
    assert main(["check", str(spec)]) == 0
    out = capsys.readouterr()
    assert "ok: 2 layers" in out.out
    assert first in out.err and second in out.err


# Plugin code that fails while a spec is checked -------------------------------------------

_FAILING_LAYER = """
    def _shape(attrs, shapes):
        {shape}

    def _count(attrs, shapes):
        {count}

    @nndsl.hookimpl
    def nndsl_layers():
        return [LayerDef('flaky', 'flaky', (Param('units', Int(), default=3, positional=True),),
                         _shape, _count)]
"""


@pytest.mark.parametrize("shape, count", [
    ("raise KeyError('surprise')", "return ParamCount()"),
    ("return 1 / 0", "return ParamCount()"),
    ("return None", "return ParamCount()"),
    ("return 'abc'", "return ParamCount()"),
    ("return (3, 'x')", "return ParamCount()"),
    ("return (True,)", "return ParamCount()"),
    ("return (3,)", "raise RuntimeError('count exploded')"),
    ("return (3,)", "return 'lots'"),
    ("return (3,)", "return -5"),
    ("return (3,)", "return None"),
    ("import sys; sys.exit(1)", "return ParamCount()"),
])
def test_plugin_shape_rule_failure_is_a_diagnostic(tmp_path, monkeypatch, shape, count):
    name, _ = install(tmp_path, monkeypatch, _FAILING_LAYER.format(shape=shape, count=count))
    reg = fresh_registry()
    assert "flaky" in reg.layers
    source = Source("input 4\ndense 8\nflaky 3\ndense 2\n", "p.nn")
    with pytest.raises(SpecError) as err:
        check_source(source, reg)
    diags = err.value.diagnostics
    assert [d.code for d in diags] == [codes.SHAPE], err.value.render()
    assert "flaky" in diags[0].message and name in diags[0].message
    assert diags[0].span is not None and diags[0].span.line == 3
    err.value.render()
    assert_seed_checks(reg)


def test_plugin_expand_params_failure_is_a_diagnostic(tmp_path, monkeypatch):
    name, _ = install(tmp_path, monkeypatch, """
        def _expand(registry, args):
            raise TypeError('expand exploded')

        @nndsl.hookimpl
        def nndsl_layers():
            return [LayerDef('expander', 'expander', (), lambda a, s: s[0], expand_params=_expand)]
    """)
    reg = fresh_registry()
    with pytest.raises(SpecError) as err:
        check_source(Source("input 4\nexpander 3\n", "p.nn"), reg)
    (diag,) = err.value.diagnostics
    assert "expander" in diag.message and name in diag.message and "expand exploded" in diag.message
    assert diag.span is not None and diag.span.line == 2


def test_plugin_lowering_failure_is_a_clear_error(tmp_path, monkeypatch):
    from nndsl.api import emit
    from nndsl.diagnostics import NndslError

    name, _ = install(tmp_path, monkeypatch, """
        from nndsl.backends.keras import keras_layer

        def _lower(attrs, explicit, lowering):
            raise ZeroDivisionError('lowering exploded')

        @nndsl.hookimpl
        def nndsl_layers():
            return [LayerDef('lowly', 'lowly', (), lambda a, s: s[0])]

        @nndsl.hookimpl
        def nndsl_lowerings(backend):
            return [keras_layer('lowly', 'Lowly', lower=_lower)] if backend == 'keras' else None
    """)
    reg = fresh_registry()
    with pytest.raises(NndslError) as err:
        emit("input 4; lowly; dense 2", registry=reg)
    assert "lowly" in str(err.value) and name in str(err.value) and "lowering exploded" in str(err.value)


def test_malformed_lowerings_are_skipped_with_a_warning(tmp_path, monkeypatch):
    name, _ = install(tmp_path, monkeypatch, """
        from nndsl.lowering import Lowering

        @nndsl.hookimpl
        def nndsl_lowerings(backend):
            return [Lowering('layer', 'dense', 'Oops'), Lowering('layers', 'dense', 'Typo')]
    """)
    reg = fresh_registry()
    table = reg.lowerings("keras")
    assert any(name in w and "unknown kind" in w for w in table.warnings), table.warnings
    assert table.owner("layer", "dense").startswith("nndsl.")  # none of the skipped plugin's entries
    assert_seed_checks(reg)


def test_a_lowering_hook_that_raises_is_skipped(tmp_path, monkeypatch):
    name, _ = install(tmp_path, monkeypatch, """
        @nndsl.hookimpl
        def nndsl_lowerings(backend):
            raise RuntimeError('no tables today')
    """)
    reg = fresh_registry()
    assert any(name in w and "no tables today" in w for w in reg.lowerings("keras").warnings)
    assert reg.lowerings("keras").has("layer", "dense")


# Plugins come from installed entry points only --------------------------------------------

def test_a_spec_naming_a_module_or_path_loads_nothing(tmp_path, monkeypatch, registry):
    sentinel = tmp_path / "imported.txt"
    module = "nndsl_spec_named_module"
    (tmp_path / f"{module}.py").write_text(f"open({str(sentinel)!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    specs = [
        f"input 3; {module} 3",
        f"input 3; {module}.layer 3",
        f"input 3; dense 3 activation={module}",
        f'input 3; dense 3; loss mse; data "{tmp_path / module}.py"',
        f"input 3; dense 3; loss mse; data {module}",
        f"input 3; dense 3; optimizer {module}",
        f"plugin {module}\ninput 3; dense 3",
        f'import "{module}"\ninput 3; dense 3',
    ]
    for text in specs:
        try:
            check_source(Source(text, "s.nn"), registry)
        except SpecError:
            pass
    assert not sentinel.exists()
    assert module not in sys.modules

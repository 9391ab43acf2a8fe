"""The plugin manager and the registry it builds.

Built-in definitions are ordinary plugin modules registered through the same hooks as
third-party ones; installed packages are found through the ``nndsl`` entry-point group.
A plugin that fails to import, misspells a hook or returns nonsense is reported as a warning
and skipped, so one broken package never takes the tool down with it.
"""

from __future__ import annotations

import importlib
import os
import types
from dataclasses import dataclass, field

import pluggy

from . import hookspecs
from .errors import PluginError  # noqa: F401 - re-exported
from .lowering import LoweringTable, check_entry
from .registry import Registry, RegistryError, iter_defs

ENTRY_POINT_GROUP = "nndsl"
DISABLE_AUTOLOAD_ENV = "NNDSL_DISABLE_PLUGIN_AUTOLOAD"

BUILTIN_PLUGINS = (
    "nndsl.builtins.objects",
    "nndsl.builtins.callbacks",
    "nndsl.builtins.activations",
    "nndsl.builtins.layers_core",
    "nndsl.builtins.layers_conv",
    "nndsl.builtins.layers_recurrent",
    "nndsl.builtins.layers_merge",
    "nndsl.builtins.layers_preprocessing",
    "nndsl.builtins.training",
    "nndsl.builtins.datasets",
    "nndsl.builtins.data_formats",
    "nndsl.builtins.backends",
)

# Registration hooks, in the order the registry is filled.
TABLES = ("regularizers", "constraints", "initializers", "schedules", "callbacks",
          "activations", "layers", "optimizers", "losses", "metrics")


@dataclass
class PluginInfo:
    name: str
    distribution: str | None = None
    version: str | None = None
    builtin: bool = False


@dataclass
class PluginManager:
    """pluggy's manager plus what nndsl knows about each plugin and any load warnings."""

    pm: pluggy.PluginManager
    info: dict[str, PluginInfo] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def hook(self):
        return self.pm.hook

    def register(self, plugin: object, name: str, *, distribution: str | None = None,
                 version: str | None = None, builtin: bool = False) -> bool:
        """Register a plugin object; on a bad hook implementation warn and skip it."""
        try:
            hash(plugin)
        except TypeError:  # pluggy keeps plugins in sets: hold an unhashable one's attributes in a module
            proxy = types.ModuleType(name)
            proxy.__dict__.update({k: getattr(plugin, k) for k in dir(plugin) if not k.startswith("__")})
            plugin = proxy
        try:
            self.pm.register(plugin, name=name)
            self.pm.check_pending()
        except Exception as exc:  # noqa: BLE001 - plugins are untrusted input
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            self.warnings.append(f"plugin {name!r} skipped: {exc}")
            return False
        self.info[name] = PluginInfo(name, distribution, version, builtin)
        return True


def get_plugin_manager(load_entrypoints: bool | None = None) -> PluginManager:
    """A fresh plugin manager: specs, built-ins, then installed plugins.

    Installed plugins are loaded from the ``nndsl`` entry-point group unless
    ``NNDSL_DISABLE_PLUGIN_AUTOLOAD`` is set (or ``load_entrypoints=False``).
    Plugins are only ever loaded from installed entry points, never from a spec.
    """
    pm = PluginManager(pluggy.PluginManager(hookspecs.PROJECT))
    pm.pm.add_hookspecs(hookspecs)
    from .version import __version__

    for module_name in BUILTIN_PLUGINS:
        module = importlib.import_module(module_name)
        pm.register(module, module_name, distribution="nndsl", version=__version__, builtin=True)
    if load_entrypoints is None:
        load_entrypoints = not os.environ.get(DISABLE_AUTOLOAD_ENV)
    if load_entrypoints:
        _load_entrypoints(pm)
    return pm


def _load_entrypoints(pm: PluginManager) -> None:
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else None
        version = dist.version if dist is not None else None
        label = f"{ep.name} ({dist_name} {version})" if dist_name else ep.name
        try:
            plugin = _load_within(ep, _import_timeout())
        except _ImportTimeout as exc:
            pm.warnings.append(f"plugin {label} was skipped: {exc}")
            continue
        except BaseException as exc:  # noqa: BLE001 - includes SystemExit from a hostile import
            if isinstance(exc, KeyboardInterrupt):
                raise
            pm.warnings.append(f"plugin {label} failed to load and was skipped: "
                               f"{type(exc).__name__}: {exc}")
            continue
        if pm.pm.is_registered(plugin) or pm.pm.has_plugin(ep.name):
            continue
        pm.register(plugin, ep.name, distribution=dist_name, version=version)


IMPORT_TIMEOUT_ENV = "NNDSL_PLUGIN_IMPORT_TIMEOUT"
DEFAULT_IMPORT_TIMEOUT = 20.0


class _ImportTimeout(Exception):
    pass


def _import_timeout() -> float:
    try:
        value = float(os.environ.get(IMPORT_TIMEOUT_ENV, DEFAULT_IMPORT_TIMEOUT))
    except ValueError:
        return DEFAULT_IMPORT_TIMEOUT
    return value if value > 0 else DEFAULT_IMPORT_TIMEOUT


def _load_within(ep, timeout: float):
    """``ep.load()`` in a daemon thread, given up on after ``timeout`` seconds.

    A plugin whose import hangs (a network call, a lock, a loop at module level) is skipped
    instead of hanging every command. Its thread is abandoned: it holds only that module's
    import lock, which nothing in nndsl asks for again, and dies with the process.
    """
    import threading

    outcome: dict = {}

    def target() -> None:
        try:
            outcome["plugin"] = ep.load()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=f"nndsl-plugin-import-{ep.name}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise _ImportTimeout(f"its import did not finish within {timeout:g} s "
                             f"(set {IMPORT_TIMEOUT_ENV} to wait longer)")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["plugin"]


def build_registry(pm: PluginManager) -> Registry:
    """Ask every plugin for its definitions, one plugin at a time.

    A plugin whose hook raises or returns something malformed is skipped with a warning;
    two plugins registering one name is a :class:`PluginError` naming both.
    """
    registry = Registry()
    registry.warnings.extend(pm.warnings)
    for table in ("backends", "datasets", "data_formats", *TABLES):
        hook = getattr(pm.hook, f"nndsl_{table}", None)
        if hook is None:
            continue
        for impl in hook.get_hookimpls():  # registration order: built-ins first
            owner = pm.pm.get_name(impl.plugin) or "?"
            try:
                defs = [d for result in _call_one(pm, f"nndsl_{table}", impl.plugin) for d in iter_defs(result)]
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - plugins are untrusted input
                registry.warnings.append(f"plugin {owner!r} skipped: its nndsl_{table} hook raised "
                                         f"{type(exc).__name__}: {exc}")
                continue
            staged = Registry()
            try:
                for item in defs:
                    staged.add(table, item, owner)
            except RegistryError as exc:
                registry.warnings.append(f"plugin {owner!r} skipped: {exc}")
                continue
            for item in defs:
                try:
                    registry.add(table, item, owner)
                except RegistryError as exc:
                    raise PluginError(str(exc)) from None
    registry.lowering_source = lambda backend: collect_lowerings(pm, backend)
    return registry


def _call_one(pm: PluginManager, hook_name: str, plugin: object, **kwargs) -> list:
    """Call one plugin's implementation of a hook through pluggy (so hook arguments can grow)."""
    others = [p for _, p in pm.pm.list_name_plugin() if p is not plugin]
    return pm.pm.subset_hook_caller(hook_name, remove_plugins=others)(**kwargs)


def collect_lowerings(pm: PluginManager, backend: str) -> LoweringTable:
    """Every plugin's ``nndsl_lowerings(backend=...)`` entries, merged into one table.

    Built-ins first, then installed plugins in load order; a plugin's entry replaces a
    built-in one. A plugin whose hook raises or returns something malformed is skipped with
    a warning; two plugins lowering one name keep the first and warn.
    """
    table = LoweringTable(backend)
    for impl in pm.hook.nndsl_lowerings.get_hookimpls():  # registration order: built-ins first
        owner = pm.pm.get_name(impl.plugin) or "?"
        info = pm.info.get(owner)
        try:
            entries = [check_entry(e, owner, backend)
                       for result in _call_one(pm, "nndsl_lowerings", impl.plugin, backend=backend)
                       for e in iter_defs(result)]
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - plugins are untrusted input
            table.warnings.append(f"plugin {owner!r} skipped: its nndsl_lowerings hook raised "
                                  f"{type(exc).__name__}: {exc}")
            continue
        for entry in entries:
            table.add(entry, owner, builtin=bool(info and info.builtin))
    return table


_default: tuple[PluginManager, Registry] | None = None


def default_registry() -> Registry:
    """The process-wide registry (built once, on first use)."""
    global _default
    if _default is None:
        pm = get_plugin_manager()
        _default = (pm, build_registry(pm))
    return _default[1]


def default_plugin_manager() -> PluginManager:
    default_registry()
    assert _default is not None
    return _default[0]


def reset_default() -> None:
    """Forget the process-wide registry (tests; after installing a plugin)."""
    global _default
    _default = None

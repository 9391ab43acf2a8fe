"""A registry with the torch plugin: its entry point when installed (as CI installs it), else
the plugin module registered by hand (a checkout on PYTHONPATH)."""

from __future__ import annotations

import importlib.metadata


def entry_point_installed() -> bool:
    return any(ep.name == "torch" for ep in importlib.metadata.entry_points(group="nndsl"))


def torch_registry():
    from nndsl.plugins import build_registry, get_plugin_manager

    pm = get_plugin_manager(load_entrypoints=True)
    if not pm.pm.has_plugin("torch"):
        from nndsl_torch import plugin

        pm.register(plugin, "torch", distribution="nndsl-torch")
    return build_registry(pm)

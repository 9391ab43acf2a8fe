"""Fixtures for the torch plugin's tests (skipped where PyTorch or the plugin is not importable)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

collect_ignore_glob = []
try:
    import nndsl_torch  # noqa: F401
    import torch  # noqa: F401
except ImportError:  # the plugin is not installed here: its tests have nothing to test
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture
def registry():
    from torch_plugin_registry import torch_registry

    return torch_registry()


@pytest.fixture
def installed():
    """Commands in a subprocess find the backend only through the installed entry point."""
    from torch_plugin_registry import entry_point_installed

    if not entry_point_installed():
        pytest.skip("nndsl-torch is not pip-installed here (pip install -e plugins/nndsl-torch)")

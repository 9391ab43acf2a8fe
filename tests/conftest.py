"""Shared fixtures: a fresh registry per test (no installed plugins unless asked for)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def keras_available() -> bool:
    try:
        import keras  # noqa: F401
    except Exception:  # noqa: BLE001
        return False
    return True


@pytest.fixture
def registry():
    from nndsl.plugins import build_registry, get_plugin_manager

    return build_registry(get_plugin_manager(load_entrypoints=False))


def pytest_collection_modifyitems(config, items):
    if keras_available():
        return
    skip = pytest.mark.skip(reason="Keras/TensorFlow not installed")
    for item in items:
        if "keras" in item.keywords:
            item.add_marker(skip)


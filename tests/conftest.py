"""Shared fixtures: a fresh registry per test (no installed plugins unless asked for)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture
def registry():
    from nndsl.plugins import build_registry, get_plugin_manager

    return build_registry(get_plugin_manager(load_entrypoints=False))

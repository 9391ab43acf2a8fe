"""Repository-wide pytest options: slow tests run only with --all (as CI and README do)."""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser):
    parser.addoption("--all", action="store_true", default=False,
                     help="also run tests marked slow (CI does; README's test command does)")


def pytest_configure(config):
    if not config.getoption("--all") and not config.getoption("-m"):
        config.option.markexpr = "not slow"


# Tests marked keras (in tests/ and plugins/): skipped without Keras, unless CI requires it.

def _keras_import_error() -> str | None:
    try:
        import keras  # noqa: F401
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {e}"
    return None


def keras_available() -> bool:
    return _keras_import_error() is None


def pytest_collection_modifyitems(config, items):
    if keras_available():
        return
    if os.environ.get("NNDSL_REQUIRE_KERAS"):
        # CI sets this (.ci/run): a broken Keras install must fail the build, not skip ~450 tests.
        raise pytest.UsageError("NNDSL_REQUIRE_KERAS is set but `import keras` fails: "
                                f"{_keras_import_error()}; install tensorflow and keras (pip install -e .)")
    skip = pytest.mark.skip(reason="Keras/TensorFlow not installed")
    for item in items:
        if "keras" in item.keywords:
            item.add_marker(skip)


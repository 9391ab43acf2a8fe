"""Repository-wide pytest options: slow tests run only with --all (as CI and README do)."""

from __future__ import annotations


def pytest_addoption(parser):
    parser.addoption("--all", action="store_true", default=False,
                     help="also run tests marked slow (CI does; README's test command does)")


def pytest_configure(config):
    if not config.getoption("--all") and not config.getoption("-m"):
        config.option.markexpr = "not slow"

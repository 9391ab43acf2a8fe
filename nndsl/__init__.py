"""nndsl: a declarative neural-network model-spec compiler.

Write a model as a small text file, get a shape-checked IR, lower it to Keras::

    import nndsl
    model = nndsl.check("input 784; dense 32 relu; dense 10 softmax; rmsprop 0.001; loss mse")
    model.params.total  # 25450

Importing nndsl never imports TensorFlow or Keras; only building or training a model does.
The names below are imported on first use (PEP 562), so ``import nndsl.cli`` and a cold
``nndsl check`` pay only for the modules the command needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

# `check` is both a function and a submodule: importing the submodule later would rebind the
# package attribute to the module, so the function is bound here, after it (the check path
# needs these modules anyway).
from .check import check, check_source, read_source

# name -> (module, attribute); attribute None: the module itself.
_EXPORTS = {
    "ir": ("nndsl.ir", None),
    "build": ("nndsl.api", "build"), "emit": ("nndsl.api", "emit"), "load": ("nndsl.api", "load"),
    "Diagnostic": ("nndsl.diagnostics", "Diagnostic"), "NndslError": ("nndsl.diagnostics", "NndslError"),
    "Source": ("nndsl.diagnostics", "Source"), "Span": ("nndsl.diagnostics", "Span"),
    "SpecError": ("nndsl.diagnostics", "SpecError"), "UsageError": ("nndsl.diagnostics", "UsageError"),
    "hookimpl": ("nndsl.hookspecs", "hookimpl"),
    "parse": ("nndsl.parser", "parse"),
    "get_plugin_manager": ("nndsl.plugins", "get_plugin_manager"),
    "analyze": ("nndsl.semantic.analyze", "analyze"), "Analysis": ("nndsl.semantic.analyze", "Analysis"),
}

__all__ = ["__version__", "check", "check_source", "read_source", *_EXPORTS]

if TYPE_CHECKING:  # for type checkers and editors; at run time these load on first use
    from . import ir
    from .api import build, emit, load
    from .diagnostics import Diagnostic, NndslError, Source, Span, SpecError, UsageError
    from .hookspecs import hookimpl
    from .parser import parse
    from .plugins import get_plugin_manager
    from .semantic.analyze import Analysis, analyze


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        try:  # a submodule not imported yet: nndsl.diagnostics, nndsl.expand, ...
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    module = importlib.import_module(target[0])
    value = module if target[1] is None else getattr(module, target[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

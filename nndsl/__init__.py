"""nndsl: a declarative neural-network model-spec compiler.

Write a model as a small text file, get a shape-checked IR, lower it to Keras::

    import nndsl
    model = nndsl.check("input 784; dense 32 relu; dense 10 softmax; rmsprop 0.001; loss mse")
    model.params.total  # 25450

Importing nndsl never imports TensorFlow or Keras; only building or training a model does.
"""

from __future__ import annotations

from .version import __version__

from . import ir
from .api import build, emit, load
from .check import check, check_source, read_source
from .diagnostics import Diagnostic, NndslError, Source, Span, SpecError, UsageError
from .hookspecs import hookimpl
from .parser import parse
from .plugins import get_plugin_manager
from .semantic.analyze import Analysis, analyze

__all__ = [
    "__version__", "ir", "build", "emit", "load", "check", "check_source", "read_source", "parse", "hookimpl", "get_plugin_manager", "analyze", "Analysis",
    "Diagnostic", "NndslError", "Source", "Span", "SpecError", "UsageError",
]

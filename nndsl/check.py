"""Source text to checked IR: the raising face of :mod:`nndsl.semantic.analyze`.

The entry point most callers want is :func:`check`: it runs every pass, collects every
diagnostic, and either returns the model (with any warnings) or raises SpecError. The passes
themselves run in :func:`nndsl.semantic.analyze.analyze`, which the language server and the
CLI share, so a spec means the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import ir
from .diagnostics import Diagnostic, Source, SpecError
from .registry import Registry
from .semantic.analyze import analyze, model_name as _model_name  # noqa: F401 - kept for callers
from .semantic.files import data_base_dir, read_source  # noqa: F401 - re-exported


@dataclass(frozen=True)
class CheckResult:
    model: ir.Model
    warnings: tuple[Diagnostic, ...]
    source: Source
    # The expansion: flat v1 statements (nndsl expand prints them) and included files' text.
    expansion: "Any" = None
    names: "Any" = None
    sources: "dict[str, Source] | None" = None


def check_source(source: Source, registry: Registry | None = None, overrides: dict | None = None, *,
                 data_files: bool = False) -> CheckResult:
    """Run every pass over ``source``; raise SpecError carrying all diagnostics on any error.

    ``overrides``: `--set` values for the spec's `param`s (name -> expression).
    ``data_files``: also check that a ``data "file"`` exists, resolved as ``nndsl run`` resolves
    it (against the spec file's folder; standard input: the working directory).
    A bug met on the way (a built-in rule that fails) propagates, as it always has.
    """
    result = analyze(source, source.filename, overrides, registry=registry, data_files=data_files, symbols=False)
    if result.internal_error is not None:
        raise result.internal_error
    if not result.ok or result.model is None:
        raise SpecError(list(result.diagnostics), result.source, dict(result.sources) or {})
    return CheckResult(result.model, result.diagnostics, result.source, result.expansion, result.names,
                       dict(result.sources))


def check(text: str, filename: str = "<string>", registry: Registry | None = None) -> ir.Model:
    """Check spec text and return its IR; raise SpecError with every problem found.

    Example::

        model = check("input 784; dense 32 relu; dense 10 softmax; rmsprop 0.001; loss mse")
        model.params.total  # 25450
    """
    return check_source(Source(text, filename), registry).model

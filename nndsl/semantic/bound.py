"""The bound model: every statement given meaning, names final, shapes not yet known.

What :mod:`nndsl.semantic.bind` hands to inference and lint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import ast, ir
from ..diagnostics import Span
from ..params import Param
from ..registry import LayerDef


@dataclass(frozen=True, slots=True)
class BoundLayer:
    """A layer application with checked arguments; its name is final, its shape not yet known."""

    name: str
    layer: LayerDef
    params: tuple[Param, ...]
    attrs: tuple[tuple[str, Any], ...]
    explicit: tuple[str, ...]
    inputs: tuple[str, ...]
    span: Span
    user_named: bool
    origin: ast.Origin | None = None


@dataclass(frozen=True, slots=True)
class BoundModel:
    inputs: tuple[ir.Input, ...]
    layers: tuple[BoundLayer, ...]
    outputs: tuple[tuple[str, Span | None], ...]
    training: ir.Training
    loss_spans: tuple[tuple[str, Span], ...] = ()
    # Every name written after `output`, including ones whose chain failed (no cascades).
    declared_outputs: frozenset[str] = frozenset()
    fit_span: Span | None = None
    # Where each callback's monitor is written (the statement when it is the default).
    monitor_spans: tuple[Span, ...] = ()
    loss_span: Span | None = None


@dataclass(slots=True)
class Pending:
    """A layer application while binding, before automatic names are handed out (mutable)."""

    name: str | None
    layer: LayerDef
    params: tuple[Param, ...]
    attrs: dict
    explicit: tuple[str, ...]
    inputs: list
    span: Span
    origin: ast.Origin | None = None
    fixed_name: bool = False

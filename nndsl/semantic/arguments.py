"""Matching a call's arguments to a signature: positional, keyword, variadic, defaults.

Every statement kind binds its arguments here, so a layer, an optimizer, `fit` and a loss's
options all report the same mistakes the same way (E300-E305, with Keras 2 names recognised).
"""

from __future__ import annotations

from typing import Any, Sequence

from .. import ast, codes
from ..diagnostics import Span, did_you_mean
from ..params import ArgError, Param, describe

# Keyword names from older Keras (and common shorthands) that Keras 3 spells differently.
LEGACY_NAMES = {"lr": "learning_rate", "decay": "weight_decay", "nb_epoch": "epochs", "epoch": "epochs",
                "alpha": "negative_slope", "init": "kernel_initializer", "nb_filter": "filters",
                "output_dim": "units", "border_mode": "padding", "subsample": "strides",
                "dim_ordering": "data_format", "p": "rate", "sigma": "stddev"}


def bind_arguments(report, ctx, what: str, params: Sequence[Param], call: ast.Call,
                   args: Sequence[ast.Value] | None = None) -> tuple[dict, tuple[str, ...]] | None:
    """Match arguments to params and convert them; None if anything failed (each problem reported).

    Args:
        report: has ``error(code, message, span, hint)`` and ``warn(...)`` (the binder).
        ctx: the :class:`~nndsl.params.ConvertContext` values convert in.
        what: the name to show (`dense`, `loss mse`, `fit`).
        args: the positional arguments, when not all of ``call.args`` (`input NAME 3`).
    Returns ``(values, explicit)``: every param's value (defaults filled in) and the names given.
    """
    args = call.args if args is None else args
    ok = True
    for late in call.late_positional:
        report.error(codes.ARG_ORDER, f"positional argument {describe(late)} after a keyword argument",
                     late.span, "put positional arguments first: dense 32 relu use_bias=false")
        ok = False
    positional, by_name = _shape(params)
    given: dict[str, tuple[Any, Span]] = {}
    i = 0
    for p in positional:
        if i >= len(args):
            break
        if p.variadic:
            given[p.name] = (tuple(args[i:]), args[i].span)
            i = len(args)
            break
        given[p.name] = (args[i], args[i].span)
        i += 1
    if i < len(args):
        names = ", ".join(p.name for p in positional) or "none"
        report.error(codes.ARG_COUNT,
                     f"{what} takes {len(positional)} positional argument{'s' * (len(positional) != 1)} "
                     f"({names}), got {len(args)}", args[i].span,
                     f"give the others as key=value; {what} takes: " + signature(params))
        ok = False
    for kw in call.keywords:
        p = by_name.get(kw.name)
        if p is None:
            legacy = LEGACY_NAMES.get(kw.name)
            if legacy in by_name:
                hint = f"did you mean '{legacy}'? (Keras 3 calls '{kw.name}' '{legacy}')"
            else:
                hint = did_you_mean(kw.name, by_name) or f"{what} takes: " + signature(params)
            report.error(codes.UNKNOWN_KEYWORD, f"{what} has no option '{kw.name}'", kw.name_span, hint)
            ok = False
            continue
        if kw.name in given:
            report.error(codes.DUPLICATE_ARG, f"{what} got '{kw.name}' twice", kw.name_span,
                         "give each argument once")
            ok = False
            continue
        given[kw.name] = ((kw.value,) if p.variadic else kw.value, kw.span)
    values: dict[str, Any] = {}
    for p in params:
        if p.name not in given:
            if p.required:
                report.error(codes.MISSING_ARG, f"{what} needs '{p.name}'", call.span,
                             f"{what} takes: " + signature(params))
                ok = False
            continue
        raw, span = given[p.name]
        ctx.notes.clear()
        try:
            if p.variadic:
                if isinstance(raw, tuple) and len(raw) == 1 and isinstance(raw[0], ast.Tuple):
                    raw = raw[0].items
                values[p.name] = tuple(p.kind.convert(v, ctx) for v in raw)
            else:
                values[p.name] = p.kind.convert(raw, ctx)
            for code, message, hint in ctx.take_notes():
                report.warn(code, f"{what}: '{p.name}': {message}", value_span(raw, span), hint)
        except ArgError as e:
            code = {"range": codes.ARG_RANGE, "activation": codes.UNKNOWN_ACTIVATION}.get(e.code or "", codes.ARG_TYPE)
            report.error(code, f"{what}: '{p.name}': {e.message}", e.span or value_span(raw, span), e.hint)
            ok = False
    if not ok:
        return None
    explicit = tuple(p.name for p in params if p.name in values)
    for p in params:
        if p.name not in values:
            values[p.name] = p.default
    return values, explicit


_SHAPES: dict[int, tuple] = {}


def _shape(params: Sequence[Param]) -> tuple[list[Param], dict[str, Param]]:
    """The positional params and params by name of a signature, worked out once per signature."""
    cached = _SHAPES.get(id(params))
    if cached is None or cached[0] is not params:
        if len(_SHAPES) > 4096:
            _SHAPES.clear()
        cached = (params, [p for p in params if p.positional], {p.name: p for p in params})
        _SHAPES[id(params)] = cached
    return cached[1], cached[2]


def value_span(raw: Any, fallback: Span) -> Span:
    if isinstance(raw, tuple):
        spans = [v.span for v in raw if hasattr(v, "span")]
        if spans:
            return Span(spans[0].line, spans[0].column, spans[-1].end_line, spans[-1].end_column)
        return fallback
    return getattr(raw, "span", fallback)


def signature(params: Sequence[Param]) -> str:
    """`units activation? use_bias=`: how a hint shows what a call takes."""
    parts = []
    for p in params:
        if p.positional:
            parts.append(f"{p.name}{'...' if p.variadic else ''}" + ("" if p.required else "?"))
        else:
            parts.append(f"{p.name}=")
    return " ".join(parts)

"""The syntax tree: what the user wrote, with spans, before any meaning is given to it.

Produced by :mod:`nndsl.parser`; nothing after the parser sees Lark's tree or imports lark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .diagnostics import Span


# Values ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Number:
    value: int | float
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class String:
    value: str
    span: Span


@dataclass(frozen=True, slots=True)
class Ident:
    """A bare name: an identifier value (`relu`, `same`), a tensor reference, `true`/`none`."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Unknown:
    """`?`: a dimension not known until run time."""

    span: Span


@dataclass(frozen=True, slots=True)
class Tuple:
    items: tuple["Value", ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Keyword:
    name: str
    value: "Value"
    span: Span
    name_span: Span


@dataclass(frozen=True, slots=True)
class CallValue:
    """`NAME(arg, ..., key=value)` as a value: `l2(0.01)`, `cosine_decay(1e-3, decay_steps=1000)`."""

    name: str
    args: tuple["Value", ...]
    keywords: tuple[Keyword, ...]
    span: Span
    name_span: Span


Value = Union[Number, String, Ident, Unknown, Tuple, CallValue]


# Statements -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Call:
    """`NAME arg... key=value...`, or `NAME(arg, ...)` when ``parenthesized``."""

    name: str
    args: tuple[Value, ...]
    keywords: tuple[Keyword, ...]
    span: Span
    name_span: Span
    parenthesized: bool = False
    paren_args: tuple[Value, ...] = ()
    # Positional arguments that came after a keyword; reported by the resolver.
    late_positional: tuple[Value, ...] = ()


@dataclass(frozen=True, slots=True)
class Chain:
    steps: tuple[Call, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement: a chain, optionally named (`x = ...`) and/or marked as output."""

    chain: Chain | None
    target: str | None
    target_span: Span | None
    is_output: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Module:
    statements: tuple[Statement, ...]

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
    # `(x)` without a comma: a one-item tuple in v1; nndsl.expand unwraps it when x is a constant.
    grouping: bool = False


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


# Expressions (v2): evaluated by nndsl.expand; later passes never see them. ----------------

@dataclass(frozen=True, slots=True)
class BinOp:
    """`a + b`, `a // b`, `a ** b`, `a and b`, ...: ``op`` is the operator as written."""

    op: str
    left: "Value"
    right: "Value"
    span: Span


@dataclass(frozen=True, slots=True)
class UnaryOp:
    """`-a`, `+a`, `not a`."""

    op: str
    operand: "Value"
    span: Span


@dataclass(frozen=True, slots=True)
class Compare:
    """`a < b <= c`: chained like Python's."""

    first: "Value"
    rest: tuple[tuple[str, "Value"], ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Conditional:
    """`a if test else b`."""

    test: "Value"
    then: "Value"
    otherwise: "Value"
    span: Span


@dataclass(frozen=True, slots=True)
class Attribute:
    """`x.shape`."""

    value: "Value"
    name: str
    span: Span
    name_span: Span


@dataclass(frozen=True, slots=True)
class Index:
    """`x.shape[-1]`."""

    value: "Value"
    index: "Value"
    span: Span


Value = Union[Number, String, Ident, Unknown, Tuple, CallValue, BinOp, UnaryOp, Compare, Conditional,
              Attribute, Index]
EXPRESSIONS = (BinOp, UnaryOp, Compare, Conditional, Attribute, Index)


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
    # Where an expanded call came from: the blocks it was inlined from, outermost first.
    origin: "Origin | None" = None
    # The layer's name when the spec fixes it (`name=`, or a name made inside a block).
    layer_name: str | None = None


@dataclass(frozen=True, slots=True)
class Repeat:
    """`repeat N [as i]: step`: ``body`` is one call or a parenthesized chain."""

    count: Value
    index_name: str | None
    body: "Call | Chain"
    span: Span


@dataclass(frozen=True, slots=True)
class Chain:
    steps: tuple["Call | Repeat", ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement: a chain, optionally named (`x = ...`) and/or marked as output."""

    chain: Chain | None
    target: str | None
    target_span: Span | None
    is_output: bool
    span: Span
    # Set by nndsl.expand on statements it produced from blocks (None at the top level).
    origin: "Origin | None" = None
    # nndsl.expand's own name for a tensor (`%3`): it names no layer and no user sees it.
    synthetic: bool = False
    # `y = x -> block ...` ends in a block: ``target`` names the tensor labelled ``alias_of``.
    alias_of: str | None = None


# v2 statements: nndsl.expand replaces every one of them with v1 statements. ---------------

@dataclass(frozen=True, slots=True)
class MultiAssign:
    """`down, skip = unet_down(x, 64)`: a multi-output block's outputs, in order."""

    targets: tuple[tuple[str, Span], ...]
    chain: Chain
    span: Span


@dataclass(frozen=True, slots=True)
class Param:
    """`param classes = 1000`: a constant the command line may override (`--set`)."""

    name: str
    value: Value
    span: Span
    name_span: Span


@dataclass(frozen=True, slots=True)
class Let:
    """`let eps = 1.001e-5`."""

    name: str
    value: Value
    span: Span
    name_span: Span


@dataclass(frozen=True, slots=True)
class Default:
    """`default batchnorm epsilon=eps`: options every later use of a layer gets."""

    layer: str
    layer_span: Span
    keywords: tuple[Keyword, ...]
    positional: tuple[Value, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Include:
    """`include "blocks.nn"` (relative to the including file) or `include std/resnet`."""

    path: str
    standard: bool
    span: Span


@dataclass(frozen=True, slots=True)
class BlockParam:
    name: str
    default: Value | None
    span: Span


@dataclass(frozen=True, slots=True)
class Block:
    """`block name(x, f, stride=1):` and an indented body."""

    name: str
    params: tuple[BlockParam, ...]
    body: tuple["AnyStatement", ...]
    span: Span
    name_span: Span


@dataclass(frozen=True, slots=True)
class If:
    """`if test:` body, any `elif`s, an optional `else:` body."""

    branches: tuple[tuple[Value, tuple["AnyStatement", ...]], ...]
    otherwise: tuple["AnyStatement", ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Assert:
    """`assert params < 26M`: checked against the finished model."""

    test: Value
    span: Span
    origin: "Origin | None" = None


@dataclass(frozen=True, slots=True)
class Frame:
    """One block call on the way to an expanded statement."""

    block: str
    instance: str
    call_span: Span
    filename: str


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an expanded statement came from: the file it was written in and the calls on the way."""

    filename: str
    frames: tuple[Frame, ...] = ()
    # The `include` statements on the way to a file's own statements: (file, span), outermost first.
    included_from: tuple[tuple[str, Span], ...] = ()

    @property
    def block_path(self) -> tuple[str, ...]:
        return tuple(f"{f.instance}:{f.block}" for f in self.frames)


AnyStatement = Union[Statement, MultiAssign, Param, Let, Default, Include, Block, If, Assert]


@dataclass(frozen=True, slots=True)
class Module:
    statements: tuple[AnyStatement, ...]
    # After syntax errors: names the broken statements would have defined (not "undefined").
    recovered_names: tuple[str, ...] = ()
    recovered: bool = False
    recovered_blocks: tuple[str, ...] = ()

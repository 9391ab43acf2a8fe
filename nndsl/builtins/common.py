"""Parameter kinds and shape helpers shared by the built-in layer definitions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from .. import ast
from ..params import ArgError, Choice, Kind, Object, Optional, Padding, Param, describe
from ..registry import ShapeError

def initializer(name: str, default: str) -> Param:
    return Param(name, Object("initializers", "an initializer"), default=default)


def regularizer(name: str) -> Param:
    return Param(name, Optional(Object("regularizers", "a regularizer")), default=None)


def constraint(name: str) -> Param:
    return Param(name, Optional(Object("constraints", "a constraint")), default=None)


DATA_FORMAT = Param("data_format", Optional(Choice(("channels_last", "channels_first"))), default=None)


def fmt(shape) -> str:
    if not shape:
        return "(None,)"
    return "(None" + "".join(", " + ("None" if d is None else str(d)) for d in shape) + ")"


def need_rank(shape, rank: int | Sequence[int], what: str, hint: str | None = None) -> None:
    ranks = (rank,) if isinstance(rank, int) else tuple(rank)
    if len(shape) not in ranks:
        want = " or ".join(str(r + 1) for r in ranks)
        raise ShapeError(f"expects a {want}-D input (batch included), got {len(shape) + 1}-D {fmt(shape)}",
                         hint or what)


def known_last(shape, what: str) -> int:
    if not shape:
        raise ShapeError(f"expects at least a 2-D input, got {fmt(shape)}")
    last = shape[-1]
    if last is None:
        raise ShapeError(f"needs a known last dimension, got {fmt(shape)}",
                         f"{what} creates weights from the last dimension; give the input a fixed size there")
    return last


def as_tuple(value, n: int) -> tuple:
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,) * n


def prod(dims) -> int:
    return math.prod(dims)


def macs(*factors) -> int:
    """The product of sizes (ints or shape tuples), or 0 when any size is unknown (``?``).

    MAC rules use it: a layer whose work depends on an unknown size counts 0, not a guess.
    """
    total = 1
    for f in factors:
        for d in (f if isinstance(f, (tuple, list)) else (f,)):
            if d is None:
                return 0
            total *= d
    return total


@dataclass(frozen=True)
class Padding1D(Padding):
    """Padding/cropping of one axis: int, (left, right), or ((left, right),) as Keras 1-D layers take it."""

    n: int = 1

    def convert(self, value, ctx):
        out = super().convert(value, ctx)
        if isinstance(out, tuple) and len(out) == 1:
            return out[0]  # ((a, b),) -> (a, b): Keras' 1-D layers want the bare pair
        return out


@dataclass(frozen=True)
class Axes(Kind):
    """One Keras axis or a tuple of them (batch = 0, negative from the end)."""

    expected: str = "an integer or a tuple of integers"

    def convert(self, value, ctx):
        if isinstance(value, ast.Number) and isinstance(value.value, int):
            return value.value
        if isinstance(value, ast.Tuple) and value.items and all(
                isinstance(i, ast.Number) and isinstance(i.value, int) for i in value.items):
            return tuple(i.value for i in value.items)
        raise self.wrong(value)


@dataclass(frozen=True)
class BatchShape(Kind):
    """A shape with the batch axis first, ``?`` for a size taken from the input: (?, 1, 1, 1)."""

    expected: str = "a tuple of positive integers or ?, batch axis first"

    def convert(self, value, ctx):
        if not (isinstance(value, ast.Tuple) and value.items):
            raise self.wrong(value)
        out = []
        for item in value.items:
            if isinstance(item, ast.Unknown):
                out.append(None)
            elif isinstance(item, ast.Number) and isinstance(item.value, int) and item.value >= 1:
                out.append(item.value)
            else:
                raise ArgError(f"expected a positive integer or ?, got {describe(item)}", code="range")
        return tuple(out)

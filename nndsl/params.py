"""Typed arguments: how a written value becomes a checked Python value.

A layer (or optimizer, or statement) declares its signature as a tuple of :class:`Param`;
each param has a *kind* that converts an AST value or says, in words, why it cannot.

Example signature::

    (Param("units", Int(min=1), positional=True),
     Param("activation", Activation(), default=None, positional=True),
     Param("use_bias", Bool(), default=True))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from . import ast
from .errors import ArgError  # noqa: F401 - re-exported

REQUIRED: Any = type("Required", (), {"__repr__": lambda self: "REQUIRED"})()


def describe(value: ast.Value) -> str:
    """A value as the user wrote it, for messages."""
    if isinstance(value, ast.Number):
        return value.text
    if isinstance(value, ast.String):
        return repr(value.value)
    if isinstance(value, ast.Ident):
        return value.name
    if isinstance(value, ast.Unknown):
        return "?"
    if isinstance(value, ast.CallValue):
        parts = [describe(a) for a in value.args] + [f"{k.name}={describe(k.value)}" for k in value.keywords]
        return f"{value.name}({', '.join(parts)})"
    if isinstance(value, ast.Tuple):
        return "(" + ", ".join(describe(v) for v in value.items) + ")"
    return "an expression"


def _kind_of(value: ast.Value) -> str:
    if isinstance(value, ast.Number):
        return "an integer" if isinstance(value.value, int) else "a float"
    if isinstance(value, ast.String):
        return "a string"
    if isinstance(value, ast.Ident):
        if value.name in ("true", "false"):
            return "a boolean"
        if value.name == "none":
            return "none"
        return "a name"
    if isinstance(value, ast.Unknown):
        return "'?'"
    if isinstance(value, ast.CallValue):
        return "a call"
    return "a tuple"


class Kind:
    """Base of parameter kinds. ``convert`` returns a plain Python value or raises ArgError."""

    expected: str = "a value"

    def convert(self, value: ast.Value, ctx: "ConvertContext") -> Any:
        raise NotImplementedError

    def wrong(self, value: ast.Value) -> ArgError:
        return ArgError(f"expected {self.expected}, got {_kind_of(value)} ({describe(value)})")

    def to_json(self) -> dict:
        return {"kind": type(self).__name__.lower(), "expected": self.expected}


@dataclass
class ConvertContext:
    """What conversion may look up: registered activation names, objects by table, and the like."""

    activations: Sequence[str] = ()
    suggest: Callable[[str, Sequence[str]], str | None] = lambda name, names: None
    # Warnings a conversion raised while still accepting the value: (code, message, hint).
    notes: list = field(default_factory=list)
    # table ("regularizers", "schedules", ...) -> name or alias -> nndsl.registry.ObjectDef
    objects: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def take_notes(self) -> list:
        """The notes since the last call (the binder turns them into warnings at the value)."""
        notes = list(self.notes)
        self.notes.clear()
        return notes


def _range_check(v: float, lo, hi, lo_open: bool, hi_open: bool, what: str) -> None:
    if lo is not None and (v < lo or (lo_open and v == lo)):
        bound = f"greater than {lo}" if lo_open else f"at least {lo}"
        raise ArgError(f"{what} must be {bound}, got {v}", code="range")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        bound = f"less than {hi}" if hi_open else f"at most {hi}"
        raise ArgError(f"{what} must be {bound}, got {v}", code="range")


@dataclass(frozen=True)
class Int(Kind):
    min: int | None = None
    max: int | None = None

    @property
    def expected(self) -> str:  # type: ignore[override]
        return "an integer" + (f" >= {self.min}" if self.min is not None else "")

    def convert(self, value, ctx):
        if isinstance(value, ast.Number) and isinstance(value.value, int):
            _range_check(value.value, self.min, self.max, False, False, "value")
            return value.value
        raise self.wrong(value)


@dataclass(frozen=True)
class Float(Kind):
    min: float | None = None
    max: float | None = None
    min_open: bool = False
    max_open: bool = False
    expected: str = "a number"

    def convert(self, value, ctx):
        if isinstance(value, ast.Number):
            v = float(value.value)
            if v != v or v in (float("inf"), float("-inf")):
                raise ArgError(f"expected a finite number, got {value.text}", code="range")
            _range_check(v, self.min, self.max, self.min_open, self.max_open, "value")
            return v
        raise self.wrong(value)


@dataclass(frozen=True)
class Bool(Kind):
    expected: str = "true or false"

    def convert(self, value, ctx):
        if isinstance(value, ast.Ident) and value.name in ("true", "false"):
            return value.name == "true"
        raise self.wrong(value)


@dataclass(frozen=True)
class Choice(Kind):
    """One of a fixed set of names (`padding=same`); a quoted string is accepted too."""

    choices: tuple[str, ...] = ()
    # Keras lower-cases these values itself (padding="SAME"): accept them, with a warning.
    fold_case: bool = False

    @property
    def expected(self) -> str:  # type: ignore[override]
        return "one of " + ", ".join(self.choices)

    def convert(self, value, ctx):
        if isinstance(value, (ast.Ident, ast.String)):
            name = value.name if isinstance(value, ast.Ident) else value.value
            if name in self.choices:
                return name
            if self.fold_case and name.lower() in self.choices:
                from . import codes
                ctx.notes.append((codes.UPPER_CASE_VALUE, f"{name!r} is written {name.lower()!r} in nndsl",
                                  f"write {name.lower()}; upper case is accepted as Keras accepts it"))
                return name.lower()
            from .diagnostics import did_you_mean
            raise ArgError(f"expected {self.expected}, got {name!r}", hint=did_you_mean(name, self.choices))
        raise self.wrong(value)

    def to_json(self) -> dict:
        return {**super().to_json(), "choices": list(self.choices)}


@dataclass(frozen=True)
class Name(Kind):
    """Any identifier or string, passed to Keras as a string (initializers, monitors, ...)."""

    known: tuple[str, ...] = ()
    expected: str = "a name"

    def convert(self, value, ctx):
        if isinstance(value, ast.Ident) and value.name not in ("true", "false", "none"):
            name = value.name
        elif isinstance(value, ast.String):
            name = value.value
        else:
            raise self.wrong(value)
        if self.known and name not in self.known:
            from .diagnostics import did_you_mean
            raise ArgError(f"unknown name {name!r}; expected one of {', '.join(self.known)}",
                           hint=did_you_mean(name, self.known))
        return name


@dataclass(frozen=True)
class Text(Kind):
    """A quoted string (a path, a free-form label)."""

    expected: str = "a quoted string"

    def convert(self, value, ctx):
        if isinstance(value, ast.String):
            return value.value
        raise self.wrong(value)


@dataclass(frozen=True)
class Path(Text):
    """A quoted file or folder path; relative paths are resolved by whoever uses them (documented there)."""

    expected: str = "a quoted path"

    def convert(self, value, ctx):
        path = super().convert(value, ctx)
        if not path:
            raise ArgError("empty path", code="range")
        return path


@dataclass(frozen=True)
class Activation(Kind):
    """A registered activation name, or none/linear."""

    expected: str = "an activation name"

    def convert(self, value, ctx):
        if isinstance(value, ast.Ident) and value.name == "none":
            return None
        if isinstance(value, (ast.Ident, ast.String)):
            name = value.name if isinstance(value, ast.Ident) else value.value
            if name in ctx.activations:
                return name
            raise ArgError(f"unknown activation {name!r}", hint=ctx.suggest(name, ctx.activations),
                           code="activation")
        raise self.wrong(value)


@dataclass(frozen=True)
class IntTuple(Kind):
    """An int or an n-tuple of ints (kernel sizes, strides); an int stands for all n."""

    n: int = 2
    min: int | None = 1

    @property
    def expected(self) -> str:  # type: ignore[override]
        return f"an integer or a tuple of {self.n} integers" + (f" >= {self.min}" if self.min is not None else "")

    def convert(self, value, ctx):
        if isinstance(value, ast.Number) and isinstance(value.value, int):
            _range_check(value.value, self.min, None, False, False, "value")
            return value.value
        if isinstance(value, ast.Tuple):
            if len(value.items) != self.n or not all(
                    isinstance(i, ast.Number) and isinstance(i.value, int) for i in value.items):
                raise self.wrong(value)
            for i in value.items:
                _range_check(i.value, self.min, None, False, False, "value")
            return tuple(i.value for i in value.items)
        raise self.wrong(value)


@dataclass(frozen=True)
class Padding(Kind):
    """Padding/cropping amounts: int, (a, b) per axis, or ((a, b), (c, d)) in n dims."""

    n: int = 2
    expected: str = "an integer, a tuple of integers, or a tuple of pairs"

    def convert(self, value, ctx):
        def as_int(v):
            if isinstance(v, ast.Number) and isinstance(v.value, int) and v.value >= 0:
                return v.value
            raise ArgError(f"expected a non-negative integer, got {describe(v)}", code="range")
        if isinstance(value, ast.Number):
            return as_int(value)
        if isinstance(value, ast.Tuple):
            items = value.items
            if all(isinstance(i, ast.Tuple) for i in items) and len(items) == self.n:
                pairs = []
                for i in items:
                    if len(i.items) != 2:
                        raise self.wrong(value)
                    pairs.append(tuple(as_int(x) for x in i.items))
                return tuple(pairs)
            if all(isinstance(i, ast.Number) for i in items) and len(items) == (2 if self.n == 1 else self.n):
                return tuple(as_int(x) for x in items)
        raise self.wrong(value)


@dataclass(frozen=True)
class Dim(Kind):
    """One dimension of a shape: a positive integer or `?`."""

    allow_unknown: bool = True
    allow_minus_one: bool = False
    expected: str = "a positive integer or ?"

    def convert(self, value, ctx):
        if isinstance(value, ast.Unknown) and self.allow_unknown:
            return None
        if isinstance(value, ast.Number) and isinstance(value.value, int):
            if value.value == -1 and self.allow_minus_one:
                return -1
            _range_check(value.value, 1, None, False, False, "dimension")
            return value.value
        raise self.wrong(value)


@dataclass(frozen=True)
class Optional(Kind):
    """``none`` or the inner kind."""

    inner: Kind = field(default_factory=lambda: Int())

    @property
    def expected(self) -> str:  # type: ignore[override]
        return f"{self.inner.expected} or none"

    def convert(self, value, ctx):
        if isinstance(value, ast.Ident) and value.name == "none":
            return None
        return self.inner.convert(value, ctx)


@dataclass(frozen=True)
class Param:
    """One parameter of a signature.

    ``positional`` params may be written without their name, in signature order;
    ``variadic`` (last positional only) gathers every remaining positional value into a tuple.
    """

    name: str
    kind: Kind
    default: Any = REQUIRED
    positional: bool = False
    variadic: bool = False
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def to_json(self) -> dict:
        out = {"name": self.name, **self.kind.to_json(), "positional": self.positional}
        if self.variadic:
            out["variadic"] = True
        if not self.required:
            out["default"] = self.default if not isinstance(self.default, tuple) else list(self.default)
        return out


# Configured objects: `l2(0.01)`, `cosine_decay(1e-3, decay_steps=1000)` ------------------

@dataclass(frozen=True, slots=True)
class Configured:
    """A registered object with its arguments, as checked: the value of ``l2(0.01)``.

    ``kind`` is the registry table's singular (``regularizer``, ``schedule``, ...); ``options``
    holds only the arguments the spec wrote, by parameter name, so lowerings read like
    hand-written code. Backends lower it by (kind, name).
    """

    kind: str
    name: str
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def option(self) -> Mapping[str, Any]:
        return dict(self.options)

    def to_json(self) -> dict:
        return {"object": self.kind, "name": self.name, "options": {k: _jsonable(v) for k, v in self.options}}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Configured):
        return value.to_json()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def configured_from_json(data: Any) -> Any:
    """Inverse of :meth:`Configured.to_json` for any JSON value (lists become tuples)."""
    if isinstance(data, list):
        return tuple(configured_from_json(v) for v in data)
    if isinstance(data, dict) and "object" in data:
        return Configured(data["object"], data["name"],
                          tuple((k, configured_from_json(v)) for k, v in data.get("options", {}).items()))
    return data


def bind_object(definition: Any, kind: str, value: "ast.CallValue | ast.Ident", ctx: ConvertContext) -> Configured:
    """Bind a call value's arguments to an object's params (nndsl.registry.ObjectDef); ArgError on the first problem."""
    args = value.args if isinstance(value, ast.CallValue) else ()
    keywords = value.keywords if isinstance(value, ast.CallValue) else ()
    name = definition.name
    positional = [p for p in definition.params if p.positional]
    by_name = {p.name: p for p in definition.params}
    given: dict[str, ast.Value] = {}
    if len(args) > len(positional):
        names = ", ".join(p.name for p in positional) or "none"
        raise ArgError(f"{name}() takes {len(positional)} positional argument{'s' * (len(positional) != 1)} "
                       f"({names}), got {len(args)}", hint=f"{name} takes: {object_signature(definition)}",
                       span=args[len(positional)].span)
    for p, a in zip(positional, args):
        given[p.name] = a
    for kw in keywords:
        if kw.name not in by_name:
            hint = ctx.suggest(kw.name, list(by_name)) or f"{name} takes: {object_signature(definition)}"
            raise ArgError(f"{name}() has no option '{kw.name}'", hint=hint, span=kw.name_span)
        if kw.name in given:
            raise ArgError(f"{name}() got '{kw.name}' twice", hint="give each argument once", span=kw.name_span)
        given[kw.name] = kw.value
    values: dict[str, Any] = {}
    for p in definition.params:
        if p.name not in given:
            if p.required:
                raise ArgError(f"{name} needs '{p.name}'", hint=f"write it as {name}({object_signature(definition)})",
                               span=value.span)
            continue
        try:
            values[p.name] = p.kind.convert(given[p.name], ctx)
        except ArgError as e:
            raise ArgError(f"{name}(): '{p.name}': {e.message}", e.hint, e.code,
                           e.span or getattr(given[p.name], "span", None)) from None
    validate = getattr(definition, "validate", None)
    if validate is not None:
        problem = validate({**{p.name: p.default for p in definition.params if not p.required}, **values})
        if problem:
            raise ArgError(f"{name}(): {problem}", code="range", span=value.span)
    return Configured(kind, name, tuple((p.name, values[p.name]) for p in definition.params if p.name in values))


def object_signature(definition: Any) -> str:
    parts = [p.name for p in definition.params if p.positional]
    parts += [f"{p.name}=" for p in definition.params if not p.positional]
    return ", ".join(parts)


@dataclass(frozen=True)
class Object(Kind):
    """A registered object of one table, by name (``l2``) or with arguments (``l2(0.01)``).

    A bare name stays the name (a string), as before call values existed; a call becomes a
    :class:`Configured`. ``number`` (optional) also accepts a plain number: a learning rate is
    ``0.001`` or ``cosine_decay(1e-3, decay_steps=1000)``.
    """

    table: str = "regularizers"
    what: str = "a regularizer"
    number: Kind | None = None

    @property
    def expected(self) -> str:  # type: ignore[override]
        return (f"{self.number.expected} or " if self.number is not None else "") + self.what

    @property
    def kind(self) -> str:
        return self.table[:-1]

    def convert(self, value, ctx):
        if self.number is not None and isinstance(value, ast.Number):
            return self.number.convert(value, ctx)
        table = ctx.objects.get(self.table, {})
        if isinstance(value, (ast.Ident, ast.CallValue)) and not (
                isinstance(value, ast.Ident) and value.name in ("true", "false", "none")):
            definition = table.get(value.name)
            if definition is None:
                known = sorted({d.name for d in table.values()})
                elsewhere = [t[:-1] for t, defs in ctx.objects.items() if value.name in defs]
                hint = (f"'{value.name}' is a {elsewhere[0]}, not {self.what}" if elsewhere else
                        ctx.suggest(value.name, list(table)) or f"known: {', '.join(known)}")
                raise ArgError(f"unknown {self.kind} {value.name!r}", hint=hint,
                               span=getattr(value, "name_span", value.span))
            if isinstance(value, ast.Ident):
                missing = [p.name for p in definition.params if p.required]
                if missing:
                    raise ArgError(f"{value.name} needs '{missing[0]}'",
                                   hint=f"write it as {value.name}({object_signature(definition)})")
                return value.name
            return bind_object(definition, self.kind, value, ctx)
        if isinstance(value, ast.String) and value.value in table:
            return value.value
        raise self.wrong(value)

    def to_json(self) -> dict:
        return {**super().to_json(), "table": self.table}

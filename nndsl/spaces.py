"""Search spaces: `choice(...)`, `int(lo, hi)`, `uniform(lo, hi)`, `loguniform(lo, hi)` in a spec.

A space is a place in the text where the spec leaves a value open. This module finds every
space in a parsed module, validates what can be told without building (bounds, literal
values), names each one, and writes chosen values back into the text. Writing values into the
text (rather than into the tree) is deliberate: a trial's spec, and ``best.nn`` after a tune,
are then plain specs that read exactly like what the user wrote, comments and layout kept.

Nothing here builds a model; :mod:`nndsl.spacecheck` checks the models a space allows.

Example::

    input 784
    param width = choice(32, 64, 128)    # a named space: --set width=64 picks a value
    dense width relu
    dropout uniform(0.1, 0.5)            # named dropout@4
    repeat int(1, 3): dense 32 relu      # named repeat@5
    adam loguniform(1e-4, 1e-2)          # named adam@6
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Iterator, Mapping

from . import ast, codes
from .diagnostics import Diagnostic, Source, Span

SPACE_FUNCTIONS = ("choice", "int", "uniform", "loguniform")
KINDS = SPACE_FUNCTIONS


@dataclass(frozen=True, slots=True)
class Space:
    """One search space as written: its name, kind, where it is, and the values it allows.

    ``options`` (a choice) and every value handed around are *texts*: what is written into the
    spec for that value (``"64"``, ``"relu"``, ``"(3, 3)"``, ``"0.0003"``).
    """

    name: str
    kind: str
    span: Span
    text: str
    options: tuple[str, ...] = ()
    low: float | int | None = None
    high: float | int | None = None
    step: float | int | None = None
    param: bool = False  # the value of a `param`: --set NAME=VALUE picks one

    @property
    def default(self) -> str:
        """The value checks start from: a choice's first option, a range's low end."""
        return self.options[0] if self.kind == "choice" else format_value(self, self.low)

    def probes(self) -> tuple[str, ...]:
        """The values `nndsl check` builds: every option, every integer of a small range, else both ends."""
        if self.kind == "choice":
            return self.options
        if self.kind == "int":
            step = int(self.step or 1)
            count = (int(self.high) - int(self.low)) // step + 1
            if count <= 8:
                return tuple(str(int(self.low) + i * step) for i in range(count))
        return (format_value(self, self.low), format_value(self, self.high))

    def describe(self) -> str:
        """`64 | 128 | 256`, `2 .. 6`, `0.1 .. 0.5`, `1e-4 .. 1e-2 (log)`: for summaries."""
        if self.kind == "choice":
            return " | ".join(self.options)
        span = f"{format_value(self, self.low)} .. {format_value(self, self.high)}"
        if self.step:
            span += f" step {self.step}"
        return span + (" (log)" if self.kind == "loguniform" else "")


def format_value(space: Space, value) -> str:
    """A sampled value as spec text; floats keep 4 significant digits and stay inside the bounds."""
    if space.kind == "choice":
        return str(value)
    if space.kind == "int":
        return str(int(value))
    value = float(value)
    if not space.step:
        rounded = float(f"{value:.4g}")
        value = min(max(rounded, float(space.low)), float(space.high))
    text = repr(value) if space.step else f"{value:.4g}"
    if not any(c in text for c in ".eEn"):
        text += ".0"
    return text


# Finding spaces --------------------------------------------------------------------------

def is_space(value: ast.Value, keyword: str | None = None) -> bool:
    """Whether a call value is a search space.

    `int(x)` with one argument stays the conversion; `uniform(...)` given straight to an
    `*_initializer` keyword stays the `random_uniform` initializer (its v1 meaning).
    """
    if not isinstance(value, ast.CallValue) or value.name not in SPACE_FUNCTIONS:
        return False
    if value.name == "int":
        return len(value.args) >= 2 or bool(value.keywords)
    if value.name == "uniform" and keyword is not None and keyword.endswith("initializer"):
        return False
    return True


def _children(value: ast.Value) -> Iterator[tuple[ast.Value, str | None]]:
    """Sub-values of a value, each with the keyword it is given to (None: positional)."""
    if isinstance(value, ast.Tuple):
        for item in value.items:
            yield item, None
    elif isinstance(value, ast.CallValue):
        for item in value.args:
            yield item, None
        for k in value.keywords:
            yield k.value, k.name
    elif isinstance(value, ast.Keyword):
        yield value.value, value.name
    elif isinstance(value, ast.BinOp):
        yield value.left, None
        yield value.right, None
    elif isinstance(value, ast.UnaryOp):
        yield value.operand, None
    elif isinstance(value, ast.Compare):
        yield value.first, None
        for _, v in value.rest:
            yield v, None
    elif isinstance(value, ast.Conditional):
        yield value.test, None
        yield value.then, None
        yield value.otherwise, None
    elif isinstance(value, (ast.Attribute, ast.Index)):
        yield value.value, None
        if isinstance(value, ast.Index):
            yield value.index, None


class _Finder:
    def __init__(self, source: Source, overrides: Mapping[str, object] | None):
        self.source = source
        self.overrides = overrides or {}
        self.spaces: list[Space] = []
        self.diagnostics: list[Diagnostic] = []
        self.names: set[str] = set()
        self.params: set[str] = set()  # names of `param`s (their spaces take --set)

    # statements
    def statements(self, statements) -> None:
        for st in statements:
            self.statement(st)

    def statement(self, st) -> None:
        if isinstance(st, ast.Param):
            if st.name not in self.overrides:
                self.value(st.value, st.name, None, named=True)
        elif isinstance(st, ast.Let):
            self.value(st.value, st.name, None, named=True)
        elif isinstance(st, (ast.Statement, ast.MultiAssign)):
            if st.chain is not None:
                self.chain(st.chain)
        elif isinstance(st, ast.Default):
            for v in st.positional:
                self.value(v, st.layer, None)
            for k in st.keywords:
                self.value(k.value, f"{st.layer}.{k.name}", k.name)
        elif isinstance(st, ast.Block):
            for p in st.params:
                if p.default is not None:
                    self.value(p.default, f"{st.name}.{p.name}", None)
            self.statements(st.body)
        elif isinstance(st, ast.If):
            for test, body in st.branches:
                self.value(test, "if", None)
                self.statements(body)
            self.statements(st.otherwise)
        elif isinstance(st, ast.Assert):
            self.value(st.test, "assert", None)

    def chain(self, chain: ast.Chain) -> None:
        for step in chain.steps:
            if isinstance(step, ast.Repeat):
                self.value(step.count, "repeat", None)
                if isinstance(step.body, ast.Chain):
                    self.chain(step.body)
                else:
                    self.call(step.body)
            else:
                self.call(step)

    def call(self, call: ast.Call) -> None:
        for v in call.args + call.paren_args + call.late_positional:
            self.value(v, call.name, None)
        for k in call.keywords:
            self.value(k.value, f"{call.name}.{k.name}", k.name)

    # values
    def value(self, value: ast.Value, site: str, keyword: str | None, named: bool = False) -> None:
        if is_space(value, keyword):
            self.space(value, site, named)
            return
        for child, kw in _children(value):
            self.value(child, site, kw, named)

    def space(self, value: ast.CallValue, site: str, named: bool) -> None:
        span = value.span
        if span.line != span.end_line:
            self.problem(codes.BAD_SPACE, f"write the search space {value.name}(...) on one line", span)
            return
        text = self.source.line(span.line)[span.column - 1:span.end_column - 1]
        name = site if named else f"{site}@{span.line}"
        if name in self.names:
            name = f"{name}:{span.column}"
        try:
            space = _validate(value, name, text, self.source)
        except _Problem as p:
            self.diagnostics.append(p.diagnostic)
            return
        self.names.add(name)
        self.spaces.append(replace(space, param=True) if named and site in self.params else space)

    def problem(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint))


class _Problem(Exception):
    def __init__(self, code: str, message: str, span: Span, hint: str | None = None):
        super().__init__(message)
        self.diagnostic = Diagnostic(code, message, span, hint)


def _number(value: ast.Value) -> int | float | None:
    if isinstance(value, ast.Number):
        return value.value
    if isinstance(value, ast.UnaryOp) and value.op in ("-", "+") and isinstance(value.operand, ast.Number):
        return -value.operand.value if value.op == "-" else value.operand.value
    return None


def _literal(value: ast.Value) -> bool:
    """A value an option may be: a number, string, name, or a tuple or call value of literals."""
    if isinstance(value, (ast.Number, ast.String, ast.Ident, ast.Unknown)) or _number(value) is not None:
        return True
    if isinstance(value, ast.Tuple):
        return all(_literal(v) for v in value.items)
    if isinstance(value, ast.CallValue) and value.name not in SPACE_FUNCTIONS:
        return all(_literal(v) for v in value.args) and all(_literal(k.value) for k in value.keywords)
    return False


def _text(source: Source, span: Span) -> str:
    return source.line(span.line)[span.column - 1:span.end_column - 1]


def _validate(value: ast.CallValue, name: str, text: str, source: Source) -> Space:
    kind = value.name
    for sub, _ in _children(value):
        for inner in _walk(sub):
            if isinstance(inner, ast.CallValue) and is_space(inner):
                raise _Problem(codes.BAD_SPACE, f"a search space inside another: {_text(source, inner.span)}",
                               inner.span, "a space's values are literal; make the outer space a choice of them")
    if kind == "choice":
        if value.keywords:
            k = value.keywords[0]
            raise _Problem(codes.BAD_SPACE, f"choice takes options only, not {k.name}=", k.span,
                           "write the options in parentheses: choice(32, 64, 128)")
        if not value.args:
            raise _Problem(codes.SPACE_BOUNDS, "choice() needs at least one option", value.span,
                           "list the values to try: choice(32, 64, 128)")
        options = []
        for arg in value.args:
            if not _literal(arg):
                raise _Problem(codes.BAD_SPACE, f"a choice's options are literal values, not "
                               f"{_text(source, arg.span)!r}", arg.span,
                               "write each value out: choice(32, 64), choice(relu, gelu)")
            option = _text(source, arg.span) if arg.span.line == arg.span.end_line else None
            if option is None:
                raise _Problem(codes.BAD_SPACE, "write the search space on one line", value.span)
            if option in options:
                raise _Problem(codes.SPACE_BOUNDS, f"choice lists {option} twice", arg.span, "drop the repeat")
            options.append(option)
        return Space(name, kind, value.span, text, options=tuple(options))
    # ranges
    usage = {"int": "int(2, 6) or int(16, 256, step=16)", "uniform": "uniform(0.1, 0.5)",
             "loguniform": "loguniform(1e-4, 1e-2)"}[kind]
    if len(value.args) != 2:
        raise _Problem(codes.BAD_SPACE, f"{kind} takes a low and a high bound, got {len(value.args)} "
                       f"argument{'s' * (len(value.args) != 1)}", value.span, f"write {usage}")
    allowed = ("step",) if kind in ("int", "uniform") else ()
    step = None
    for k in value.keywords:
        if k.name not in allowed:
            raise _Problem(codes.BAD_SPACE, f"{kind} has no option {k.name}=", k.span, f"write {usage}")
        step = _number(k.value)
        if step is None or isinstance(step, bool) or step <= 0 or (kind == "int" and not isinstance(step, int)):
            raise _Problem(codes.SPACE_BOUNDS, f"step must be a positive {'whole ' if kind == 'int' else ''}number",
                           k.value.span)
    low, high = (_number(a) for a in value.args)
    for bound, arg in ((low, value.args[0]), (high, value.args[1])):
        if bound is None:
            raise _Problem(codes.BAD_SPACE, f"{kind}'s bounds are numbers, not {_text(source, arg.span)!r}",
                           arg.span, f"write {usage}")
        if kind == "int" and not isinstance(bound, int):
            raise _Problem(codes.SPACE_BOUNDS, f"int's bounds are whole numbers, got {_text(source, arg.span)}",
                           arg.span, "for a real-valued range write uniform(low, high)")
    if not low < high:
        raise _Problem(codes.SPACE_BOUNDS, f"{kind}'s low bound must be below its high bound, got "
                       f"{text}", value.span, f"write {usage}")
    if kind == "loguniform" and low <= 0:
        raise _Problem(codes.SPACE_BOUNDS, f"loguniform's bounds must be positive, got {text}", value.args[0].span,
                       "a log scale starts above zero: loguniform(1e-4, 1e-2); for a range with zero use uniform")
    if step is not None:
        span = high - low
        if kind == "int" and span % step or kind == "uniform" and not math.isclose(
                round(span / step) * step, span, rel_tol=1e-9, abs_tol=1e-12):
            raise _Problem(codes.SPACE_BOUNDS, f"the range {low} .. {high} is not a whole number of steps of {step}",
                           value.span, "make high - low a multiple of step")
    return Space(name, kind, value.span, text, low=low, high=high, step=step)


def _walk(value: ast.Value) -> Iterator[ast.Value]:
    yield value
    for child, _ in _children(value):
        yield from _walk(child)


def find_spaces(module: ast.Module, source: Source,
                overrides: Mapping[str, object] | None = None) -> tuple[tuple[Space, ...], list[Diagnostic]]:
    """Every search space in ``module`` (the main file only) and the problems with them.

    A `param` given a value with ``--set`` (in ``overrides``) is no longer a space.
    """
    finder = _Finder(source, overrides)
    finder.params = {st.name for st in module.statements if isinstance(st, ast.Param)}
    finder.statements(module.statements)
    return tuple(finder.spaces), finder.diagnostics


def has_space(value: ast.Value) -> bool:
    """Whether a value (a ``--set`` value, say) holds a search space anywhere."""
    return any(is_space(v) for v in _walk(value))


def not_one_model(spaces: tuple[Space, ...]) -> list[Diagnostic]:
    """E606 for every space, for the commands that build exactly one model (run, emit, build)."""
    out = []
    for s in spaces:
        if s.param:
            hint = (f"pick a value with --set {s.name}={s.default}, or search it with nndsl tune FILE --trials N")
        else:
            hint = (f"search it with nndsl tune FILE --trials N; or name it (param NAME = {s.text}) and pick "
                    f"a value with --set NAME={s.default}")
        out.append(Diagnostic(codes.SPACE_NOT_ALLOWED, f"search space {s.text}: this builds one model, and "
                              f"{s.name} is not fixed", s.span, hint))
    return out


# Writing values into the text -----------------------------------------------------------------

def substitute(source: Source, spaces: tuple[Space, ...], values: Mapping[str, str]) -> str:
    """``source``'s text with each space replaced by its value (spaces not in ``values``: their default)."""
    starts = [0]
    for line in source.lines:
        starts.append(starts[-1] + len(line) + 1)
    text = source.text
    for space in sorted(spaces, key=lambda s: (s.span.line, s.span.column), reverse=True):
        begin = starts[space.span.line - 1] + space.span.column - 1
        end = starts[space.span.end_line - 1] + space.span.end_column - 1
        text = text[:begin] + values.get(space.name, space.default) + text[end:]
    return text


def map_span(span: Span | None, spaces: tuple[Space, ...], values: Mapping[str, str]) -> Span | None:
    """A span in substituted text, back in the original text (inside a value: the whole space)."""
    if span is None:
        return None

    def back(line: int, column: int, end: bool) -> int:
        shift = 0
        for s in sorted((s for s in spaces if s.span.line == line), key=lambda s: s.span.column):
            new_start = s.span.column + shift
            new_end = new_start + len(values.get(s.name, s.default))
            if column < new_start or (end and column == new_start):
                break
            if column < new_end or (end and column == new_end):
                return s.span.end_column if end else s.span.column
            shift += len(values.get(s.name, s.default)) - (s.span.end_column - s.span.column)
        return column - shift

    return Span(span.line, back(span.line, span.column, False), span.end_line,
                back(span.end_line, span.end_column, True))

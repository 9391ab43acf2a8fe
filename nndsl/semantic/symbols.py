"""Where every tensor, block, spec parameter, constant and block argument is defined and used.

A lexical walk over the parsed modules (the main file and each file it includes), with the
same scopes the expander uses: a file's top level, and a block body nested in the scope the
block was defined in. It reads only the syntax tree, so it answers even where the expansion
or binding failed, and an editor can jump from a use to its definition across files.

A name is a use only where it resolves to a definition in scope; layer names, activation
names and other identifier values (``relu``, ``same``) are not symbols.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from .. import ast
from ..diagnostics import Span

TENSOR = "tensor"
BLOCK = "block"
PARAM = "param"          # `param classes = 10`: a spec parameter (--set may override it)
LET = "let"              # `let eps = 1e-5`
ARGUMENT = "argument"    # a block's parameter, visible in its body
KINDS = (TENSOR, BLOCK, PARAM, LET, ARGUMENT)

# Statements whose keyword arguments name outputs: `loss digit=mse`, `metrics digit=accuracy`.
_PER_OUTPUT = ("loss", "loss_weights", "metrics")


@dataclass(frozen=True, slots=True)
class Location:
    """A span in a named file (the main spec, an included file, or ``<std>/NAME.nn``)."""

    file: str
    span: Span

    def contains(self, file: str, line: int, column: int) -> bool:
        s = self.span
        if file != self.file or not (s.line <= line <= s.end_line):
            return False
        if line == s.line and column < s.column:
            return False
        return not (line == s.end_line and column >= s.end_column)


@dataclass(frozen=True, slots=True)
class Symbol:
    """One definition and every use that resolves to it."""

    name: str
    kind: str  # one of KINDS
    definition: Location
    uses: tuple[Location, ...]
    # A short description for hovers: `block resblock(x, f, stride=1)`, `let eps = 1.001e-5`.
    detail: str = ""
    # A block's parameters in order, each with its default as written (None: required).
    signature: tuple[tuple[str, str | None], ...] = ()


class _Scope:
    def __init__(self, parent: "_Scope | None" = None):
        self.parent = parent
        self.names: dict[str, int] = {}  # name -> index into the table

    def find(self, name: str) -> int | None:
        scope: _Scope | None = self
        while scope is not None:
            i = scope.names.get(name)
            if i is not None:
                return i
            scope = scope.parent
        return None


class _Walker:
    def __init__(self, include: Callable[[ast.Include, str], "tuple[ast.Module, str] | None"], text_of):
        self.include = include
        self.text_of = text_of
        self.defs: list[tuple[str, str, Location, str, tuple]] = []
        self.uses: list[list[Location]] = []
        self.seen_files: set[str] = set()

    # Table --------------------------------------------------------------------------------

    def define(self, scope: _Scope, name: str, kind: str, file: str, span: Span | None, detail: str = "",
               signature: tuple = ()) -> None:
        if span is None or not name or name in scope.names:
            return  # a second definition is an error the expander reports; the first stays
        scope.names[name] = len(self.defs)
        self.defs.append((name, kind, Location(file, span), detail, signature))
        self.uses.append([])

    def use(self, scope: _Scope, name: str, file: str, span: Span | None, kinds=None) -> None:
        if span is None:
            return
        i = scope.find(name)
        if i is None or (kinds is not None and self.defs[i][1] not in kinds):
            return
        self.uses[i].append(Location(file, span))

    # Statements ---------------------------------------------------------------------------

    def body(self, statements, scope: _Scope, file: str) -> None:
        for st in statements:
            self.statement(st, scope, file)

    def statement(self, st, scope: _Scope, file: str) -> None:
        kind = type(st)
        if kind is ast.Statement:
            if st.chain is None:
                self.use(scope, st.target or "", file, st.target_span or st.span, (TENSOR,))
                return
            self.chain(st.chain, scope, file)
            if st.target is not None:
                self.define(scope, st.target, TENSOR, file, st.target_span)
        elif kind is ast.MultiAssign:
            self.chain(st.chain, scope, file)
            for name, span in st.targets:
                self.define(scope, name, TENSOR, file, span)
        elif kind is ast.Let or kind is ast.Param:
            self.value(st.value, scope, file)
            word = "let" if kind is ast.Let else "param"
            self.define(scope, st.name, LET if kind is ast.Let else PARAM, file, st.name_span,
                        f"{word} {st.name} = {self.text_of(file, st.value.span)}")
        elif kind is ast.Default:
            for kw in st.keywords:
                self.value(kw.value, scope, file)
            for v in st.positional:
                self.value(v, scope, file)
        elif kind is ast.Block:
            signature = tuple((p.name, self.text_of(file, p.default.span) if p.default is not None else None)
                              for p in st.params)
            params = ", ".join(n + (f"={d}" if d is not None else "") for n, d in signature)
            self.define(scope, st.name, BLOCK, file, st.name_span, f"block {st.name}({params})", signature)
            inner = _Scope(scope)
            for p in st.params:
                if p.default is not None:
                    self.value(p.default, inner, file)  # defaults may use earlier parameters
                self.define(inner, p.name, ARGUMENT, file, p.span, f"argument {p.name} of block {st.name}")
            self.body(st.body, inner, file)
        elif kind is ast.If:
            for test, body in st.branches:
                self.value(test, scope, file)
                self.body(body, scope, file)
            self.body(st.otherwise, scope, file)
        elif kind is ast.Assert:
            self.value(st.test, scope, file)
        elif kind is ast.Include:
            found = self.include(st, file)
            if found is not None:
                module, shown = found
                if shown not in self.seen_files:
                    self.seen_files.add(shown)
                    self.body(module.statements, scope, shown)

    def chain(self, chain: ast.Chain, scope: _Scope, file: str) -> None:
        for i, step in enumerate(chain.steps):
            if isinstance(step, ast.Repeat):
                self.value(step.count, scope, file)
                inner = _Scope(scope)
                body = step.body if isinstance(step.body, ast.Chain) else ast.Chain((step.body,), step.body.span)
                self.chain(body, inner, file)
                continue
            self.call(step, scope, file, head=i == 0)

    def call(self, step: ast.Call, scope: _Scope, file: str, head: bool) -> None:
        found = scope.find(step.name)
        if found is not None:
            kind = self.defs[found][1]
            if kind == BLOCK or (head and kind in (TENSOR, ARGUMENT) and not step.parenthesized
                                 and not step.args and not step.keywords):
                self.uses[found].append(Location(file, step.name_span))
        if step.name == "input" and head and step.args and isinstance(step.args[0], ast.Ident) \
                and step.args[0].name not in ("true", "false", "none"):
            first = step.args[0]
            self.define(scope, first.name, TENSOR, file, first.span)
            args = step.args[1:]
        else:
            args = step.args
        for v in args:
            self.value(v, scope, file)
        for v in step.paren_args:
            self.value(v, scope, file)
        for v in step.late_positional:
            self.value(v, scope, file)
        for kw in step.keywords:
            if head and step.name in _PER_OUTPUT:
                self.use(scope, kw.name, file, kw.name_span, (TENSOR,))
            if kw.name != "name":
                self.value(kw.value, scope, file)

    # Values -------------------------------------------------------------------------------

    def value(self, v, scope: _Scope, file: str) -> None:
        for node in _walk_value(v):
            if type(node) is ast.Ident:
                self.use(scope, node.name, file, node.span)

    def table(self) -> tuple[Symbol, ...]:
        return tuple(Symbol(name, kind, where, tuple(self.uses[i]), detail, signature)
                     for i, (name, kind, where, detail, signature) in enumerate(self.defs))


def _walk_value(v) -> Iterator:
    stack = [v]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is ast.Ident:
            yield node
        elif kind is ast.Tuple:
            stack.extend(node.items)
        elif kind is ast.CallValue:
            stack.extend(node.args)
            stack.extend(k.value for k in node.keywords)
        elif kind is ast.BinOp:
            stack.extend((node.left, node.right))
        elif kind is ast.UnaryOp:
            stack.append(node.operand)
        elif kind is ast.Compare:
            stack.append(node.first)
            stack.extend(r for _, r in node.rest)
        elif kind is ast.Conditional:
            stack.extend((node.test, node.then, node.otherwise))
        elif kind is ast.Attribute:
            stack.append(node.value)
        elif kind is ast.Index:
            stack.extend((node.value, node.index))


def collect_symbols(module: ast.Module, filename: str,
                    include: Callable[[ast.Include, str], "tuple[ast.Module, str] | None"] | None = None,
                    text_of: Callable[[str, Span], str] | None = None) -> tuple[Symbol, ...]:
    """Every definition in ``module`` (and the files it includes) with the uses that resolve to it.

    Args:
        include: finds an included module already read: ``(module, shown path)`` or None.
        text_of: the source text of a span in a file (for ``detail``); empty when not given.
    """
    walker = _Walker(include or (lambda st, f: None), text_of or (lambda f, s: ""))
    walker.body(module.statements, _Scope(), filename)
    return walker.table()

"""What is where in one open spec: the language server's view of an analysis.

The server answers every request (hover, definition, references, symbols, completion) from an
:class:`Index` built once per version of a document over :func:`nndsl.semantic.analyze.analyze`
(the same analysis ``nndsl check`` reads): its diagnostics, its symbol table (definitions and
uses across includes) and its per-layer facts. What the analysis does not keep, because only
an editor asks, is found here in the syntax tree: which layer call, option or include sits at
a position, and which block body a line is in. Nothing here knows the Language Server
Protocol; positions are the front end's 1-based spans, and :mod:`nndsl.tools.lsp` converts them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from .. import ast, codes
from ..diagnostics import Span
from ..semantic.analyze import Analysis, NodeFact, analyze
from ..semantic.symbols import Location, Symbol


def analyze_document(text: str, filename: str, registry) -> Analysis:
    """The analysis of an editor's text for ``filename``; never raises.

    Includes and ``data "file"`` resolve next to ``filename``, so a missing data file is
    reported as ``nndsl check`` reports it.
    """
    analysis = analyze(text, filename, registry=registry, data_files=True)
    if any(d.code == codes.SPACE_NOT_ALLOWED for d in analysis.diagnostics):
        # A tunable spec is valid as `nndsl check` sees it: report what checking its search
        # spaces finds (E609, W014, the reference model's warnings), not E606 on every space.
        analysis = replace(analysis, diagnostics=space_diagnostics(analysis, registry))
    return analysis


def space_diagnostics(analysis: Analysis, registry) -> tuple:
    """The diagnostics `nndsl check` gives a spec with search spaces."""
    from ..diagnostics import SpecError
    from ..spacecheck import check_spaces

    try:
        return tuple(check_spaces(analysis.source, registry, data_files=True).warnings)
    except SpecError as e:
        return tuple(e.diagnostics)


def contains(span: Span, line: int, column: int) -> bool:
    """Is (line, column) inside ``span`` or just after its end (where an editor's cursor sits)?"""
    return (span.line, span.column) <= (line, column) <= (span.end_line, span.end_column)


@dataclass(frozen=True, slots=True)
class Entry:
    """A symbol as the server shows it: ``role`` refines a tensor to ``input`` or ``output``;
    ``scope`` is the block whose body defines it ("" at the top level or in another file)."""

    symbol: Symbol
    role: str
    scope: str

    @property
    def name(self) -> str:
        return self.symbol.name

    @property
    def definition(self) -> Location:
        return self.symbol.definition


class Index:
    """Symbols, layer calls, options and includes of one analysis, by position."""

    def __init__(self, analysis: Analysis):
        self.analysis = analysis
        self.main = analysis.source.filename
        self.sources = {self.main: analysis.source, **analysis.sources}
        self.calls: list[ast.Call] = []
        self.keywords: list[tuple[ast.Call, ast.Keyword]] = []
        self.includes: list[tuple[Span, str]] = []
        self.blocks: dict[str, ast.Block] = {}  # blocks written in the main file
        module = analysis.module
        if module is not None:
            self._body(module.statements)
        inputs = {f.name for f in analysis.facts if f.op == "input"}
        bound = analysis.bound
        outputs = {name for name, _ in getattr(bound, "outputs", ())} if bound is not None else set()
        self.entries: list[Entry] = []
        for sym in analysis.symbols:
            scope = self._scope_of(sym.definition)
            role = sym.kind
            if sym.kind == "tensor" and not scope:
                role = "input" if sym.name in inputs else "output" if sym.name in outputs else "tensor"
            self.entries.append(Entry(sym, role, scope))

    # The syntax tree ------------------------------------------------------------------------

    def _body(self, statements) -> None:
        for st in statements:
            if isinstance(st, ast.Statement) and st.chain is not None:
                self._chain(st.chain)
            elif isinstance(st, ast.MultiAssign):
                self._chain(st.chain)
            elif isinstance(st, ast.Block):
                self.blocks.setdefault(st.name, st)
                self._body(st.body)
            elif isinstance(st, ast.If):
                for _, body in st.branches:
                    self._body(body)
                self._body(st.otherwise)
            elif isinstance(st, ast.Default):
                self.calls.append(ast.Call(st.layer, (), st.keywords, st.span, st.layer_span))
                self.keywords += [(self.calls[-1], kw) for kw in st.keywords]
            elif isinstance(st, ast.Include):
                self.includes.append((st.span, _include_name(st, self.main)))

    def _chain(self, chain: ast.Chain) -> None:
        for step in chain.steps:
            if isinstance(step, ast.Repeat):
                self._chain(step.body if isinstance(step.body, ast.Chain) else ast.Chain((step.body,), step.span))
            else:
                self.calls.append(step)
                self.keywords += [(step, kw) for kw in step.keywords]

    def _scope_of(self, where: Location) -> str:
        if where.file != self.main:
            return ""
        for name, block in self.blocks.items():
            if block.span.line < where.span.line < block.span.end_line or where.span.line == block.span.line \
                    and where.span.column > block.name_span.end_column:
                return name
            if where.span.line == block.span.end_line and block.span.end_column > 1 \
                    and block.span.line < where.span.line:
                return name
        return ""

    # Questions ------------------------------------------------------------------------------

    def entry(self, sym: Symbol | None) -> Entry | None:
        for e in self.entries:
            if e.symbol is sym:
                return e
        return None

    def symbol_at(self, line: int, column: int) -> Entry | None:
        """The symbol defined or used at a position of the main file (cursor just after counts)."""
        for e in self.entries:
            places = (e.symbol.definition,) + e.symbol.uses
            if any(p.file == self.main and contains(p.span, line, column) for p in places):
                return e
        return None

    def call_at(self, line: int, column: int) -> ast.Call | None:
        for call in self.calls:
            if contains(call.name_span, line, column):
                return call
        return None

    def call_around(self, line: int, column: int) -> ast.Call | None:
        """The innermost call (name, arguments and options) around a position."""
        best = None
        for call in self.calls:
            if contains(call.span, line, column) and (best is None or _extent(call.span) < _extent(best.span)):
                best = call
        return best

    def keyword_at(self, line: int, column: int) -> tuple[ast.Call, ast.Keyword] | None:
        for call, kw in self.keywords:
            if contains(kw.name_span, line, column):
                return call, kw
        return None

    def include_at(self, line: int, column: int) -> str | None:
        for span, shown in self.includes:
            if contains(span, line, column):
                return shown
        return None

    def scope_at(self, line: int) -> str:
        """The block of the main file whose body holds ``line`` ("" at the top level)."""
        for name, block in self.blocks.items():
            if block.span.line < line < block.span.end_line or (
                    line == block.span.end_line and block.span.end_column > 1 and block.span.line < line):
                return name
        return ""

    def visible(self, line: int) -> dict[str, Entry]:
        """Names usable on ``line`` of the main file: its block's, then the top level's and includes'."""
        scope = self.scope_at(line)
        out: dict[str, Entry] = {}
        for e in self.entries:
            where = e.definition
            if where.file != self.main:
                usable = e.role in ("block", "param", "let")  # a library's inner names stay inside
            elif e.scope:
                usable = e.scope == scope and (e.role == "argument" or where.span.line <= line)
            else:
                usable = e.role == "block" or where.span.line <= line
            if usable and e.name not in out:
                out[e.name] = e
        return out

    def block_entries(self) -> list[Entry]:
        return [e for e in self.entries if e.role == "block"]

    def nodes_of_call(self, call: ast.Call) -> list[NodeFact]:
        """The layers a written layer call became (one per block instance or repetition)."""
        return [f for f in self.analysis.facts
                if f.op != "input" and f.location.file == self.main and f.location.span == call.span]

    def nodes_of_block_call(self, call: ast.Call) -> list[NodeFact]:
        """Every layer the block call made (its nested blocks' too)."""
        return [f for f in self.analysis.facts
                if any(c.file == self.main and c.span == call.span for c in f.call_sites)]

    def shape_of(self, e: Entry):
        """The shape of a top-level tensor or input (without the batch), or None when unknown."""
        if e.scope or e.role not in ("input", "tensor", "output") or e.definition.file != self.main:
            return None
        for f in self.analysis.facts:
            if f.op == "input" and f.name == e.name:
                return f.shape
        names = self.analysis.names
        final = None
        if names is not None:
            try:
                final = names(e.name)
            except Exception:  # noqa: BLE001 - the analysis stopped early: no shape to show
                final = None
        for f in self.analysis.facts:
            if f.name == final:
                return f.shape
        return None


def _extent(span: Span) -> tuple[int, int]:
    return (span.end_line - span.line, span.end_column - span.column)


def _include_name(st: ast.Include, including: str) -> str:
    """The name the front end shows for an included file (what diagnostics' origins carry).

    The rule of :class:`nndsl.semantic.files.Includes`: ``std/NAME`` is ``<std>/NAME.nn``, a
    path is relative to the including file.
    """
    if st.standard:
        return f"<std>/{st.path.split('/')[-1]}.nn"
    base = os.path.dirname(including) if including and not including.startswith("<") else os.getcwd()
    return os.path.normpath(os.path.join(base, st.path))


def file_path(filename: str) -> str | None:
    """The file on disk behind a name the front end shows (``<std>/resnet.nn`` is in the package)."""
    if filename.startswith("<std>/"):
        from importlib import resources
        return str(resources.files("nndsl") / "std" / filename[len("<std>/"):])
    if filename.startswith("<"):
        return None
    return os.path.abspath(filename)

"""The front end in one call that never raises: what parsed, what resolved, and where.

:func:`analyze` runs parse, expand, bind, infer and lint over spec text and returns an
:class:`Analysis`: every diagnostic, the syntax tree as far as it parsed, the IR model when the
spec is free of errors, the layers inferred so far when it is not, a table of the definitions
and uses of every tensor, block, parameter and constant (across included files), and per-layer
facts (shape, parameters, MACs) by source span. ``nndsl check``, ``check_source`` and the
language server all read this one result, so they cannot disagree.

Example::

    a = analyze("input 784\\ndense 32 relu\\ndense 10 softmax\\n", path="mlp.nn")
    a.ok                      # True
    a.facts_at("mlp.nn", 2, 1)[0].shape   # (32,)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .. import ast, codes, ir
from ..diagnostics import Diagnostic, Severity, Source, Span, SpecError, UsageError
from ..registry import ParamCount, Registry
from .files import Includes, missing_data_file, read_source
from .symbols import Location, Symbol, collect_symbols


@dataclass(frozen=True, slots=True)
class NodeFact:
    """What the front end knows about one layer (or input), found by its span."""

    location: Location           # the layer as written (inside a block: the block's line and file)
    name: str                    # its name in the model (the Keras layer name)
    op: str                      # the registered layer, or "input"
    shape: tuple                 # output shape without the batch dimension
    params: ParamCount
    macs: int
    inputs: tuple[str, ...]
    block_path: tuple[str, ...]  # `instance:block` from the outermost call in
    call_sites: tuple[Location, ...] = ()  # the block calls on the way, outermost first


@dataclass(frozen=True)
class Analysis:
    """Everything the front end found in one spec; partial where the spec is broken.

    Attributes:
        source: the main file's text and name.
        diagnostics: every error and warning, in report order (codes, hints, call-site notes
            on ``Diagnostic.notes``; ``Diagnostic.origin.filename`` names an included file).
        module: the syntax tree as far as it parsed (broken statements blanked), or None.
        model: the checked IR model, or None when there is any error.
        bound: the bound model as far as binding got (None if expansion itself failed).
        nodes: every layer whose shape could be inferred, even when other layers failed
            (layers no output uses are kept here; ``model`` leaves them out, like Keras).
        symbols: definitions and uses of tensors, blocks, params, lets and block arguments.
        facts: per-layer facts (``facts_at`` finds them by position).
        sources: included files' text by the path diagnostics show.
        params: the spec parameters' values (after ``params`` overrides).
        expansion, names: the expanded flat statements and the final name of each label
            (``nndsl expand`` prints from them).
    """

    source: Source
    diagnostics: tuple[Diagnostic, ...] = ()
    module: ast.Module | None = None
    model: ir.Model | None = None
    bound: Any = field(default=None, repr=False)
    nodes: tuple[ir.Node, ...] = ()
    symbols: tuple[Symbol, ...] = ()
    facts: tuple[NodeFact, ...] = ()
    sources: Mapping[str, Source] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    expansion: Any = field(default=None, repr=False)
    names: Callable[[str], "str | None"] | None = field(default=None, repr=False)
    # A bug in nndsl met on the way (reported as E620); `check_source` re-raises it.
    internal_error: BaseException | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if not d.is_error)

    def file_of(self, diag: Diagnostic) -> str:
        """The file a diagnostic's span is in."""
        return diag.origin.filename if diag.origin is not None else self.source.filename

    def source_for(self, file: str) -> Source:
        if file == self.source.filename:
            return self.source
        return self.sources.get(file) or Source("", file)

    def symbol_at(self, file: str, line: int, column: int) -> Symbol | None:
        """The symbol defined or used at a position (1-based line and column), or None."""
        for sym in self.symbols:
            if sym.definition.contains(file, line, column) or any(u.contains(file, line, column) for u in sym.uses):
                return sym
        return None

    def facts_at(self, file: str, line: int, column: int) -> tuple[NodeFact, ...]:
        """Facts of the layers written at a position (a layer in a block: one per call of it)."""
        return tuple(f for f in self.facts if f.location.contains(file, line, column))

    def facts_called_at(self, file: str, line: int, column: int) -> tuple[NodeFact, ...]:
        """Facts of every layer made by the block call at a position."""
        return tuple(f for f in self.facts if any(c.contains(file, line, column) for c in f.call_sites))


def analyze(source: "str | Source | None" = None, path: str = "<string>", params: Mapping[str, Any] | None = None,
            *, registry: Registry | None = None, data_files: bool = False, symbols: bool = True) -> Analysis:
    """Run the front end over a spec and return what it found; never raises.

    Args:
        source: the spec text (or a :class:`Source`); None reads ``path`` from disk.
        path: the file name to show and to resolve includes and data paths against.
        params: overrides for the spec's ``param``s, name -> value (``--set``): a parsed value,
            or text parsed as a value (``"10"``, ``"0.5"``).
        registry: layers and training objects; the default registry (plugins loaded) if None.
        data_files: also report a ``data "file"`` that does not exist.
        symbols: build the symbol table and the per-layer facts (``check`` skips both: nothing
            there reads them, and a 10,000-layer check should not pay for them).
    """
    from ..parser import gc_paused

    with gc_paused():  # the passes make no cycles; collections would rescan the growing tree
        return _analyze(source, path, params, registry, data_files, symbols)


def _analyze(source, path, params, registry, data_files, want_symbols) -> Analysis:
    if source is None:
        try:
            source = read_source(path)
        except SpecError as e:
            return Analysis(e.source, tuple(e.diagnostics))
        except UsageError as e:
            return Analysis(Source("", path), (Diagnostic(codes.CANNOT_READ, str(e), None,
                                                          "check the path and its permissions"),))
        except Exception as exc:  # noqa: BLE001 - never raise
            return _internal(Analysis(Source("", path)), exc)
    elif not isinstance(source, Source):
        source = Source(str(source), path)
    state = _State(source)
    try:
        _run(state, params, registry, data_files)
    except Exception as exc:  # noqa: BLE001 - a bug in nndsl or a plugin: reported, never raised
        state.internal = exc
        state.diags.append(_internal_diagnostic(exc))
    diags = sorted(state.diags, key=_position)
    symbols: tuple[Symbol, ...] = ()
    if want_symbols and state.module is not None:
        try:
            symbols = collect_symbols(state.module, source.filename, state.include_of, state.text_of)
        except Exception as exc:  # noqa: BLE001
            state.internal = state.internal or exc
            diags.append(_internal_diagnostic(exc))
    return Analysis(source, tuple(diags), state.module, state.model, state.bound, state.nodes, symbols,
                    state.facts() if want_symbols else (), dict(state.includes.sources), dict(getattr(state.expansion, "params", {}) or {}),
                    state.expansion, state.names, state.internal)


class _State:
    """What the passes produced so far (kept when a later one fails)."""

    def __init__(self, source: Source):
        self.source = source
        self.includes = Includes(source)
        self.diags: list[Diagnostic] = []
        self.module: ast.Module | None = None
        self.bound: Any = None
        self.expansion: Any = None
        self.names: Any = None
        self.nodes: tuple[ir.Node, ...] = ()
        self.model: ir.Model | None = None
        self.internal: BaseException | None = None

    def include_of(self, st: ast.Include, including: str):
        shown = self.includes.resolved.get((including, st.path))
        module = self.includes.modules.get(shown) if shown is not None else None
        return (module, shown) if module is not None else None

    def text_of(self, file: str, span: Span) -> str:
        src = self.source if file == self.source.filename else self.includes.sources.get(file)
        if src is None:
            return ""
        if span.line != span.end_line:
            return src.line(span.line)[span.column - 1:].strip()
        return src.line(span.line)[span.column - 1:span.end_column - 1]

    def facts(self) -> tuple[NodeFact, ...]:
        main = self.source.filename
        out: list[NodeFact] = []
        if self.bound is None:
            return ()
        for i in self.bound.inputs:
            if i.span is not None:
                out.append(NodeFact(Location(main, i.span), i.name, "input", i.shape, ParamCount(), 0, (), ()))
        layers = {b.name: b for b in self.bound.layers}
        for n in self.nodes:
            b = layers.get(n.name)
            origin = b.origin if b is not None else None
            file = origin.filename if origin is not None else main
            calls = tuple(Location(f.filename, f.call_span) for f in origin.frames) if origin is not None else ()
            out.append(NodeFact(Location(file, n.span), n.name, n.op, n.shape, n.params, n.macs, n.inputs,
                                n.block_path, calls))
        return tuple(out)


def _run(state: _State, params, registry, data_files: bool) -> None:
    from ..infer import infer
    from ..lint import lint, live_names
    from ..parser import parse_recovering
    from ..spaces import find_spaces, not_one_model
    from .bind import resolve

    source = state.source
    empty = Diagnostic(codes.EMPTY, "the spec is empty", Span.point(1, 1),
                       "start with an input and a layer: input 784; dense 10 softmax")
    if not source.text.strip():
        state.diags.append(empty)
        return
    module, syntax = parse_recovering(source)
    state.module = module
    state.diags += syntax
    if module is None or (not module.statements and syntax):
        return
    if not module.statements:  # only comments, blank lines and ';'
        state.diags.append(Diagnostic(codes.EMPTY, "the spec has no statements (only comments or blank lines)",
                                      empty.span, empty.hint))
        return
    if registry is None:
        from ..plugins import default_registry
        registry = default_registry()
    overrides = _overrides(params, state)
    spaces, space_problems = find_spaces(module, source, overrides)
    if spaces or space_problems:  # one model per set of values: nndsl.spacecheck checks those
        state.diags += space_problems + not_one_model(spaces)
        return
    bound, diags, expansion, names = resolve(module, registry, source.filename, overrides, state.includes.load)
    state.bound, state.expansion, state.names = bound, expansion, names
    state.diags += diags
    nodes, shape_diags = infer(bound, registry)
    state.nodes = nodes
    state.diags += shape_diags
    state.diags += lint(bound, nodes, registry)
    if data_files:
        state.diags += missing_data_file(bound.training.data, source.filename)
    if expansion.assertions and not any(d.is_error for d in state.diags):
        state.diags += _assertions(expansion, bound, nodes, names, state.includes, registry)
    if any(d.is_error for d in state.diags):
        return
    # Layers no output depends on were warned about (W002); like Keras, the model leaves them out.
    live = live_names(nodes, [name for name, _ in bound.outputs])
    state.model = ir.Model(model_name(source.filename), bound.inputs, tuple(n for n in nodes if n.name in live),
                           tuple(name for name, _ in bound.outputs), bound.training)


def _overrides(params, state: _State) -> dict | None:
    """``params`` values as parsed values; one that does not parse is an E621 diagnostic."""
    if not params:
        return None
    from ..parser import parse_value

    out = {}
    for name, value in params.items():
        if isinstance(value, (ast.Number, ast.String, ast.Ident, ast.Tuple, ast.Unknown, ast.CallValue,
                              *ast.EXPRESSIONS)):
            out[name] = value
            continue
        text = value if isinstance(value, str) else repr(value)
        try:
            out[name] = parse_value(text.strip() or "''")
        except SpecError as e:
            state.diags.append(Diagnostic(codes.BAD_OVERRIDE, f"--set {name}={text}: not a value "
                                          f"({e.diagnostics[0].message})", None,
                                          "write --set NAME=VALUE with VALUE an expression: --set classes=10"))
    return out


def model_name(filename: str) -> str:
    """The Keras model name for a spec file: its base name as an identifier."""
    base = os.path.splitext(os.path.basename(filename))[0] if filename and not filename.startswith("<") else "model"
    name = "".join(c if (c.isascii() and (c.isalnum() or c == "_")) else "_" for c in base) or "model"
    if name[0].isdigit():
        name = "m_" + name
    return name


def _position(d: Diagnostic) -> tuple:
    """Report order: by place in the main file; inside a block, at its outermost call; in an
    included file, at the include (then by place inside)."""
    origin = d.origin
    if origin is not None and (origin.frames or origin.included_from):
        span = origin.frames[0].call_span if origin.frames else origin.included_from[0][1]
        return (span.line, span.column, d.span.line if d.span else 0, d.span.column if d.span else 0)
    if d.span is None:
        return (10**9, 0, 0, 0)
    return (d.span.line, d.span.column, 0, 0)


def _assertions(expansion, bound, nodes, names, includes: Includes, registry) -> list[Diagnostic]:
    from ..expand import check_assertions

    total = ParamCount()
    for n in nodes:
        total = total + n.params
    totals = {"params": total.total, "trainable_params": total.trainable,
              "non_trainable_params": total.non_trainable, "layers": len(nodes),
              "macs": sum(n.macs for n in nodes)}
    shapes = {i.name: i.shape for i in bound.inputs}
    shapes.update((n.name, n.shape) for n in nodes)

    def text_of(origin, span) -> str:
        src = includes.source_for(origin)
        if span.line != span.end_line:
            return src.line(span.line)[span.column - 1:].strip()
        return src.line(span.line)[span.column - 1:span.end_column - 1]

    return check_assertions(expansion, totals, shapes, names, text_of, registry)


def _internal_diagnostic(exc: BaseException) -> Diagnostic:
    return Diagnostic(codes.INTERNAL, f"internal error: {type(exc).__name__}: {exc}"[:300], None,
                      "this is a bug in nndsl (or a plugin), not in the spec; please report it "
                      "with the spec (nndsl check --traceback shows where)")


def _internal(analysis: Analysis, exc: BaseException) -> Analysis:
    from dataclasses import replace

    return replace(analysis, diagnostics=analysis.diagnostics + (_internal_diagnostic(exc),), internal_error=exc)

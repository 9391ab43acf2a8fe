"""``nndsl lsp``: a language server over stdio (pygls + lsprotocol).

Every open document is analysed once per version (the front end never raises: what parsed,
what resolved, every diagnostic, the shapes and counts of every layer), and each request is
answered from that :class:`~nndsl.tools.lsp_index.Index`: diagnostics with codes, hints and
related locations (a block's call site), hover with a layer's output shape, parameters and
MACs, completion from the live registry, definition and references across includes, document
symbols, formatting and "did you mean" quick fixes.

A handler that fails logs the traceback (``window/logMessage`` and stderr) and answers
nothing; the server keeps serving. TensorFlow is never imported.

Example (what an editor runs)::

    nndsl lsp
"""

from __future__ import annotations

import functools
import re
import sys
import traceback
from typing import Any, Callable

from lsprotocol import types as T
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from ..diagnostics import Diagnostic, Severity, Source, Span, suggestions_in
from ..infer import format_shape
from ..version import __version__
from . import lsp_complete
from .lsp_index import Entry, Index, analyze_document, file_path

NAME = "nndsl"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# Positions: LSP counts 0-based lines and code units of the encoding the client and server agreed
# (UTF-16 unless the client offers UTF-8 or UTF-32); spans count 1-based characters. ----------

UTF16 = "utf-16"


def _units(ch: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(ch.encode("utf-8"))
    if encoding == "utf-32":
        return 1
    return 2 if ord(ch) > 0xFFFF else 1


def to_character(text: str, column: int, encoding: str = UTF16) -> int:
    """The offset, in ``encoding``'s code units, of 1-based character ``column`` in the line ``text``."""
    head = text[:max(column - 1, 0)]
    return sum(_units(ch, encoding) for ch in head) + max(column - 1 - len(text), 0)


def to_column(text: str, character: int, encoding: str = UTF16) -> int:
    """The 1-based character column of offset ``character`` (in ``encoding``'s units) in ``text``."""
    units = 0
    for i, ch in enumerate(text):
        if units >= character:
            return i + 1
        units += _units(ch, encoding)
    return len(text) + 1


def to_range(source: Source | None, span: Span | None, encoding: str = UTF16) -> T.Range:
    if span is None:
        return T.Range(T.Position(0, 0), T.Position(0, 0))
    line = source.line if source is not None else (lambda n: "")
    start = T.Position(max(span.line - 1, 0), to_character(line(span.line), span.column, encoding))
    end = T.Position(max(span.end_line - 1, 0), to_character(line(span.end_line), span.end_column, encoding))
    return T.Range(start, end)


def to_position(source: Source, position: T.Position, encoding: str = UTF16) -> tuple[int, int]:
    line = position.line + 1
    return line, to_column(source.line(line), position.character, encoding)


# Documents --------------------------------------------------------------------------------

class NndslServer(LanguageServer):
    """The server, its registry (plugins loaded once) and one analysis per document version."""

    def __init__(self, registry=None):
        super().__init__(NAME, __version__)
        self._registry = registry
        self.shut_down = False  # a shutdown request came before exit (exit status 0, else 1)
        self.indexes: dict[str, tuple[str, Index]] = {}

    @property
    def registry(self):
        if self._registry is None:
            from ..plugins import default_registry

            self._registry = default_registry()
            for w in self._registry.warnings:
                self.log(f"warning: {w}", T.MessageType.Warning)
        return self._registry

    def log(self, message: str, kind: T.MessageType = T.MessageType.Info) -> None:
        print(f"nndsl lsp: {message}", file=sys.stderr, flush=True)
        try:
            self.window_log_message(T.LogMessageParams(type=kind, message=message))
        except Exception:  # noqa: BLE001 - no client to tell: stderr has it
            pass

    @property
    def encoding(self) -> str:
        """The position encoding agreed at initialize (pygls takes the client's first it supports)."""
        try:
            chosen = self.workspace.position_encoding
        except RuntimeError:  # before initialize: the protocol's default
            return UTF16
        return str(getattr(chosen, "value", chosen) or UTF16)

    def filename(self, uri: str) -> str:
        path = to_fs_path(uri) if uri.startswith("file:") else None
        return path or f"<{uri}>"

    def uri_of(self, filename: str, main_uri: str, main: str) -> str | None:
        if filename == main:
            return main_uri
        path = file_path(filename)
        return from_fs_path(path) if path else None

    def index(self, uri: str) -> Index:
        """The index of the document's current text (analysed again only when it changed)."""
        text = self.workspace.get_text_document(uri).source
        cached = self.indexes.get(uri)
        if cached is not None and cached[0] == text:
            return cached[1]
        index = Index(analyze_document(text, self.filename(uri), self.registry))
        self.indexes[uri] = (text, index)
        return index


def guarded(default: Any = None) -> Callable:
    """A handler that raises logs the error and answers ``default``; the server keeps going."""
    def wrap(fn):
        @functools.wraps(fn)
        def run(ls: NndslServer, params):
            try:
                return fn(ls, params)
            except Exception:  # noqa: BLE001 - a bug in one request must not end the session
                ls.log(f"{fn.__name__} failed:\n{traceback.format_exc()}", T.MessageType.Error)
                return default
        return run
    return wrap


# Diagnostics ------------------------------------------------------------------------------

def lsp_diagnostics(ls: NndslServer, uri: str, index: Index) -> list[T.Diagnostic]:
    main = index.main
    out = []
    for d in index.analysis.diagnostics:
        out.append(_diagnostic(ls, uri, index, d, main))
    return out


def _diagnostic(ls: NndslServer, uri: str, index: Index, d: Diagnostic, main: str) -> T.Diagnostic:
    related = []
    origin = d.origin
    here_file = origin.filename if origin is not None else main
    span = d.span
    if here_file != main:
        # A problem in an included file shows at the place this spec reaches it: the outermost
        # call from this file, else the include statement; the real place is a related location.
        target = ls.uri_of(here_file, uri, main)
        if target is not None and span is not None:
            related.append(T.DiagnosticRelatedInformation(
                T.Location(target, to_range(index.sources.get(here_file), span, ls.encoding)), f"{here_file}: here"))
        span = _anchor(index, d, main)
    if origin is not None:
        for frame in reversed(origin.frames):
            target = ls.uri_of(frame.filename, uri, main)
            if target is not None:
                related.append(T.DiagnosticRelatedInformation(
                    T.Location(target, to_range(index.sources.get(frame.filename), frame.call_span, ls.encoding)),
                    f"in block '{frame.block}' called from here"))
    message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
    fixes = _fixes(index, d, span) if here_file == main or span is d.span else []
    return T.Diagnostic(
        range=to_range(index.analysis.source, span, ls.encoding), message=message,
        severity=T.DiagnosticSeverity.Error if d.severity is Severity.ERROR else T.DiagnosticSeverity.Warning,
        code=d.code, source=NAME, related_information=related or None,
        data={"fixes": fixes} if fixes else None)


def _anchor(index: Index, d: Diagnostic, main: str) -> Span:
    for frame in d.origin.frames:
        if frame.filename == main:
            return frame.call_span
    for span, shown in index.includes:
        if shown == d.origin.filename:
            return span
    return Span.point(1, 1)


def _fixes(index: Index, d: Diagnostic, span: Span | None) -> list[dict]:
    """The replacements a "did you mean" hint offers: the misspelled name at the start of the span."""
    names = suggestions_in(d.hint)
    if not names or span is None or span.line != span.end_line:
        return []
    text = index.analysis.source.line(span.line)[span.column - 1:span.end_column - 1]
    m = _IDENT.match(text)
    if m is None:
        return []
    where = Span(span.line, span.column, span.line, span.column + m.end())
    return [{"title": f"Replace '{m.group()}' with '{n}'", "new": n, "line": where.line,
             "column": where.column, "end_column": where.end_column} for n in names if n != m.group()]


# Hover --------------------------------------------------------------------------------------

def _count(n: int) -> str:
    for unit, size in (("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return str(n)


def _node_line(node) -> str:
    return f"`{format_shape(node.shape)}` · {node.params.total:,} params · {_count(node.macs)} MACs"


def hover_text(index: Index, registry, line: int, column: int) -> str | None:
    main = index.main
    kw = index.keyword_at(line, column)
    if kw is not None:
        call, keyword = kw
        for p in lsp_complete.params_of(registry, call.name, index) or ():
            if p.name == keyword.name:
                default = "required" if p.required else f"default `{lsp_complete._default(p)}`"
                return f"**{call.name}** option `{p.name}`: {p.kind.expected}; {default}" + \
                    (f"\n\n{p.doc}" if p.doc else "")
        return None
    sym = index.symbol_at(line, column)
    call = index.call_at(line, column)
    if sym is not None and sym.role == "block":
        return _block_hover(index, sym, call)
    if sym is not None:
        return _symbol_hover(index, sym)
    if call is not None:
        return _layer_hover(index, registry, call)
    shown = index.include_at(line, column)
    if shown is not None:
        return f"includes `{file_path(shown) or shown}`"
    word = _word_hover(index, registry, line, column)
    if word is not None:
        return word
    # Anywhere else on a layer's arguments or options: that layer (or block call).
    call = index.call_around(line, column)
    if call is None:
        return None
    block = next((e for e in index.block_entries() if e.name == call.name), None)
    return _block_hover(index, block, call) if block is not None else _layer_hover(index, registry, call)


def _where(index: Index, place) -> str:
    if place.file == index.main:
        return f"line {place.span.line}"
    return f"{place.file}:{place.span.line}"


def _symbol_hover(index: Index, sym: Entry) -> str:
    words = {"input": "input", "tensor": "tensor", "output": "output tensor", "param": "spec parameter",
             "let": "constant", "argument": "block argument", "index": "repeat index"}
    out = f"**{sym.name}**: {words.get(sym.role, sym.role)}"
    shape = index.shape_of(sym)
    if shape is not None:
        out += f", shape `{format_shape(shape)}`"
    if sym.scope:
        out += f" (in block `{sym.scope}`)"
    out += f"\n\ndefined at {_where(index, sym.definition)}"
    return out


def _block_hover(index: Index, sym: Entry, call) -> str:
    out = f"```\n{sym.symbol.detail}\n```\n" if sym.symbol.detail else ""
    out += f"defined at {_where(index, sym.definition)}"
    if call is not None and call.name == sym.name:
        nodes = index.nodes_of_block_call(call)
        if nodes:
            params = sum(n.params.total for n in nodes)
            macs = sum(n.macs for n in nodes)
            out += (f"\n\nthis call: {len(nodes)} layers · {params:,} params · {_count(macs)} MACs"
                    f"\n\nlast layer `{nodes[-1].name}`: `{format_shape(nodes[-1].shape)}`")
    return out


def _layer_hover(index: Index, registry, call) -> str | None:
    layer = registry.layers.get(call.name)
    if layer is None:
        return _word_hover_name(registry, call.name)
    out = f"**{layer.name}** (layer{'' if registry.owner('layers', call.name).startswith('nndsl.') else ', plugin ' + registry.owner('layers', call.name)})"
    if layer.doc:
        out += f": {layer.doc}"
    out += f"\n\n```\n{lsp_complete.signature(layer.name, layer.params)}\n```"
    nodes = index.nodes_of_call(call)
    if len(nodes) == 1:
        out += f"\n\n`{nodes[0].name}`: output {_node_line(nodes[0])}"
    elif nodes:
        out += f"\n\n{len(nodes)} layers from this call:\n"
        for n in nodes[:8]:
            out += f"\n- `{n.name}`: {_node_line(n)}"
        if len(nodes) > 8:
            out += f"\n- ... {len(nodes) - 8} more"
    return out


def _word_hover(index: Index, registry, line: int, column: int) -> str | None:
    text = index.analysis.source.line(line)
    for m in _IDENT.finditer(text):
        if m.start() < column <= m.end() + 1 and "#" not in text[:m.start()]:
            return _word_hover_name(registry, m.group())
    return None


def _word_hover_name(registry, name: str) -> str | None:
    for table, what in (("activations", "activation"), ("losses", "loss"), ("metrics", "metric"),
                        ("optimizers", "optimizer"), ("datasets", "data set"), ("callbacks", "callback"),
                        ("regularizers", "regularizer"), ("initializers", "initializer"),
                        ("constraints", "constraint"), ("schedules", "schedule")):
        item = getattr(registry, table).get(name)
        if item is not None:
            out = f"**{item.name}** ({what})" + (f": {item.doc}" if getattr(item, "doc", "") else "")
            params = getattr(item, "params", ())
            if params:
                out += f"\n\n```\n{lsp_complete.signature(item.name, params)}\n```"
            return out
    return None


# The server ---------------------------------------------------------------------------------

_KINDS = {"layer": T.CompletionItemKind.Class, "block": T.CompletionItemKind.Function,
          "tensor": T.CompletionItemKind.Variable, "constant": T.CompletionItemKind.Constant,
          "keyword": T.CompletionItemKind.Property, "statement": T.CompletionItemKind.Keyword,
          "activation": T.CompletionItemKind.EnumMember, "value": T.CompletionItemKind.Value,
          "file": T.CompletionItemKind.File}


def make_server(registry=None) -> NndslServer:
    """A server with every feature registered (``registry``: default, the installed plugins')."""
    server = NndslServer(registry)

    def publish(ls: NndslServer, uri: str) -> None:
        doc = ls.workspace.get_text_document(uri)
        index = ls.index(uri)
        ls.text_document_publish_diagnostics(T.PublishDiagnosticsParams(
            uri=uri, diagnostics=lsp_diagnostics(ls, uri, index), version=doc.version))

    @server.feature(T.SHUTDOWN)
    def shutdown(ls: NndslServer, params):
        ls.shut_down = True

    @server.feature(T.TEXT_DOCUMENT_DID_OPEN)
    @guarded()
    def did_open(ls: NndslServer, params: T.DidOpenTextDocumentParams):
        publish(ls, params.text_document.uri)

    @server.feature(T.TEXT_DOCUMENT_DID_CHANGE)
    @guarded()
    def did_change(ls: NndslServer, params: T.DidChangeTextDocumentParams):
        publish(ls, params.text_document.uri)

    @server.feature(T.TEXT_DOCUMENT_DID_SAVE)
    @guarded()
    def did_save(ls: NndslServer, params: T.DidSaveTextDocumentParams):
        # The saved file may be included by other open specs: analyse every open document again.
        ls.indexes.clear()
        for uri in list(ls.workspace.text_documents):
            publish(ls, uri)

    @server.feature(T.TEXT_DOCUMENT_DID_CLOSE)
    @guarded()
    def did_close(ls: NndslServer, params: T.DidCloseTextDocumentParams):
        ls.indexes.pop(params.text_document.uri, None)
        ls.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))

    @server.feature(T.TEXT_DOCUMENT_HOVER)
    @guarded()
    def hover(ls: NndslServer, params: T.HoverParams):
        index = ls.index(params.text_document.uri)
        line, column = to_position(index.analysis.source, params.position, ls.encoding)
        text = hover_text(index, ls.registry, line, column)
        if text is None:
            return None
        return T.Hover(T.MarkupContent(T.MarkupKind.Markdown, text))

    @server.feature(T.TEXT_DOCUMENT_COMPLETION, T.CompletionOptions(trigger_characters=[">", "=", " ", "("]))
    @guarded()
    def completion(ls: NndslServer, params: T.CompletionParams):
        index = ls.index(params.text_document.uri)
        doc = ls.workspace.get_text_document(params.text_document.uri)
        source = Source(doc.source)
        line, column = to_position(source, params.position, ls.encoding)
        items = lsp_complete.complete(ls.registry, index, source.line(line), line, column)
        seen: set[str] = set()
        out = []
        for item in items:
            if item.label in seen:
                continue
            seen.add(item.label)
            out.append(T.CompletionItem(
                label=item.label, kind=_KINDS.get(item.kind, T.CompletionItemKind.Text), detail=item.detail or None,
                documentation=item.doc or None, insert_text=item.insert))
        return T.CompletionList(is_incomplete=False, items=out)

    @server.feature(T.TEXT_DOCUMENT_DEFINITION)
    @guarded()
    def definition(ls: NndslServer, params: T.DefinitionParams):
        uri = params.text_document.uri
        index = ls.index(uri)
        line, column = to_position(index.analysis.source, params.position, ls.encoding)
        sym = index.symbol_at(line, column)
        if sym is not None:
            return _location(ls, uri, index, sym.definition)
        shown = index.include_at(line, column)
        if shown is not None and file_path(shown):
            return T.Location(from_fs_path(file_path(shown)), T.Range(T.Position(0, 0), T.Position(0, 0)))
        return None

    @server.feature(T.TEXT_DOCUMENT_REFERENCES)
    @guarded(default=[])
    def references(ls: NndslServer, params: T.ReferenceParams):
        uri = params.text_document.uri
        index = ls.index(uri)
        line, column = to_position(index.analysis.source, params.position, ls.encoding)
        sym = index.symbol_at(line, column)
        if sym is None:
            return []
        places = ((sym.definition,) if params.context.include_declaration else ()) + sym.symbol.uses
        return [loc for loc in (_location(ls, uri, index, p) for p in places) if loc is not None]

    @server.feature(T.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @guarded(default=[])
    def symbols(ls: NndslServer, params: T.DocumentSymbolParams):
        index = ls.index(params.text_document.uri)
        return document_symbols(index, ls.encoding)

    @server.feature(T.TEXT_DOCUMENT_FORMATTING)
    @guarded()
    def formatting(ls: NndslServer, params: T.DocumentFormattingParams):
        doc = ls.workspace.get_text_document(params.text_document.uri)
        return format_edits(doc.source, ls.filename(params.text_document.uri), ls.encoding)

    @server.feature(T.TEXT_DOCUMENT_CODE_ACTION,
                    T.CodeActionOptions(code_action_kinds=[T.CodeActionKind.QuickFix]))
    @guarded(default=[])
    def code_action(ls: NndslServer, params: T.CodeActionParams):
        uri = params.text_document.uri
        index = ls.index(uri)
        actions = []
        for d in lsp_diagnostics(ls, uri, index):
            if not d.data or not _overlaps(d.range, params.range):
                continue
            for fix in d.data["fixes"]:
                source = index.analysis.source
                rng = to_range(source, Span(fix["line"], fix["column"], fix["line"], fix["end_column"]), ls.encoding)
                actions.append(T.CodeAction(
                    title=fix["title"], kind=T.CodeActionKind.QuickFix, diagnostics=[d],
                    is_preferred=len(actions) == 0 or None,
                    edit=T.WorkspaceEdit(changes={uri: [T.TextEdit(rng, fix["new"])]})))
        return actions

    return server


def _overlaps(a: T.Range, b: T.Range) -> bool:
    def key(p: T.Position) -> tuple:
        return (p.line, p.character)
    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def _location(ls: NndslServer, uri: str, index: Index, place) -> T.Location | None:
    target = ls.uri_of(place.file, uri, index.main)
    if target is None:
        return None
    return T.Location(target, to_range(index.sources.get(place.file), place.span, ls.encoding))


def document_symbols(index: Index, encoding: str = UTF16) -> list[T.DocumentSymbol]:
    """Inputs, named tensors, outputs, constants and blocks (with what their bodies name)."""
    kinds = {"input": T.SymbolKind.Variable, "tensor": T.SymbolKind.Variable, "output": T.SymbolKind.Field,
             "param": T.SymbolKind.Constant, "let": T.SymbolKind.Constant, "block": T.SymbolKind.Function,
             "argument": T.SymbolKind.TypeParameter}
    source = index.analysis.source
    top: list[T.DocumentSymbol] = []
    blocks: dict[str, T.DocumentSymbol] = {}
    for sym in index.entries:
        if sym.definition.file != index.main or sym.role not in kinds:
            continue
        select = to_range(source, sym.definition.span, encoding)
        block = index.blocks.get(sym.name) if sym.role == "block" else None
        whole = select
        if block is not None:
            whole = to_range(source, block.span, encoding)
            if whole.end.line > select.start.line and whole.end.character == 0:  # ends at the next line's start
                whole = T.Range(whole.start, T.Position(whole.end.line - 1, to_character(source.line(whole.end.line),
                                                                              len(source.line(whole.end.line)) + 1, encoding)))
        shape = index.shape_of(sym)
        detail = sym.symbol.detail or sym.role
        if shape is not None:
            detail = f"{sym.role} {format_shape(shape)}"
        item = T.DocumentSymbol(name=sym.name, kind=kinds[sym.role], range=whole, selection_range=select,
                                detail=detail, children=[] if sym.role == "block" else None)
        if sym.scope and sym.scope in blocks:
            blocks[sym.scope].children.append(item)
        elif not sym.scope:
            top.append(item)
        if sym.role == "block":
            blocks[sym.name] = item
    return top


def format_edits(text: str, filename: str, encoding: str = UTF16) -> list[T.TextEdit] | None:
    """One edit replacing the document with its canonical layout (none when it is already)."""
    from .. import fmt  # the formatter: the same canonical layout as `nndsl fmt`
    from ..diagnostics import SpecError

    try:
        formatted = fmt.format_source(text, filename)
    except SpecError:  # it does not parse: the diagnostics say why; nothing to format
        return None
    if formatted == text:
        return []
    source = Source(text)
    end = T.Position(len(source.lines) - 1, to_character(source.lines[-1], len(source.lines[-1]) + 1, encoding))
    return [T.TextEdit(T.Range(T.Position(0, 0), end), formatted)]


def serve() -> int:
    """Serve over stdin/stdout until the client says exit; 0 when it asked to shut down first."""
    server = make_server()
    server.start_io()
    return 0 if server.shut_down else 1

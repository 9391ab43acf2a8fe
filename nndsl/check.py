"""Source text to checked IR: parse, resolve, infer, lint.

The entry point most callers want is :func:`check`: it runs every pass, collects every
diagnostic, and either returns the model (with any warnings) or raises SpecError.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace as _replace
from typing import Any

from . import codes, ir
from .diagnostics import Diagnostic, Source, Span, SpecError
from .infer import infer
from .lint import lint, live_names
from .parser import gc_paused, parse_recovering
from .registry import Registry
from .resolve import resolve


@dataclass(frozen=True)
class CheckResult:
    model: ir.Model
    warnings: tuple[Diagnostic, ...]
    source: Source
    # The expansion: flat v1 statements (nndsl expand prints them) and included files' text.
    expansion: "Any" = None
    names: "Any" = None
    sources: "dict[str, Source] | None" = None


def _model_name(filename: str) -> str:
    base = os.path.splitext(os.path.basename(filename))[0] if filename and not filename.startswith("<") else "model"
    name = "".join(c if (c.isascii() and (c.isalnum() or c == "_")) else "_" for c in base) or "model"
    if name[0].isdigit():
        name = "m_" + name
    return name


@gc_paused()  # no cycles are made; collections would rescan the growing tree
def check_source(source: Source, registry: Registry | None = None, overrides: dict | None = None, *,
                 data_files: bool = False) -> CheckResult:
    """Run every pass over ``source``; raise SpecError carrying all diagnostics on any error.

    ``overrides``: `--set` values for the spec's `param`s (name -> expression).
    ``data_files``: also check that a ``data "file"`` exists, resolved as ``nndsl run`` resolves
    it (against the spec file's folder; standard input: the working directory).
    """
    if registry is None:
        from .plugins import default_registry
        registry = default_registry()
    empty = Diagnostic(codes.EMPTY, "the spec is empty", Span.point(1, 1),
                       "start with an input and a layer: input 784; dense 10 softmax")
    if not source.text.strip():
        raise SpecError([empty], source)
    module, syntax = parse_recovering(source)
    if module is None:
        raise SpecError(syntax, source)
    if not module.statements and syntax:
        raise SpecError(syntax, source)
    if not module.statements:  # only comments, blank lines and ';'
        raise SpecError([Diagnostic(codes.EMPTY, "the spec has no statements (only comments or blank lines)",
                                    empty.span, empty.hint)], source)
    includes = _Includes(source)
    bound, diags, expansion, names = resolve(module, registry, source.filename, overrides, includes.load)
    diags = syntax + diags
    nodes, shape_diags = infer(bound, registry)
    diags = diags + shape_diags
    diags += lint(bound, nodes, registry)
    if data_files:
        diags += _missing_data_file(bound.training.data, source.filename)
    if expansion.assertions and not any(d.is_error for d in diags):
        diags += _assertions(expansion, bound, nodes, names, includes, registry)
    errors = [d for d in diags if d.is_error]
    diags.sort(key=_position)
    if errors:
        raise SpecError(diags, source, includes.sources)
    # Layers no output depends on were warned about (W002); like Keras, the model leaves them out.
    live = live_names(nodes, [name for name, _ in bound.outputs])
    nodes = tuple(n for n in nodes if n.name in live)
    model = ir.Model(_model_name(source.filename), bound.inputs, nodes,
                     tuple(name for name, _ in bound.outputs), bound.training)
    return CheckResult(model, tuple(diags), source, expansion, names, includes.sources)


def _position(d: Diagnostic) -> tuple:
    """Report order: by place in the main file; inside a block, by its outermost call."""
    origin = d.origin
    if origin is not None and origin.frames:
        span = origin.frames[0].call_span
        return (span.line, span.column, d.span.line if d.span else 0, d.span.column if d.span else 0)
    if d.span is None:
        return (10**9, 0, 0, 0)
    return (d.span.line, d.span.column, 0, 0)


def _assertions(expansion, bound, nodes, names, includes, registry) -> list[Diagnostic]:
    from .expand import check_assertions
    from .registry import ParamCount

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


class _Includes:
    """Reads included files: relative to the including file, or ``std/NAME`` from the package."""

    def __init__(self, source: Source):
        self.main = source
        self.sources: dict[str, Source] = {}

    def source_for(self, origin) -> Source:
        if origin is None or origin.filename == self.main.filename:
            return self.main
        return self.sources.get(origin.filename, self.main)

    def load(self, st, including: str):
        from . import ast
        from .diagnostics import UsageError
        from .parser import parse_recovering

        if st.standard:
            parts = st.path.split("/")
            if parts[0] != "std" or len(parts) != 2:
                return None, f"the standard library is include std/NAME, not {st.path}", []
            from importlib import resources
            path = resources.files("nndsl") / "std" / (parts[1] + ".nn")
            shown = f"<std>/{parts[1]}.nn"
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                try:
                    have = sorted(p.name[:-3] for p in (resources.files("nndsl") / "std").iterdir()
                                  if p.name.endswith(".nn"))
                except OSError:
                    have = []
                return None, f"the standard library has no '{parts[1]}' (it has: {', '.join(have) or 'nothing'})", []
            src = Source(text, shown)
        else:
            if "://" in st.path:
                return None, "includes are files, never URLs", []
            base = os.path.dirname(including) if including and not including.startswith("<") else os.getcwd()
            shown = os.path.normpath(os.path.join(base, st.path))
            try:
                src = read_source(shown)
            except UsageError as e:
                return None, str(e).removeprefix(shown + ": "), []
            except SpecError as e:
                return None, e.diagnostics[0].message, []
        self.sources[shown] = src
        module, problems = parse_recovering(src)
        origin = ast.Origin(shown)
        problems = [_replace(d, origin=origin) for d in problems]
        if module is None or problems:
            return None, shown, problems or [Diagnostic(codes.BAD_INCLUDE, f"cannot parse {shown}", None)]
        return module, shown, []


def data_base_dir(filename: str) -> str | None:
    """The folder a spec's relative data paths resolve against (None: a spec with no file)."""
    if filename in ("-", "<stdin>"):
        return os.getcwd()
    if not filename or filename.startswith("<"):
        return None
    return os.path.dirname(os.path.abspath(filename))


def _missing_data_file(data: ir.DataRef | None, filename: str) -> list[Diagnostic]:
    base = data_base_dir(filename)
    if data is None or data.kind != "path" or base is None:
        return []
    path = os.path.join(base, os.path.expanduser(data.value))
    if os.path.exists(path):
        return []
    return [Diagnostic(codes.MISSING_DATA_FILE, f"data file {data.value!r} does not exist (looked for {path})",
                       data.span, "paths are relative to the spec's folder; or pass another file with "
                       "nndsl run --data FILE")]


def check(text: str, filename: str = "<string>", registry: Registry | None = None) -> ir.Model:
    """Check spec text and return its IR; raise SpecError with every problem found.

    Example::

        model = check("input 784; dense 32 relu; dense 10 softmax; rmsprop 0.001; loss mse")
        model.params.total  # 25450
    """
    return check_source(Source(text, filename), registry).model


def read_source(path: str) -> Source:
    """Read a spec file as UTF-8, turning every way that can fail into a diagnostic or UsageError."""
    from .diagnostics import UsageError
    from .parser import MAX_SOURCE_CHARS

    display = path
    try:
        if path == "-":
            import sys
            data = sys.stdin.buffer.read(MAX_SOURCE_CHARS * 4 + 1)
            display = "<stdin>"
        else:
            if os.path.isdir(path):
                raise UsageError(f"{path}: is a directory, not a spec file")
            with open(path, "rb") as fh:
                data = fh.read(MAX_SOURCE_CHARS * 4 + 1)
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror or e}") from None
    if len(data) > MAX_SOURCE_CHARS:
        raise SpecError([Diagnostic(codes.TOO_LARGE, f"spec is larger than {MAX_SOURCE_CHARS:,} bytes",
                                    Span.point(1, 1), "split the model or generate a smaller spec")],
                        Source("", display))
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        before = data[: e.start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1:].decode("utf-8", "replace")) + 1
        shown = data.decode("utf-8", "replace")
        if b"\0" in data:
            diag = Diagnostic(codes.BINARY_INPUT, "this looks like a binary file, not a spec", Span.point(1, 1),
                              "pass a .nn text file")
        else:
            diag = Diagnostic(codes.NOT_UTF8, f"byte 0x{data[e.start]:02x} is not valid UTF-8",
                              Span.point(line, col), "save the file as UTF-8")
        raise SpecError([diag], Source(shown, display)) from None
    return Source(text, display)

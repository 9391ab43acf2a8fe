"""Source text to checked IR: parse, resolve, infer, lint.

The entry point most callers want is :func:`check`: it runs every pass, collects every
diagnostic, and either returns the model (with any warnings) or raises SpecError.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from . import codes, ir
from .diagnostics import Diagnostic, Source, Span, SpecError
from .infer import infer
from .lint import lint, live_names
from .parser import gc_paused, parse
from .registry import Registry
from .resolve import resolve


@dataclass(frozen=True)
class CheckResult:
    model: ir.Model
    warnings: tuple[Diagnostic, ...]
    source: Source


def _model_name(filename: str) -> str:
    base = os.path.splitext(os.path.basename(filename))[0] if filename and not filename.startswith("<") else "model"
    name = "".join(c if (c.isascii() and (c.isalnum() or c == "_")) else "_" for c in base) or "model"
    if name[0].isdigit():
        name = "m_" + name
    return name


@gc_paused()  # no cycles are made; collections would rescan the growing tree
def check_source(source: Source, registry: Registry | None = None, *, data_files: bool = False) -> CheckResult:
    """Run every pass over ``source``; raise SpecError carrying all diagnostics on any error.

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
    module = parse(source)
    if not module.statements:  # only comments, blank lines and ';'
        raise SpecError([Diagnostic(codes.EMPTY, "the spec has no statements (only comments or blank lines)",
                                    empty.span, empty.hint)], source)
    bound, diags = resolve(module, registry)
    nodes, shape_diags = infer(bound, registry)
    diags = diags + shape_diags
    diags += lint(bound, nodes, registry)
    if data_files:
        diags += _missing_data_file(bound.training.data, source.filename)
    errors = [d for d in diags if d.is_error]
    diags.sort(key=lambda d: (d.span.line, d.span.column) if d.span else (10**9, 0))
    if errors:
        raise SpecError(diags, source)
    # Layers no output depends on were warned about (W002); like Keras, the model leaves them out.
    live = live_names(nodes, [name for name, _ in bound.outputs])
    nodes = tuple(n for n in nodes if n.name in live)
    model = ir.Model(_model_name(source.filename), bound.inputs, nodes,
                     tuple(name for name, _ in bound.outputs), bound.training)
    return CheckResult(model, tuple(diags), source)


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

"""Reading spec files and the files they include, every failure a diagnostic.

Kept apart from the passes so the analysis, ``check`` and the CLI read files one way:
UTF-8 with a byte-order mark allowed, a size limit, binary input recognised, and an
``include`` resolved relative to the including file or to the packaged ``std/`` library.
"""

from __future__ import annotations

import os
from dataclasses import replace as _replace

from .. import ast, codes
from ..diagnostics import Diagnostic, Source, Span, SpecError, UsageError


def read_source(path: str) -> Source:
    """Read a spec file as UTF-8, turning every way that can fail into a diagnostic or UsageError."""
    from ..parser import MAX_SOURCE_CHARS

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


class Includes:
    """Reads included files: relative to the including file, or ``std/NAME`` from the package.

    Keeps each file's text (for rendering diagnostics) and its parsed module (for the symbol
    table), keyed by the path shown in diagnostics.
    """

    def __init__(self, source: Source):
        self.main = source
        self.sources: dict[str, Source] = {}
        self.modules: dict[str, ast.Module] = {}
        # (including file, path as written) -> the path shown (None: could not be read)
        self.resolved: dict[tuple[str, str], str | None] = {}

    def source_for(self, origin) -> Source:
        if origin is None or origin.filename == self.main.filename:
            return self.main
        return self.sources.get(origin.filename, self.main)

    def load(self, st: ast.Include, including: str):
        """The included module, the path to show, and its parse problems (the Expander's loader)."""
        module, shown, problems = self._load(st, including)
        self.resolved[(including, st.path)] = shown if module is not None else None
        if module is not None:
            self.modules[shown] = module
        return module, shown, problems

    def _load(self, st: ast.Include, including: str):
        from ..parser import parse_recovering

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
        if module is not None:
            from ..spaces import find_spaces

            spaces, _ = find_spaces(module, src)
            problems = problems + [Diagnostic(codes.SPACE_IN_INCLUDE, f"search space {s.text} in an included file",
                                              s.span, "search spaces go in the main spec: pass the value in as a "
                                              "block argument there") for s in spaces]
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


def missing_data_file(data, filename: str) -> list[Diagnostic]:
    """E505 when ``data "file"`` names a file that does not exist (as ``nndsl run`` resolves it)."""
    base = data_base_dir(filename)
    if data is None or data.kind != "path" or base is None:
        return []
    path = os.path.join(base, os.path.expanduser(data.value))
    if os.path.exists(path):
        return []
    what = "data folder" if data.value.endswith(("/", "\\")) else "data file"
    return [Diagnostic(codes.MISSING_DATA_FILE, f"{what} {data.value!r} does not exist (looked for {path})",
                       data.span, "paths are relative to the spec's folder; or pass another file with "
                       "nndsl run --data FILE")]

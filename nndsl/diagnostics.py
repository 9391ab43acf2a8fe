"""Source spans, diagnostics and the one exception family users see.

Every user-facing problem is a :class:`Diagnostic` that knows where it happened, so it can
be rendered the way compilers do: ``model.nn:3:7: error[E201]: ...``, the source line, and
carets under the span, plus a hint on how to fix it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable, Sequence

from .errors import NndslError, SpecError, UsageError  # noqa: F401 - re-exported


@dataclass(frozen=True, slots=True)
class Span:
    """A 1-based, end-exclusive region of the source (columns count characters)."""

    line: int
    column: int
    end_line: int
    end_column: int

    @staticmethod
    def point(line: int, column: int, width: int = 1) -> "Span":
        return Span(line, column, line, column + max(width, 1))

    def to_json(self) -> dict:
        return {"line": self.line, "column": self.column,
                "end_line": self.end_line, "end_column": self.end_column}


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a spec: what, where, and how to fix it."""

    code: str
    message: str
    span: Span | None = None
    hint: str | None = None
    severity: Severity = Severity.ERROR
    # Set on problems inside blocks or included files: the file and the calls on the way.
    origin: "Any" = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    @property
    def notes(self) -> list[str]:
        """`in block 'b' called from f.nn:23:5` (innermost call first), then `in file included from ...`."""
        if self.origin is None:
            return []
        notes = [f"in block '{f.block}' called from {f.filename}:{f.call_span.line}:{f.call_span.column}"
                 for f in reversed(self.origin.frames)]
        notes += [f"in file included from {file}:{span.line}:{span.column}"
                  for file, span in reversed(getattr(self.origin, "included_from", ()))]
        return notes

    def render(self, source: "Source", color: bool = False, sources: "dict[str, Source] | None" = None) -> str:
        return render(self, source, color, sources=sources)

    @staticmethod
    def render_all(diags: "Iterable[Diagnostic]", source: "Source", color: bool = False,
                   sources: "dict[str, Source] | None" = None) -> str:
        return render_all(diags, source, color=color, sources=sources)

    def to_json(self, filename: str) -> dict:
        out = {
            "file": self.origin.filename if self.origin is not None else filename,
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "span": self.span.to_json() if self.span else None,
            "hint": self.hint,
        }
        if self.notes:
            out["notes"] = self.notes
        return out


@dataclass(frozen=True)
class Source:
    """The text of a spec and the name to show for it.

    Line endings are normalized on the way in (CRLF and a lone CR become LF), so the parser,
    line numbers and carets all see the lines an editor shows.
    """

    text: str
    filename: str = "<string>"
    lines: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if "\r" in self.text:
            object.__setattr__(self, "text", self.text.replace("\r\n", "\n").replace("\r", "\n"))
        object.__setattr__(self, "lines", tuple(self.text.split("\n")))

    def line(self, number: int) -> str:
        if 1 <= number <= len(self.lines):
            return self.lines[number - 1]
        return ""


_MAX_SHOWN_LINE = 160


def render(diag: Diagnostic, source: Source, color: bool = False, sources: "dict[str, Source] | None" = None) -> str:
    """Render one diagnostic: header, the source line, carets, hint, the block calls on the way."""
    bold, red, yellow, cyan, reset = ("\x1b[1m", "\x1b[31m", "\x1b[33m", "\x1b[36m", "\x1b[0m") if color else ("",) * 5
    if diag.origin is not None and diag.origin.filename != source.filename:
        source = (sources or {}).get(diag.origin.filename) or Source("", diag.origin.filename)
    tone = red if diag.is_error else yellow
    where = source.filename
    if diag.span is not None:
        where += f":{diag.span.line}:{diag.span.column}"
    out = [f"{bold}{where}: {tone}{diag.severity.value}[{diag.code}]{reset}{bold}: {diag.message}{reset}"]
    if diag.span is not None:
        text = source.line(diag.span.line).replace("\t", " ")
        start = diag.span.column - 1
        if diag.span.end_line == diag.span.line:
            width = max(diag.span.end_column - diag.span.column, 1)
        else:
            width = max(len(text) - start, 1)
        # Keep very long lines readable: show a window around the caret.
        offset = 0
        if len(text) > _MAX_SHOWN_LINE:
            offset = max(0, start - _MAX_SHOWN_LINE // 2)
            text = ("..." if offset else "") + text[offset:offset + _MAX_SHOWN_LINE] + "..."
            start = start - offset + (3 if offset else 0)
            width = min(width, _MAX_SHOWN_LINE)
        text = "".join(ch if ch.isprintable() else "\N{REPLACEMENT CHARACTER}" for ch in text)
        gutter = str(diag.span.line)
        pad = " " * len(gutter)
        out.append(f"{cyan}{gutter} |{reset} {text}")
        out.append(f"{cyan}{pad} |{reset} {' ' * max(start, 0)}{tone}{'^' * width}{reset}")
    if diag.hint:
        out.append(f"{cyan}  = hint:{reset} {diag.hint}")
    for note in diag.notes:
        out.append(f"{cyan}  = note:{reset} {note}")
    return "\n".join(out)


def render_all(diags: Iterable[Diagnostic], source: Source, color: bool = False,
               sources: "dict[str, Source] | None" = None) -> str:
    diags = list(diags)
    parts = [render(d, source, color, sources) for d in diags]
    n_err = sum(d.is_error for d in diags)
    n_warn = len(diags) - n_err
    if n_err:
        summary = f"{n_err} error{'s' * (n_err != 1)}"
        if n_warn:
            summary += f", {n_warn} warning{'s' * (n_warn != 1)}"
        parts.append(summary)
    return "\n".join(parts)


def to_json(diags: Iterable[Diagnostic], source: Source) -> str:
    return json.dumps([d.to_json(source.filename) for d in diags], indent=2)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A 'did you mean' hint drawn from the registry, or None."""
    import difflib

    matches = difflib.get_close_matches(name.lower(), sorted(set(candidates)), n=3, cutoff=0.6)
    if not matches:
        return None
    if len(matches) == 1:
        return f"did you mean '{matches[0]}'?"
    return "did you mean " + ", ".join(f"'{m}'" for m in matches[:-1]) + f" or '{matches[-1]}'?"


_SUGGESTION = re.compile(r"did you mean ((?:'[^']+'(?:, | or )?)+)\?")


def suggestions_in(hint: str | None) -> tuple[str, ...]:
    """The names a :func:`did_you_mean` hint suggests, in its order (editors offer each as a fix).

    Kept beside :func:`did_you_mean` so the wording and what reads it change together.
    """
    m = _SUGGESTION.search(hint or "")
    return tuple(re.findall(r"'([^']+)'", m.group(1))) if m else ()

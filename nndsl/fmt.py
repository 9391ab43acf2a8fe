"""Canonical layout of a spec: ``nndsl fmt`` and the language server's formatting request.

The formatter works on tokens, not on the AST: the grammar ignores comments, and a printer of
the AST would have to put them back by guesswork. Here every token is kept, in order, with its
text unchanged; only the whitespace between tokens changes, and only where the change cannot
alter how the parser reads the text:

* statements one per line (``a; b`` becomes two lines, empty statements go);
* one space around ``->`` and around an assignment's ``=`` (``x = ...``, ``output y = ...``,
  ``param n = ...``), none around a keyword's ``=`` (``strides=2``), none before ``,`` ``:``
  ``)`` and after ``(``, one after ``,``; every other gap between tokens keeps whether it had a
  space (``dense a -1`` is two arguments, ``maxpool2d (2, 2)`` passes a tuple, ``add(`` is a call);
* block and if bodies indented four spaces a level, computed the way the parser's postlexer
  reads indentation; chain continuation lines four spaces deeper than their statement, with
  the ``->`` at the start of the line;
* a line longer than :data:`MAX_WIDTH` is broken before each ``->`` outside parentheses;
* trailing comments of neighbouring lines aligned two spaces after the longest code; comment
  lines indented like the code line that follows them; at most one blank line in a row.

Text that does not parse is not formatted: :func:`format_source` raises the parser's
:class:`~nndsl.diagnostics.SpecError`. Formatting is idempotent, and the result parses to the
same model (tests check both over every example, the zoo, the conformance suite and generated
specs).

Example::

    format_source("input 784;dense 32 relu->dense 10 softmax")
    # 'input 784\\ndense 32 relu -> dense 10 softmax\\n'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["format_source", "MAX_WIDTH", "INDENT"]

MAX_WIDTH = 100
INDENT = "    "

_TOKEN = re.compile(r"""
    (?P<nl>\n)
  | (?P<ws>[ \t\f\r\v]+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<callopen>[A-Za-z_][A-Za-z0-9_]*\()
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+|[kMG](?![A-Za-z0-9_]))?)
  | (?P<op>->|==|!=|<=|>=|//|\*\*|[-+*/%<>=.,;:()\[\]?])
  | (?P<other>.)
""", re.VERBOSE)

_ASSIGN_PREFIX = frozenset({"output", "param", "let"})


@dataclass
class _Tok:
    text: str
    space_before: bool   # was there whitespace between this token and the previous one on its line


@dataclass
class _Line:
    """One physical line of the input: its indentation width, tokens and trailing comment."""

    indent: int | None
    toks: list
    comment: str | None


@dataclass
class _Out:
    """One line of output: indentation level in spaces, code, comment (either may be empty)."""

    indent: int
    code: str
    comment: str | None = None
    blank: bool = False


def _lines(text: str) -> list[_Line]:
    out: list[_Line] = []
    indent, toks, comment, at_start, space = 0, [], None, True, False
    for m in _TOKEN.finditer(text):
        kind, value = m.lastgroup, m.group()
        if kind == "nl":
            out.append(_Line(indent, toks, comment))
            indent, toks, comment, at_start, space = 0, [], None, True, False
        elif kind == "ws":
            if at_start:
                indent = len(value.replace("\r", "").expandtabs(8))
            space = True
        elif kind == "comment":
            comment = value.rstrip()
        else:
            toks.append(_Tok(value, space and not at_start))
            at_start, space = False, False
    out.append(_Line(indent, toks, comment))
    return out


def _split_lines(lines: list[_Line]) -> list[_Line]:
    """One statement per line: split each line at ``;`` outside parentheses.

    The pieces keep the line's indentation (the parser saw no line break between them, so they
    sit at the same block level); the trailing comment goes with the last piece; empty
    statements (``;;``, a line holding only ``;``) go.
    """
    out: list[_Line] = []
    for ln in lines:
        if not any(t.text == ";" for t in ln.toks):
            out.append(ln)
            continue
        pieces = _split_semicolons(ln.toks)
        if not pieces:
            if ln.comment is not None:
                out.append(_Line(ln.indent, [], ln.comment))
            continue
        for k, piece in enumerate(pieces):
            piece[0] = _Tok(piece[0].text, False)
            out.append(_Line(ln.indent if k == 0 else None, piece, ln.comment if k == len(pieces) - 1 else None))
    return out


def _statements(lines: list[_Line]):
    """Group physical lines into statements, yielding (kind, payload).

    ``("blank", None)``, ``("comment", (text, indent_hint))`` or ``("stmt", (indent, [lines of
    tokens], [comments per line]))``. A statement continues onto the next line when its line
    ends with ``->`` or the next code line starts with ``->`` (the only way a statement spans
    lines); comment and blank lines inside a statement stay inside it.
    """
    items: list = []
    i = 0
    n = len(lines)
    while i < n:
        ln = lines[i]
        if not ln.toks:
            items.append(("comment", ln.comment) if ln.comment is not None else ("blank", None))
            i += 1
            continue
        body = [ln]
        j = i + 1
        while True:
            # Look past comment/blank lines for a continuation.
            k = j
            while k < n and not lines[k].toks:
                k += 1
            if k < n and (body[-1].toks[-1].text == "->" or lines[k].toks[0].text == "->"):
                body.extend(lines[j:k + 1])
                j = k + 1
            else:
                break
        items.append(("stmt", (ln.indent, body)))
        i = j
    return items


def _split_semicolons(toks: list[_Tok]) -> list[list[_Tok]]:
    parts: list[list[_Tok]] = [[]]
    depth = 0
    for t in toks:
        if t.text in ("(", "[") or t.text.endswith("(") and len(t.text) > 1:
            depth += 1
        elif t.text in (")", "]"):
            depth -= 1
        if t.text == ";" and depth <= 0:
            parts.append([])
        else:
            parts[-1].append(t)
    return [p for p in parts if p]


def _assignment_index(toks: list[_Tok]) -> int | None:
    """Index of a statement's assignment ``=``, if it starts ``[output|param|let] a, b =``."""
    i = 1 if toks and toks[0].text in _ASSIGN_PREFIX else 0
    expect_name = True
    while i < len(toks):
        t = toks[i].text
        if expect_name:
            if not _is_name(t):
                return None
        elif t == "=":
            return i
        elif t != ",":
            return None
        expect_name = not expect_name
        i += 1
    return None


def _is_name(text: str) -> bool:
    return bool(text) and (text[0].isalpha() or text[0] == "_") and text.replace("_", "a").isalnum() \
        and text.isascii()


def _render(toks: list[_Tok], assign: int | None, first: int = 0) -> str:
    """Join tokens with the canonical spacing; ``first`` is the index of toks[0] in its statement."""
    out: list[str] = []
    depth = 0
    prev: _Tok | None = None
    for idx, t in enumerate(toks):
        text = t.text
        if prev is not None:
            p = prev.text
            opens = p == "(" or p == "[" or (p.endswith("(") and len(p) > 1)
            if text == "->" or p == "->":
                sep = " "
            elif assign is not None and (idx + first == assign or idx + first == assign + 1):
                sep = " "
            elif text in (",", ")", "]", ";", ":") or opens:
                sep = ""
            elif p == ",":
                sep = " "
            elif p == ":":
                sep = " "
            elif text == "=" or p == "=":
                sep = ""
            else:
                sep = " " if t.space_before else ""
            out.append(sep)
        out.append(text)
        if text in ("(", "[") or (text.endswith("(") and len(text) > 1):
            depth += 1
        elif text in (")", "]"):
            depth -= 1
        prev = t
    return "".join(out)


def _break_long(toks: list[_Tok], assign: int | None, first: int, indent: int) -> list[list[_Tok]]:
    """Split a too-long line before each ``->`` outside parentheses."""
    if indent + len(_render(toks, assign, first)) <= MAX_WIDTH:
        return [toks]
    pieces: list[list[_Tok]] = [[]]
    depth = 0
    for t in toks:
        if t.text == "->" and depth == 0 and pieces[-1]:
            pieces.append([])
        pieces[-1].append(t)
        if t.text in ("(", "[") or (t.text.endswith("(") and len(t.text) > 1):
            depth += 1
        elif t.text in (")", "]"):
            depth -= 1
    return pieces


def _format_statement(body: list[_Line], level: int, out: list[_Out]) -> None:
    """Lay out one (possibly multi-line) statement at block ``level``."""
    rows: list[tuple[list[_Tok] | None, str | None, bool]] = []  # (tokens, comment, blank)
    for ln in body:
        if ln.toks:
            rows.append((list(ln.toks), ln.comment, False))
        else:
            rows.append((None, ln.comment, ln.comment is None))
    # Move a line-ending '->' to the start of the next code row.
    code_rows = [i for i, r in enumerate(rows) if r[0] is not None]
    for a, b in zip(code_rows, code_rows[1:]):
        toks_a = rows[a][0]
        if toks_a[-1].text == "->":
            arrow = toks_a.pop()
            rows[b] = ([arrow] + rows[b][0], rows[b][1], False)
    _emit_rows(rows, level, out)


def _emit_rows(rows, level: int, out: list[_Out]) -> None:
    flat = [t for r in rows if r[0] for t in r[0]]
    assign = _assignment_index(flat)
    base = level * 4
    first = 0
    code_seen = False
    pending: list[_Out] = []  # comment/blank rows before the next code row
    for toks, comment, blank in rows:
        if toks is None:
            if blank:
                pending.append(_Out(0, "", None, blank=True))
            else:
                pending.append(_Out(-1, "", comment))
            continue
        if not toks:
            if comment is not None:
                pending.append(_Out(-1, "", comment))
            continue
        indent = base + (4 if code_seen else 0)
        for p in pending:
            if p.indent == -1:
                p.indent = indent
            out.append(p)
        pending = []
        chunks = _break_long(toks, assign, first, indent)
        for c_i, chunk in enumerate(chunks):
            ind = base + (4 if (code_seen or c_i > 0) else 0)
            out.append(_Out(ind, _render(chunk, assign, first),
                            comment if c_i == len(chunks) - 1 else None))
            first += len(chunk)
        code_seen = True
    for p in pending:
        if p.indent == -1:
            p.indent = base + 4
        out.append(p)


def _levels(items) -> dict[int, int]:
    """Block level of every statement, reading indentation as the parser's postlexer does."""
    levels = [0]
    result: dict[int, int] = {}
    after_colon = False
    first = True
    for idx, (kind, payload) in enumerate(items):
        if kind != "stmt":
            continue
        indent, body = payload
        if not first and indent is not None:  # None: after a ';', no line break before it
            if after_colon:
                if indent > levels[-1]:
                    levels.append(indent)
            else:
                while len(levels) > 1 and indent < levels[-1]:
                    levels.pop()
        first = False
        result[idx] = len(levels) - 1
        last = [ln for ln in body if ln.toks][-1].toks[-1].text
        after_colon = last == ":"
    return result


def _align_comments(out: list[_Out]) -> list[str]:
    """Render lines, aligning trailing comments within runs of adjacent code lines."""
    lines: list[str] = []
    i = 0
    while i < len(out):
        if not out[i].code:
            o = out[i]
            lines.append("" if o.blank else " " * o.indent + (o.comment or ""))
            i += 1
            continue
        j = i
        while j < len(out) and out[j].code:
            j += 1
        run = out[i:j]
        widths = [o.indent + len(o.code) for o in run if o.comment is not None]
        column = max(widths) + 2 if widths else 0
        for o in run:
            code = " " * o.indent + o.code
            if o.comment is not None:
                code = code + " " * (column - len(code)) + o.comment
            lines.append(code)
        i = j
    return lines


def format_source(text: str, filename: str = "<string>") -> str:
    """The canonical layout of spec ``text`` (see the module docstring); raise on bad syntax.

    Args:
        text: the spec's text (any line endings; CRLF and lone CR read as LF).
        filename: the name diagnostics show.

    Returns the formatted text, ending in exactly one newline (an empty spec stays empty).
    Raises :class:`~nndsl.diagnostics.SpecError` when the text does not parse: a file with
    syntax errors is never reformatted.
    """
    from .diagnostics import Source
    from .parser import parse

    source = Source(text, filename)
    parse(source)  # refuse text that does not parse: raises SpecError with the diagnostics
    items = _statements(_split_lines(_lines(source.text)))
    levels = _levels(items)
    out: list[_Out] = []
    for idx, (kind, payload) in enumerate(items):
        if kind == "blank":
            out.append(_Out(0, "", None, blank=True))
        elif kind == "comment":
            out.append(_Out(-1, "", payload))
        else:
            _format_statement(payload[1], levels[idx], out)
    # Comment lines take the indentation of the code line after them.
    next_indent = 0
    for o in reversed(out):
        if o.code:
            next_indent = o.indent
        elif o.indent == -1:
            o.indent = next_indent
    # At most one blank line in a row; none at the start or the end.
    squeezed: list[_Out] = []
    for o in out:
        if o.blank and (not squeezed or squeezed[-1].blank):
            continue
        squeezed.append(o)
    while squeezed and squeezed[-1].blank:
        squeezed.pop()
    lines = _align_comments(squeezed)
    return "\n".join(lines) + "\n" if lines else ""

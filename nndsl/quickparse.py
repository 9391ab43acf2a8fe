"""The parser's fast path: v1 statements that fit on one line, read without Lark.

Most lines of a large spec are plain v1 statements (`dense 32 relu`, `x = y -> conv2d 8 3`,
`h = concat(a, b)`). Building a Lark tree and converting it costs about 60 µs a line; reading
such a line directly costs a few. :func:`split` takes every line it can read *exactly* as the
grammar would (the same AST, the same spans) and leaves the rest of the text for Lark, with
each line it took replaced by ``;`` (an empty statement at column 1) so every other line keeps
its place and indentation still closes blocks the same way. Anything unusual (strings,
expressions, call values, keywords of the v2 language, scaled numbers, a line continued with
``->``, a line inside an indented body) is left to Lark, which stays the reference: a
differential test compares the two on generated and mutated specs.
"""

from __future__ import annotations

import re

from . import ast
from .diagnostics import Span

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\f]+)
  | (?P<arrow>->)
  | (?P<open>[A-Za-z_][A-Za-z0-9_]*\()
  | (?P<num>[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[(),=?;])
""", re.VERBOSE)
# Where a number or a name may end: anything else (`32relu`, `1k`, `x.shape`) goes to Lark.
_ENDS = frozenset(" \t\f(),=?;")
_WS = " \t\f"
_INT = re.compile(r"[+-]?\d+\Z")
# Words the grammar gives a meaning of their own (besides `output` opening a statement).
_KEYWORDS = frozenset({"output", "param", "let", "default", "include", "assert", "block", "if", "elif", "else",
                       "repeat", "as", "and", "or", "not"})


class _Skip(Exception):
    """This line is for Lark."""


def _tokens(text: str, n: int) -> list[tuple[str, str, int, int]]:
    """(kind, text, start column, end column) of each token, columns 1-based as Lark counts them."""
    out = []
    pos, end = 0, len(text)
    match = _TOKEN.match
    while pos < end:
        m = match(text, pos)
        if m is None:
            raise _Skip
        kind = m.lastgroup
        stop = m.end()
        if kind != "ws":
            if kind in ("num", "name") and stop < end and text[stop] not in _ENDS:
                raise _Skip
            if kind == "name" and m.group() in _KEYWORDS and not (m.group() == "output" and not out):
                raise _Skip
            out.append((kind if kind != "punct" else m.group(), m.group(), pos + 1, stop + 1))
        pos = stop
    return out


class _Line:
    def __init__(self, toks, n: int):
        self.toks = toks
        self.i = 0
        self.n = n

    def peek(self, k: int = 0) -> str | None:
        j = self.i + k
        return self.toks[j][0] if j < len(self.toks) else None

    def take(self):
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def span(self, start: int, stop: int) -> Span:
        return Span(self.n, start, self.n, stop)

    # Statements ---------------------------------------------------------------------------

    def statement(self):
        kind = self.peek()
        if kind == "name" and self.toks[self.i][1] == "output":
            out = self.take()
            if self.peek() != "name":
                raise _Skip
            name = self.take()
            if self.peek() is None or self.peek() == ";":
                return ast.Statement(None, name[1], self.span(name[2], name[3]), True, self.span(out[2], name[3]))
            if self.peek() != "=":
                raise _Skip
            self.take()
            chain = self.chain()
            return ast.Statement(chain, name[1], self.span(name[2], name[3]), True,
                                 self.span(out[2], chain.span.end_column))
        if kind == "name" and self.peek(1) == "=":
            name = self.take()
            self.take()
            chain = self.chain()
            return ast.Statement(chain, name[1], self.span(name[2], name[3]), False,
                                 self.span(name[2], chain.span.end_column))
        chain = self.chain()
        return ast.Statement(chain, None, None, False, chain.span)

    def chain(self) -> ast.Chain:
        steps = [self.step()]
        while self.peek() == "arrow":
            self.take()
            steps.append(self.step())
        return ast.Chain(tuple(steps), self.span(steps[0].span.column, steps[-1].span.end_column))

    def step(self) -> ast.Call:
        kind = self.peek()
        if kind == "open":
            opener = self.take()
            items, close = self.arguments(paren=True)
            positional, keywords, late = _split(items)
            name = opener[1][:-1]
            return ast.Call(name, (), keywords, self.span(opener[2], close), self.span(opener[2], opener[2] + len(name)),
                            parenthesized=True, paren_args=positional, late_positional=late)
        if kind != "name":
            raise _Skip
        name = self.take()
        items, stop = self.arguments(paren=False)
        positional, keywords, late = _split(items)
        return ast.Call(name[1], positional, keywords, self.span(name[2], stop or name[3]),
                        self.span(name[2], name[3]), late_positional=late)

    def arguments(self, paren: bool):
        """Space-separated arguments of a call, or a parenthesized list; returns (items, end column)."""
        items = []
        stop = 0
        if paren:
            if self.peek() == ")":
                return items, self.take()[3]
            while True:
                items.append(self.argument())
                if self.peek() == ",":
                    self.take()
                    continue
                if self.peek() == ")":
                    return items, self.take()[3]
                raise _Skip
        while self.peek() in ("num", "name", "?", "("):
            item = self.argument()
            items.append(item)
            stop = item.span.end_column
        return items, stop

    def argument(self):
        if self.peek() == "name" and self.peek(1) == "=":
            name = self.take()
            self.take()
            value = self.value()
            return ast.Keyword(name[1], value, self.span(name[2], value.span.end_column), self.span(name[2], name[3]))
        return self.value()

    def value(self):
        kind = self.peek()
        if kind == "num":
            _, text, start, stop = self.take()
            return ast.Number(_number(text), text, self.span(start, stop))
        if kind == "name":
            _, text, start, stop = self.take()
            return ast.Ident(text, self.span(start, stop))
        if kind == "?":
            _, _, start, stop = self.take()
            return ast.Unknown(self.span(start, stop))
        if kind == "(":
            start = self.take()[2]
            items = []
            comma = False
            while self.peek() != ")":
                items.append(self.value())
                if self.peek() == ",":
                    self.take()
                    comma = True
                    continue
                if self.peek() != ")":
                    raise _Skip
            stop = self.take()[3]
            if len(items) == 1 and not comma:
                return ast.Tuple((items[0],), self.span(start, stop), grouping=True)
            return ast.Tuple(tuple(items), self.span(start, stop))
        raise _Skip


def _number(text: str):
    if _INT.match(text):
        digits = text.lstrip("+-").lstrip("0")
        if len(digits) > 19 or not -2 ** 63 <= int(text) < 2 ** 63:
            raise _Skip  # Lark's path reports it
        return int(text)
    return float(text)


def _split(items):
    positional, keywords, late = [], [], []
    for a in items:
        if type(a) is ast.Keyword:
            keywords.append(a)
        elif keywords:
            late.append(a)
        else:
            positional.append(a)
    return tuple(positional), tuple(keywords), tuple(late)


# The commonest lines of all: `dense 32 relu`, `h = x -> dense 32 relu`, `y = add(h, x)`:
# an optional name and `=`, then steps of names and small integers, plain or in parentheses.
_W = r"(?:[A-Za-z_]\w*|\d{1,18})"
_STEP = rf"[A-Za-z_]\w*(?:[ \t]+{_W})*|[A-Za-z_]\w*\([ \t]*(?:{_W}[ \t]*(?:,[ \t]*{_W}[ \t]*)*)?\)"
_SIMPLE = re.compile(rf"(?:([A-Za-z_]\w*)[ \t]*=[ \t]*)?((?:{_STEP})(?:[ \t]*->[ \t]*(?:{_STEP}))*)[ \t]*\Z", re.ASCII)
_PIECE = re.compile(r"([A-Za-z_]\w*)\(|[A-Za-z_]\w*|\d+|->|\)", re.ASCII)


def _simple_line(m: re.Match, n: int) -> list | None:
    """Statements of a line `_SIMPLE` matched, built from its pieces; None if a keyword is in it."""
    steps: list[ast.Call] = []
    name = None          # the current step's name token: (text, start, end)
    opener = False       # inside `name(...)`
    args: list = []

    def close(stop: int) -> None:
        text, start, end = name
        span = Span(n, start, n, stop)
        if opener:
            steps.append(ast.Call(text, (), (), span, Span(n, start, n, end), parenthesized=True,
                                  paren_args=tuple(args)))
        else:
            steps.append(ast.Call(text, tuple(args), (), span, Span(n, start, n, end)))

    last = 0
    for piece in _PIECE.finditer(m.string, m.start(2), m.end(2)):
        text = piece.group()
        start, end = piece.start() + 1, piece.end() + 1
        if text == "->":
            close(last)
            name, args = None, []
            continue
        if text == ")":
            last = end
            continue
        call_name = piece.group(1)
        if name is None:
            if (call_name or text) in _KEYWORDS:
                return None
            name, opener = ((call_name, start, start + len(call_name)), True) if call_name else ((text, start, end), False)
            last = end
            continue
        if text in _KEYWORDS:
            return None
        if text[0].isdigit():
            args.append(ast.Number(int(text), text, Span(n, start, n, end)))
        else:
            args.append(ast.Ident(text, Span(n, start, n, end)))
        last = end
    close(last)
    chain_span = Span(n, steps[0].span.column, n, steps[-1].span.end_column)
    chain = ast.Chain(tuple(steps), chain_span)
    target = m.group(1)
    if target is None:
        return [ast.Statement(chain, None, None, False, chain_span)]
    if target in _KEYWORDS:
        return None
    start = m.start(1) + 1
    return [ast.Statement(chain, target, Span(n, start, n, m.end(1) + 1), False,
                          Span(n, start, n, chain_span.end_column))]


def _line_statements(text: str, n: int) -> list | None:
    """The statements on one line, or None if the line is for Lark."""
    m = _SIMPLE.match(text)
    if m is not None:
        simple = _simple_line(m, n)
        if simple is not None:
            return simple
    try:
        toks = _tokens(text, n)
        out = []
        line = _Line(toks, n)
        while line.peek() is not None:
            if line.peek() == ";":
                line.take()
                continue
            out.append(line.statement())
            if line.peek() not in (None, ";"):
                raise _Skip
        return out
    except (_Skip, IndexError):
        return None


def split(text: str) -> tuple[list, str] | None:
    """The statements read here (in order) and the text left for Lark; None if there are none.

    Lines taken are replaced by ``;`` and spaces in the text left for Lark (no statement, at
    column 1, the line's length kept), so line numbers, columns, character offsets and the
    closing of indented bodies are unchanged for the rest.
    """
    lines = text.split("\n")
    # Only what Lark skips as white space counts as blank (not, say, a vertical tab).
    code = [(line.split("#", 1)[0] if "#" in line and '"' not in line and "'" not in line else line).rstrip(_WS)
            for line in lines]
    has_bodies = any(c.endswith(":") for c in code)
    taken: list = []
    out_lines = list(lines)
    previous = ""  # the last line with code before this one
    count = len(lines)
    nxt = [""] * count  # the next line with code after each line
    following = ""
    for i in range(count - 1, -1, -1):
        nxt[i] = following
        if code[i]:
            following = code[i]
    for i, c in enumerate(code):
        if not c:
            continue
        prev, previous = previous, c
        if ('"' in c or "'" in c or c.endswith("->") or c.lstrip(_WS).startswith("->") or prev.endswith("->")
                or prev.endswith(":") or nxt[i].lstrip(_WS).startswith("->") or c.endswith(":")):
            continue
        if has_bodies and c[0] in " \t\f":
            continue
        statements = _line_statements(c, i + 1)
        if statements is None:
            continue
        taken.extend(statements)
        out_lines[i] = ";" + " " * (len(lines[i]) - 1)  # same length: Lark's offsets index the source
    if not taken:
        return None
    return taken, "\n".join(out_lines)

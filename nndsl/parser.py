"""Text to syntax tree: the only module that knows about Lark.

Lark's errors are turned into :class:`~nndsl.diagnostics.Diagnostic` here, at the parser
boundary, with what was expected spelled out in words. After a syntax error the statement is
blanked out and the rest re-parsed, so one run reports every broken statement.
"""

from __future__ import annotations

import gc
import re
from contextlib import contextmanager
from fractions import Fraction
from functools import lru_cache


from . import ast
from . import codes
from .diagnostics import Diagnostic, Source, Span, SpecError
from .params import describe

MAX_SOURCE_CHARS = 4 * 1024 * 1024
MAX_NESTING = 16
MAX_SYNTAX_ERRORS = 20


class _Indentation:
    """Postlexer: indentation opens a body only after a line that ends in ':'.

    Like Python's INDENT/DEDENT, but a v1 spec indents freely (continuation lines, aligned
    statements), so indentation anywhere else is ignored: only a line indented less than the
    body it is in closes that body.
    """

    always_accept = ("_NL",)

    def process(self, stream):
        from lark import Token

        levels = [0]  # indentation of each open body; 0 is the top level
        after_colon = False
        for tok in stream:
            if tok.type != "_NL":
                after_colon = tok.type == "COLON"
                yield tok
                continue
            yield tok
            indent = len(tok.rsplit("\n", 1)[-1].expandtabs(8)) if "#" not in tok.rsplit("\n", 1)[-1] else None
            if indent is None:  # the text ends in a comment line: no statement follows
                indent = 0
            if after_colon:
                if indent > levels[-1]:
                    levels.append(indent)
                    yield Token.new_borrow_pos("_INDENT", "", tok)
            else:
                while len(levels) > 1 and indent < levels[-1]:
                    levels.pop()
                    yield Token.new_borrow_pos("_DEDENT", "", tok)
            after_colon = False
        while len(levels) > 1:
            levels.pop()
            yield Token("_DEDENT", "")


@lru_cache(maxsize=None)
def grammar():
    """The LALR parser, built once per process from the grammar shipped in the package.

    Lark is imported here, not at module level: a spec whose every line takes the fast path
    (nndsl.quickparse) is parsed without it.
    """
    from lark import Lark

    return Lark.open_from_package(
        "nndsl", "grammar.lark", ("",),
        parser="lalr", lexer="contextual", propagate_positions=True,
        maybe_placeholders=False, cache=True, postlex=_Indentation(),
    )


def _span(meta_or_token) -> Span:
    return Span(meta_or_token.line, meta_or_token.column, meta_or_token.end_line, meta_or_token.end_column)


_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}


class _BadString(Exception):
    def __init__(self, message: str):
        self.message = message


def _decode_string(text: str) -> str:
    """Decode a quoted string with a small, explicit escape set (no eval, no surprises)."""
    body = text[1:-1]
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[nxt])
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2:i + 6] or ""):
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
        else:
            raise _BadString(f"unknown escape '\\{nxt}' in string")
    return "".join(out)


class _ToAst:
    """Tree to AST, bottom-up: each rule's method gets its meta and its converted children.

    A plain recursive walk rather than Lark's ``Transformer``: its per-node wrappers (``v_args``,
    token visiting) cost more than the conversion itself, about half the time of a large check.
    """

    def transform(self, tree):
        from lark import Tree

        handlers = {name: getattr(self, name) for name in _RULES}

        def walk(node):
            if type(node) is not Tree:
                return node
            handler = handlers.get(node.data)
            children = [walk(c) for c in node.children]
            if handler is None:
                return Tree(node.data, children, node.meta)
            return handler(node.meta, *children)

        return walk(tree)

    def number(self, meta, tok: Token):
        text = str(tok)
        if tok.type == "SCALED":
            scaled = Fraction(text[:-1]) * 10 ** {"k": 3, "M": 6, "G": 9}[text[-1]]
            value = int(scaled) if scaled.denominator == 1 else float(scaled)
            return ast.Number(value, text, _span(tok))
        if re.fullmatch(r"[+-]?\d+", text):
            # Bounded before int(): Python refuses to convert more than 4300 digits.
            digits = text.lstrip("+-").lstrip("0")
            if len(digits) > 19 or not -2 ** 63 <= int(text) < 2 ** 63:
                shown = text if len(text) <= 24 else f"{text[:12]}...{text[-4:]} ({len(digits):,} digits)"
                raise _SyntaxProblem(codes.ARG_RANGE, f"integer {shown} does not fit in 64 bits", _span(tok),
                                     "integers range from -9223372036854775808 to 9223372036854775807")
            value: int | float = int(text)
        else:
            value = float(text)
        return ast.Number(value, text, _span(tok))

    def string(self, meta, tok: Token):
        try:
            value = _decode_string(str(tok))
        except _BadString as e:
            raise _SyntaxProblem(codes.BAD_STRING, e.message, _span(tok), "write '\\\\' for a backslash") from None
        return ast.String(value, _span(tok))

    def ident(self, meta, tok: Token):
        return ast.Ident(str(tok), _span(tok))

    def unknown(self, meta):
        return ast.Unknown(_span(meta))

    def paren(self, meta, inner):
        if isinstance(inner, (ast.Number, ast.String, ast.Ident, ast.Unknown, ast.Tuple)):
            return ast.Tuple((inner,), _span(meta), grouping=True)
        return inner

    def tuple(self, meta, *items):
        return ast.Tuple(tuple(i for i in items if i is not None), _span(meta))

    def keyword(self, meta, name: Token, value):
        return ast.Keyword(str(name), value, _span(meta), _span(name))

    def _split_args(self, args):
        positional, keywords, late = [], [], []
        for a in args:
            if isinstance(a, ast.Keyword):
                keywords.append(a)
            elif keywords:
                late.append(a)
            else:
                positional.append(a)
        return tuple(positional), tuple(keywords), tuple(late)

    def call(self, meta, name: Token, *args):
        positional, keywords, late = self._split_args(args)
        return ast.Call(str(name), positional, keywords, _span(meta), _span(name), late_positional=late)

    def paren_call(self, meta, opener: Token, *args):
        name = str(opener)[:-1]
        positional, keywords, late = self._split_args([a for a in args if a is not None])
        name_span = Span(opener.line, opener.column, opener.line, opener.column + len(name))
        return ast.Call(name, (), keywords, _span(meta), name_span, parenthesized=True,
                        paren_args=positional, late_positional=late)

    def call_value(self, meta, opener: Token, *args):
        name = str(opener)[:-1]
        positional, keywords, late = self._split_args([a for a in args if a is not None])
        if late:
            raise _SyntaxProblem(codes.ARG_ORDER, f"positional argument after a keyword argument in {name}(...)",
                                 late[0].span, f"put positional arguments first: {name}(0.01, key=value)")
        name_span = Span(opener.line, opener.column, opener.line, opener.column + len(name))
        return ast.CallValue(name, positional, keywords, _span(meta), name_span)

    def repeat(self, meta, count, *rest):
        index_name = str(rest[0]) if len(rest) == 2 else None
        return ast.Repeat(count, index_name, rest[-1], _span(meta))

    def chain(self, meta, *parts):
        steps = tuple(p for p in parts if isinstance(p, (ast.Call, ast.Repeat)))
        return ast.Chain(steps, _span(meta))

    def assign(self, meta, name: Token, chain):
        return ast.Statement(chain, str(name), _span(name), False, _span(meta))

    def multi_assign(self, meta, *parts):
        *names, chain = parts
        return ast.MultiAssign(tuple((str(n), _span(n)) for n in names), chain, _span(meta))

    def output(self, meta, name: Token, chain=None):
        return ast.Statement(chain, str(name), _span(name), True, _span(meta))

    def output_chain(self, meta, chain):
        return ast.Statement(chain, None, None, True, _span(meta))

    def param(self, meta, name: Token, value):
        return ast.Param(str(name), value, _span(meta), _span(name))

    def let(self, meta, name: Token, value):
        return ast.Let(str(name), value, _span(meta), _span(name))

    def default(self, meta, layer: Token, *args):
        positional, keywords, late = self._split_args(args)
        return ast.Default(str(layer), _span(layer), keywords, positional + late, _span(meta))

    def include_path(self, meta, *parts):
        return "/".join(str(p) for p in parts)

    def include(self, meta, target):
        if type(target).__name__ == "Token":  # a STRING token; include_path gives a plain str
            return ast.Include(self.string(meta, target).value, False, _span(meta))
        return ast.Include(target, True, _span(meta))

    def assert_(self, meta, test):
        return ast.Assert(test, _span(meta))

    def block_param(self, meta, name: Token, default=None):
        return ast.BlockParam(str(name), default, _span(meta))

    def body(self, meta, *statements):
        return _Body(_statements(statements))

    def block(self, meta, opener: Token, *rest):
        *params, body = rest
        name = str(opener)[:-1]
        name_span = Span(opener.line, opener.column, opener.line, opener.column + len(name))
        return ast.Block(name, tuple(params), body.statements, _span(meta), name_span)

    def elif_(self, meta, test, body):
        return (test, body.statements)

    def else_(self, meta, body):
        return body

    def if_(self, meta, test, body, *rest):
        branches = [(test, body.statements)]
        otherwise: tuple = ()
        for part in rest:
            if isinstance(part, _Body):
                otherwise = part.statements
            else:
                branches.append(part)
        return ast.If(tuple(branches), otherwise, _span(meta))

    # Expressions

    def _binary(op):  # noqa: N805 - a method factory used in the class body
        def handler(self, meta, left, right):
            return ast.BinOp(op, left, right, _span(meta))
        return handler

    add, sub, mul, div = _binary("+"), _binary("-"), _binary("*"), _binary("/")
    floordiv, mod, pow, or_, and_ = _binary("//"), _binary("%"), _binary("**"), _binary("or"), _binary("and")
    del _binary

    def neg(self, meta, operand):
        return ast.UnaryOp("-", operand, _span(meta))

    def pos(self, meta, operand):
        return ast.UnaryOp("+", operand, _span(meta))

    def not_(self, meta, operand):
        return ast.UnaryOp("not", operand, _span(meta))

    def compare(self, meta, first, *rest):
        pairs = tuple((str(rest[i]), rest[i + 1]) for i in range(0, len(rest), 2))
        return ast.Compare(first, pairs, _span(meta))

    def cond(self, meta, then, test, otherwise):
        return ast.Conditional(test, then, otherwise, _span(meta))

    def attribute(self, meta, value, name: Token):
        return ast.Attribute(value, str(name), _span(meta), _span(name))

    def index(self, meta, value, index):
        return ast.Index(value, index, _span(meta))

    def start(self, meta, *statements):
        return ast.Module(_statements(statements))


class _Body:
    def __init__(self, statements):
        self.statements = statements


def _statements(items) -> tuple:
    out = []
    for s in items:
        if isinstance(s, ast.Chain):
            s = ast.Statement(s, None, None, False, s.span)
        out.append(s)
    return tuple(out)


_RULES = tuple(name for name in vars(_ToAst) if not name.startswith("_") and name != "transform")


class _SyntaxProblem(Exception):
    def __init__(self, code: str, message: str, span: Span, hint: str | None = None):
        self.diagnostic = Diagnostic(code, message, span, hint)


# What the parser expected, in words -------------------------------------------------------

_WORDS = {
    "NAME": "a name", "NUMBER": "a number", "STRING": "a string", "ARROW": "'->'",
    "_NL": "end of line", "SEMICOLON": "';'", "LPAR": "'('", "RPAR": "')'", "COMMA": "','",
    "EQUAL": "'='", "QMARK": "'?'", "CALL_OPEN": "a call such as 'concat('",
    "OUTPUT": "'output'", "$END": "end of file", "_INDENT": "an indented body",
    "STAR": "an operator", "SLASH": "an operator", "PERCENT": "an operator", "__ANON_0": "an operator",
    "__ANON_1": "an operator", "COMPARE": "an operator", "PLUS": "an operator", "MINUS": "an operator",
    "SCALED": "a number", "LSQB": "'['", "DOT": "'.'",
}
# Expected only where the LALR tables merge contexts (a repeat header, the end of a body):
# naming them would mislead more than help.
_UNSAID = frozenset({"_NL", "SEMICOLON", "$END", "_DEDENT", "COLON", "AS"})


def _describe_expected(expected) -> str:
    words = sorted({_WORDS.get(t, repr(t.lower())) for t in expected if t not in _UNSAID})
    if any(t in expected for t in ("_NL", "SEMICOLON", "$END", "_DEDENT")):
        words.append("the end of the statement")
    if not words:
        return "nothing more"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _describe_token(tok: Token) -> str:
    if tok.type == "$END":
        return "end of file"
    if tok.type == "_NL":
        return "end of line"
    if tok.type == "ARROW":
        return "'->'"
    if tok.type == "CALL_OPEN":
        return f"'{tok}'"
    if tok.type == "STRING":
        return f"string {tok}"
    return f"'{tok}'"


def _end_span(source: Source) -> Span:
    """Just after the last non-blank line: where "unexpected end of file" is visible."""
    last = len(source.lines)
    while last > 1 and not source.line(last).strip():
        last -= 1
    return Span.point(last, len(source.line(last).rstrip("\r")) + 1)


def _token_span(tok: Token, source: Source) -> Span:
    if tok.type == "$END" or tok.line is None:
        return _end_span(source)
    if tok.type in ("_NL", "ARROW"):
        # Point at where the token visibly starts, not at a newline character.
        line = tok.line
        col = tok.column
        if tok.type == "_NL":
            return Span.point(line, col)
        stripped = str(tok).lstrip(" \t\r\n")
        lines_before = str(tok)[: len(str(tok)) - len(stripped)].count("\n")
        if lines_before:
            line += lines_before
            col = len(source.line(line)) - len(source.line(line).lstrip()) + 1
        return Span.point(line, col, 2)
    return Span(tok.line, tok.column, tok.end_line or tok.line, tok.end_column or tok.column + 1)


def _syntax_diagnostic(err, source: Source) -> Diagnostic:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    if isinstance(err, UnexpectedCharacters):
        ch = source.text[err.pos_in_stream] if err.pos_in_stream < len(source.text) else ""
        span = Span.point(err.line, err.column)
        if ch in "\"'":
            return Diagnostic(codes.BAD_STRING, "unterminated string", span,
                              f"close the string with {ch} on the same line")
        if not ch.isascii():
            return Diagnostic(codes.UNEXPECTED_CHARACTER,
                              f"unexpected character {ch!r} (U+{ord(ch):04X})", span,
                              "names are ASCII letters, digits and '_'; non-ASCII text belongs in a quoted string")
        if ch == "-":
            return Diagnostic(codes.UNEXPECTED_CHARACTER, "unexpected '-'", span,
                              "chain layers with '->'; a negative number is written -1")
        before = source.text[:err.pos_in_stream].rsplit("\n", 1)[-1].rstrip()
        if ch == "{" and before.endswith("="):  # `class_weight={0: 1, 1: 3}`, a Python dict
            key = before[:-1].split()[-1] if before[:-1].split() else "option"
            return Diagnostic(codes.UNEXPECTED_CHARACTER, "unexpected '{': a value is not a {...} mapping", span,
                              f"give one value per class or output in order, as a tuple: {key}=(1.0, 3.0)"
                              if key == "class_weight" else
                              "values are numbers, names, strings, tuples (1, 2) or calls such as l2(0.01)")
        return Diagnostic(codes.UNEXPECTED_CHARACTER, f"unexpected character {ch!r}", span,
                          _hint_for_char(ch))
    if isinstance(err, UnexpectedToken) and err.token.type in _OPERATOR_TOKENS:
        # An operator where none fits: the v1 "unexpected character" diagnostic and its hint.
        tok = err.token
        span = Span.point(tok.line, tok.column)
        if tok == "-":
            return Diagnostic(codes.UNEXPECTED_CHARACTER, "unexpected '-'", span,
                              "chain layers with '->'; a negative number is written -1")
        return Diagnostic(codes.UNEXPECTED_CHARACTER, f"unexpected {str(tok)!r}", span, _hint_for_char(str(tok)[0]))
    if isinstance(err, UnexpectedToken) and err.token.type != "_INDENT" and (
            "_INDENT" in err.expected or (set(err.expected) <= {"_NL"} and _opens_line_after_header(err.token, source))):
        header = _header_line(source, err.token.line if err.token.line else len(source.lines))
        return Diagnostic(codes.SYNTAX, f"expected an indented body after line {header}",
                          _token_span(err.token, source),
                          "indent the statements of a block or if body deeper than its header line")
    if isinstance(err, UnexpectedToken) and err.token.type == "EQUAL":
        word = source.line(err.token.line)[:err.token.column - 1].strip()
        if word in _KEYWORDS:
            column = source.line(err.token.line).index(word) + 1
            return Diagnostic(codes.RESERVED_NAME, f"'{word}' is a reserved word", Span.point(err.token.line, column, len(word)),
                              "pick another name")
    if isinstance(err, UnexpectedToken):
        tok = err.token
        span = _token_span(tok, source)
        label = _curated(err)
        message = f"unexpected {_describe_token(tok)}; expected {_describe_expected(err.expected)}"
        if label is not None:
            return Diagnostic(codes.SYNTAX, message, span, label)
        return Diagnostic(codes.SYNTAX, message, span, None)
    if isinstance(err, UnexpectedEOF):
        return Diagnostic(codes.SYNTAX, f"unexpected end of file; expected {_describe_expected(err.expected)}",
                          _end_span(source))
    return Diagnostic(codes.SYNTAX, str(err).splitlines()[0], None)


_KEYWORDS = frozenset({"block", "repeat", "param", "let", "default", "include", "assert", "if", "else", "elif",
                       "output"})

# Operators of v2 expressions; where none fits they are reported like any stray character.
_OPERATOR_TOKENS = frozenset({"COLON", "LSQB", "RSQB", "MINUS", "PLUS", "STAR", "SLASH", "PERCENT",
                              "DOUBLESLASH", "DOUBLESTAR", "COMPARE", "DOT", "__ANON_0", "__ANON_1"})


def _opens_line_after_header(tok: Token, source: Source) -> bool:
    """The token starts a line, and the line before (blank lines aside) ends in ':'."""
    if not tok.line or source.line(tok.line)[:tok.column - 1].strip():
        return False
    n = tok.line - 1
    while n > 0 and not source.line(n).split("#")[0].strip():
        n -= 1
    return n > 0 and source.line(n).split("#")[0].rstrip().endswith(":")


def _header_line(source: Source, line: int) -> int:
    """The line of the `...:` header before ``line``."""
    for n in range(min(line, len(source.lines)), 0, -1):
        if source.line(n).split("#")[0].rstrip().endswith(":") and n != line:
            return n
    return line


def _hint_for_char(ch: str) -> str | None:
    return {
        ":": "write options as key=value, e.g. activation=relu",
        "[": "write a tuple with parentheses: (3, 3)",
        "{": "a block is written 'block name(x):' with an indented body",
    }.get(ch, "outside strings and comments a spec holds names, numbers, '(', ')', ',', '=', '?', "
              "'->' and ';'; remove it or put it in a quoted string")


# Curated messages for common slips (Lark's match_examples) -------------------------------

_CURATED_EXAMPLES = {
    "separate arguments with spaces, not commas: dense 32 relu": ["dense 32, relu", "input 28, 28"],
    "put a layer after '=': x = dense 32": ["x =\n", "x = ;", "output y =\n"],
    "close the parenthesis: concat(a, b)": ["concat(a, b\n", "y = add(a, b\n"],
    "a statement starts with a layer, input, tensor name or training keyword": [
        "32 relu\n", "(3, 3)\n", "input 3\n32 relu\n", "input 3;(3, 3)\n", "input 3\n(3, 3)\n"],
    "'->' joins two layers: write a layer after it": ["x -> \n", "dense 3 ->;"],
    "a keyword needs a value: key=value": ["dense 32 use_bias=\n", "dense 32 use_bias=;"],
}


@lru_cache(maxsize=None)
def _curated_table() -> dict:
    """(parser state, token type) of each example's error -> its message.

    Like Lark's ``match_examples``, but keyed on the state at the top of the stack, so an
    example matches wherever in a file the same slip happens.
    """
    from lark.exceptions import UnexpectedInput, UnexpectedToken

    table: dict = {}
    for label, examples in _CURATED_EXAMPLES.items():
        for example in examples:
            try:
                grammar().parse(example)
            except UnexpectedToken as e:
                table.setdefault((e.state.position, e.token.type), label)
            except UnexpectedInput:
                pass
    return table


def _curated(err: UnexpectedToken) -> str | None:
    state = getattr(err, "state", None)
    if state is None:
        return None
    return _curated_table().get((state.position, err.token.type))


# Pre-parse checks --------------------------------------------------------------------------

def _nesting_problem(text: str) -> Diagnostic | None:
    if text.count("(") <= MAX_NESTING:
        return None  # too few parentheses to nest that deep: skip the character loop
    depth = 0
    line, col = 1, 0
    in_string: str | None = None
    in_comment = escaped = False
    for ch in text:
        col += 1
        if ch == "\n":
            line, col, in_comment, in_string, escaped = line + 1, 0, False, None, False
            continue
        if in_comment:
            continue
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == in_string:
                in_string = None
            continue
        if ch in "\"'":
            in_string = ch
        elif ch == "#":
            in_comment = True
        elif ch == "(":
            depth += 1
            if depth > MAX_NESTING:
                return Diagnostic(codes.TOO_DEEP, f"parentheses nested deeper than {MAX_NESTING} levels",
                                  Span.point(line, col), "flatten the tuple; no layer takes nested values that deep")
        elif ch == ")":
            depth = max(depth - 1, 0)
    return None


def _blank_statement(text: str, line: int) -> str:
    """Replace the statement around ``line`` with spaces, keeping every position intact."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return text
    first = last = line - 1
    while first > 0 and (lines[first].lstrip().startswith("->") or lines[first - 1].rstrip().endswith("->")):
        first -= 1
    while last + 1 < len(lines) and (lines[last + 1].lstrip().startswith("->") or lines[last].rstrip().endswith("->")):
        last += 1
    if lines[last].split("#")[0].rstrip().endswith(":"):
        # A block or if header: its indented body goes with it.
        indent = len(lines[first]) - len(lines[first].lstrip())
        while last + 1 < len(lines) and (not lines[last + 1].strip()
                                         or len(lines[last + 1]) - len(lines[last + 1].lstrip()) > indent):
            last += 1
    for i in range(first, last + 1):
        lines[i] = " " * len(lines[i].rstrip("\r")) + ("\r" if lines[i].endswith("\r") else "")
    return "\n".join(lines)


@contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector for one pass over a spec.

    A pass allocates several objects per token and none of them in cycles; with the collector
    on, each collection rescans the growing tree and a 10,000-layer check takes twice as long.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse(source: Source | str) -> ast.Module:
    """Parse spec text into a :class:`nndsl.ast.Module`; raise :class:`SpecError` on bad syntax.

    Example::

        parse("input 784; dense 32 relu; dense 10 softmax; rmsprop 0.001; loss mse")
    """
    if isinstance(source, str):
        source = Source(source)
    text = source.text
    if len(text) > MAX_SOURCE_CHARS:
        raise SpecError([Diagnostic(codes.TOO_LARGE,
                                    f"spec is {len(text):,} characters; the limit is {MAX_SOURCE_CHARS:,}",
                                    Span.point(1, 1), "split the model or generate a smaller spec")], source)
    if "\0" in text:
        line = text.count("\n", 0, text.index("\0")) + 1
        raise SpecError([Diagnostic(codes.BINARY_INPUT, "this looks like a binary file, not a spec (it holds NUL bytes)",
                                    Span.point(line, 1), "pass a .nn text file")], source)
    problem = _nesting_problem(text)
    if problem is not None:
        raise SpecError([problem], source)

    with gc_paused():
        return _parse(source, text)


def _parse(source: Source, text: str) -> ast.Module:
    module, diagnostics = _parse_recovering(source, text)
    if diagnostics or module is None:
        raise SpecError(diagnostics, source)
    return module


def parse_recovering(source: Source) -> tuple[ast.Module | None, list[Diagnostic]]:
    """Parse, and after syntax errors keep what still parses, so later passes report more.

    Returns the module (None if nothing could be recovered) and the syntax diagnostics. The
    module's ``recovered_names`` lists the names the broken statements would have defined, so
    the binder does not report them as undefined.
    """
    text = source.text
    if len(text) > MAX_SOURCE_CHARS or "\0" in text or _nesting_problem(text) is not None:
        try:
            return parse(source), []
        except SpecError as e:
            return None, list(e.diagnostics)
    with gc_paused():
        return _parse_recovering(source, text)


_DEFINES = re.compile(r"^\s*(?:output\s+)?([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*=(?!=)")


def _parse_recovering(source: Source, text: str) -> tuple[ast.Module | None, list[Diagnostic]]:
    from . import quickparse

    fast = quickparse.split(text)
    if fast is None:
        return _lark_recovering(source, text)
    taken, rest = fast
    if all(not line.strip(" \t\f") or line.rstrip(" ") == ";" or line.lstrip(" \t\f").startswith("#")
           for line in rest.split("\n")):
        return ast.Module(tuple(taken)), []  # every statement was read on the fast path: Lark is not needed
    module, diagnostics = _lark_recovering(source, rest)
    if diagnostics:
        # Recovery blanks broken statements, which can join a taken line to a broken one
        # (`y = b ->` then a blank then `dense 3`): on errors Lark reads the whole text.
        return _lark_recovering(source, text)
    statements = sorted((*taken, *module.statements), key=lambda s: (s.span.line, s.span.column))
    return ast.Module(tuple(statements), module.recovered_names, module.recovered, module.recovered_blocks), diagnostics


def _lark_recovering(source: Source, text: str) -> tuple[ast.Module | None, list[Diagnostic]]:
    from lark.exceptions import UnexpectedInput

    diagnostics: list[Diagnostic] = []
    seen_lines: set[int] = set()
    broken: list[str] = []
    while True:
        try:
            tree = grammar().parse(text)
        except UnexpectedInput as err:
            diag = _syntax_diagnostic(err, source)
            diagnostics.append(diag)
            line = diag.span.line if diag.span else 0
            if line in seen_lines or len(diagnostics) >= MAX_SYNTAX_ERRORS or len(text) > 256 * 1024:
                return None, diagnostics
            seen_lines.add(line)
            before = text
            if diag.message.startswith("expected an indented body after line "):
                header = int(diag.message.rsplit(" ", 1)[1])
                for n in range(header, line):
                    text = _blank_statement(text, n)
            text = _blank_statement(text, line)
            broken.extend(_defined_names(before, text))
            continue
        try:
            module = _ToAst().transform(tree)
        except _SyntaxProblem as problem:
            return None, diagnostics + [problem.diagnostic]
        if diagnostics:
            module = ast.Module(module.statements, tuple(n for n in broken if not n.startswith("block ")), True,
                                tuple(n[6:] for n in broken if n.startswith("block ")))
        return module, diagnostics


def _defined_names(before: str, after: str) -> list[str]:
    """Names defined by the lines blanked between ``before`` and ``after``; `input` marks inputs."""
    names: list[str] = []
    for old, new in zip(before.split("\n"), after.split("\n")):
        if old != new:
            m = _DEFINES.match(old)
            if m:
                names.extend(n.strip() for n in m.group(1).split(","))
            words = old.split()
            if words and words[0] == "input" and len(words) > 1:
                names.append(words[1])
            m = re.match(r"\s*block\s+([A-Za-z_]\w*)\(", old)
            if m:
                names.append("block " + m.group(1))
    return names


def parse_value(text: str, where: str = "<--set>") -> ast.Value:
    """One expression, as ``--set NAME=VALUE`` gives it; raise SpecError if it is not one."""
    source = Source(f"let value = {text}", where)
    if "\n" in text or "\r" in text:
        raise SpecError([Diagnostic(codes.SYNTAX, "a value is one line", Span.point(1, 1))], source)
    module = parse(source)
    (st,) = module.statements
    assert isinstance(st, ast.Let)
    return st.value

"""A Pygments lexer for .nn specs, registered as the ``pygments.lexers`` entry point ``nndsl``.

So ``pygmentize -l nndsl model.nn`` and Sphinx/MkDocs code blocks marked ``nndsl`` highlight
specs once nndsl is installed. Needs Pygments (the ``highlight`` extra); nothing else in nndsl
imports this module. Its word lists are :func:`nndsl.tools.highlight.words`.
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, words as pwords
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Whitespace

from .highlight import CONSTANTS, words

__all__ = ["NndslLexer"]

_W = words()
_ID = r"[A-Za-z_][A-Za-z0-9_]*"


class NndslLexer(RegexLexer):
    """Lexer for nndsl model specs."""

    name = "nndsl"
    aliases = ["nndsl", "nn"]
    filenames = ["*.nn"]
    mimetypes = ["text/x-nndsl"]
    url = "https://github.com/nndsl/nndsl"

    tokens = {
        "root": [
            (r"[ \t\f\r]+", Whitespace),
            (r"\n", Whitespace),
            (r"#.*$", Comment.Single),
            (r'"(?:[^"\\\n]|\\.)*"', String.Double),
            (r"'(?:[^'\\\n]|\\.)*'", String.Single),
            (r"\b(block)(\s+)(" + _ID + r")(?=\()", bygroups(Keyword, Whitespace, Name.Function)),
            (pwords(_W.keywords, prefix=r"\b", suffix=r"\b"), Keyword),
            (pwords(CONSTANTS, prefix=r"\b", suffix=r"\b"), Keyword.Constant),
            (r"\?", Keyword.Constant),
            (r"(?<![A-Za-z0-9_.])(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+|[kMG](?![A-Za-z0-9_]))?", Number),
            (_ID + r"(?=\()", Name.Function),
            (_ID + r"(?=\s*=(?!=))", Name.Attribute),
            (pwords(_W.layers, prefix=r"\b", suffix=r"\b"), Name.Builtin),
            (pwords(_W.activations, prefix=r"\b", suffix=r"\b"), Name.Constant),
            (pwords(_W.training, prefix=r"\b", suffix=r"\b"), Name.Class),
            (_ID, Name.Variable),
            (r"->", Operator),
            (r"==|!=|<=|>=|//|\*\*|[-+*/%<>=]", Operator),
            (r"[(),:;.\[\]]", Punctuation),
        ],
    }

"""Highlighting: the TextMate grammar is current, and both it and the Pygments lexer cover every
character of every shipped spec without an error token."""

from __future__ import annotations

import glob
import json
import os
import re

import pytest

from nndsl.tools import highlight

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXTMATE = os.path.join(ROOT, "editors", "nndsl.tmLanguage.json")
SPECS = sorted(glob.glob(os.path.join(ROOT, "spec", "examples", "**", "*.nn"), recursive=True)
               + glob.glob(os.path.join(ROOT, "spec", "conformance", "valid", "**", "*.nn"), recursive=True)
               + glob.glob(os.path.join(ROOT, "nndsl", "std", "*.nn")))


def test_textmate_grammar_is_generated():
    assert highlight.main(["--check", TEXTMATE]) == 0, "run python -m nndsl.tools.highlight --write " + TEXTMATE


def test_keywords_come_from_the_grammar():
    w = highlight.words()
    for word in ("block", "repeat", "param", "include", "assert", "output", "input", "loss", "fit"):
        assert word in w.keywords
    assert "dense" in w.layers and "conv2d" in w.layers and "gelu" in w.activations and "adam" in w.training


def textmate_scopes(line: str, patterns) -> list[tuple[str, str]]:
    """Tokenise one line as a TextMate engine does with flat match rules: the earliest match wins,
    ties go to the first rule; text between matches must be whitespace."""
    compiled = [(p["name"], re.compile(p["match"])) for p in patterns]
    pos, out = 0, []
    while pos < len(line):
        best = None
        for name, rx in compiled:
            m = rx.search(line, pos)
            if m and m.end() > m.start() and (best is None or m.start() < best[1].start()):
                best = (name, m)
        if best is None:
            assert not line[pos:].strip(), f"unscoped text {line[pos:]!r}"
            break
        gap = line[pos:best[1].start()]
        assert not gap.strip(), f"unscoped text {gap!r} in {line!r}"
        out.append((best[0], best[1].group()))
        pos = best[1].end()
    return out


@pytest.mark.parametrize("path", SPECS, ids=lambda p: os.path.relpath(p, ROOT))
def test_textmate_scopes_every_character(path):
    patterns = json.load(open(TEXTMATE, encoding="utf-8"))["patterns"]
    for line in open(path, encoding="utf-8").read().splitlines():
        textmate_scopes(line, patterns)


def test_textmate_scopes_what_they_should():
    patterns = highlight.textmate_grammar()["patterns"]
    scopes = dict((text, name) for name, text in textmate_scopes(
        'x = image -> conv2d 32 3 relu padding=same -> add(x) # c', patterns))
    assert scopes["conv2d"].startswith("support.function.layer")
    assert scopes["relu"].startswith("support.constant.activation") or scopes["relu"].startswith("support.function")
    assert scopes["padding"].startswith("variable.parameter")
    assert scopes["add"].startswith("entity.name.function")
    assert scopes["# c"].startswith("comment")
    assert scopes["32"].startswith("constant.numeric")
    assert scopes["->"].startswith("keyword.operator.arrow")


@pytest.mark.parametrize("path", SPECS, ids=lambda p: os.path.relpath(p, ROOT))
def test_pygments_lexer_has_no_error_tokens(path):
    pytest.importorskip("pygments")
    from pygments.token import Error

    from nndsl.tools.pygments_lexer import NndslLexer

    text = open(path, encoding="utf-8").read()
    tokens = list(NndslLexer().get_tokens(text))
    assert not [t for t in tokens if t[0] in Error], path
    assert "".join(v for _, v in tokens).rstrip("\n") == text.rstrip("\n")


def test_pygments_lexer_names():
    pytest.importorskip("pygments")
    from pygments.token import Keyword, Name

    from nndsl.tools.pygments_lexer import NndslLexer

    tokens = {v: t for t, v in NndslLexer().get_tokens("block f(x):\n    output x -> dense 4 relu\n")}
    assert tokens["block"] in Keyword and tokens["f"] in Name.Function and tokens["dense"] in Name.Builtin

"""spec/LANGUAGE.md stays in step with the code: catalogue, codes, limits, grammar."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nndsl import catalogue, codes, parser
from nndsl.check import check_source  # noqa: F401 - kept for other tests of this file
from nndsl.spacecheck import check_spaces
from nndsl.diagnostics import Source, SpecError

ROOT = Path(__file__).resolve().parent.parent
LANGUAGE = ROOT / "spec" / "LANGUAGE.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return LANGUAGE.read_text(encoding="utf-8")


def test_catalogue_is_up_to_date(doc):
    expected = catalogue.render_catalogue(catalogue.builtin_registry())
    assert catalogue.extract_block(doc) == expected, \
        "spec/LANGUAGE.md's catalogue is stale: run python -m nndsl.catalogue --write spec/LANGUAGE.md"


def test_catalogue_lists_every_builtin(registry):
    text = catalogue.render_catalogue(registry)
    for table in ("layers", "optimizers", "losses", "metrics", "activations"):
        for name in registry.canonical(table):
            assert f"`{name}`" in text, (table, name)
    for name in registry.canonical("layers"):
        assert f"#### {name}\n" in text
    assert "| `units` | an integer >= 1 | required | yes (1) | output size |" in text


def test_catalogue_follows_the_registry(registry):
    """Generated, not hand-written: a layer a plugin adds shows up."""
    from dataclasses import replace

    dense = registry.layers["dense"]
    registry.add("layers", replace(dense, name="mydense", aliases=(), doc="A test-only layer."), "test")
    assert "| `mydense` |  | `-` | `units activation?` | 1 | A test-only layer. |" in \
        catalogue.render_catalogue(registry)


def test_write_replaces_only_the_block(tmp_path):
    path = tmp_path / "doc.md"
    path.write_text(f"before\n{catalogue.START}\nSTALE TEXT\n{catalogue.END}\nafter\n", encoding="utf-8")
    assert catalogue.main(["--write", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    assert text.startswith(f"before\n{catalogue.START}\n### Layers") and text.endswith(f"{catalogue.END}\nafter\n")
    assert "STALE TEXT" not in text
    path.write_text("no markers\n", encoding="utf-8")
    assert catalogue.main(["--write", str(path)]) == 2


def test_every_code_is_documented(doc):
    for code, description in codes.DESCRIPTIONS.items():
        assert f"| {code} | {description} |" in doc, code


def _code_examples(doc: str):
    for line in doc.splitlines():
        m = re.fullmatch(r"\| ([EW]\d{3}) \| [^|]+ \| `(.+)` \|", line.strip())
        if m:
            yield m.groups()


def test_documented_examples_give_their_codes(doc, registry):
    examples = list(_code_examples(doc))
    assert len(examples) >= 30
    for code, example in examples:
        try:
            found = [d.code for d in check_spaces(Source(example), registry).warnings]
        except SpecError as e:
            found = [d.code for d in e.diagnostics]
        assert code in found, (code, example, found)


def test_points_at_the_packaged_grammar(doc):
    assert "nndsl/grammar.lark" in doc
    assert (ROOT / "nndsl" / "grammar.lark").is_file()


def test_limits_match_the_parser(doc):
    assert f"{parser.MAX_SOURCE_CHARS:,} characters" in doc
    assert f"nest at most {parser.MAX_NESTING} deep" in doc
    assert f"At most {parser.MAX_SYNTAX_ERRORS} syntax errors" in doc


def test_string_escapes_match_the_parser(doc):
    line = next(line for line in doc.splitlines() if line.startswith("String escapes:"))
    documented = set(re.findall(r"`\\(.)", line))
    assert documented == set(parser._SIMPLE_ESCAPES) | {"u"}


def test_reserved_words_match_statements(doc):
    from nndsl.statements import RESERVED_WORDS, STATEMENT_KEYWORDS

    section = doc[doc.index("**Reserved words.**"):doc.index("**Calls.**")]
    for word in (*STATEMENT_KEYWORDS, *RESERVED_WORDS):
        assert f"`{word}`" in section, word


def test_fit_options_are_documented(doc):
    from nndsl.statements import FIT_PARAMS

    fit = doc[doc.index("#### fit\n"):]
    for p in FIT_PARAMS:
        assert f"| `{p.name}` |" in fit

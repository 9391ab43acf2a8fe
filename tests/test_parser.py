"""The parser: grammar shipped in the package, every value kind, statements, syntax errors."""

from __future__ import annotations

import importlib.resources

import pytest

from nndsl import ast, codes
from nndsl.diagnostics import Source, SpecError
from nndsl.parser import _CURATED_EXAMPLES, MAX_NESTING, MAX_SOURCE_CHARS, grammar, parse

SEED = "input 784; dense 32 relu; dense 10 softmax; rmsprop 0.001; loss mse"


def syntax_errors(text: str) -> list:
    with pytest.raises(SpecError) as info:
        parse(text)
    return list(info.value.diagnostics)


def only_call(text: str) -> ast.Call:
    (st,) = parse(text).statements
    (step,) = st.chain.steps
    return step


def arg(text: str):
    """The single positional value of `f VALUE`."""
    (value,) = only_call(f"f {text}").args
    return value


# The grammar file ------------------------------------------------------------------------

def test_grammar_ships_in_the_package():
    text = importlib.resources.files("nndsl").joinpath("grammar.lark").read_text(encoding="utf-8")
    assert "start:" in text and "CALL_OPEN" in text
    assert grammar().options.parser == "lalr"


def test_grammar_has_no_rule_per_layer():
    text = importlib.resources.files("nndsl").joinpath("grammar.lark").read_text(encoding="utf-8")
    for word in ("dense", "conv2d", "adam", "mse", "relu\""):
        assert word not in text.lower().split("//")[0]


# Statements ---------------------------------------------------------------------------------

def test_seed_line_parses_verbatim():
    module = parse(SEED)
    steps = [st.chain.steps[0] for st in module.statements]
    assert [s.name for s in steps] == ["input", "dense", "dense", "rmsprop", "loss"]
    assert [a.value for a in steps[1].args[:1]] == [32] and steps[1].args[1].name == "relu"
    assert steps[3].args[0].value == 0.001 and steps[3].args[0].text == "0.001"


def test_newlines_semicolons_and_blank_statements():
    module = parse("input 3;;\n\n; dense 2 ;\n")
    assert [st.chain.steps[0].name for st in module.statements] == ["input", "dense"]


def test_comments_are_ignored_everywhere():
    module = parse("# header\ninput 3  # trailing\n# dense 99\ndense 2 # relu\n")
    assert [st.chain.steps[0].name for st in module.statements] == ["input", "dense"]
    assert module.statements[1].chain.steps[0].args[0].value == 2
    assert len(module.statements[1].chain.steps[0].args) == 1


def test_assignment_and_outputs():
    a, b, c = parse("x = dense 3\noutput y = x -> dense 2\noutput z\n").statements
    assert (a.target, a.is_output) == ("x", False)
    assert (b.target, b.is_output, [s.name for s in b.chain.steps]) == ("y", True, ["x", "dense"])
    assert (c.target, c.is_output, c.chain) == ("z", True, None)
    assert a.target_span.line == 1 and a.target_span.column == 1


def test_chains_and_continuation_lines():
    text = "y = x\n    -> dense 8   # a comment\n    -> dense 4 ->\n\n    # between\n    dense 2\n"
    (st,) = parse(text).statements
    assert [s.name for s in st.chain.steps] == ["x", "dense", "dense", "dense"]
    assert st.chain.steps[-1].span.line == 6


def test_crlf_line_endings_keep_positions():
    module = parse("input 3\r\ndense 2 relu\r\n\r\n# c\r\ny = dense 1 ->\r\n  dense 4\r\n")
    assert len(module.statements) == 3
    relu = module.statements[1].chain.steps[0].args[1]
    assert (relu.span.line, relu.span.column) == (2, 9)
    assert module.statements[2].chain.steps[1].span.line == 6


def test_tabs_are_whitespace():
    call = only_call("\tdense\t32\trelu")
    assert [describe_value(a) for a in call.args] == ["32", "relu"]
    assert call.args[1].span.column == 11  # columns count characters


def describe_value(v) -> str:
    from nndsl.params import describe

    return describe(v)


def test_keywords_and_late_positional():
    call = only_call("dense 3 use_bias=false relu")
    assert [k.name for k in call.keywords] == ["use_bias"]
    assert call.keywords[0].value.name == "false"
    assert [v.name for v in call.late_positional] == ["relu"]
    assert call.keywords[0].name_span.column == 9


def test_paren_call_inputs_then_options():
    call = only_call("concat(a, b, axis=-1)")
    assert call.parenthesized
    assert [v.name for v in call.paren_args] == ["a", "b"]
    assert call.args == ()
    assert call.keywords[0].name == "axis" and call.keywords[0].value.value == -1
    assert (call.name_span.column, call.name_span.end_column) == (1, 7)


def test_paren_call_mid_chain():
    (st,) = parse("z = x -> add(y) -> dense 2").statements
    assert [s.name for s in st.chain.steps] == ["x", "add", "dense"]
    assert [v.name for v in st.chain.steps[1].paren_args] == ["y"]


def test_empty_paren_call():
    call = only_call("flatten()")
    assert call.parenthesized and call.paren_args == () and call.keywords == ()


def test_space_before_paren_passes_a_tuple():
    call = only_call("maxpool2d (2, 2)")
    assert not call.parenthesized
    assert isinstance(call.args[0], ast.Tuple) and [i.value for i in call.args[0].items] == [2, 2]


# Values -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("7", 7), ("-3", -3), ("+4", 4), ("0", 0),
    ("1.5", 1.5), (".5", 0.5), ("2.", 2.0), ("1e-3", 1e-3), ("3E4", 3e4), ("-2.5e+2", -250.0),
])
def test_numbers(text, value):
    v = arg(text)
    assert isinstance(v, ast.Number) and v.value == value and type(v.value) is type(value)
    assert v.text == text


@pytest.mark.parametrize("text, value", [
    ('"relu"', "relu"), ("'relu'", "relu"), ('""', ""),
    (r'"a\"b"', 'a"b'), (r"'it\'s'", "it's"), (r'"c:\\data"', "c:\\data"),
    (r'"tab\there"', "tab\there"), (r'"line\nbreak"', "line\nbreak"), (r'"\u00e9"', "é"),
    ('"héllo wörld"', "héllo wörld"), ('"# not a comment"', "# not a comment"),
])
def test_strings_and_escapes(text, value):
    v = arg(text)
    assert isinstance(v, ast.String) and v.value == value


@pytest.mark.parametrize("text", ["relu", "same", "true", "false", "none", "_x1", "Glorot"])
def test_identifiers(text):
    v = arg(text)
    assert isinstance(v, ast.Ident) and v.name == text


def test_unknown_dimension():
    call = only_call("input tokens ? 8")
    assert isinstance(call.args[1], ast.Unknown)
    assert (call.args[1].span.column, call.args[1].span.end_column) == (14, 15)


@pytest.mark.parametrize("text, n", [("()", 0), ("(3,)", 1), ("(3, 3)", 2), ("(1, 2, 3,)", 3), ("(?, 4)", 2)])
def test_tuples(text, n):
    v = arg(text)
    assert isinstance(v, ast.Tuple) and len(v.items) == n


def test_nested_tuple():
    v = arg("((1, 2), (3, 4))")
    assert [[i.value for i in t.items] for t in v.items] == [[1, 2], [3, 4]]


def test_spans_are_one_based_and_end_exclusive():
    call = only_call("dense 32 relu")
    assert (call.name_span.line, call.name_span.column, call.name_span.end_column) == (1, 1, 6)
    assert (call.args[0].span.column, call.args[0].span.end_column) == (7, 9)


# Syntax errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("hint, example", [(h, e) for h, examples in _CURATED_EXAMPLES.items() for e in examples])
def test_curated_syntax_hints(hint, example):
    """Every curated example gets its curated hint, at the top of a file and deeper in one."""
    for text in (example, "input 3\ndense 4\n" + example):
        found = syntax_errors(text)
        assert found[0].code == codes.SYNTAX
        assert found[0].hint == hint, text


def test_curated_hint_on_a_fresh_variant():
    (d,) = syntax_errors("input 3\nconv2d 32, 3\n")
    assert d.hint == "separate arguments with spaces, not commas: dense 32 relu"
    assert (d.span.line, d.span.column) == (2, 10)


def test_expected_is_said_in_words():
    (d,) = syntax_errors("input 28, 28\n")
    assert d.message.startswith("unexpected ','; expected ")
    assert "a number" in d.message and "the end of the statement" in d.message
    assert "NUMBER" not in d.message and "$END" not in d.message


def test_every_broken_statement_is_reported():
    found = syntax_errors("input 3\ndense 2,\ndense 4\n(3, 3)\nx = \n")
    assert [(d.span.line, d.code) for d in found] == [(2, codes.SYNTAX), (4, codes.SYNTAX), (5, codes.SYNTAX)]


def test_end_of_file_error_points_at_the_last_written_line():
    (d,) = syntax_errors("input 3\ndense 2 ->\n\n\n")
    assert (d.span.line, d.span.column) == (2, 11)


@pytest.mark.parametrize("text, code, column", [
    ("dense 3 @", codes.UNEXPECTED_CHARACTER, 9),
    ("dense 32 activation: relu", codes.UNEXPECTED_CHARACTER, 20),
    ("reshape [28, 28]", codes.UNEXPECTED_CHARACTER, 9),
    ("dénse 3", codes.UNEXPECTED_CHARACTER, 2),
    ("dense 3 → relu", codes.UNEXPECTED_CHARACTER, 9),
    ("dense 3 - relu", codes.UNEXPECTED_CHARACTER, 9),
    ('data "mnist.npz', codes.BAD_STRING, 6),
    ("data 'x", codes.BAD_STRING, 6),
    (r'data "a\qb"', codes.BAD_STRING, 6),
    (r'data "\u12"', codes.BAD_STRING, 6),
])
def test_character_and_string_errors(text, code, column):
    found = syntax_errors("input 3\n" + text + "\n")
    assert [(d.span.line, d.span.column, d.code) for d in found][:1] == [(2, column, code)]
    assert found[0].hint


def test_non_ascii_names_get_an_ascii_hint():
    (d,) = syntax_errors("input 3\nx² = dense 3\n")
    assert "U+00B2" in d.message and "ASCII" in d.hint


def test_string_cannot_span_lines():
    d = syntax_errors('data "a\nb"\n')[0]
    assert d.code == codes.BAD_STRING and d.span.line == 1


# Limits -------------------------------------------------------------------------------------

def test_nesting_limit():
    ok = "f " + "(" * MAX_NESTING + "1" + ")" * MAX_NESTING
    value, depth = arg(ok[2:]), 0
    while isinstance(value, ast.Tuple):
        (value,), depth = value.items, depth + 1
    assert depth == MAX_NESTING and value.value == 1
    (d,) = syntax_errors("f " + "(" * (MAX_NESTING + 1) + "1" + ")" * (MAX_NESTING + 1))
    assert d.code == codes.TOO_DEEP and d.span.column == 3 + MAX_NESTING


def test_parens_in_strings_and_comments_do_not_count_as_nesting():
    value = arg('"' + "(" * 40 + '"  # ' + "(" * 40)
    assert value.value == "(" * 40


def test_size_limit():
    (d,) = syntax_errors("#" * (MAX_SOURCE_CHARS + 1))
    assert d.code == codes.TOO_LARGE and f"{MAX_SOURCE_CHARS:,}" in d.message


def test_nul_bytes_mean_binary():
    (d,) = syntax_errors("input 3\n\0\0")
    assert d.code == codes.BINARY_INPUT and d.span.line == 2


def test_many_syntax_errors_are_capped():
    found = syntax_errors("input 3\n" + "dense 3,\n" * 100)
    assert 1 < len(found) <= 20


def test_parser_never_leaks_lark_exceptions():
    import lark

    for text in ["(", ")", "->", "=", "x = = 3", "output", "output =", "a(b(c))", "f((1,2)", "'", '"\\', "?",
                 "f x=", "-> dense", "input 3 ->", ",,,", "f(,)", "f(a b)", "1e", "\x7f", "\ufeffinput 3"]:
        try:
            parse(Source(text))
        except SpecError as e:
            assert e.diagnostics and all(d.span is not None for d in e.diagnostics), text
        except lark.exceptions.LarkError as e:  # pragma: no cover - the failure being tested
            pytest.fail(f"{text!r} leaked {type(e).__name__}")


def test_a_lone_carriage_return_ends_a_line_like_an_editor_shows_it():
    import nndsl

    assert [n.op for n in nndsl.check("input 784\rdense 10\r").nodes] == ["dense"]
    with pytest.raises(nndsl.SpecError) as err:
        nndsl.check("input 784\rdens 10\r\ndense 3\n")
    (diag,) = err.value.diagnostics
    assert (diag.code, diag.span.line, diag.span.column) == ("E200", 2, 1)

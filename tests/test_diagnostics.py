"""Diagnostics: codes, spans, rendering, and no cascades of errors from one mistake."""

from __future__ import annotations

import pytest

import nndsl
from nndsl import codes
from nndsl.check import check_source
from nndsl.diagnostics import Diagnostic, Severity, Source, Span, SpecError, did_you_mean, render, render_all


def diags(text: str, registry) -> list[Diagnostic]:
    try:
        return list(check_source(Source(text, "m.nn"), registry).warnings)
    except SpecError as e:
        return list(e.diagnostics)


def codes_at(text: str, registry) -> list[tuple[int, int, str]]:
    return [(d.span.line, d.span.column, d.code) if d.span else (0, 0, d.code) for d in diags(text, registry)]


# Rendering ----------------------------------------------------------------------------------

def test_render_header_line_carets_and_hint():
    src = Source("input 784\ndense 32 relux\n", "model.nn")
    d = Diagnostic(codes.UNKNOWN_ACTIVATION, "unknown activation 'relux'", Span(2, 10, 2, 15), "did you mean 'relu'?")
    assert render(d, src).splitlines() == [
        "model.nn:2:10: error[E204]: unknown activation 'relux'",
        "2 | dense 32 relux",
        "  |          ^^^^^",
        "  = hint: did you mean 'relu'?",
    ]


def test_render_warning_and_totals():
    src = Source("input a 3\n", "m.nn")
    w = Diagnostic(codes.UNUSED_INPUT, "unused", Span.point(1, 1), None, Severity.WARNING)
    e = Diagnostic(codes.NO_OUTPUT, "no output", Span.point(1, 1))
    text = render_all([e, w], src)
    assert "m.nn:1:1: warning[W001]: unused" in text
    assert text.splitlines()[-1] == "1 error, 1 warning"


def test_render_without_span_has_no_source_line():
    text = render(Diagnostic(codes.NO_LOSS, "no loss", None, None, Severity.WARNING), Source("input 3\n", "m.nn"))
    assert text == "m.nn: warning[W003]: no loss"


def test_render_tabs_keep_carets_aligned():
    src = Source("\tdense\t3\trelux\n", "m.nn")
    lines = render(Diagnostic(codes.UNKNOWN_ACTIVATION, "x", Span(1, 10, 1, 15)), src).splitlines()
    assert lines[1][lines[2].index("^"):].startswith("relux")


def test_render_long_line_is_windowed():
    line = "dense 3 " + "x=1 " * 200 + "bad"
    src = Source(line, "m.nn")
    col = line.index("bad") + 1
    lines = render(Diagnostic(codes.UNKNOWN_KEYWORD, "x", Span(1, col, 1, col + 3)), src).splitlines()
    assert len(lines[1]) < 200
    assert lines[1][lines[2].index("^"):].startswith("bad")


def test_render_color_only_when_asked():
    src = Source("input 3\n", "m.nn")
    d = Diagnostic(codes.NO_OUTPUT, "no output", Span.point(1, 1))
    assert "\x1b[" not in render(d, src)
    assert "\x1b[" in render(d, src, color=True)


def test_diagnostic_json():
    d = Diagnostic(codes.SYNTAX, "bad", Span(1, 2, 1, 3), "fix")
    assert d.to_json("m.nn") == {"file": "m.nn", "severity": "error", "code": "E100", "message": "bad",
                                 "span": {"line": 1, "column": 2, "end_line": 1, "end_column": 3}, "hint": "fix"}


def test_did_you_mean():
    assert did_you_mean("relux", ["relu", "tanh"]) == "did you mean 'relu'?"
    assert did_you_mean("zzz", ["relu"]) is None


def test_codes_are_unique_and_described():
    names = {k: v for k, v in vars(codes).items() if k.isupper() and isinstance(v, str)}
    assert len(set(names.values())) == len(names)
    assert set(names.values()) == set(codes.DESCRIPTIONS)


# Did-you-mean drawn from the registry ---------------------------------------------------

@pytest.mark.parametrize("text, code, suggestion", [
    ("input 3\ndens 4\n", codes.UNKNOWN_LAYER, "'dense'"),
    ("input 3\ndense 4\noptimizer adamm\n", codes.UNKNOWN_OPTIMIZER, "'adam'"),
    ("input 3\ndense 4\nloss mse2\n", codes.UNKNOWN_LOSS, "'mse'"),
    ("input 3\ndense 4\nloss mse\nmetrics acuracy\n", codes.UNKNOWN_METRIC, "'accuracy'"),
    ("input 3\ndense 4 relux\n", codes.UNKNOWN_ACTIVATION, "'relu'"),
    ("input 3\ndense 4 use_bais=false\n", codes.UNKNOWN_KEYWORD, "'use_bias'"),
    ("input image 3\nx = imag -> dense 4\n", codes.UNDEFINED_TENSOR, "'image'"),
])
def test_unknown_names_suggest(text, code, suggestion, registry):
    found = diags(text, registry)
    assert [d.code for d in found] == [code]
    assert suggestion in (found[0].hint or "")


# One mistake, one diagnostic (bugs fixed while writing the suite) ------------------------

@pytest.mark.parametrize("text, expected", [
    ("input 0\ndense 3\n", [(1, 7, codes.ARG_RANGE)]),
    ("input\ndense 3\n", [(1, 1, codes.MISSING_ARG)]),
    ("input 3 dtype=float8\ndense 3\n", [(1, 15, codes.ARG_TYPE)]),
])
def test_failed_input_does_not_cascade(text, expected, registry):
    assert codes_at(text, registry) == expected


def test_unknown_bare_name_is_one_unknown_layer(registry):
    found = diags("input 3\ndense 4\nrelux\n", registry)
    assert [(d.span.line, d.code) for d in found] == [(3, codes.UNKNOWN_LAYER)]
    assert "'relu'" in found[0].hint


def test_undefined_chain_source_is_undefined_tensor(registry):
    assert codes_at("input 3\nfoo -> dense 2\n", registry) == [(2, 1, codes.UNDEFINED_TENSOR)]


def test_several_inputs_and_a_sourceless_chain(registry):
    found = diags("input a 3\ninput b 4\ndense 3\n", registry)
    assert [(d.span.line, d.span.column, d.code) for d in found] == [(3, 1, codes.TOO_MANY_INPUTS_SEQ)]
    assert "a ->" in found[0].hint or "b ->" in found[0].hint


def test_one_input_then_sourceless_chain_is_fine(registry):
    assert diags("input a 3\ndense 3\n", registry) == []


def test_fit_without_loss_points_at_fit(registry):
    assert codes_at("input 3\ndense 3\nfit epochs=2\n", registry) == [(3, 1, codes.NO_LOSS)]


def test_comment_only_file_is_empty(registry):
    assert codes_at("# nothing\n\n  ;\n", registry) == [(1, 1, codes.EMPTY)]


def test_every_error_in_a_file_is_reported(registry):
    text = "input 784\ndens 32\ndense 0\nloss mae2\nmetrics acc2\nfit epochs=0\n"
    assert [c for _, _, c in codes_at(text, registry)] == [
        codes.UNKNOWN_LAYER, codes.ARG_RANGE, codes.UNKNOWN_LOSS, codes.UNKNOWN_METRIC, codes.ARG_RANGE]


def test_diagnostics_are_sorted_by_position(registry):
    found = codes_at("input 784\ndense 3\nloss mae2\ndense 0\n", registry)
    assert found == sorted(found)


@pytest.mark.parametrize("text, code", [
    ("input 784\ndense 0\n", codes.ARG_RANGE),
    ("input 784\ndropout 1.5\n", codes.ARG_RANGE),
    ("input 784\nreshape -2 4\n", codes.ARG_RANGE),
    ("input 784\ndense 3.5\n", codes.ARG_TYPE),
    ("input 784\ndropout 0.5 0.2\n", codes.ARG_COUNT),
    ("input 784\ndense\n", codes.MISSING_ARG),
    ("input 784\ndense 3 units=4\n", codes.DUPLICATE_ARG),
    ("input 784\ndense 3 use_bias=false relu\n", codes.ARG_ORDER),
    ("input ?\ndense 3\n", codes.SHAPE),
    ("input x 4\nh = x -> dense 3\nh = x -> dense 4\noutput y = h -> dense 1\n", codes.DUPLICATE_NAME),
    ("input 4\nblock = dense 3\n", codes.RESERVED_NAME),
    ("dense 3\n", codes.NO_INPUT),
    ("input 784\n", codes.NO_OUTPUT),
    ("input x 3\noutput x\n", codes.BAD_OUTPUT),
    ("input a 3\noutput y = a -> dense 3\nloss z=mse\n", codes.UNKNOWN_OUTPUT),
    ("input a 3\noutput p = a -> dense 1\noutput q = a -> dense 2\nloss p=mse\n", codes.MISSING_LOSS),
    ("input 3\ndense 3\nloss mse\nloss mae\n", codes.DUPLICATE_STATEMENT),
    ("input a 3\ninput b 3\noutput y = a -> dense 3\n", codes.UNUSED_INPUT),
    ("input a 3\nx = a -> dense 3\ny = a -> dense 4\noutput y\n", codes.DEAD_BRANCH),
])
def test_error_classes(text, code, registry):
    assert code in [d.code for d in diags(text, registry)]


@pytest.mark.parametrize("text, legacy, modern", [
    ("input 4; dense 2; adam lr=0.01", "lr", "learning_rate"),
    ("input 4; leakyrelu alpha=0.1", "alpha", "negative_slope"),
    ("input 4; dense 2; fit nb_epoch=3", "nb_epoch", "epochs"),
])
def test_legacy_keras_keyword_names_point_at_the_keras_3_name(text, legacy, modern):
    with pytest.raises(nndsl.SpecError) as err:
        nndsl.check(text)
    (diag,) = err.value.diagnostics
    assert diag.code == "E205" and f"did you mean '{modern}'? (Keras 3 calls '{legacy}' '{modern}')" == diag.hint

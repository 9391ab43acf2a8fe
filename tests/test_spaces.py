"""Search spaces in the language: finding, validating, checking every model, the one-model refusal."""

from __future__ import annotations

import json

import pytest

from nndsl import cli, codes
from nndsl.check import check_source
from nndsl.diagnostics import Severity, Source, Span, SpecError
from nndsl.parser import parse_recovering, parse_value
from nndsl.spacecheck import MAX_PRODUCT, SpaceCheck, check_spaces
from nndsl.spaces import find_spaces, has_space, map_span, substitute

SPEC = """\
param width = choice(32, 64, 128)   # a named space
input 784
dense width choice(relu, gelu)
dropout uniform(0.1, 0.5)
repeat int(1, 3): dense 32 relu kernel_initializer=uniform(-0.05, 0.05)
dense int(16, 64, step=16) activation=choice(relu, tanh)
dense 10 softmax
adam loguniform(1e-4, 1e-2)
loss sparse_categorical_crossentropy
"""


def spaces_of(text: str, overrides=None):
    source = Source(text, "m.nn")
    module, _ = parse_recovering(source)
    return find_spaces(module, source, overrides)


def test_every_form_is_found_and_named():
    spaces, problems = spaces_of(SPEC)
    assert problems == []
    assert [(s.name, s.kind) for s in spaces] == [
        ("width", "choice"), ("dense@3", "choice"), ("dropout@4", "uniform"), ("repeat@5", "int"),
        ("dense@6", "int"), ("dense.activation@6", "choice"), ("adam@8", "loguniform")]
    width = spaces[0]
    assert width.param and width.options == ("32", "64", "128") and width.default == "32"
    assert width.span == Span(1, 15, 1, 34)
    assert spaces[4].probes() == ("16", "32", "48", "64")  # a small int range: every value
    assert spaces[2].probes() == ("0.1", "0.5")            # a real range: both ends


def test_conversion_int_and_the_uniform_initializer_are_not_spaces():
    spaces, problems = spaces_of("input 4\ndense int(7.9) kernel_initializer=uniform(-1, 1)\n")
    assert spaces == () and problems == []
    # ... and they still check as before
    assert check_source(Source("input 4\ndense int(7.9) kernel_initializer=uniform(-1, 1)\n")).model


def test_two_spaces_of_one_site_on_one_line_get_distinct_names():
    spaces, _ = spaces_of("input 4\nx = add(dense(choice(1, 2)), dense(choice(1, 2)))\n")
    assert len({s.name for s in spaces}) == len(spaces)


@pytest.mark.parametrize("text, code, where", [
    ("input 4\ndense int(8, 2)\n", codes.SPACE_BOUNDS, (2, 7)),
    ("input 4\ndense int(2.5, 8)\n", codes.SPACE_BOUNDS, (2, 11)),
    ("input 4\ndropout uniform(0.5, 0.5)\n", codes.SPACE_BOUNDS, (2, 9)),
    ("input 4\nadam loguniform(-1, 1)\n", codes.SPACE_BOUNDS, (2, 17)),
    ("input 4\ndense choice()\n", codes.SPACE_BOUNDS, (2, 7)),
    ("input 4\ndense choice(4, 4)\n", codes.SPACE_BOUNDS, (2, 17)),
    ("input 4\ndense int(1, 8, step=2)\n", codes.SPACE_BOUNDS, (2, 7)),
    ("input 4\ndense int(1, 9, step=0)\n", codes.SPACE_BOUNDS, (2, 22)),
    ("input 4\ndense choice(8, int(1, 3))\n", codes.BAD_SPACE, (2, 17)),
    ("input 4\ndense choice(x=8)\n", codes.BAD_SPACE, (2, 14)),
    ("input 4\ndense uniform(1, 2, 3)\n", codes.BAD_SPACE, (2, 7)),
    ("input 4\ndense loguniform(1, 2, step=1)\n", codes.BAD_SPACE, (2, 24)),
    ("input 4\nlet a = 3\ndense int(a, 8)\n", codes.BAD_SPACE, (3, 11)),
])
def test_malformed_spaces_are_reported_where_written(text, code, where):
    _, problems = spaces_of(text)
    assert [(d.code, d.span.line, d.span.column) for d in problems] == [(code, *where)]


def test_one_model_commands_refuse_spaces_with_a_way_out():
    with pytest.raises(SpecError) as e:
        check_source(Source(SPEC, "m.nn"))
    diags = e.value.diagnostics
    assert {d.code for d in diags} == {codes.SPACE_NOT_ALLOWED} and len(diags) == 7
    assert "--set width=32" in diags[0].hint and "nndsl tune" in diags[0].hint
    assert "param NAME" in diags[1].hint


def test_set_fixes_a_param_space():
    text = "param width = choice(32, 64)\ninput 4\ndense width\nloss mse\n"
    model = check_source(Source(text), overrides={"width": parse_value("64")}).model
    assert model.nodes[0].shape == (64,)
    assert not has_space(parse_value("64")) and has_space(parse_value("choice(1, 2)"))


def test_set_refuses_a_space(capsys, tmp_path):
    spec = tmp_path / "m.nn"
    spec.write_text("param width = choice(32, 64)\ninput 4\ndense width\nloss mse\n")
    assert cli.main(["check", str(spec), "--set", "width=choice(1, 2)"]) == 2
    assert "not a search space" in capsys.readouterr().err


def test_substitution_keeps_everything_else_and_maps_spans_back():
    source = Source(SPEC, "m.nn")
    spaces, _ = spaces_of(SPEC)
    values = {"width": "128", "dense.activation@6": "tanh", "adam@8": "0.003"}
    text = substitute(source, spaces, values)
    assert text.splitlines()[0] == "param width = 128   # a named space"
    assert text.splitlines()[5] == "dense 16 activation=tanh"
    assert text.splitlines()[7] == "adam 0.003"
    # `activation=tanh` in the new line 6 begins at column 10; in the original at 28 (after int(...))
    assert map_span(Span(6, 10, 6, 25), spaces, values) == Span(6, 28, 6, 57)  # ends inside: the whole space
    assert map_span(Span(6, 1, 6, 6), spaces, values) == Span(6, 1, 6, 6)


def test_check_covers_every_combination_and_the_parameter_range():
    result = check_spaces(Source(SPEC, "m.nn"), overrides={"width": parse_value("48")})
    assert isinstance(result, SpaceCheck) and result.exhaustive
    spaces = result.spaces
    assert result.checked == 2 * 2 * 3 * 4 * 2 * 2 == result.valid
    # the range is the fewest and most parameters of the models written out one by one
    totals = []
    for count in ("1", "3"):
        for units in ("16", "64"):
            text = substitute(Source(SPEC), spaces, {"repeat@5": count, "dense@6": units})
            totals.append(check_source(Source(text), overrides={"width": parse_value("48")}).model.params.total)
    assert result.params == (min(totals), max(totals))
    assert result.values["repeat@5"] == "1" and result.result.model.params.total == min(totals)


def test_one_at_a_time_still_finds_the_largest_model():
    result = check_spaces(Source(SPEC))
    assert not result.exhaustive and result.checked == 13
    largest = substitute(Source(SPEC), result.spaces, {"width": "128", "repeat@5": "3", "dense@6": "64"})
    assert result.params[1] == check_source(Source(largest)).model.params.total


def test_a_value_that_breaks_every_model_is_an_error_naming_value_and_line():
    text = "input 12\ndense choice(12, 10) relu\nreshape (3, 4)\nloss mse\n"
    with pytest.raises(SpecError) as e:
        check_spaces(Source(text, "m.nn"))
    (d,) = e.value.diagnostics
    assert d.code == codes.SPACE_VALUE_INVALID and d.span == Span(2, 7, 2, 21)
    assert "dense@2 = 10" in d.message and "line 3" in d.message and "reshape" in d.message
    assert "drop 10" in d.hint


def test_values_that_break_some_combinations_warn_once_each():
    text = "input 4\ndense choice(12, 6)\nreshape choice((3, 4), (2, 3))\nloss mse\n"
    result = check_spaces(Source(text, "m.nn"))
    assert [(d.code, d.severity) for d in result.warnings] == [(codes.SPACE_VALUE_SOMETIMES_INVALID,
                                                               Severity.WARNING)] * 4
    assert result.valid == 2 and result.checked == 4


def test_a_value_known_bad_is_not_blamed_on_the_other_spaces():
    text = "input 12\ndense choice(12, 10) relu\nreshape (3, 4)\ndense choice(4, 6)\nloss mse\n"
    with pytest.raises(SpecError) as e:
        check_spaces(Source(text, "m.nn"))
    assert [d.code for d in e.value.diagnostics] == [codes.SPACE_VALUE_INVALID]


def test_when_no_model_is_valid_the_errors_are_placed_in_the_text_as_written():
    text = "input 4\ndense choice(32, 64) nosuchact\nloss mse\n"
    with pytest.raises(SpecError) as e:
        check_spaces(Source(text, "m.nn"))
    (d,) = e.value.diagnostics
    assert d.code == codes.UNKNOWN_ACTIVATION and d.span == Span(2, 22, 2, 31)


def test_many_spaces_are_checked_one_at_a_time():
    lines = ["input 4"] + [f"dense choice(2, 3, 4) relu" for _ in range(6)] + ["loss mse"]
    result = check_spaces(Source("\n".join(lines) + "\n"))
    assert 3 ** 6 > MAX_PRODUCT and not result.exhaustive
    assert result.checked == 1 + 6 * 2 + 1


def test_spaces_in_an_included_file_are_refused(tmp_path):
    (tmp_path / "blocks.nn").write_text("block head(x):\n    output x -> dense choice(8, 16)\n")
    spec = tmp_path / "m.nn"
    spec.write_text('include "blocks.nn"\ninput 4\nhead\nloss mse\n')
    with pytest.raises(SpecError) as e:
        check_spaces(Source(spec.read_text(), str(spec)))
    first = e.value.diagnostics[0]
    assert first.code == codes.SPACE_IN_INCLUDE and first.origin.filename.endswith("blocks.nn")
    assert first.span == Span(2, 23, 2, 36)


def test_spaces_inside_blocks_and_repeat_counts(tmp_path):
    text = ("block mlp(x, units=choice(8, 16)):\n    output x -> dense units relu\n"
            "input 4\nrepeat int(1, 2): mlp\ndense 1\nloss mse\n")
    result = check_spaces(Source(text))
    assert [s.name for s in result.spaces] == ["mlp.units@1", "repeat@4"]
    assert result.valid == 4


def test_cli_check_and_summary(tmp_path, capsys):
    spec = tmp_path / "m.nn"
    spec.write_text(SPEC)
    assert cli.main(["check", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "7 search spaces" in out and "13 of 13 models checked valid" in out
    assert cli.main(["check", "--format", "json", str(spec)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["search"]["models_valid"] == 13 and report["search"]["spaces"][0]["name"] == "width"
    assert report["search"]["params"]["min"] == report["params"]
    assert cli.main(["summary", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "Search spaces" in out and "width" in out and "Params over 13 valid checked models" in out


def test_run_refuses_a_spec_with_spaces(tmp_path, capsys):
    spec = tmp_path / "m.nn"
    spec.write_text(SPEC + "data mnist\n")
    assert cli.main(["run", str(spec), "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert "E606" in err and "nndsl tune" in err
    assert not (tmp_path / "runs").exists()


@pytest.mark.keras
def test_parameter_range_matches_keras(tmp_path):
    """The ends of the range are the parameter counts of the real Keras models."""
    import nndsl

    result = check_spaces(Source(SPEC))
    counts = []
    for width, count, units in (("32", "1", "16"), ("128", "3", "64")):
        text = substitute(Source(SPEC), result.spaces, {"width": width, "repeat@5": count, "dense@6": units})
        counts.append(nndsl.build(text).count_params())
    assert tuple(counts) == result.params

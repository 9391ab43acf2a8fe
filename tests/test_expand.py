"""Language v2: the expansion pass (blocks, repeat, expressions, defaults, params, includes, asserts)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nndsl import codes
from nndsl.check import check_source
from nndsl.diagnostics import Source, SpecError
from nndsl.expand import _make_divisible


def check(text: str, registry, **kw):
    return check_source(Source(text, "m.nn"), registry, **kw).model


def errors(text: str, registry, **kw) -> list:
    with pytest.raises(SpecError) as info:
        check_source(Source(text, "m.nn"), registry, **kw)
    return [d for d in info.value.diagnostics if d.is_error]


def dense_units(model) -> list[int]:
    return [n.attr["units"] for n in model.nodes if n.op == "dense"]


# Expressions follow Python exactly ------------------------------------------------------

_INTS = st.integers(min_value=-1000, max_value=1000)


def _registry():
    from nndsl.plugins import build_registry, get_plugin_manager

    return build_registry(get_plugin_manager(load_entrypoints=False))


_SHARED = _registry()


@settings(max_examples=60, deadline=None)
@given(a=_INTS, b=_INTS.filter(lambda v: v != 0), c=st.floats(min_value=-50, max_value=50))
def test_integer_division_rounding_and_modulo_match_python(a, b, c):
    model = check(f"let a = {a}\nlet b = {b}\nlet c = {c!r}\ninput 3\ndense ((a // b) % 997 + 1)\n"
                  f"dense (abs(a % b) + 1)\ndense (abs(round(c)) + 1)\ndense (abs(int(c / 3)) + 1)\n", _SHARED)
    assert dense_units(model) == [(a // b) % 997 + 1, abs(a % b) + 1, abs(round(c)) + 1, abs(int(c / 3)) + 1]


@pytest.mark.parametrize("expr, value", [
    ("7 // 2", 3), ("-7 // 2", -4), ("-7 % 3", 2), ("2 ** 10", 1024), ("round(2.5)", 2), ("round(3.5)", 4),
    ("int(7 / 2)", 3), ("max(1, 5, 3)", 5), ("min(4, 2)", 2), ("ceil(1.1)", 2), ("floor(-0.5) + 2", 1),
    ("3 if 1 < 2 < 3 else 4", 3), ("5 if not (1 == 1) else 6", 6), ("(1 and 7) or 9", 7), ("(0 or 8)", 8),
    ("(4, 5, 6)[-1]", 6), ("len((1, 2, 3))", 3), ("2 * 3 + 4", 10), ("2 * (3 + 4)", 14), ("-(-3)", 3),
])
def test_expression_values(expr, value, registry):
    assert dense_units(check(f"let v = {expr}\ninput 3\ndense (v + 100)\n", registry)) == [value + 100]


@settings(max_examples=80, deadline=None)
@given(v=st.floats(min_value=1, max_value=5000, allow_nan=False), divisor=st.sampled_from([1, 2, 4, 8, 16]))
def test_make_divisible_is_the_keras_function(v, divisor):
    def keras_make_divisible(v, divisor, min_value=None):  # keras.applications.mobilenet_v2, verbatim
        if min_value is None:
            min_value = divisor
        new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
        if new_v < 0.9 * v:
            new_v += divisor
        return new_v
    assert _make_divisible(v, divisor) == keras_make_divisible(v, divisor)


@pytest.mark.keras
def test_make_divisible_matches_keras_source():
    from keras.src.applications import mobilenet_v2

    for v in (3.5, 16 * 0.35, 24, 32 * 1.4, 96 * 0.75, 1280 * 1.3):
        assert _make_divisible(v, 8) == mobilenet_v2._make_divisible(v, 8)


def test_shape_and_channels_in_expressions(registry):
    model = check("input x 8 8 3\ny = x -> conv2d (channels(x) * 6) 1\n"
                  "z = y -> conv2d (y.shape[-1] // 2) 1 strides=(2 if y.shape[0] > 4 else 1)\n", registry)
    assert model.tensor_shape("y") == (8, 8, 18)
    assert model.tensor_shape("z") == (4, 4, 9)


# Blocks ---------------------------------------------------------------------------------

RESIDUAL = """
block res(x, filters, project=false):
    if project or channels(x) != filters:
        s = x -> conv2d filters 1
    else:
        s = x
    y = x -> conv2d filters 3 padding=same -> relu
    output add(s, y)
"""


def test_block_in_a_chain_binds_the_chained_tensor_first(registry):
    model = check(RESIDUAL + "input x 8 8 4\na = x -> res 4\nb = a -> res 8\n", registry)
    assert [n.name for n in model.nodes] == ["res_conv2d", "res_y", "a", "res_1_s", "res_1_conv2d",
                                            "res_1_y", "b"]
    assert model.tensor_shape("b") == (8, 8, 8)


def test_paren_call_binds_in_order_and_block_path_is_recorded(registry):
    model = check(RESIDUAL + "input x 8 8 4\nb = res(x, 4, project=true, name=stage1)\n", registry)
    assert model.node("stage1_s").block_path == ("stage1:res",)
    assert model.node("b").block_path == ("stage1:res",)


def test_defaults_reach_into_called_blocks_and_explicit_wins(registry):
    text = ("block bn(x):\n    output x -> batchnorm\n"
            "default batchnorm epsilon=0.01\ninput x 4\na = x -> bn\nb = a -> batchnorm epsilon=0.5\n")
    model = check(text, registry)
    assert model.node("a").attr["epsilon"] == 0.01
    assert model.node("b").attr["epsilon"] == 0.5


def test_an_error_in_a_block_is_reported_once_with_its_call_sites(registry):
    text = "block unit(x, f):\n    output x -> dense f\n\ninput x 3\na = x -> repeat 4 unit 0\n"
    (diag,) = errors(text, registry)
    assert (diag.code, diag.span.line) == (codes.ARG_RANGE, 2)
    assert diag.notes == ["in block 'unit' called from m.nn:5:19"]


def test_repeat_zero_is_the_identity_and_copies_are_numbered(registry):
    model = check("input x 4\na = x -> repeat 0 dense 3\nb = a -> repeat 3 dense 2 name=t\n", registry)
    assert [n.name for n in model.nodes] == ["t_1", "t_2", "t_3"]


def test_two_independent_errors_after_a_syntax_slip(registry):
    found = errors("input 784\ndropout 0,5\ndense 32 relux\ny = dens 3\n", registry)
    assert [(d.span.line, d.code) for d in found] == [(2, codes.SYNTAX), (3, codes.UNKNOWN_ACTIVATION),
                                                     (4, codes.UNKNOWN_LAYER)]


# Params, asserts, includes ---------------------------------------------------------------

def test_param_override(registry):
    from nndsl.parser import parse_value

    model = check("param classes = 10\ninput 3\ndense classes\n", registry, overrides={"classes": parse_value("4")})
    assert dense_units(model) == [4]
    (diag,) = errors("input 3\ndense 2\n", registry, overrides={"nope": parse_value("4")})
    assert diag.code == codes.UNKNOWN_PARAM


def test_failed_assertion_shows_the_actual_value(registry):
    (diag,) = errors("input 784\ndense 32\nassert params < 25k\n", registry)
    assert diag.code == codes.ASSERTION_FAILED
    assert diag.message == "params is 25,120, not < 25k"


def test_include_relative_to_the_including_file_and_cycles(tmp_path, registry):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "blocks.nn").write_text("block two(x):\n    output x -> dense 2\n")
    main = tmp_path / "main.nn"
    main.write_text('include "sub/blocks.nn"\ninput x 3\ny = x -> two\n')
    from nndsl.check import read_source

    assert check_source(read_source(str(main)), registry).model.node("y").attr["units"] == 2
    (tmp_path / "a.nn").write_text('include "b.nn"\n')
    (tmp_path / "b.nn").write_text('include "a.nn"\n')
    main.write_text('include "a.nn"\ninput 3\ndense 2\n')
    with pytest.raises(SpecError) as info:
        check_source(read_source(str(main)), registry)
    (diag,) = info.value.diagnostics
    assert diag.code == codes.INCLUDE_CYCLE and "a.nn -> " in diag.message and diag.message.endswith("a.nn")


# Found writing the zoo (spec/examples/zoo) ----------------------------------------------

def test_a_block_starting_a_statement_continues_the_implicit_chain(registry):
    """Like a layer, a block at the start of a statement takes the previous result as its input."""
    text = "block widen(x, n):\n    output x -> dense n\ninput 8\ndense 4\nwiden 3\nwiden 5 -> dense 2\n"
    model = check(text, registry)
    assert dense_units(model) == [4, 3, 5, 2]
    assert [n.inputs for n in model.nodes][1:] == [(model.nodes[0].name,), (model.nodes[1].name,),
                                                    (model.nodes[2].name,)]


def test_a_name_passed_to_a_block_parameter_reaches_the_layer(registry):
    text = ("block b(x, act=relu, n=4):\n    output x -> dense n act\n"
            "block c(x, act=relu):\n    output x -> dense 4 activation=act\n"
            "input z 8\ny = z -> b act=tanh\nw = z -> b\nv = z -> c act=gelu\noutput y\noutput w\noutput v\n")
    model = check(text, registry)
    assert [n.attr["activation"] for n in model.nodes] == ["tanh", "relu", "gelu"]


# Tools: nndsl expand, --set, summary by block, IR JSON -------------------------------------

CONFORMANCE = sorted((__import__("pathlib").Path(__file__).resolve().parent.parent / "spec" / "conformance" / "valid")
                     .glob("*.nn"))


def _comparable(model) -> list:
    """The IR without what naming style may change (spans, who named a layer)."""
    from nndsl import ir

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("span", "fit_span", "user_named", "block_path")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    data = strip(ir.to_json(model))
    data.pop("name")
    return data


@pytest.mark.parametrize("case", CONFORMANCE, ids=lambda p: p.stem)
def test_expand_output_checks_to_the_same_model(case, registry, capsys):
    from nndsl import cli
    from nndsl.check import read_source

    original = check_source(read_source(str(case)), registry).model
    assert cli.main(["expand", str(case)]) == 0
    flat = capsys.readouterr().out
    again = check_source(Source(flat, "flat.nn"), registry).model
    assert _comparable(again) == _comparable(original)
    body = flat.split("\n", 1)[1]
    assert not __import__("re").search(r"^\s*(block|let|param|default|include)\b|\brepeat \d", body, flags=8)


def test_set_on_the_command_line(tmp_path, capsys):
    from nndsl import cli

    spec = tmp_path / "m.nn"
    spec.write_text("param classes = 10\nparam width = 8\ninput x 4\nh = x -> dense width -> dense classes\n")
    assert cli.main(["check", str(spec), "--set", "classes=3", "--set", "width=2 * 4"]) == 0
    assert "ok: 2 layers, 67 params" in capsys.readouterr().out
    assert cli.main(["check", str(spec), "--set", "clases=3"]) == 1
    assert "E212" in capsys.readouterr().err
    for bad in ("classes", "classes=3 +", "1x=3"):
        assert cli.main(["summary", str(spec), "--set", bad]) == 2
        assert "--set" in capsys.readouterr().err
    assert cli.main(["expand", str(spec), "--set", "classes=5"]) == 0
    assert "h = x -> dense 8 name=dense -> dense 5\n" in capsys.readouterr().out


def test_summary_folds_block_instances_unless_expanded(capsys):
    from nndsl import cli

    case = [p for p in CONFORMANCE if p.stem == "v2_blocks"][0]
    assert cli.main(["summary", str(case)]) == 0
    folded = capsys.readouterr().out
    assert "conv2_block1 (bottleneck, 12 layers)" in folded and "conv2_block1_s" not in folded
    assert cli.main(["summary", "--expand", str(case)]) == 0
    full = capsys.readouterr().out
    assert "conv2_block1_s (BatchNormalization)" in full
    assert folded.splitlines()[-4:] == full.splitlines()[-4:]  # same totals


def test_version_1_ir_json_still_loads(registry):
    from nndsl import ir

    model = check("input x 4\ny = x -> dense 3\n", registry)
    data = ir.to_json(model)
    assert data["schema_version"] == 2
    data["schema_version"] = 1
    for n in data["nodes"]:
        del n["block_path"]
    assert ir.from_json(data).nodes[0].block_path == ()
    assert ir.from_json(ir.to_json(check(RESIDUAL + "input x 8 8 4\nb = x -> res 4 name=s\n", registry))) \
        .node("b").block_path == ("s:res",)


def test_a_bare_relu_in_a_block_is_named_as_the_activation_it_is(registry):
    """`relu` alone is Activation('relu'), named activation; `relu 6` is Keras' ReLU layer, re_lu."""
    model = check("block b(x):\n    output x -> relu -> relu 6\ninput 4\nb\n", registry)
    assert [(n.name, n.op) for n in model.nodes] == [("b_activation", "activation"), ("b_re_lu", "relu")]

"""Bad uses of recurrent, bidirectional, attention and merge layers: each one a located diagnostic."""

from __future__ import annotations

import pytest

import nndsl


def diagnostics(text, registry):
    with pytest.raises(nndsl.SpecError) as info:
        nndsl.check(text, registry=registry)
    return [d for d in info.value.diagnostics if d.is_error]


def only_error(text, registry):
    errors = diagnostics(text, registry)
    assert len(errors) == 1, errors
    return errors[0]


@pytest.mark.parametrize("rnn", ["lstm", "gru", "simplernn"])
def test_recurrent_layer_on_flat_input_suggests_a_reshape(rnn, registry):
    d = only_error(f"input 784\n{rnn} 32", registry)
    assert d.code == "E400"
    assert "expects (batch, steps, features), got (None, 784)" in d.message
    assert d.hint is not None and "reshape 28 28" in d.hint
    assert (d.span.line, d.span.column) == (2, 1)


def test_recurrent_layer_on_image_suggests_merging_axes(registry):
    d = only_error("input 28 28 3\nlstm 8", registry)
    assert d.code == "E400" and "reshape -1 84" in d.hint


def test_recurrent_layer_needs_known_features(registry):
    d = only_error("input 10 ?\ngru 8", registry)
    assert d.code == "E400" and "known number of features" in d.message


@pytest.mark.parametrize("option", ["return_state", "stateful"])
def test_options_giving_several_outputs_or_fixed_batches_are_refused(option, registry):
    d = only_error(f"input 10 8\nlstm 4 {option}=true", registry)
    assert d.code == "E302" and option in d.message and d.hint


def test_return_state_false_is_accepted(registry):
    model = nndsl.check("input 10 8\nlstm 4 return_state=false", registry=registry)
    assert model.nodes[0].shape == (4,)


def test_unit_forget_bias_is_lstm_only_and_reset_after_gru_only(registry):
    assert only_error("input 10 8\ngru 4 unit_forget_bias=false", registry).code == "E205"
    assert only_error("input 10 8\nlstm 4 reset_after=false", registry).code == "E205"


def test_gru_reset_after_changes_the_parameter_count(registry):
    after = nndsl.check("input 10 8\ngru 4", registry=registry).params.total
    before = nndsl.check("input 10 8\ngru 4 reset_after=false", registry=registry).params.total
    assert after - before == 3 * 4


def test_bidirectional_counts_two_copies_and_doubles_concat(registry):
    one = nndsl.check("input 10 8\nlstm 6 return_sequences=true", registry=registry).nodes[0]
    two = nndsl.check("input 10 8\nbidirectional lstm 6 return_sequences=true", registry=registry).nodes[0]
    summed = nndsl.check("input 10 8\nbidirectional lstm 6 merge_mode=sum", registry=registry).nodes[0]
    assert two.params.total == 2 * one.params.total
    assert two.shape == (10, 12) and summed.shape == (6,)
    assert two.attr["layer"] == "lstm" and two.name == "bidirectional"


def test_bidirectional_of_a_non_recurrent_layer(registry):
    d = only_error("input 10 8\nbidirectional dense 4", registry)
    assert d.code == "E301" and "not a recurrent layer" in d.message and "lstm" in d.message
    assert (d.span.line, d.span.column) == (2, 15)


def test_bidirectional_of_a_misspelled_layer_suggests_one(registry):
    d = only_error("input 10 8\nbidirectional lstn 4", registry)
    assert d.code == "E301" and d.hint == "did you mean 'lstm'?"


def test_bidirectional_needs_a_layer_name(registry):
    assert only_error("input 10 8\nbidirectional 4", registry).code == "E301"
    assert only_error("input 10 8\nbidirectional", registry).code == "E303"


def test_bidirectional_checks_the_inner_arguments(registry):
    assert only_error("input 10 8\nbidirectional gru 4 unit_forget_bias=true", registry).code == "E205"
    assert only_error("input 10 8\nbidirectional lstm 0", registry).code == "E302"
    assert only_error("input 10 8\nbidirectional lstm 4 merge_mode=concatenate", registry).code == "E301"


@pytest.mark.parametrize("option", ["merge_mode=none", "go_backwards=true", "return_state=true"])
def test_bidirectional_refuses_what_keras_cannot_build_as_one_output(option, registry):
    d = only_error(f"input 10 8\nbidirectional lstm 4 {option}", registry)
    assert d.code == "E302" and d.hint


def test_bidirectional_lowers_to_a_nested_keras_call(registry):
    from nndsl.backends.keras import KerasCall, KerasLowering

    node = nndsl.check("input 10 8\nbidirectional gru 4 relu reset_after=false merge_mode=ave",
                       registry=registry).nodes[0]
    call = KerasLowering(registry).call("bidirectional", node.attr, node.explicit)
    assert call == KerasCall("Bidirectional", (KerasCall("GRU", (4,), (("activation", "relu"),
                                                                       ("reset_after", False))),),
                             (("merge_mode", "ave"),))


def test_attention_key_and_value_must_cover_the_same_positions(registry):
    d = only_error("input q 4 8\ninput v 6 8\ninput k 5 8\ny = multiheadattention(q, v, k, num_heads=2, key_dim=4)",
                   registry)
    assert d.code == "E400" and "value and key" in d.message


def test_attention_inputs_need_one_rank_and_a_sequence(registry):
    assert only_error("input q 4 8\ninput v 2 3 8\ny = multiheadattention(q, v, num_heads=2, key_dim=4)",
                      registry).code == "E400"
    assert only_error("input 8\nmultiheadattention 2 4", registry).code == "E400"
    assert only_error("input 4 ?\nmultiheadattention 2 4", registry).code == "E400"


def test_attention_takes_at_most_three_inputs(registry):
    text = "input a 4 8\ninput b 4 8\ny = a -> multiheadattention(a, b, b, num_heads=2, key_dim=4)"
    assert only_error(text, registry).code == "E306"


def test_add_of_different_sizes_suggests_a_projection(registry):
    d = only_error("input a 32\ninput b 16\ny = add(a, b)", registry)
    assert d.code == "E400"
    assert "same shape" in d.message and "a (None, 32)" in d.message and "b (None, 16)" in d.message
    assert "dense 32" in d.hint


@pytest.mark.parametrize("op", ["add", "subtract", "multiply", "average", "maximum", "minimum"])
def test_elementwise_merges_need_matching_shapes(op, registry):
    assert only_error(f"input a 4 8\ninput b 5 8\ny = {op}(a, b)", registry).code == "E400"


def test_merges_need_two_inputs_and_subtract_exactly_two(registry):
    assert only_error("input a 8\ny = a -> add", registry).code == "E306"
    assert only_error("input a 8\ninput b 8\ninput c 8\ny = subtract(a, b, c)", registry).code == "E306"
    assert only_error("input a 8\ninput b 8\ninput c 8\ny = dot(a, b, c, axes=1)", registry).code == "E306"


def test_concat_needs_matching_shapes_off_the_axis(registry):
    d = only_error("input a 4 8\ninput b 5 8\ny = concat(a, b)", registry)
    assert d.code == "E400" and "except on axis -1" in d.message and "axis=1" in d.hint
    assert only_error("input a 8\ninput b 4 8\ny = concat(a, b)", registry).code == "E400"


@pytest.mark.parametrize("axis", ["0", "3", "-4"])
def test_concat_axis_must_name_a_non_batch_axis(axis, registry):
    assert only_error(f"input a 4 8\ninput b 4 8\ny = concat(a, b, axis={axis})", registry).code == "E400"


def test_concat_shape_sums_the_axis(registry):
    model = nndsl.check("input a 4 8\ninput b 6 8\ny = concatenate(a, b, axis=1)", registry=registry)
    assert model.nodes[0].shape == (10, 8) and model.nodes[0].op == "concat"


def test_dot_checks_its_axes(registry):
    assert only_error("input a 4 8\ninput b 4 6\ny = dot(a, b, axes=2)", registry).code == "E400"
    assert only_error("input a 4 8\ninput b 4 8\ny = dot(a, b, axes=0)", registry).code == "E400"
    assert only_error("input a 4 8\ninput b 4 8\ny = dot(a, b)", registry).code == "E303"


def test_tensor_arguments_must_be_names(registry):
    assert only_error("input a 8\ny = add(a, 3)", registry).code == "E306"

"""Recurrent layers, the bidirectional wrapper and attention against real Keras (the oracle)."""

from __future__ import annotations

import pytest

from parity import assert_keras_parity

pytestmark = pytest.mark.keras

RNN_CASES = [
    "input 10 8\n{rnn} 16",
    "input 10 8\n{rnn} 16 return_sequences=true",
    "input 10 8\n{rnn} 16 relu use_bias=false",
    "input ? 8\n{rnn} 5 return_sequences=true",
    "input ? 8\n{rnn} 5 go_backwards=true dropout=0.2 recurrent_dropout=0.1",
    "input ? 8\n{rnn} 5 unroll=true",
    "input 7 3\n{rnn} 4 unroll=true return_sequences=true",
    "input 12 6\n{rnn} 8 return_sequences=true\n{rnn} 4",
    "input 12 6\n{rnn} 8 return_state=false",
    "input 12 6\n{rnn} 8 stateful=false kernel_initializer=he_normal seed=3",
    "input ? dtype=int32\nembedding 100 8\n{rnn} 6",
]

EXTRA_CASES = [
    "input 10 8\ngru 16 reset_after=false",
    "input 10 8\ngru 16 reset_after=false use_bias=false",
    "input 10 8\ngru 16 reset_after=true use_bias=false",
    "input ? 8\ngru 3 recurrent_activation=hard_sigmoid return_sequences=true",
    "input 10 8\nlstm 16 unit_forget_bias=false",
    "input 10 8\nlstm 16 unit_forget_bias=false use_bias=false recurrent_activation=tanh",
    "input 784\nreshape 28 28\nlstm 32\ndense 10 softmax",
]

BIDIRECTIONAL_CASES = [
    f"input {steps} 8\nbidirectional {rnn} 6 {extra}merge_mode={mode}"
    for rnn in ("lstm", "gru", "simplernn")
    for mode in ("concat", "sum", "mul", "ave")
    for steps, extra in (("10", ""), ("?", "return_sequences=true "))
] + [
    "input 10 8\nbidirectional lstm 6",
    "input 10 8\nbidirectional gru 6 reset_after=false use_bias=false return_sequences=true",
    "input 10 8\nbidirectional lstm 6 return_sequences=true\nbidirectional gru 3",
    "input 10 8\nbidirectional simplernn 4 relu go_backwards=false",
]

ATTENTION_CASES = [
    "input 10 16\nmultiheadattention 4 8",
    "input ? 16\nmultiheadattention 2 4 value_dim=3",
    "input 10 16\nmultiheadattention 2 4 output_shape=7",
    "input 10 16\nmultiheadattention 2 4 use_bias=false",
    "input 10 16\nmultiheadattention 2 4 use_bias=false value_dim=5 output_shape=9",
    "input 10 16\nmultiheadattention 2 4 use_gate=true",
    "input 10 16\nmultiheadattention 2 4 use_gate=true use_bias=false",
    "input 10 16\nmultiheadattention 1 4 dropout=0.1",
    "input 4 5 6\nmultiheadattention 2 3",
    "input q 4 8\ninput v 6 12\ny = multiheadattention(q, v, num_heads=2, key_dim=5)",
    "input q 4 8\ninput v 6 12\ny = q -> multiheadattention(v, num_heads=2, key_dim=5, value_dim=7)",
    "input q 4 8\ninput v 6 12\ninput k 6 3\ny = multiheadattention(q, v, k, num_heads=3, key_dim=2)",
    "input q ? 8\ninput v ? 12\ninput k ? 3\ny = multiheadattention(q, v, k, num_heads=3, key_dim=2, output_shape=4)",
    "input q 2 3 8\ninput v 4 5 6\ny = multiheadattention(q, v, num_heads=2, key_dim=4)",
    "input q 4 8\ninput v 6 12\ny = multiheadattention(q, v, num_heads=2, key_dim=4, use_bias=false, use_gate=true)",
    "input 10 16\nx = multiheadattention 2 8\ny = add(input_layer, x)\nlayernorm",
]


@pytest.mark.parametrize("rnn", ["simplernn", "lstm", "gru"])
@pytest.mark.parametrize("template", RNN_CASES)
def test_recurrent_layer_matches_keras(template, rnn, registry):
    assert_keras_parity(template.format(rnn=rnn), registry)


@pytest.mark.parametrize("text", EXTRA_CASES)
def test_gru_and_lstm_options_match_keras(text, registry):
    assert_keras_parity(text, registry)


@pytest.mark.parametrize("text", BIDIRECTIONAL_CASES)
def test_bidirectional_matches_keras(text, registry):
    assert_keras_parity(text, registry)


@pytest.mark.parametrize("text", ATTENTION_CASES)
def test_multi_head_attention_matches_keras(text, registry):
    assert_keras_parity(text, registry)

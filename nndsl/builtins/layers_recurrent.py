"""Built-in sequence layers: simplernn, lstm, gru, the bidirectional wrapper, multi-head attention.

Each rule mirrors Keras 3 exactly (``keras.layers.LSTM``, ``Bidirectional``,
``MultiHeadAttention``); the parity tests build the real layers and compare.
Options that would give a layer several outputs (``return_state``, ``merge_mode=none``) are
rejected with a message: a layer here produces one tensor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .. import ast
from ..diagnostics import did_you_mean
from ..hookspecs import hookimpl
from ..params import Activation, ArgError, Bool, Choice, Float, Int, Optional, Param, describe
from ..registry import LayerDef, ParamCount, ShapeError
from .common import constraint, fmt, initializer, macs, regularizer

RECURRENT = "recurrent"


@dataclass(frozen=True)
class _NotTrue(Bool):
    """A boolean Keras option nndsl cannot support when true; ``false`` is passed through."""

    why: str = ""
    hint: str = ""

    def convert(self, value, ctx):
        if super().convert(value, ctx):
            raise ArgError(self.why, hint=self.hint, code="range")
        return False


_RATE = Float(min=0.0, max=1.0, max_open=True)


# recurrent layers ---------------------------------------------------------------------------

def _rnn_params(name: str, gates: bool) -> tuple[Param, ...]:
    """The signature Keras' SimpleRNN/LSTM/GRU share; ``gates`` adds recurrent_activation."""
    params = [Param("units", Int(min=1), positional=True, doc="size of the state and output"),
              Param("activation", Activation(), default="tanh", positional=True)]
    if gates:
        params.append(Param("recurrent_activation", Activation(), default="sigmoid"))
    params += [Param("use_bias", Bool(), default=True),
               initializer("kernel_initializer", "glorot_uniform"),
               initializer("recurrent_initializer", "orthogonal"),
               initializer("bias_initializer", "zeros")]
    if name == "lstm":
        params.append(Param("unit_forget_bias", Bool(), default=True))
    params += [regularizer("kernel_regularizer"), regularizer("recurrent_regularizer"),
               regularizer("bias_regularizer"), regularizer("activity_regularizer"),
               constraint("kernel_constraint"), constraint("recurrent_constraint"), constraint("bias_constraint"),
               Param("dropout", _RATE, default=0.0, doc="input dropout"),
               Param("recurrent_dropout", _RATE, default=0.0, doc="state dropout"),
               Param("seed", Optional(Int(min=0)), default=None),
               Param("return_sequences", Bool(), default=False, doc="output every step, not just the last"),
               Param("return_state", _NotTrue(
                   why="return_state=true gives several outputs, which a layer in nndsl cannot have",
                   hint=f"return the sequence instead: {name} 64 return_sequences=true"), default=False),
               Param("go_backwards", Bool(), default=False),
               Param("stateful", _NotTrue(
                   why="stateful=true needs a fixed batch size, which nndsl models do not have",
                   hint="drop stateful; state is reset for every batch"), default=False),
               Param("unroll", Bool(), default=False)]
    if name == "gru":
        params.append(Param("reset_after", Bool(), default=True, doc="apply the reset gate after the matmul"))
    return tuple(params)


def _reshape_hint(name: str, shape: Sequence[Any]) -> str:
    """How to get a (steps, features) shape from what the user has."""
    if len(shape) == 1 and shape[0] is not None:
        n = shape[0]
        features = max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)
        return f"reshape it into (steps, features) first: reshape {n // features} {features}"
    if len(shape) == 1:
        return "a recurrent layer needs a sequence; give the input a steps axis: input ? 16"
    if len(shape) > 2 and all(d is not None for d in shape[1:]):
        return f"merge the trailing axes first: reshape -1 {math.prod(shape[1:])}"
    return f"{name} reads a sequence of feature vectors; reshape to (steps, features) first"


def _sequence_shape(name: str, shape: Sequence[Any]) -> tuple[Any, int]:
    """(steps, features) of a recurrent layer's input, or a ShapeError with a fix."""
    if len(shape) != 2:
        raise ShapeError(f"expects (batch, steps, features), got {fmt(shape)}", _reshape_hint(name, shape))
    steps, features = shape
    if features is None:
        raise ShapeError(f"needs a known number of features, got {fmt(shape)}",
                         f"{name} creates weights from the last dimension; give it a fixed size")
    return steps, features


def _rnn_shape(name: str):
    def rule(a: Mapping[str, Any], shapes) -> tuple:
        steps, _ = _sequence_shape(name, shapes[0])
        return (steps, a["units"]) if a["return_sequences"] else (a["units"],)
    return rule


def _rnn_count(gates: int, name: str):
    def rule(a: Mapping[str, Any], shapes) -> ParamCount:
        _, features = _sequence_shape(name, shapes[0])
        units = a["units"]
        bias = 0
        if a["use_bias"]:
            bias = gates * units * (2 if name == "gru" and a["reset_after"] else 1)
        return ParamCount(gates * units * (features + units) + bias)
    return rule


def _rnn_macs(gates: int, name: str):
    def rule(a: Mapping[str, Any], shapes) -> int:
        # each step: the input and the previous state through every gate's kernel
        steps, features = _sequence_shape(name, shapes[0])
        return macs(steps, gates, a["units"], features + a["units"])
    return rule


def _rnn(name: str, auto_name: str, gates: int, doc: str) -> LayerDef:
    return LayerDef(name, auto_name, _rnn_params(name, gates > 1), _rnn_shape(name), _rnn_count(gates, name),
                    count_macs=_rnn_macs(gates, name), doc=doc, category=RECURRENT)


SIMPLE_RNN = _rnn("simplernn", "simple_rnn", 1, "Fully connected recurrent layer: lstm's simplest relative.")
LSTM = _rnn("lstm", "lstm", 4, "Long short-term memory over (steps, features).")
GRU = _rnn("gru", "gru", 3, "Gated recurrent unit over (steps, features).")


# bidirectional ------------------------------------------------------------------------------

class _MergeMode(Choice):
    """concat|sum|mul|ave; none (two separate outputs) is refused with a reason."""

    def convert(self, value, ctx):
        if isinstance(value, ast.Ident) and value.name == "none":
            raise ArgError("merge_mode=none gives two outputs, which a layer in nndsl cannot have",
                           hint="use one of " + ", ".join(self.choices), code="range")
        return super().convert(value, ctx)


_MERGE_MODE = Param("merge_mode", _MergeMode(("concat", "sum", "mul", "ave")), default="concat",
                    doc="how forward and backward outputs combine")


# Keras refuses a wrapped layer that already runs backwards.
_GO_BACKWARDS = Param("go_backwards", _NotTrue(
    why="go_backwards=true cannot be wrapped: bidirectional already runs a copy of the layer backwards",
    hint="drop go_backwards"), default=False)


def _recurrent_names(registry) -> list[str]:
    return sorted({d.name for d in registry.layers.values() if d.category == RECURRENT})


def _bidirectional_params(registry, args: Sequence[ast.Value]) -> tuple[Param, ...]:
    names = _recurrent_names(registry)
    layer_param = Param("layer", Choice(tuple(names)), positional=True, doc="the recurrent layer to wrap")
    if not args:
        return (layer_param, _MERGE_MODE)  # binding reports the missing layer
    first = args[0]
    example = "for example: bidirectional lstm 64"
    if not isinstance(first, ast.Ident):
        raise ArgError(f"expected the recurrent layer to wrap ({', '.join(names)}), got {describe(first)}",
                       hint=example, span=first.span)
    inner = registry.layers.get(first.name)
    if inner is None or inner.category != RECURRENT:
        what = "not a layer" if inner is None else "not a recurrent layer"
        raise ArgError(f"'{first.name}' is {what}; it wraps one of {', '.join(names)}",
                       hint=did_you_mean(first.name, names) or example, span=first.span)
    return (layer_param, *(_GO_BACKWARDS if p.name == "go_backwards" else p for p in inner.params), _MERGE_MODE)


def _inner(a: Mapping[str, Any]) -> LayerDef:
    """The wrapped layer's definition (the built-ins, or any installed plugin's)."""
    from ..plugins import default_registry

    builtin = {d.name: d for d in (SIMPLE_RNN, LSTM, GRU)}
    name = a["layer"]
    return builtin.get(name) or default_registry().layers[name]


def _bidirectional_shape(a, shapes):
    inner = _inner(a)
    shape = tuple(inner.output_shape(a, shapes))
    if a["merge_mode"] == "concat" and shape[-1] is not None:
        return (*shape[:-1], 2 * shape[-1])
    return shape


def _bidirectional_count(a, shapes):
    one = _inner(a).count_params(a, shapes)
    return one + one


def _bidirectional_macs(a, shapes):
    return 2 * _inner(a).count_macs(a, shapes)


BIDIRECTIONAL = LayerDef(
    "bidirectional", "bidirectional",
    (Param("layer", Choice(("gru", "lstm", "simplernn")), positional=True, doc="the recurrent layer to wrap"),
     _MERGE_MODE),
    _bidirectional_shape, _bidirectional_count, count_macs=_bidirectional_macs, category="wrapper",
    expand_params=_bidirectional_params,
    doc="Runs a recurrent layer forwards and backwards: bidirectional lstm 64 return_sequences=true.")


# multi-head attention -----------------------------------------------------------------------

def _attention_inputs(shapes) -> tuple[tuple, tuple, tuple]:
    """(query, value, key) shapes; one input is self-attention, key defaults to value."""
    query = shapes[0]
    value = shapes[1] if len(shapes) > 1 else query
    key = shapes[2] if len(shapes) > 2 else value
    for label, s in (("query", query), ("value", value), ("key", key)):
        if len(s) < 2:
            raise ShapeError(f"expects {label} of shape (batch, steps, features), got {fmt(s)}",
                             "attention needs a sequence; reshape to (steps, features) first")
        if s[-1] is None:
            raise ShapeError(f"needs a known last dimension for {label}, got {fmt(s)}",
                             "attention projects the last dimension; give it a fixed size")
    if not len(query) == len(value) == len(key):
        raise ShapeError(f"needs query, value and key of one rank, got {fmt(query)}, {fmt(value)} and {fmt(key)}")
    if value[:-1] != key[:-1]:
        raise ShapeError(f"needs value and key equal in all but the last dimension, "
                         f"got value {fmt(value)} and key {fmt(key)}",
                         "key and value describe the same positions; project features with dense, not steps")
    return query, value, key


def _attention_shape(a, shapes):
    query, _, _ = _attention_inputs(shapes)
    return (*query[:-1], a["output_shape"] or query[-1])


def _attention_count(a, shapes):
    query, value, key = _attention_inputs(shapes)
    heads, kd = a["num_heads"], a["key_dim"]
    vd = a["value_dim"] or kd
    out = a["output_shape"] or query[-1]
    bias = a["use_bias"]
    n = query[-1] * heads * kd + key[-1] * heads * kd + value[-1] * heads * vd + heads * vd * out
    if bias:
        n += 2 * heads * kd + heads * vd + out
    if a["use_gate"]:
        n += query[-1] * heads * vd + (heads * vd if bias else 0)
    return ParamCount(n)


def _attention_macs(a, shapes):
    """Projections of query, key and value, the scores Q K^T, their weighting of V, the output
    projection (and the gate's projection); every axis but the last is a position."""
    query, value, key = _attention_inputs(shapes)
    heads, kd = a["num_heads"], a["key_dim"]
    vd = a["value_dim"] or kd
    out = a["output_shape"] or query[-1]
    tq, tv = query[:-1], value[:-1]
    n = (macs(tq, query[-1], heads, kd) + macs(tv, key[-1], heads, kd) + macs(tv, value[-1], heads, vd)
         + macs(heads, tq, tv, kd) + macs(heads, tq, tv, vd) + macs(tq, heads, vd, out))
    if a["use_gate"]:
        n += macs(tq, query[-1], heads, vd)
    return n


MULTI_HEAD_ATTENTION = LayerDef(
    "multiheadattention", "multi_head_attention",
    (Param("num_heads", Int(min=1), positional=True),
     Param("key_dim", Int(min=1), positional=True, doc="size of each head for query and key"),
     Param("value_dim", Optional(Int(min=1)), default=None, doc="size of each head for value (key_dim)"),
     Param("dropout", _RATE, default=0.0),
     Param("use_bias", Bool(), default=True),
     Param("output_shape", Optional(Int(min=1)), default=None, doc="last output dimension (the query's)"),
     Param("use_gate", Bool(), default=False, doc="gate the heads with a sigmoid of the query"),
     initializer("kernel_initializer", "glorot_uniform"), initializer("bias_initializer", "zeros"),
     regularizer("kernel_regularizer"), regularizer("bias_regularizer"), regularizer("activity_regularizer"),
     constraint("kernel_constraint"), constraint("bias_constraint"),
     Param("seed", Optional(Int(min=0)), default=None)),
    _attention_shape, _attention_count, count_macs=_attention_macs, min_inputs=1, max_inputs=3,
    category="attention",
    doc="Self-attention (x -> multiheadattention 4 16) or cross-attention: "
        "multiheadattention(query, value, num_heads=4, key_dim=16).")


@hookimpl
def nndsl_layers():
    return [SIMPLE_RNN, LSTM, GRU, BIDIRECTIONAL, MULTI_HEAD_ATTENTION]

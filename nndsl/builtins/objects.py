"""Built-in regularizers, constraints, initializers and learning-rate schedules.

Each is a definition of meaning (a signature with types, ranges and docs) that arguments
name as ``kernel_regularizer=l2(0.01)`` or ``adam cosine_decay(1e-3, decay_steps=1000)``.
Signatures and defaults follow Keras 3; the Keras lowering is a table in
:mod:`nndsl.backends.keras.training`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import ast
from ..hookspecs import hookimpl
from ..params import Bool, Choice, Float, Int, Kind, Optional, Param
from ..registry import ObjectDef
from .common import Axes

_POSITIVE = Float(min=0.0, min_open=True)
_NON_NEGATIVE = Float(min=0.0)
_SEED = Param("seed", Optional(Int(min=0)), default=None, doc="seed of the random draw (none: a fresh one)")


@dataclass(frozen=True)
class Numbers(Kind):
    """A non-empty tuple of numbers (a single number is a tuple of one)."""

    integers: bool = False

    @property
    def expected(self) -> str:  # type: ignore[override]
        return "a tuple of " + ("integers" if self.integers else "numbers")

    def convert(self, value, ctx):
        items = value.items if isinstance(value, ast.Tuple) else (value,)
        if not items or not all(isinstance(i, ast.Number) for i in items):
            raise self.wrong(value)
        if self.integers and not all(isinstance(i.value, int) for i in items):
            raise self.wrong(value)
        return tuple(i.value if self.integers else float(i.value) for i in items)


REGULARIZERS = [
    ObjectDef("l1", (Param("l1", _NON_NEGATIVE, default=0.01, positional=True, doc="L1 factor"),),
              doc="adds l1 * sum(|w|) to the loss"),
    ObjectDef("l2", (Param("l2", _NON_NEGATIVE, default=0.01, positional=True, doc="L2 factor"),),
              doc="adds l2 * sum(w**2) to the loss"),
    ObjectDef("l1_l2", (Param("l1", _NON_NEGATIVE, default=0.0, positional=True, doc="L1 factor"),
                        Param("l2", _NON_NEGATIVE, default=0.0, positional=True, doc="L2 factor")),
              doc="adds both the L1 and the L2 penalty"),
    ObjectDef("orthogonal_regularizer",
              (Param("factor", _NON_NEGATIVE, default=0.01, positional=True, doc="penalty factor"),
               Param("mode", Choice(("rows", "columns")), default="rows", doc="which vectors to keep orthogonal")),
              doc="pushes the rows (or columns) of a weight matrix towards orthogonality"),
]

_AXIS = Param("axis", Axes(), default=0, doc="axis (or axes) along which norms are computed")

CONSTRAINTS = [
    ObjectDef("max_norm", (Param("max_value", _POSITIVE, default=2.0, positional=True, doc="largest norm"), _AXIS),
              doc="rescales weights whose norm exceeds max_value"),
    ObjectDef("min_max_norm",
              (Param("min_value", _NON_NEGATIVE, default=0.0, positional=True, doc="smallest norm"),
               Param("max_value", _NON_NEGATIVE, default=1.0, positional=True, doc="largest norm"),
               Param("rate", Float(min=0.0, max=1.0), default=1.0, doc="how far to move towards the range per step"),
               _AXIS),
              doc="keeps weight norms between min_value and max_value",
              validate=lambda v: "min_value must not exceed max_value" if v["min_value"] > v["max_value"] else None),
    ObjectDef("non_neg", (), doc="sets negative weights to zero"),
    ObjectDef("unit_norm", (_AXIS,), doc="rescales weights to norm 1"),
]


def _scaled(name: str, doc: str, aliases: tuple[str, ...] = ()) -> ObjectDef:
    return ObjectDef(name, (_SEED,), doc=doc, aliases=aliases)


INITIALIZERS = [
    _scaled("glorot_uniform", "uniform in +-sqrt(6 / (fan_in + fan_out))"),
    _scaled("glorot_normal", "truncated normal with stddev sqrt(2 / (fan_in + fan_out))"),
    _scaled("he_uniform", "uniform in +-sqrt(6 / fan_in)"),
    _scaled("he_normal", "truncated normal with stddev sqrt(2 / fan_in)"),
    _scaled("lecun_uniform", "uniform in +-sqrt(3 / fan_in)"),
    _scaled("lecun_normal", "truncated normal with stddev sqrt(1 / fan_in)"),
    ObjectDef("zeros", (), doc="all zeros"),
    ObjectDef("ones", (), doc="all ones"),
    ObjectDef("constant", (Param("value", Float(), default=0.0, positional=True, doc="the value"),),
              doc="every weight the same value"),
    ObjectDef("random_normal", (Param("mean", Float(), default=0.0, positional=True),
                                Param("stddev", _POSITIVE, default=0.05, positional=True), _SEED),
              doc="normal distribution", aliases=("normal",)),
    ObjectDef("random_uniform", (Param("minval", Float(), default=-0.05, positional=True),
                                 Param("maxval", Float(), default=0.05, positional=True), _SEED),
              doc="uniform distribution", aliases=("uniform",),
              validate=lambda v: "minval must be less than maxval" if v["minval"] >= v["maxval"] else None),
    ObjectDef("truncated_normal", (Param("mean", Float(), default=0.0, positional=True),
                                   Param("stddev", _POSITIVE, default=0.05, positional=True), _SEED),
              doc="normal distribution cut at two standard deviations"),
    ObjectDef("orthogonal", (Param("gain", _POSITIVE, default=1.0, positional=True), _SEED), doc="a random orthogonal matrix"),
    ObjectDef("variance_scaling",
              (Param("scale", _POSITIVE, default=1.0, positional=True),
               Param("mode", Choice(("fan_in", "fan_out", "fan_avg")), default="fan_in"),
               Param("distribution", Choice(("truncated_normal", "untruncated_normal", "uniform")),
                     default="truncated_normal"),
               _SEED),
              doc="scale / fan, drawn from the given distribution"),
    ObjectDef("identity", (Param("gain", _POSITIVE, default=1.0, positional=True),), doc="the identity matrix (2-D weights only)"),
]

_INITIAL = Param("initial_learning_rate", _NON_NEGATIVE, positional=True, doc="learning rate at step 0")
_STEPS = Param("decay_steps", Int(min=1), positional=True, doc="steps over which it decays")
_RATE = Param("decay_rate", _POSITIVE, positional=True, doc="decay factor per decay_steps")
_STAIRCASE = Param("staircase", Bool(), default=False, doc="decay in whole steps of decay_steps")


def _warmup(v) -> str | None:
    if v["warmup_steps"] and v["warmup_target"] is None:
        return "warmup_steps needs warmup_target (the learning rate reached at the end of the warm-up)"
    return None


def _piecewise(v) -> str | None:
    boundaries, values = v["boundaries"], v["values"]
    if len(values) != len(boundaries) + 1:
        return (f"values needs one more entry than boundaries ({len(boundaries)} boundaries, "
                f"{len(values)} values)")
    if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
        return "boundaries must increase"
    if any(x <= 0 for x in values):
        return "every learning rate in values must be greater than 0"
    return None


SCHEDULES = [
    ObjectDef("cosine_decay",
              (_INITIAL, _STEPS,
               Param("alpha", Float(min=0.0, max=1.0), default=0.0, doc="final rate as a fraction of the initial"),
               Param("warmup_target", Optional(_POSITIVE), default=None, doc="rate reached after the warm-up"),
               Param("warmup_steps", Int(min=0), default=0, doc="linear warm-up steps before the decay")),
              doc="cosine decay, with an optional linear warm-up", validate=_warmup),
    ObjectDef("cosine_decay_restarts",
              (_INITIAL, Param("first_decay_steps", Int(min=1), positional=True, doc="length of the first cycle"),
               Param("t_mul", _POSITIVE, default=2.0, doc="cycle length factor"),
               Param("m_mul", _POSITIVE, default=1.0, doc="restart rate factor"),
               Param("alpha", Float(min=0.0, max=1.0), default=0.0, doc="final rate as a fraction")),
              doc="cosine decay with warm restarts (SGDR)"),
    ObjectDef("exponential_decay", (_INITIAL, _STEPS, _RATE, _STAIRCASE),
              doc="initial * decay_rate ** (step / decay_steps)"),
    ObjectDef("inverse_time_decay", (_INITIAL, _STEPS, _RATE, _STAIRCASE),
              doc="initial / (1 + decay_rate * step / decay_steps)"),
    ObjectDef("piecewise_constant_decay",
              (Param("boundaries", Numbers(integers=True), positional=True, doc="steps where the rate changes"),
               Param("values", Numbers(), positional=True, doc="the rate before, between and after the boundaries")),
              doc="a constant rate per step interval", validate=_piecewise),
    ObjectDef("polynomial_decay",
              (_INITIAL, _STEPS, Param("end_learning_rate", _NON_NEGATIVE, default=0.0001),
               Param("power", _POSITIVE, default=1.0), Param("cycle", Bool(), default=False)),
              doc="polynomial decay from the initial to the end rate"),
]


@hookimpl
def nndsl_regularizers():
    return REGULARIZERS


@hookimpl
def nndsl_constraints():
    return CONSTRAINTS


@hookimpl
def nndsl_initializers():
    return INITIALIZERS


@hookimpl
def nndsl_schedules():
    return SCHEDULES


"""Signatures of the statement keywords that are not layers: input, fit, data.

Layers, optimizers, losses, metrics and callbacks come from the registry; these few statements
are part of the language itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ast
from .params import ArgError, Bool, Choice, Dim, Float, Int, Kind, Name, Optional, Param, Text

# Words with a fixed meaning at the start of a statement; not usable as tensor names.
STATEMENT_KEYWORDS = ("input", "optimizer", "loss", "loss_weights", "metrics", "fit", "data", "callback")
# Reserved for the language: `output` is a keyword, `block`/`repeat` are kept for later.
RESERVED_WORDS = ("output", "block", "repeat", "true", "false", "none")

INPUT_DTYPES = ("float32", "float16", "bfloat16", "float64", "int32", "int64", "uint8", "bool", "string")

INPUT_PARAMS = (
    Param("shape", Dim(), positional=True, variadic=True, doc="the dimensions, without the batch"),
    Param("dtype", Choice(INPUT_DTYPES), default="float32"),
)

@dataclass(frozen=True)
class ClassWeight(Kind):
    """``balanced`` (from the training labels) or one non-negative weight per class id: ``(1.0, 3.0)``."""

    expected: str = "balanced or a tuple of weights, one per class"

    def convert(self, value, ctx):
        if isinstance(value, (ast.Ident, ast.String)) and (
                value.name if isinstance(value, ast.Ident) else value.value) == "balanced":
            return "balanced"
        if isinstance(value, ast.Tuple) and len(value.items) >= 2 and all(
                isinstance(i, ast.Number) for i in value.items):
            weights = tuple(float(i.value) for i in value.items)
            if any(w < 0 or w != w or w == float("inf") for w in weights):
                raise ArgError("class weights must be finite and at least 0", code="range")
            return weights
        raise self.wrong(value)


FIT_PARAMS = (
    Param("epochs", Int(min=1), default=10),
    Param("batch_size", Int(min=1), default=32),
    Param("validation_split", Float(min=0.0, max=1.0, max_open=True), default=0.0),
    Param("shuffle", Bool(), default=True),
    Param("test_split", Float(min=0.0, max=1.0, max_open=True), default=0.1,
          doc="share held out as a test set when the data has no test split"),
    Param("steps_per_execution", Int(min=1), default=None, doc="batches per compiled call (Keras compile)"),
    Param("jit_compile", Optional(Choice(("true", "false", "auto"))), default=None,
          doc="XLA compilation (Keras compile); auto lets Keras decide"),
    Param("seed", Int(min=0), default=None),
    Param("pipeline", Optional(Choice(("numpy", "tfdata"))), default=None,
          doc="how fit is fed: tfdata (nndsl's default, see nndsl/perf.py) or Keras' NumPy adapter"),
    Param("class_weight", Optional(ClassWeight()), default=None,
          doc="weigh each sample's loss by its class: balanced (n / (classes * count), from the training "
              "labels) or one weight per class id, (1.0, 3.0)"),
)

DATA_PARAMS = (
    Param("source", Text(), positional=True, doc="a registered data set name or a quoted path"),
    Param("label", Name(), default=None, doc="label column of a CSV file (default: the last column)"),
)

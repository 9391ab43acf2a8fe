"""Merge layers against real Keras: shapes and parameter counts (Keras is the oracle)."""

from __future__ import annotations

import pytest

from parity import assert_keras_parity

pytestmark = pytest.mark.keras

ELEMENTWISE = ["add", "multiply", "average", "maximum", "minimum"]

# Shapes of the inputs, as written after `input NAME`; every merge must accept them.
BROADCASTS = [
    ("32", "32"),
    ("4 8", "4 8"),
    ("? 8", "5 8"),
    ("1 8", "5 8"),
    ("5 1", "5 8"),
    ("8", "5 8"),
    ("3 4 8", "3 4 8"),
    ("2 3 4 5", "2 3 4 5"),
    ("? ?", "6 8"),
]

CASES = [
    "input a 4 8\ninput b 4 8\ny = subtract(a, b)",
    "input a 1 8\ninput b 5 1\ny = subtract(a, b)",
    "input a 16\ninput b 16\ninput c 16\ny = add(a, b, c)",
    "input a 16\ninput b 16\ninput c 16\ny = average(a, b, c)",
    "input a 4 8\ninput b 4 8\ninput c 4 8\ny = maximum(a, b, c)",
    "input a 4 8\ninput b 4 8\ninput c 4 8\ny = minimum(a, b, c)",
    "input a 4 8\ninput b 4 8\ninput c 4 8\ny = multiply(a, b, c)",
    "input a 16\ninput b 8\nx = b -> dense 16\ny = a -> add(x)\ndense 4",
    "input 20\nx = dense 8\ny = dense 8 relu\nz = x -> add(y)\nw = multiply(x, y, z)",
    "input a 16\ninput b 8\ny = concat(a, b)",
    "input a 16\ninput b 8\ny = concatenate(a, b, axis=1)",
    "input a 4 16\ninput b 4 8\ninput c 4 2\ny = concat(a, b, c)",
    "input a 4 8\ninput b 6 8\ny = concat(a, b, axis=1)",
    "input a 4 8\ninput b 6 8\ny = concat(a, b, axis=-2)",
    "input a ? 8\ninput b 6 8\ny = concat(a, b, axis=1)",
    "input a ? 8\ninput b 6 8\ny = concat(a, b, axis=2)",
    "input a 3 4 5\ninput b 3 4 7\ny = concat(a, b, axis=3)",
    "input a 3 4 5\ninput b 3 2 5\ny = concat(a, b, axis=2)",
    "input a 3 4 5\ninput b 9 4 5\ny = a -> concat(b, axis=1)",
    "input 8\nx = dense 4\ny = dense 6\nz = concat(x, y) -> dense 2",
    "input a 16\ninput b 16\ny = dot(a, b, axes=1)",
    "input a 16\ninput b 16\ny = dot(a, b, axes=-1, normalize=true)",
    "input a 4 8\ninput b 6 8\ny = dot(a, b, axes=2)",
    "input a 4 8\ninput b 6 8\ny = dot(a, b, axes=-1)",
    "input a 4 8\ninput b 8 6\ny = dot(a, b, axes=(2, 1))",
    "input a 4 8\ninput b 4 6\ny = dot(a, b, axes=1)",
]


@pytest.mark.parametrize("op", ELEMENTWISE)
@pytest.mark.parametrize("shapes", BROADCASTS, ids=lambda s: f"{s[0]}|{s[1]}")
def test_elementwise_merge_matches_keras(op, shapes, registry):
    assert_keras_parity(f"input a {shapes[0]}\ninput b {shapes[1]}\ny = {op}(a, b)", registry)


@pytest.mark.parametrize("text", CASES)
def test_merge_matches_keras(text, registry):
    assert_keras_parity(text, registry)

"""The parser's fast path reads a line exactly as the grammar does, or leaves it to Lark.

Differential: every spec in the repository, hand-picked edge cases and generated/mutated specs
parse to the same module (spans included) and the same diagnostics with and without the fast path.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from nndsl import parser, quickparse
from nndsl.diagnostics import Source

from fuzz_strategies import grammar_specs, mutated_specs, valid_specs

ROOT = Path(__file__).resolve().parent.parent


def both(text: str):
    source = Source(text, "q.nn")
    with parser.gc_paused():
        return parser._parse_recovering(source, source.text), parser._lark_recovering(source, source.text)


def assert_same(text: str) -> None:
    fast, lark = both(text)
    assert fast == lark, text


CASES = [
    "input 784; dense 32 relu; dense 10 softmax; rmsprop 0.001; loss mse",
    "input 3\ndense 3 use_bias=false relu\n",  # a positional after a keyword
    "input 8 8 3\nconv2d 4 (3, 3) strides=(2,) padding=same\nmaxpool2d (2) -> flatten\n",
    "input 3\nx = dense (3)\ny = x -> dense ((3))\nz = concat(x, y, axis=-1) -> dense 2\noutput z\n",
    "input 3\ndense 3 -1 +2 .5 5. 1e5 1E-5 00007 ?\n",
    "input 3\ndense 99999999999999999999\n",  # too large: Lark's path reports it
    "input 3\nt = (-1, +2, (3, 4), (), (5,))\n",
    "input a 3\noutput b = a -> dense 2\noutput b\n",
    "input 3\nx = dense 3\n  -> dense 4\ndense 2 ->\n  relu\n",
    "input 3\ndense 3 # a comment\n# only a comment\n;;\n dense 2\n",
    "block b(x):\n    output x -> dense 3\ndense 4\ny = b\nif 1 > 0:\n    dense 3\nelse:\n    dense 4\ndense 5\n",
    "block b(x):\ndense 4\n",  # no body: the error is Lark's, at the same place
    "input 3\ndense 32relu\ndense 1k\nx.shape\noutput\noutput dense 3\na, b = c\ndense 3 output\n",
    "input 3\nx = = dense\ndense 3 (\ndense 3 )\nconcat(a, b\n",
    "input 3\ndense 3 kernel_regularizer=l2(0.01)\nloss mse\nfit epochs=3\ndata \"d.npz\"\n",
    "input 3\r\ndense 3\r\n",
    "input 3\n\tdense\t3\f\n",
    "input 1\ndense 1 softmax\x0b\nadadelta 0.001\n\x0b\nloss bce\n",  # a vertical tab is not white space
    "input x0 3\nh1 = x0 -> dense 32 relu->dense 2\nx1 = add(h1,x0)\ny = concat( x1 , 3 ) -> relu\nz = f()\n"
    "if = dense 3\nq = dense 3 -> repeat 2\nw = output(x1)\noutput x1\n",
]


@pytest.mark.parametrize("text", CASES)
def test_edge_cases(text):
    assert_same(Source(text).text)


def test_every_spec_in_the_repository():
    paths = [p for p in ROOT.rglob("*.nn") if ".git" not in p.parts]
    assert len(paths) > 50
    for path in paths:
        assert_same(Source(path.read_bytes().decode("utf-8", "replace")).text)


def test_plain_lines_take_the_fast_path():
    taken, rest = quickparse.split("input 3\nx = dense 3\n  -> relu\ny = concat(x, x)\nlet a = 1\n")
    assert [s.target for s in taken] == [None, "y"]
    assert quickparse.split("input x 3\noutput x\n")[1] == ";        \n;       \n"  # `output x` too
    assert rest.split("\n") == [";      ", "x = dense 3", "  -> relu", ";               ", "let a = 1", ""]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(grammar_specs() | mutated_specs() | valid_specs())
def test_generated_specs(text):
    assert_same(Source(text).text)

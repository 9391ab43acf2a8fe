"""``nndsl fmt``: the canonical layout never changes what a spec means, and is a fixed point.

For every spec the project ships (examples, the zoo, the standard library, the conformance
suite) and for generated specs: the formatted text parses to the same syntax tree (spans
aside), checks to the same IR, and formatting it again changes nothing.
"""

from __future__ import annotations

import dataclasses
import re
import glob
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nndsl import ir
from nndsl.check import check_source
from nndsl.diagnostics import Source, Span, SpecError
from nndsl.fmt import MAX_WIDTH, format_source
from nndsl.parser import parse

from fuzz_strategies import grammar_specs, mutated_specs, valid_specs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS = sorted(
    glob.glob(os.path.join(ROOT, "spec", "examples", "*.nn"))
    + glob.glob(os.path.join(ROOT, "spec", "examples", "zoo", "*.nn"))
    + glob.glob(os.path.join(ROOT, "spec", "conformance", "valid", "**", "*.nn"), recursive=True)
    + glob.glob(os.path.join(ROOT, "nndsl", "std", "*.nn"))
)
INVALID = sorted(glob.glob(os.path.join(ROOT, "spec", "conformance", "invalid", "*.nn")))


def shape_of(node):
    """A syntax tree as nested tuples without spans: equal iff the trees mean the same."""
    if isinstance(node, Span):
        return None
    if dataclasses.is_dataclass(node):
        return (type(node).__name__,) + tuple((f.name, shape_of(getattr(node, f.name)))
                                              for f in dataclasses.fields(node) if "span" not in f.name)
    if isinstance(node, (list, tuple)):
        return tuple(shape_of(x) for x in node)
    if isinstance(node, dict):
        return tuple(sorted((k, shape_of(v)) for k, v in node.items()))
    return node


def without_spans(value):
    if isinstance(value, dict):
        return {k: without_spans(v) for k, v in value.items() if "span" not in k}
    if isinstance(value, list):
        return [without_spans(v) for v in value]
    return value


def assert_same_meaning(before: str, after: str) -> None:
    assert shape_of(parse(after).statements) == shape_of(parse(before).statements)


def test_the_corpus_is_found():
    assert len(SPECS) > 40


@pytest.mark.parametrize("path", SPECS, ids=lambda p: os.path.relpath(p, ROOT))
def test_fmt_keeps_meaning_and_is_idempotent(path):
    text = open(path, encoding="utf-8").read()
    once = format_source(text)
    assert format_source(once) == once
    assert_same_meaning(text, once)
    # Comments are never lost.
    assert [ln.strip() for ln in text.splitlines() if ln.strip().startswith("#")] == \
        [ln.strip() for ln in once.splitlines() if ln.strip().startswith("#")]
    assert text.count("#") == once.count("#")


@pytest.mark.parametrize("path", [p for p in SPECS if "/std/" not in p and "/include/" not in p],
                         ids=lambda p: os.path.relpath(p, ROOT))
def test_fmt_checks_to_the_same_ir(path):
    text = open(path, encoding="utf-8").read()
    try:
        before = check_source(Source(text, path)).model
    except SpecError:
        pytest.skip("not a model on its own")
    after = check_source(Source(format_source(text), path)).model
    assert without_spans(ir.to_json(after)) == without_spans(ir.to_json(before))


@pytest.mark.parametrize("text, expected", [
    ("input 784;dense 32 relu->dense 10 softmax", "input 784\ndense 32 relu -> dense 10 softmax\n"),
    ("x=image->conv2d 32 3 strides = 2", "x = image -> conv2d 32 3 strides=2\n"),
    ("output  y=concat( a ,b,axis = -1 )", "output y = concat(a, b, axis=-1)\n"),
    ("param n=3\nlet m = n*2", "param n = 3\nlet m = n*2\n"),
    ("a , b = split(x, 2)", "a, b = split(x, 2)\n"),
    # The gaps that carry meaning are kept: a space before '(' passes a tuple, '-1' is a number.
    ("maxpool2d (2, 2)\ndense a -1", "maxpool2d (2, 2)\ndense a -1\n"),
    # A line-ending '->' moves to the start of the next line, indented under its statement.
    ("y = x ->\n dense 2", "y = x\n    -> dense 2\n"),
    # Blocks: four spaces a level, whatever the input used.
    ("block f(x, k = 2) :\n  output x -> dense k\n\n\n\ninput 3\nf", "block f(x, k=2):\n    output x -> dense k\n\ninput 3\nf\n"),
    ("", ""),
    ("# only a comment", "# only a comment\n"),
    ("input 3  ;  ;\n;\n", "input 3\n"),
    # Trailing comments line up two spaces after the longest code of their paragraph.
    ("input 3 # a\ndense 10 relu # b\n\ndense 2 # c", "input 3        # a\ndense 10 relu  # b\n\ndense 2  # c\n"),
    # Comment lines take the indentation of the code after them.
    ("block f(x):\n# in the body\n  output x\n", "block f(x):\n    # in the body\n    output x\n"),
    ("repeat 3 as i :dense 2", "repeat 3 as i: dense 2\n"),
    ("a = x\r\n-> dense 2\r\n", "a = x\n    -> dense 2\n"),
])
def test_fmt_layout(text, expected):
    assert format_source(text) == expected


def test_long_chains_break_before_arrows():
    steps = " -> ".join(f"dense {n} relu" for n in range(100, 112))
    text = f"input 3\ny = input_1 -> {steps}\n"
    out = format_source(text)
    lines = out.splitlines()
    assert all(len(ln) <= MAX_WIDTH for ln in lines)
    assert lines[1] == "y = input_1"
    assert all(ln.startswith("    -> dense ") for ln in lines[2:])
    assert format_source(out) == out
    assert_same_meaning(text, out)


def test_indentation_after_a_dedent_between_levels_is_read_as_the_parser_reads_it():
    # A line indented less than its body but more than the level outside closes the body and
    # sits at the outer level (the postlexer ignores indentation outside bodies).
    text = "block f(x):\n        output x\n   input 3\n     f\n"
    out = format_source(text)
    assert out == "block f(x):\n    output x\ninput 3\nf\n"
    assert_same_meaning(text, out)


def test_semicolons_after_a_continuation_keep_their_block_level():
    text = "block f(x):\n    y = x\n  -> dense 2; output y\ninput 3\nf\n"
    out = format_source(text)
    assert out == "block f(x):\n    y = x\n        -> dense 2\n    output y\ninput 3\nf\n"
    assert_same_meaning(text, out)


@pytest.mark.parametrize("path", INVALID[:40], ids=os.path.basename)
def test_fmt_refuses_text_that_does_not_parse_or_keeps_its_meaning(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    try:
        out = format_source(text)
    except SpecError as e:
        assert e.diagnostics
        return
    assert_same_meaning(text, out)
    assert format_source(out) == out


FUZZ = settings(max_examples=int(os.environ.get("NNDSL_FUZZ_EXAMPLES", "0") or 0) or 300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


def _roundtrip(text: str) -> None:
    try:
        parse(text)
    except SpecError:
        assume(False)
    out = format_source(text)
    assert_same_meaning(text, out)
    assert format_source(out) == out


@FUZZ
@given(grammar_specs())
def test_fuzz_grammar_specs(text):
    _roundtrip(text)


@FUZZ
@given(valid_specs())
def test_fuzz_valid_specs(text):
    _roundtrip(text)


@FUZZ
@given(mutated_specs())
def test_fuzz_mutated_specs(text):
    _roundtrip(text)


_STRING_OR_COMMENT = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|#.*)""")


@st.composite
def respaced(draw):
    """A shipped spec with every gap inside a line widened to random spaces and tabs."""
    path = draw(st.sampled_from(SPECS))
    text = open(path, encoding="utf-8").read()
    lines = []
    for line in text.split("\n"):
        body = line.lstrip(" ")
        lead = line[:len(line) - len(body)]
        if body.startswith("#"):
            lines.append(line)
            continue
        parts = _STRING_OR_COMMENT.split(body)
        for i in range(0, len(parts), 2):  # outside strings and comments
            parts[i] = re.sub(r"[ \t]+", lambda m: draw(st.sampled_from([" ", "  ", "\t", " \t "])), parts[i])
        lines.append(lead + "".join(parts))
    return path, text, "\n".join(lines)


@FUZZ
@given(respaced())
def test_fuzz_gaps_inside_lines_do_not_change_the_layout(case):
    path, text, mutated = case
    assert format_source(mutated) == format_source(text)


# The command ------------------------------------------------------------------------------

def nndsl(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "nndsl.cli", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def test_cli_fmt_prints_check_and_write(tmp_path):
    ugly = tmp_path / "ugly.nn"
    ugly.write_text("input 784;dense 10 softmax\n")
    tidy = tmp_path / "tidy.nn"
    tidy.write_text("input 784\ndense 10 softmax\n")

    r = nndsl("fmt", str(ugly))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "input 784\ndense 10 softmax\n"
    assert ugly.read_text() == "input 784;dense 10 softmax\n"

    r = nndsl("fmt", "--check", str(ugly), str(tidy))
    assert r.returncode == 1
    assert "-input 784;dense 10 softmax" in r.stdout and "+dense 10 softmax" in r.stdout
    assert str(ugly) in r.stderr and str(tidy) not in r.stderr

    assert nndsl("fmt", "--check", str(tidy)).returncode == 0

    r = nndsl("fmt", "--write", str(ugly), str(tidy))
    assert r.returncode == 0, r.stderr
    assert ugly.read_text() == "input 784\ndense 10 softmax\n"
    assert nndsl("fmt", "--check", str(ugly)).returncode == 0

    r = nndsl("fmt", "-", stdin="input 3;dense 2")
    assert r.returncode == 0 and r.stdout == "input 3\ndense 2\n"


def test_cli_fmt_leaves_a_broken_file_alone(tmp_path):
    bad = tmp_path / "bad.nn"
    bad.write_text("input 3\ndense (\n")
    r = nndsl("fmt", "--write", str(bad))
    assert r.returncode == 1
    assert "error[" in r.stderr and "Traceback" not in r.stderr
    assert bad.read_text() == "input 3\ndense (\n"


def test_fmt_does_not_import_tensorflow(tmp_path):
    spec = tmp_path / "m.nn"
    spec.write_text("input 3;dense 2\n")
    code = ("import sys; from nndsl import cli; "
            f"assert cli.main(['fmt', '--check', {str(spec)!r}]) == 1; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'torch')); "
            "assert not bad, bad")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert p.returncode == 0, p.stderr

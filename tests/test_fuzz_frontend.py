"""The front end never crashes or hangs: any text checks or fails with the project's own error.

Property-based (hypothesis), with specs generated from the grammar, from known-good models and
by mutating both (see ``fuzz_strategies.py``). By default it runs a few thousand
examples in total, sized for CI on two cores; for a long local run::

    NNDSL_FUZZ_EXAMPLES=50000 python -m pytest -q tests/test_fuzz_frontend.py

Also here: round trips (checked IR -> JSON -> IR; emitted Python parses; emission is
deterministic), and the size limits (E001 for the source size, E004 for nesting).
"""

from __future__ import annotations

import ast as pyast
import json
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nndsl
from nndsl import codes, ir
from nndsl.check import check_source
from nndsl.diagnostics import Source, SpecError, render
from nndsl.parser import MAX_NESTING, MAX_SOURCE_CHARS

from fuzz_strategies import REGISTRY, deep_chain, grammar_specs, mutated_specs, nested_tuple, valid_specs

_SCALE = int(os.environ.get("NNDSL_FUZZ_EXAMPLES", "0") or 0)


def examples(ci: int) -> settings:
    """``ci`` examples by default (sized for CI on two cores); NNDSL_FUZZ_EXAMPLES for long runs."""
    return settings(max_examples=_SCALE or ci, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# Not a speed test (speed lives in benchmarks/compile.py): a guard against a hang or an
# exponential blow-up, far above any check's time even on a 2-core box at load 12, where the
# old 2 s limit failed once on a sound example.
TIME_LIMIT_S = 30.0


def assert_diagnostics_sound(err: SpecError) -> None:
    """Every diagnostic points inside the source (or nowhere) and renders."""
    assert err.diagnostics, "a SpecError without diagnostics"
    lines = err.source.lines
    for d in err.diagnostics:
        assert d.code in codes.DESCRIPTIONS, d
        assert d.message and isinstance(d.message, str)
        if d.span is not None:
            s = d.span
            assert 1 <= s.line <= len(lines), (d, len(lines))
            assert 1 <= s.column <= len(lines[s.line - 1]) + 2, (d, lines[s.line - 1])
            assert (s.end_line, s.end_column) >= (s.line, s.column), d
            assert s.end_line <= len(lines), d
        text = render(d, err.source)
        assert text.startswith(err.source.filename)
        assert "\0" not in text
    err.render()
    err.render(color=True)


def check_or_diagnose(text: str) -> ir.Model | None:
    """The property: a model or a sound SpecError, nothing else, within the time limit."""
    start = time.perf_counter()
    try:
        model = check_source(Source(text, "fuzz.nn"), REGISTRY).model
    except SpecError as err:
        assert_diagnostics_sound(err)
        model = None
    elapsed = time.perf_counter() - start
    assert elapsed < TIME_LIMIT_S, f"check took {elapsed:.2f}s"
    return model


@pytest.fixture(scope="module", autouse=True)
def _warm():
    """Build the parser once, so the first example isn't charged for it."""
    nndsl.check("input 3; dense 2", registry=REGISTRY)


# Properties ---------------------------------------------------------------------------------

@examples(1000)
@given(grammar_specs())
def test_grammar_derived_specs_check_or_diagnose(text):
    check_or_diagnose(text)


@examples(1200)
@given(mutated_specs())
def test_mutated_specs_check_or_diagnose(text):
    check_or_diagnose(text)


@examples(400)
@given(st.text(max_size=200))
def test_arbitrary_text_checks_or_diagnoses(text):
    check_or_diagnose(text)


@examples(300)
@given(valid_specs())
def test_valid_specs_check_and_round_trip(text):
    model = check_or_diagnose(text)
    assert model is not None, text
    # IR -> JSON -> IR gives the same model, spans included.
    data = json.loads(json.dumps(ir.to_json(model)))
    assert ir.from_json(data) == model
    assert ir.to_json(ir.from_json(data)) == ir.to_json(model)
    # Emitted Python parses, and emission is deterministic.
    source = nndsl.emit(model, registry=REGISTRY)
    pyast.parse(source)
    assert nndsl.emit(model, registry=REGISTRY) == source
    assert nndsl.emit(nndsl.check(text, "fuzz.nn", registry=REGISTRY), registry=REGISTRY) == source


@examples(150)
@given(mutated_specs())
def test_mutated_specs_that_check_also_emit(text):
    model = check_or_diagnose(text)
    if model is not None:
        pyast.parse(nndsl.emit(model, registry=REGISTRY))
        assert ir.from_json(json.loads(json.dumps(ir.to_json(model)))) == model


@examples(150)
@given(st.binary(max_size=300))
def test_cli_check_on_random_bytes_exits_0_or_1(tmp_path_factory, data):
    from nndsl.cli import main

    path = tmp_path_factory.mktemp("bytes") / "random.nn"
    path.write_bytes(data)
    assert main(["check", str(path)]) in (0, 1)


def test_cli_on_random_bytes_reports_without_traceback(tmp_path, capsys):
    from nndsl.cli import main

    for i, data in enumerate([b"\xff\xfe\x00\x00", b"input 3\x00", b"\xef\xbb\xbfinput 3; dense 2",
                              b"input 3\n\xc3(dense 2", bytes(range(256))]):
        path = tmp_path / f"b{i}.nn"
        path.write_bytes(data)
        assert main(["check", str(path)]) in (0, 1)
        err = capsys.readouterr().err
        assert "Traceback" not in err and "internal error" not in err


# Found by the fuzzer: each pinned -------------------------------------------------------------

@pytest.mark.parametrize("number", ["9" * 5000, "-" + "9" * 4400, "9223372036854775808", "-9223372036854775809",
                                    "1" + "0" * 400])
def test_integer_too_large_is_a_diagnostic(number):
    with pytest.raises(SpecError) as err:
        nndsl.check(f"input 784; dense {number} relu", registry=REGISTRY)
    (diag,) = err.value.diagnostics
    assert diag.code == codes.ARG_RANGE and "64" in diag.message
    assert diag.span is not None and diag.span.column == 18
    assert_diagnostics_sound(err.value)


def test_largest_64_bit_integer_is_accepted_where_it_fits():
    model = nndsl.check("input 3; dense 2; fit seed=9223372036854775807", registry=REGISTRY)
    assert model.training.fit_options["seed"] == 2 ** 63 - 1


def test_dimension_overflowing_64_bits_is_a_diagnostic():
    dims = " ".join(["4294967296"] * 3)  # 2**32 each: flatten gives 2**96
    with pytest.raises(SpecError) as err:
        nndsl.check(f"input {dims}; flatten; dense 2", registry=REGISTRY)
    (diag,) = err.value.diagnostics
    assert diag.code == codes.SHAPE and "flatten" in diag.message
    assert_diagnostics_sound(err.value)


def test_escaped_quote_does_not_confuse_nesting_count():
    text = 'input 3; dense 2; data "a\\"' + "(" * (MAX_NESTING + 1) + '.npz"; loss mse'
    model = nndsl.check(text, registry=REGISTRY)
    assert model.training.data.value == 'a"' + "(" * (MAX_NESTING + 1) + ".npz"


# Size limits ----------------------------------------------------------------------------------

def test_source_over_the_size_limit_is_e001():
    text = "input 3; dense 2\n" + "#" * MAX_SOURCE_CHARS
    with pytest.raises(SpecError) as err:
        nndsl.check(text, registry=REGISTRY)
    assert [d.code for d in err.value.diagnostics] == [codes.TOO_LARGE]
    assert_diagnostics_sound(err.value)


def test_nesting_over_the_limit_is_e004_and_at_the_limit_parses():
    with pytest.raises(SpecError) as err:
        nndsl.check(nested_tuple(MAX_NESTING + 1), registry=REGISTRY)
    assert [d.code for d in err.value.diagnostics] == [codes.TOO_DEEP]
    assert err.value.diagnostics[0].span.column == len("input 4; dense 4 activation=") + MAX_NESTING + 1
    with pytest.raises(SpecError) as err:
        nndsl.check(nested_tuple(MAX_NESTING), registry=REGISTRY)  # parses; a tuple is no activation
    assert codes.TOO_DEEP not in [d.code for d in err.value.diagnostics]


def test_deep_nesting_is_rejected_fast():
    start = time.perf_counter()
    with pytest.raises(SpecError) as err:
        nndsl.check(nested_tuple(100_000), registry=REGISTRY)
    assert [d.code for d in err.value.diagnostics] == [codes.TOO_DEEP]
    assert time.perf_counter() - start < TIME_LIMIT_S


def test_ten_thousand_layer_chain_checks():
    model = nndsl.check(deep_chain(10_000), registry=REGISTRY)
    assert len(model.nodes) == 10_000
    assert model.nodes[-1].name == "dense_9999" and model.nodes[-1].shape == (4,)
    assert model.params.total == 10_000 * (4 * 4 + 4)


def test_ten_thousand_statements_on_their_own_lines_check():
    text = "input 4\n" + "dense 4\n" * 10_000
    model = nndsl.check(text, registry=REGISTRY)
    assert len(model.nodes) == 10_000 and model.nodes[-1].span.line == 10_001


def test_ten_megabyte_file_fails_fast_with_e001(tmp_path, capsys):
    from nndsl.check import read_source
    from nndsl.cli import main

    path = tmp_path / "big.nn"
    path.write_text("input 3; dense 2\n" * (10 * 1024 * 1024 // 17))
    start = time.perf_counter()
    with pytest.raises(SpecError) as err:
        check_source(read_source(str(path)), REGISTRY)
    assert [d.code for d in err.value.diagnostics] == [codes.TOO_LARGE]
    assert main(["check", str(path)]) == 1
    assert "E001" in capsys.readouterr().err
    assert time.perf_counter() - start < 2 * TIME_LIMIT_S

"""nndsl.semantic.analyze: the never-raising front end the CLI, check and the language server share."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from nndsl import codes
from nndsl.check import check_source
from nndsl.diagnostics import Source, SpecError
from nndsl.semantic.analyze import Analysis, analyze

from fuzz_strategies import REGISTRY, grammar_specs, mutated_specs, valid_specs

ROOT = Path(__file__).resolve().parent.parent
SEED = "input 784\ndense 32 relu\ndense 10 softmax\nrmsprop 0.001\nloss mse\n"


def run(text: str, path: str = "m.nn", **kw) -> Analysis:
    return analyze(text, path, registry=REGISTRY, **kw)


def test_a_good_spec_has_its_model_and_facts_by_position():
    a = run(SEED)
    assert a.ok and a.model is not None and a.model.params.total == 25450
    (fact,) = a.facts_at("m.nn", 2, 3)
    assert (fact.name, fact.op, fact.shape, fact.params.total) == ("dense", "dense", (32,), 25120)
    assert fact.macs == 784 * 32
    assert a.facts_at("m.nn", 1, 1)[0].op == "input"
    assert a.facts_at("other.nn", 2, 3) == ()


def test_a_broken_spec_keeps_what_parsed_and_what_was_inferred():
    a = run("input 784\ndense 32 relu\ndense 10 (((\nx = dense 4\nconv2d 3 3\n")
    assert not a.ok and a.model is None
    assert codes.SYNTAX in {d.code for d in a.errors} or codes.UNEXPECTED_CHARACTER in {d.code for d in a.errors}
    assert a.module is not None and len(a.module.statements) >= 3  # the statements after the slip parsed
    assert [n.name for n in a.nodes][:1] == ["dense"]  # the first dense still has its shape
    assert a.bound is not None


def test_errors_and_warnings_match_check_source():
    text = "input 3\nx = dense 4\ndense 2\nloss nope\n"
    a = run(text)
    with pytest.raises(SpecError) as err:
        check_source(Source(text, "m.nn"), REGISTRY)
    assert a.diagnostics == err.value.diagnostics
    warn = "input 3\nx = dense 4\ny = x -> dense 2\nz = x -> dense 5\noutput y\n"
    assert run(warn).diagnostics == check_source(Source(warn, "m.nn"), REGISTRY).warnings
    assert {d.code for d in run(warn).warnings} == {codes.DEAD_BRANCH}


def test_symbols_tensors_lets_params_and_block_arguments():
    text = ("param width = 8\nlet eps = 1e-3\ninput image 4\n"
            "block mlp(x, f=width):\n  h = x -> dense f\n  output h -> batchnorm epsilon=eps\n"
            "y = image -> mlp 2 * width\noutput y\n")
    a = run(text)
    assert a.ok, [d.message for d in a.diagnostics]
    by = {(s.name, s.kind): s for s in a.symbols}
    width = by[("width", "param")]
    assert width.definition.span.line == 1 and [u.span.line for u in width.uses] == [4, 7]
    assert [u.span.line for u in by[("eps", "let")].uses] == [6]
    assert by[("eps", "let")].detail == "let eps = 1e-3"
    image = by[("image", "tensor")]
    assert image.definition.span.line == 3 and [u.span.line for u in image.uses] == [7]
    mlp = by[("mlp", "block")]
    assert [u.span.line for u in mlp.uses] == [7] and mlp.detail == "block mlp(x, f=width)"
    assert mlp.signature == (("x", None), ("f", "width"))
    assert [u.span.line for u in by[("x", "argument")].uses] == [5]
    assert [u.span.line for u in by[("h", "tensor")].uses] == [6]
    assert [u.span.line for u in by[("y", "tensor")].uses] == [8]
    assert a.symbol_at("m.nn", 7, 15) is mlp  # `mlp` at the call
    assert a.symbol_at("m.nn", 7, 6) is image
    assert a.symbol_at("m.nn", 5, 7) is by[("x", "argument")]
    assert a.params == {"width": 8}


def test_symbols_and_facts_cross_included_files(tmp_path):
    (tmp_path / "blocks.nn").write_text("block two(x, f):\n  output x -> dense f -> dense f\n", encoding="utf-8")
    main = tmp_path / "main.nn"
    main.write_text('include "blocks.nn"\ninput 3\ntwo 4\ntwo 5\n', encoding="utf-8")
    a = analyze(path=str(main), registry=REGISTRY)
    assert a.ok, [d.message for d in a.diagnostics]
    blocks = str(tmp_path / "blocks.nn")
    two = next(s for s in a.symbols if s.name == "two")
    assert two.definition.file == blocks and two.definition.span.line == 1
    assert [(u.file, u.span.line) for u in two.uses] == [(str(main), 3), (str(main), 4)]
    inside = a.facts_at(blocks, 2, 15)  # the first dense: once per call
    assert [f.shape for f in inside] == [(4,), (5,)]
    assert [c.span.line for c in inside[0].call_sites] == [3]
    assert [f.name for f in a.facts_called_at(str(main), 4, 1)] == ["two_1_dense", "two_1_dense_1"]
    assert blocks in a.sources


def test_the_symbol_table_survives_a_failed_expansion():
    a = run("input 3\nx = dense 4\ny = x -> nosuchlayer\nz = x -> dense 2\n")
    assert not a.ok
    x = next(s for s in a.symbols if s.name == "x")
    assert [u.span.line for u in x.uses] == [3, 4]


def test_params_overrides_take_text_and_report_bad_values():
    a = run("param classes = 10\ninput 4\ndense classes\n", params={"classes": "3"})
    assert a.ok and a.model.nodes[-1].shape == (3,)
    bad = run("param classes = 10\ninput 4\ndense classes\n", params={"classes": "3 +"})
    assert codes.BAD_OVERRIDE in {d.code for d in bad.errors}


def test_an_unreadable_path_is_a_diagnostic(tmp_path):
    a = analyze(path=str(tmp_path / "missing.nn"), registry=REGISTRY)
    assert [d.code for d in a.diagnostics] == [codes.CANNOT_READ] and a.module is None
    (tmp_path / "bin.nn").write_bytes(b"\x00\xff\xfe")
    assert [d.code for d in analyze(path=str(tmp_path / "bin.nn"), registry=REGISTRY).diagnostics] == [
        codes.BINARY_INPUT]


def test_a_bug_is_a_diagnostic_here_and_raises_from_check():
    from dataclasses import replace

    from nndsl.plugins import build_registry, get_plugin_manager

    def broken(attrs, shapes):
        raise ZeroDivisionError("boom")

    registry = build_registry(get_plugin_manager(load_entrypoints=False))
    registry.layers["dense"] = replace(registry.layers["dense"], output_shape=broken)
    a = analyze(SEED, "m.nn", registry=registry)
    assert a.internal_error is not None and [d.code for d in a.errors] == [codes.INTERNAL]
    assert "boom" in a.errors[0].message and a.model is None
    with pytest.raises(ZeroDivisionError):
        check_source(Source(SEED, "m.nn"), registry)


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n", ";;", "\0", "(((((", "block", "repeat 3:"])
def test_odd_inputs_never_raise(text):
    a = run(text)
    assert isinstance(a, Analysis) and not a.ok


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])


@FUZZ
@given(grammar_specs() | mutated_specs() | valid_specs())
def test_analyze_never_raises_on_generated_specs(text):
    a = run(text)
    assert isinstance(a, Analysis)
    assert a.internal_error is None, a.diagnostics
    assert (a.model is not None) == a.ok


def _v2_texts():
    files = sorted((ROOT / "spec" / "examples" / "zoo").glob("*.nn")) + sorted((ROOT / "nndsl" / "std").glob("*.nn"))
    return [f.read_text(encoding="utf-8") for f in files]


def test_analyze_never_raises_on_mutated_v2_specs():
    """Blocks, repeat, include, let, if: drop, duplicate or swap tokens of the zoo and std files."""
    rng = random.Random(9)
    for text in _v2_texts():
        tokens = text.replace("\n", " \n ").split(" ")
        for _ in range(12):
            t = list(tokens)
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(len(t))
                op = rng.randrange(3)
                if op == 0:
                    del t[i]
                elif op == 1:
                    t.insert(i, t[rng.randrange(len(t))])
                else:
                    j = rng.randrange(len(t))
                    t[i], t[j] = t[j], t[i]
            a = analyze(" ".join(t).replace(" \n ", "\n"), str(ROOT / "spec" / "examples" / "zoo" / "x.nn"),
                        registry=REGISTRY)
            assert a.internal_error is None, a.diagnostics

"""Where diagnostics from blocks and included files point, how they sort, and `nndsl expand` asserts."""

from __future__ import annotations

import pytest

from nndsl import codes
from nndsl.check import check_source, read_source
from nndsl.diagnostics import Source, SpecError
from nndsl.flat import render_flat


def test_a_dead_layer_in_a_block_names_the_call_site(registry):
    text = "block b(x):\n  h = x -> dense 3\n  dead = x -> dense 5\n  output h\ninput x 4\ny = x -> b\n"
    (w,) = check_source(Source(text, "m.nn"), registry).warnings
    assert w.code == codes.DEAD_BRANCH and w.span.line == 3
    assert w.notes == ["in block 'b' called from m.nn:6:10"]


def _include_case(tmp_path, lib: str):
    (tmp_path / "lib.nn").write_text(lib, encoding="utf-8")
    main = tmp_path / "m.nn"
    main.write_text('input 3\ndense 2 nosuch=1\ninclude "lib.nn"\ndense 4 activation=relux\n', encoding="utf-8")
    with pytest.raises(SpecError) as err:
        check_source(read_source(str(main)), None)
    return err.value, str(main), str(tmp_path / "lib.nn")


@pytest.mark.parametrize("lib", ["# a comment\n\n\nlet a = 1\nlet b = nope + 1\n",
                                 "# a comment\n\n\nlet a = 1\nlet b = = 1\n"])
def test_a_problem_in_an_included_file_sorts_at_its_include_and_says_so(tmp_path, lib):
    err, main, lib_path = _include_case(tmp_path, lib)
    where = [(d.origin.filename if d.origin else main, d.span.line) for d in err.diagnostics]
    assert where == [(main, 2), (lib_path, 5), (main, 4)], where
    inner = err.diagnostics[1]
    assert inner.notes == [f"in file included from {main}:3:1"]
    shown = err.render()
    assert f"{lib_path}:5:" in shown and f"note: in file included from {main}:3:1" in shown


def test_a_block_from_an_included_file_notes_the_call_and_not_the_include(tmp_path, registry):
    (tmp_path / "lib.nn").write_text("block b(x):\n  output x -> dense 0\n", encoding="utf-8")
    main = tmp_path / "m.nn"
    main.write_text('include "lib.nn"\ninput 3\ny = b\n', encoding="utf-8")
    with pytest.raises(SpecError) as err:
        check_source(read_source(str(main)), registry)
    (d,) = err.value.diagnostics
    assert d.origin.filename == str(tmp_path / "lib.nn") and d.span.line == 2
    assert d.notes == [f"in block 'b' called from {main}:3:5"]


ASSERTS = ("let w = 8\nparam classes = 3\n"
           "block b(x, f):\n  y = x -> dense f\n  assert y.shape[-1] == f and channels(x) > 0\n  output y\n"
           "input x 4\nh = x -> dense w\nz = h -> b 5\ndense classes softmax\n"
           "assert params < 1k\nassert h.shape == (w,) and layers == 3\nassert macs >= 4 * w\n")


def test_expand_prints_assertions_that_check_the_same(registry):
    result = check_source(Source(ASSERTS, "m.nn"), registry)
    flat = render_flat(result, registry)
    asserts = [line for line in flat.splitlines() if line.startswith("assert ")]
    assert len(asserts) == 4, flat
    assert "assert params < 1k" in asserts and "assert macs >= (4 * 8)" in asserts
    assert "assert (h.shape == (8,)) and (layers == 3)" in asserts
    again = check_source(Source(flat, "flat.nn"), registry).model
    assert again.params == result.model.params
    broken = flat.replace("assert params < 1k", "assert params < 10")
    with pytest.raises(SpecError) as err:
        check_source(Source(broken, "flat.nn"), registry)
    assert [d.code for d in err.value.diagnostics] == [codes.ASSERTION_FAILED]

"""The layer x backend coverage table in docs/PLUGINS.md is generated and current, and every
built-in construct has a lowering in each shipped backend or a documented reason why not."""

from __future__ import annotations

import pathlib

import pytest

import nndsl
from nndsl import coverage
from nndsl.backends.base import lowering_diagnostics
from nndsl.registry import LayerDef

from test_plugins import registry_with

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def documented():
    pytest.importorskip("nndsl_torch", reason="put plugins/nndsl-torch on PYTHONPATH")
    return coverage.documented_registry()


def test_the_committed_table_is_current(documented):
    doc = (ROOT / "docs" / "PLUGINS.md").read_text(encoding="utf-8")
    assert coverage.extract_block(doc) == coverage.render_coverage(documented), \
        "docs/PLUGINS.md is stale: run python -m nndsl.coverage --write docs/PLUGINS.md"


def test_every_builtin_construct_has_a_lowering_or_a_reason_in_each_shipped_backend(documented):
    assert coverage.unexplained(documented) == []
    names = {coverage.column_name(documented, b) for b in coverage.lowering_backends(documented)}
    assert names == {"keras-functional, keras-sequential", "torch"}  # a drawing (dot) takes anything


def test_every_layer_is_in_the_table(documented):
    doc = (ROOT / "docs" / "PLUGINS.md").read_text(encoding="utf-8")
    for name in documented.canonical("layers"):
        assert f"| `{name}` |" in doc, name


def test_a_layer_no_backend_lowers_is_unexplained(registry):
    """The check above can fail: a plugin layer with no Keras lowering and no reason."""
    layer = LayerDef("mystery", "mystery", (), lambda attrs, shapes: shapes[0])
    reg = registry_with(nndsl_layers=lambda: [layer])
    assert "keras-functional: layer mystery" in coverage.unexplained(reg)
    row = coverage.coverage(reg, "layer")["mystery"]
    assert not row["keras-functional"].lowered and row["keras-functional"].reason is None


def test_a_reason_is_the_hint_of_the_diagnostic(documented):
    model = nndsl.check("input 4\ndense 2 sparsemax\n", registry=documented)
    (diag,) = lowering_diagnostics(documented.backends["torch"], model, documented)
    assert diag.code == "E700" and diag.hint.startswith("PyTorch has no sparsemax")


def test_the_script_rewrites_only_its_block(tmp_path, documented, monkeypatch):
    monkeypatch.setattr(coverage, "documented_registry", lambda: documented)
    path = tmp_path / "doc.md"
    path.write_text(f"before\n{coverage.START}\nSTALE\n{coverage.END}\nafter\n", encoding="utf-8")
    assert coverage.main(["--write", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    assert "STALE" not in text and text.startswith(f"before\n{coverage.START}\n| layer |") and text.endswith("after\n")
    path.write_text("no markers\n", encoding="utf-8")
    assert coverage.main(["--write", str(path)]) == 2

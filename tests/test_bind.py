"""nndsl.semantic.bind: the statements table and typed tensor references."""

from __future__ import annotations

from nndsl.semantic.bind import STATEMENTS, Binder
from nndsl.semantic.scope import INPUT, LAYER, POISONED, TensorRef
from nndsl.statements import STATEMENT_KEYWORDS

from fuzz_strategies import REGISTRY


def test_every_statement_keyword_has_one_table_entry():
    assert set(STATEMENTS) == set(STATEMENT_KEYWORDS)
    assert {k for k, v in STATEMENTS.items() if v.once} == {"optimizer", "loss", "loss_weights", "fit", "data"}


def test_names_bind_to_typed_references():
    from nndsl.parser import parse

    b = Binder(REGISTRY)
    for st in parse("input image 4\nx = image -> dense 3\nbad = nosuch -> dense 2\n").statements:
        b.statement(st)
    assert b.scope.get("image") == TensorRef(INPUT, 0)
    assert b.scope.get("x") == TensorRef(LAYER, 0) and b.scope.get("x").is_layer
    assert b.scope.get("bad") is POISONED and POISONED.failed
    assert "image" in b.scope.visible() and "%poisoned" not in b.scope.visible()

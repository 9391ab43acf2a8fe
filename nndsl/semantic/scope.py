"""Typed tensor references and the binder's scope of tensor names.

A :class:`TensorRef` says what a name stands for once bound: the n-th input, the n-th layer,
or a tensor whose definition failed (``POISONED``: uses of it are silent, the failure is
already reported). One meaning per name; the expander's labels (``%3``) live here too but are
never shown to users.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Span

INPUT = "input"
LAYER = "layer"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class TensorRef:
    """A bound tensor: ``kind`` is INPUT, LAYER or FAILED; ``index`` counts inputs or layers."""

    kind: str
    index: int = -1

    @property
    def is_input(self) -> bool:
        return self.kind == INPUT

    @property
    def is_layer(self) -> bool:
        return self.kind == LAYER

    @property
    def failed(self) -> bool:
        return self.kind == FAILED


POISONED = TensorRef(FAILED)
POISONED_LABEL = "%poisoned"


class Scope:
    """Tensor names -> references, and where each name a user wrote was defined."""

    __slots__ = ("refs", "spans")

    def __init__(self) -> None:
        self.refs: dict[str, TensorRef] = {POISONED_LABEL: POISONED}
        # Only names with a place in the source (not labels, not names left by syntax errors).
        self.spans: dict[str, Span] = {}

    def get(self, name: str) -> TensorRef | None:
        return self.refs.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self.refs

    def define(self, name: str, ref: TensorRef, span: Span | None = None) -> None:
        self.refs[name] = ref
        if span is not None:
            self.spans[name] = span

    def visible(self) -> list[str]:
        """Tensor names a user wrote (no expander labels), for 'did you mean' hints."""
        return [n for n in self.refs if not n.startswith("%")]

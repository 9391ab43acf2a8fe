"""Kept for imports written before the split: binding lives in :mod:`nndsl.semantic.bind`.

(`nndsl.semantic.scope` holds the typed tensor references, `bound` the bound model,
`arguments` argument matching, `layers` and `training` one function per statement kind.)
"""

from __future__ import annotations

from .semantic.bind import resolve  # noqa: F401
from .semantic.bound import BoundLayer, BoundModel  # noqa: F401
from .semantic.scope import POISONED  # noqa: F401

"""Built-in backends: Keras functional and Keras Sequential."""

from __future__ import annotations

from ..backends.keras import KerasFunctional, KerasSequential
from ..hookspecs import hookimpl


@hookimpl
def nndsl_backends():
    return [KerasSequential(), KerasFunctional()]

"""Built-in backends (Keras functional and Sequential) and the Keras lowering of every built-in."""

from __future__ import annotations

from ..backends.keras import TABLE, KerasFunctional, KerasSequential
from ..backends.keras.table import builtin_lowerings
from ..hookspecs import hookimpl


@hookimpl
def nndsl_backends():
    return [KerasSequential(), KerasFunctional()]


@hookimpl
def nndsl_lowerings(backend):
    return builtin_lowerings() if backend == TABLE else None

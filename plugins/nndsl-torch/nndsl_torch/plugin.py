"""Entry point of the nndsl-torch plugin (group ``nndsl``): registers the ``torch`` backend and
its lowering table (through ``nndsl_lowerings``, as any plugin lowers layers for any backend).

Importing this module never imports torch; building, emitting and training do.
"""

from __future__ import annotations

from nndsl import hookimpl

from .backend import TorchBackend


@hookimpl
def nndsl_backends():
    return [TorchBackend()]


@hookimpl
def nndsl_lowerings(backend):
    """Every built-in layer, activation, optimizer, loss, metric and the two callbacks the
    trainer runs, for backend ``torch`` (see :mod:`nndsl_torch.lowering` for the values)."""
    if backend != TorchBackend.name:
        return None
    from nndsl.lowering import Lowering

    from .lowering import table

    return [Lowering(kind, name, value) for (kind, name), value in table().items()]

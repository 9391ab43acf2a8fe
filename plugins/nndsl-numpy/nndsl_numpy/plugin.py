"""The entry point (``[project.entry-points.nndsl] numpy = "nndsl_numpy.plugin"``): the hooks."""

from __future__ import annotations

from nndsl import hookimpl
from nndsl.lowering import Lowering


@hookimpl
def nndsl_backends():
    from .backend import NumpyBackend

    return [NumpyBackend()]


@hookimpl
def nndsl_lowerings(backend):
    """This backend's lowering table; asked once per backend name, None for the others."""
    if backend != "numpy":
        return None
    from .lowering import ACTIVATIONS, LAYERS

    return ([Lowering("layer", name, value) for name, value in LAYERS.items()]
            + [Lowering("activation", name, fn) for name, fn in ACTIVATIONS.items()])

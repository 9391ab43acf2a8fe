"""Entry point of the nndsl-torch plugin (group ``nndsl``): registers the ``torch`` backend.

Importing this module never imports torch; building, emitting and training do.
"""

from __future__ import annotations

from nndsl import hookimpl

from .backend import TorchBackend


@hookimpl
def nndsl_backends():
    return [TorchBackend()]

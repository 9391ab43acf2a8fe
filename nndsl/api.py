"""The Python API: parse, check, build, emit. Keras is imported only by ``build``."""

from __future__ import annotations

import os
from typing import Any, Union

from . import ir
from .check import check, check_source, read_source
from .registry import Registry

Spec = Union[str, "os.PathLike[str]", ir.Model]


def _registry(registry: Registry | None) -> Registry:
    if registry is not None:
        return registry
    from .plugins import default_registry

    return default_registry()


def load(path: "str | os.PathLike[str]", registry: Registry | None = None) -> ir.Model:
    """Read and check a spec file; raise SpecError with every problem found."""
    return check_source(read_source(os.fspath(path)), _registry(registry)).model


def to_model(spec: Spec, registry: Registry | None = None) -> ir.Model:
    """Accept a checked model, a path (``pathlib.Path``) or spec text."""
    if isinstance(spec, ir.Model):
        return spec
    if isinstance(spec, os.PathLike):
        return load(spec, registry)
    return check(spec, registry=_registry(registry))


def build(spec: Spec, backend: str | None = None, registry: Registry | None = None,
          compile: bool = True, **options: Any):
    """Build a spec into a live model, by default a compiled ``keras.Model``.

    ``backend`` defaults to keras-sequential for chains and keras-functional otherwise.

    Example::

        model = nndsl.build("input 784; dense 32 relu; dense 10 softmax; rmsprop 0.001; loss mse")
        model.fit(x, y)
    """
    registry = _registry(registry)
    model = to_model(spec, registry)
    return _checked_backend(model, registry, backend, training=compile).build(model, registry, compile=compile,
                                                                              **options)


def emit(spec: Spec, fmt: str = "python", backend: str | None = None, registry: Registry | None = None,
         **options: Any) -> str:
    """Source text for a spec (``fmt="python"``: a standalone Keras script)."""
    registry = _registry(registry)
    model = to_model(spec, registry)
    return _checked_backend(model, registry, backend).emit(model, registry, fmt, **options)


def _checked_backend(model: ir.Model, registry: Registry, name: str | None, training: bool = True):
    """The backend, once it can lower everything the model uses (a BackendError lists every
    construct it cannot, by line); ``training=False``: only what building the model needs."""
    from .backends.base import choose_backend, get_backend, require_lowerable

    if name is not None:
        named = get_backend(registry, name)
        require_lowerable(named, model, registry, training=training and named.compiles)
    backend = choose_backend(model, registry, name)
    if name is None:
        require_lowerable(backend, model, registry, training=training and backend.compiles)
    return backend

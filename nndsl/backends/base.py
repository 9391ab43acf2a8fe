"""What a backend is: a named lowering of the checked IR, registered through ``nndsl_backends``.

A backend says which models it can take (:meth:`Backend.check_supported`) and offers any of
two lowerings: :meth:`Backend.build` (an in-process object, e.g. a compiled ``keras.Model``)
and :meth:`Backend.emit` (source text); a backend that trains also hands ``nndsl run`` a
:meth:`Backend.trainer`. Third-party backends subclass this.
"""

from __future__ import annotations

from typing import Any

from ..diagnostics import NndslError


class BackendError(NndslError):
    """The chosen backend cannot take this model; the message says why and what to use."""

    exit_code = 2


class Backend:
    """Base class of every backend.

    Attributes:
        name: what users pass to ``--backend`` (lower case, dashes allowed).
        description: one line for ``nndsl plugins``.
        emits: the ``emit`` formats it supports, e.g. ``("python",)``.
    """

    name: str = ""
    description: str = ""
    emits: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    def check_supported(self, model, registry) -> None:
        """Raise BackendError if this backend cannot lower ``model``."""

    def build(self, model, registry, **options: Any) -> Any:
        """Lower to a live object in this process."""
        raise BackendError(f"backend {self.name!r} cannot build models in-process; try `nndsl emit`")

    def emit(self, model, registry, fmt: str = "python", **options: Any) -> str:
        """Lower to source text in format ``fmt``."""
        raise BackendError(f"backend {self.name!r} does not emit {fmt!r}")

    def trainer(self, registry) -> Any:
        """A fresh :class:`nndsl.run.trainer.Trainer`: how ``nndsl run`` trains with this backend."""
        raise BackendError(f"backend {self.name!r} cannot train models; `nndsl run` needs a backend that can "
                           "(keras-functional, keras-sequential, or a plugin's such as torch)")

    def lower_layer(self, node, registry) -> Any:
        """Per-layer lowering a layer definition registered for this backend, if any.

        A plugin's LayerDef can carry ``lowerings=(("my-backend", fn),)``; ``fn(node)``
        returns whatever this backend needs for that layer.
        """
        layer = registry.layers[node.op]
        for backend_name, fn in layer.lowerings:
            if backend_name == self.name:
                return fn(node)
        return None

    def __repr__(self) -> str:
        return f"<backend {self.name}>"


def choose_backend(model, registry, name: str | None = None) -> Backend:
    """The backend named, or the default: keras-sequential for chains, keras-functional otherwise.

    A chain through a layer Sequential cannot call with one tensor (self-attention takes it as
    query and value) is built functionally too.
    """
    if name is None:
        single = all(getattr(registry.layers.get(n.op), "input_style", "single") == "single" for n in model.nodes)
        name = "keras-sequential" if model.is_chain and single else "keras-functional"
    backend = registry.backends.get(name)
    if backend is None:
        from ..diagnostics import did_you_mean

        known = ", ".join(sorted(b.name for b in registry.backends.values()))
        hint = did_you_mean(name, registry.backends)
        raise BackendError(f"unknown backend {name!r}" + (f"; {hint}" if hint else "") + f" (known: {known})")
    backend.check_supported(model, registry)
    return backend

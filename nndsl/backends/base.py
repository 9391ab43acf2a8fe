"""What a backend is: a named lowering of the checked IR, registered through ``nndsl_backends``.

A backend says which models it can take (:meth:`Backend.check_supported`, and every
construct it cannot lower: :meth:`Backend.unsupported`, which ``nndsl check --backend`` reports
as E700/E701 diagnostics before anything is built) and offers any of two
lowerings: :meth:`Backend.build` (an in-process object, e.g. a compiled ``keras.Model``) and
:meth:`Backend.emit` (source text). Its lowering table (``lowering_table``) is filled by every
plugin through the ``nndsl_lowerings`` hook. A backend that trains also hands ``nndsl run``
a :meth:`Backend.trainer`. Third-party backends subclass this.
"""

from __future__ import annotations

from typing import Any

from ..errors import BackendError  # noqa: F401 - re-exported
from ..lowering import Gap, LoweringTable, Use, gap_for, missing


class Backend:
    """Base class of every backend.

    Attributes:
        name: what users pass to ``--backend`` (lower case, dashes allowed).
        description: one line for ``nndsl plugins``.
        emits: the ``emit`` formats it supports, e.g. ``("python",)``.
        lowering_table: the name plugins' ``nndsl_lowerings(backend=...)`` is asked with
            (default: ``name``; both Keras backends read ``"keras"``).
        lowers: the kinds of construct (``"layer"``, ``"loss"``, ... see
            :data:`nndsl.lowering.KINDS`) that need an entry in the lowering table; a model
            using one without an entry is refused before anything is built. A backend that
            can take anything (a drawing) leaves it empty.
        reasons: why this backend lowers no entry for a ``(kind, name)`` it lacks: shown as the
            hint of its E700 diagnostic and in the coverage table (docs/PLUGINS.md); a test
            wants a lowering or a reason for every built-in construct in each shipped backend.
        compiles: whether ``build(compile=True)`` also prepares training (Keras' ``compile``), so
            ``nndsl.build`` needs the training constructs lowered too (torch's build does not).
    """

    name: str = ""
    description: str = ""
    emits: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    lowering_table: str | None = None
    lowers: tuple[str, ...] = ()
    compiles: bool = True
    reasons: dict[tuple[str, str], str] = {}

    @property
    def table_name(self) -> str:
        return self.lowering_table or self.name

    def lowerings(self, registry) -> LoweringTable:
        """This backend's lowering table: every plugin's entries, merged."""
        return registry.lowerings(self.table_name)

    def lower(self, kind: str, name: str, registry) -> Any:
        """The table entry for ``(kind, name)`` (a layer's alias is resolved), or None."""
        table = {"layer": registry.layers, "loss": registry.losses, "metric": registry.metrics,
                 "optimizer": registry.optimizers}.get(kind, {})
        definition = table.get(name)
        return self.lowerings(registry).get(kind, definition.name if definition is not None else name)

    def lower_layer(self, node, registry) -> Any:
        """The table entry for a node's layer, or None."""
        return self.lower("layer", node.op, registry)

    def missing_lowerings(self, model, registry) -> list[Use]:
        """Every construct of the kinds in ``lowers`` the model uses and the table lacks."""
        return missing(model, registry, self.lowerings(registry), self.lowers)

    def unsupported(self, model, registry) -> list[Gap]:
        """Every construct of ``model`` this backend cannot lower, training included, all at once.

        The default: what :meth:`missing_lowerings` finds, each with a hint naming the backends
        that do lower it. A backend that also refuses some values or options (a loss option, a
        fit setting) extends the list with :class:`nndsl.lowering.Gap` entries of kind
        ``"option"``; it never raises here.
        """
        return [gap_for(use, self.name, self.lowered_elsewhere_hint(use, registry))
                for use in self.missing_lowerings(model, registry)]

    def lowered_elsewhere_hint(self, use: Use, registry) -> str:
        """'keras-functional and keras-sequential lower it; ...': where else a construct can go."""
        others = sorted({b.name for b in registry.backends.values()
                         if b is not self and b.lowers and b.lowerings(registry).has(use.kind, use.name)})
        where = (f"backend{'s' * (len(others) > 1)} {' and '.join(others)} lower{'s' * (len(others) == 1)} it"
                 if others else "no installed backend lowers it")
        why = self.reasons.get((use.kind, use.name))
        return ((f"{why}; " if why else "") +
                f"{where}; or install a plugin that lowers {use.kind} '{use.name}' for backend '{self.name}' "
                f"(docs/PLUGINS.md: nndsl_lowerings)")

    def layer_type(self, node, registry) -> str:
        """What a node is in this backend's words, for ``nndsl summary`` (default: the spec name)."""
        return node.op

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

    def __repr__(self) -> str:
        return f"<backend {self.name}>"


def get_backend(registry, name: str) -> Backend:
    """The installed backend called ``name`` (or an alias); an unknown name is a BackendError
    listing the installed ones."""
    backend = registry.backends.get(name)
    if backend is None:
        from ..diagnostics import did_you_mean

        known = ", ".join(sorted({b.name for b in registry.backends.values()}))
        hint = did_you_mean(name, registry.backends)
        raise BackendError(f"unknown backend {name!r}" + (f"; {hint}" if hint else "") + f" (installed: {known})")
    return backend


def choose_backend(model, registry, name: str | None = None) -> Backend:
    """The backend named, or the default: keras-sequential for chains, keras-functional otherwise.

    A chain through a layer Sequential cannot call with one tensor (self-attention takes it as
    query and value) is built functionally too.
    """
    if name is None:
        name = "keras-sequential"
        try:
            registry.backends[name].check_supported(model, registry)
        except (BackendError, KeyError):
            name = "keras-functional"
    backend = get_backend(registry, name)
    backend.check_supported(model, registry)
    return backend


def lowering_diagnostics(backend: Backend, model, registry, training: bool = True) -> list:
    """:meth:`Backend.unsupported` as diagnostics: E700 for a construct without a lowering, E701
    for a value or option the backend refuses; ``training=False`` keeps what building needs."""
    from .. import codes
    from ..diagnostics import Diagnostic

    out = []
    for gap in backend.unsupported(model, registry):
        if gap.training and not training:
            continue
        code = codes.UNSUPPORTED_OPTION if gap.kind == "option" else codes.NO_LOWERING
        out.append(Diagnostic(code, gap.message, gap.span, gap.hint))
    return sorted(out, key=lambda d: (d.span is None, d.span.line if d.span else 0, d.span.column if d.span else 0))


def require_lowerable(backend: Backend, model, registry, *, training: bool = True, source=None,
                      sources=None) -> None:
    """Raise every construct ``backend`` cannot lower in ``model`` at once, before any work.

    With the spec's ``source`` (the CLI, ``nndsl run``): a :class:`nndsl.errors.SpecError` of
    E700/E701 diagnostics at their lines. Without (a model handed to ``nndsl.build``): a
    :class:`BackendError` listing them by line.
    """
    diags = lowering_diagnostics(backend, model, registry, training)
    if not diags:
        return
    if source is not None:
        from ..errors import SpecError

        raise SpecError(diags, source, sources)
    lines = [f"backend {backend.name!r} cannot lower this model:"]
    lines += [f"  {'line ' + str(d.span.line) + ': ' if d.span else ''}{d.message}" for d in diags]
    raise BackendError("\n".join(lines))

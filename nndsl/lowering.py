"""Lowering tables: how each backend builds the language's definitions.

Definitions (:mod:`nndsl.registry`) say what a layer, loss or optimizer *means*; a backend's
lowering table says how that backend *builds* it, keyed by ``(kind, name)``, as a renderer owns
its ``code_for_op`` in tinygrad. Every plugin, the built-ins included, contributes entries
through the ``nndsl_lowerings(backend)`` hook, so a backend plugin can lower the built-in
layers, and a third plugin can lower another plugin's layer, without touching a definition.

The values are the backend's business: the Keras backends want a ``KerasLayer`` for a layer
and a Keras name for a loss; a drawing backend may want a colour. This module only collects
them and answers "what can backend B not lower in this model?".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

# What a lowering can be for; the registry table each kind's names come from.
KINDS = {
    "layer": "layers",
    "activation": "activations",
    "optimizer": "optimizers",
    "loss": "losses",
    "metric": "metrics",
    "callback": "callbacks",
    "regularizer": "regularizers",
    "constraint": "constraints",
    "initializer": "initializers",
    "schedule": "schedules",
}


@dataclass(frozen=True)
class Lowering:
    """One entry of a backend's lowering table.

    Args:
        kind: one of :data:`KINDS` (``"layer"``, ``"loss"``, ...).
        name: the definition's name as the spec writes it (canonical, not an alias).
        value: whatever the backend needs to build it (the backend documents what).
    """

    kind: str
    name: str
    value: Any


@dataclass
class LoweringTable:
    """Every plugin's entries for one backend, merged; who gave each one."""

    backend: str
    entries: dict[tuple[str, str], Any] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    _builtin: set[tuple[str, str]] = field(default_factory=set, repr=False)

    def get(self, kind: str, name: str) -> Any:
        """The entry's value, or None when the backend has no lowering for it."""
        return self.entries.get((kind, name))

    def has(self, kind: str, name: str) -> bool:
        return (kind, name) in self.entries

    def owner(self, kind: str, name: str) -> str | None:
        return self.owners.get((kind, name))

    def names(self, kind: str) -> list[str]:
        return sorted(n for k, n in self.entries if k == kind)

    def add(self, entry: Lowering, owner: str, builtin: bool) -> None:
        """Add one entry; a plugin may replace a built-in entry, not another plugin's."""
        key = (entry.kind, entry.name)
        previous = self.owners.get(key)
        if previous is not None and previous != owner and key not in self._builtin:
            self.warnings.append(f"plugins {previous!r} and {owner!r} both lower {entry.kind} {entry.name!r} "
                                 f"for backend {self.backend!r}; using {previous!r}'s")
            return
        self.entries[key] = entry.value
        self.owners[key] = owner
        if builtin:
            self._builtin.add(key)
        else:
            self._builtin.discard(key)


def check_entry(entry: Any, owner: str, backend: str) -> Lowering:
    """``entry`` if it is a well-formed Lowering, else a ValueError naming the plugin."""
    if not isinstance(entry, Lowering):
        raise ValueError(f"plugin {owner!r} returned {type(entry).__name__} {entry!r:.80} from its "
                         f"nndsl_lowerings hook for backend {backend!r}; expected nndsl.lowering.Lowering")
    if entry.kind not in KINDS:
        raise ValueError(f"plugin {owner!r} returned a lowering of unknown kind {entry.kind!r} "
                         f"(known: {', '.join(KINDS)})")
    if not isinstance(entry.name, str) or not entry.name:
        raise ValueError(f"plugin {owner!r} returned a {entry.kind} lowering with bad name {entry.name!r:.80}")
    return entry


@dataclass(frozen=True)
class Use:
    """One construct a model uses: ``(kind, name)``, where the spec writes it, and in what."""

    kind: str
    name: str
    span: Any = None
    where: str = ""      # the layer (tensor name) or statement it is used in, for messages


# Kinds a model needs for training only (the optimizer and what compile/fit take); the rest
# are needed to build the model at all.
TRAINING_KINDS = ("optimizer", "loss", "metric", "callback", "schedule")


@dataclass(frozen=True)
class Gap:
    """One construct a backend cannot lower in a model: a diagnostic waiting for its code.

    Args:
        kind: the construct's kind (:data:`KINDS`), or ``"option"`` for a value or option the
            backend cannot honour although it lowers the construct itself.
        name: its name (``"bidirectional"``, ``"class_weight"``).
        span: where the spec writes it (None: nowhere in particular).
        message: the sentence users read: ``layer 'bidirectional' has no lowering in backend 'torch'``.
        hint: how to get past it, or None.
        training: True when only training needs it (``nndsl.build`` of the model still works).
    """

    kind: str
    name: str
    span: Any
    message: str
    hint: str | None = None
    training: bool = False


def _object_uses(value: Any, registry, span, where: str, kind_hint: str | None) -> Iterator[Use]:
    """Configured objects anywhere in a value (and a bare name of ``kind_hint``'s table)."""
    from .params import Configured

    if isinstance(value, Configured):
        definition = getattr(registry, value.kind + "s", {}).get(value.name)
        yield Use(value.kind, definition.name if definition is not None else value.name, span, where)
        for _, inner in value.options:
            yield from _object_uses(inner, registry, span, where, None)
    elif isinstance(value, tuple):
        for inner in value:
            yield from _object_uses(inner, registry, span, where, None)
    elif isinstance(value, str) and kind_hint is not None:
        definition = getattr(registry, kind_hint + "s", {}).get(value)
        if definition is not None:
            yield Use(kind_hint, definition.name, span, where)


def _object_kind(kind) -> str | None:
    """The singular table name a parameter kind names objects of (``initializer``), or None."""
    from .params import Object, Optional

    if isinstance(kind, Optional):
        kind = kind.inner
    return kind.kind if isinstance(kind, Object) else None


def uses(model, registry) -> Iterator[Use]:
    """Every ``(kind, name)`` the model needs lowered, in source order, with its span.

    Layers (and a wrapped layer, ``bidirectional lstm``), activations named in layer
    arguments, regularizers, constraints and initializers in layer arguments, the optimizer
    and its learning-rate schedule, losses, metrics and callbacks (and objects in their options).
    """
    from .params import Activation, Optional

    def is_activation(kind) -> bool:
        return isinstance(kind, Activation) or (isinstance(kind, Optional) and isinstance(kind.inner, Activation))

    for node in model.nodes:
        layer = registry.layers.get(node.op)
        name = layer.name if layer is not None else node.op
        yield Use("layer", name, node.span, node.name)
        attrs = node.attr
        inner = attrs.get("layer") if isinstance(attrs.get("layer"), str) else None
        if inner is not None and inner in registry.layers and layer is not None and layer.expand_params:
            yield Use("layer", registry.layers[inner].name, node.span, node.name)
            params = registry.layers[inner].params
        else:
            params = layer.params if layer is not None else ()
        for p in params:
            value = attrs.get(p.name)
            if is_activation(p.kind) and isinstance(value, str):
                yield Use("activation", value, node.span, node.name)
            else:
                yield from _object_uses(value, registry, node.span, node.name, _object_kind(p.kind))
    t = model.training
    if t.optimizer is not None:
        opt = registry.optimizers.get(t.optimizer.name)
        yield Use("optimizer", opt.name if opt else t.optimizer.name, t.optimizer.span)
        for _, value in t.optimizer.attrs:
            yield from _object_uses(value, registry, t.optimizer.span, t.optimizer.name, None)
    for i, (_, name) in enumerate(t.losses):
        loss = registry.losses.get(name)
        yield Use("loss", loss.name if loss else name, t.loss_span(i))
    for i, (_, name) in enumerate(t.metrics):
        metric = registry.metrics.get(name)
        yield Use("metric", metric.name if metric else name, t.metric_span(i))
    for cb in t.callbacks:
        yield Use("callback", cb.name, cb.span)
        for _, value in cb.options:
            yield from _object_uses(value, registry, cb.span, cb.name, None)


def missing(model, registry, table: LoweringTable, kinds) -> list[Use]:
    """What the model uses, of ``kinds``, that ``table`` has no entry for (each once per place)."""
    seen = set()
    out = []
    for use in uses(model, registry):
        if use.kind not in kinds or table.has(use.kind, use.name):
            continue
        key = (use.kind, use.name, use.where)
        if key not in seen:
            seen.add(key)
            out.append(use)
    return out


def gap_for(use: Use, backend: str, hint: str | None = None) -> Gap:
    """The :class:`Gap` for a construct ``backend``'s lowering table lacks."""
    return Gap(use.kind, use.name, use.span, f"{use.kind} '{use.name}' has no lowering in backend '{backend}'",
               hint, use.kind in TRAINING_KINDS)

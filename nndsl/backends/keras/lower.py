"""What the Keras backends' lowering table holds, and how a node becomes a Keras constructor call.

Both the live model (:mod:`.build`) and the emitted script (:mod:`.emit`) read the
:class:`KerasCall` descriptions made here, so they cannot drift apart. Table entries, by kind:

- ``layer``: a :class:`KerasLayer` (class, positional arguments, how it is called);
- ``activation``, ``loss``, ``metric``: the name Keras accepts (``"mean_squared_error"``);
- ``optimizer``, ``callback``: the class name in ``keras.optimizers`` / ``keras.callbacks``.

Nothing here imports Keras.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from ...errors import BackendError, PluginCodeError
from ...lowering import Lowering
from ...params import Activation, Configured, Optional, Param

TABLE = "keras"  # the lowering table both Keras backends read (nndsl_lowerings(backend="keras"))
INPUT_STYLES = ("auto", "single", "list", "args")
# A KerasCall with this module calls a function of nndsl.backends.keras_helpers; the emitted
# script carries that function's source instead of importing nndsl.
HELPERS = "nndsl.backends.keras_helpers"
# Keras' own submodules a KerasCall may name; any other module is imported by its path.
KERAS_MODULES = ("layers", "optimizers", "losses", "metrics", "callbacks", "initializers", "regularizers",
                 "constraints")


@dataclass(frozen=True, slots=True)
class KerasCall:
    """How to construct one Keras object: ``keras.<module>.<cls>(*args, **kwargs)``.

    ``module`` is ``layers``, ``optimizers``, ... or a plugin's own module path
    (``"nndsl_extras.keras_layers"``), imported only when a model is built. Arguments may
    themselves be KerasCalls (``Bidirectional(LSTM(64))``).
    """

    cls: str
    args: tuple = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    module: str = "layers"


@dataclass(frozen=True)
class KerasLayer:
    """How one layer lowers to Keras.

    Args:
        cls: the class name in ``module`` (``"Dense"``).
        positional: how many leading params the constructor takes positionally, as
            hand-written Keras code passes them (``Dense(32, activation="relu")``).
        module: ``"layers"`` (``keras.layers``) or a plugin's module path.
        inputs: how the layer is applied to its input tensors: ``"single"`` (``layer(x)``),
            ``"list"`` (``layer([a, b])``, merges), ``"args"`` (``layer(q, v)``; one input is
            passed twice, for self-attention), ``"auto"``: single for one input, else list.
        lower: optional custom lowering ``(attrs, explicit, lowering) -> KerasCall`` where
            ``lowering`` is the :class:`KerasLowering` (to lower a wrapped layer).
    """

    cls: str
    positional: int = 0
    module: str = "layers"
    inputs: str = "auto"
    lower: Callable[[Mapping[str, Any], Sequence[str], "KerasLowering"], KerasCall] | None = None


@dataclass(frozen=True)
class KerasObject:
    """A Keras class built from options: ``keras.<module>.<cls>(**options)`` (regularizers,
    constraints, initializers, schedules, callbacks, losses). For a loss, ``name`` is the
    string ``compile()`` takes when the spec gives no options (default: the loss's
    spelled-out name, :attr:`nndsl.registry.LossDef.long`)."""

    module: str
    cls: str
    name: str | None = None


def keras_layer(name: str, cls: str, positional: int = 0, **options: Any) -> Lowering:
    """A ``layer`` table entry: ``keras_layer("dense", "Dense", 1)``."""
    return Lowering("layer", name, KerasLayer(cls, positional, **options))


def snake(cls: str) -> str:
    """Keras' automatic layer-name prefix for a class (``keras.src.utils.naming.to_snake_case``)."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", cls)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def _is_activation(kind) -> bool:
    return isinstance(kind, Activation) or (isinstance(kind, Optional) and isinstance(kind.inner, Activation))


class KerasLowering:
    """The Keras lowering table of one registry, with the questions the builders ask it."""

    def __init__(self, registry):
        self.registry = registry
        self.table = registry.lowerings(TABLE)

    def _value(self, kind: str, name: str) -> Any:
        value = self.table.get(kind, name)
        if value is None:
            raise BackendError(f"{kind} {name!r} has no lowering in backend 'keras'")
        return value

    def layer(self, name: str) -> KerasLayer:
        entry = self._value("layer", self.registry.layers[name].name)
        if not isinstance(entry, KerasLayer):
            owner = self.table.owner("layer", name)
            raise PluginCodeError(f"plugin {owner!r} lowers layer {name!r} to {entry!r:.80} for Keras; "
                                  "expected a nndsl.backends.keras.KerasLayer")
        return entry

    def activation(self, name: str | None) -> str | None:
        return None if name is None else self._value("activation", name)

    def loss(self, name: str) -> str:
        """The name compile() takes for a loss without options."""
        definition = self.registry.losses[name]
        entry = self._value("loss", definition.name)
        return entry if isinstance(entry, str) else entry.name or definition.long

    def object(self, kind: str, name: str) -> KerasObject:
        entry = self._value(kind, name)
        if not isinstance(entry, KerasObject):
            raise PluginCodeError(f"plugin {self.table.owner(kind, name)!r} lowers {kind} {name!r} to "
                                  f"{entry!r:.80} for Keras; expected a nndsl.backends.keras.KerasObject")
        return entry

    def metric(self, name: str) -> str:
        return self._value("metric", self.registry.metrics[name].name)

    def optimizer(self, name: str) -> str:
        return self._value("optimizer", self.registry.optimizers[name].name)


    def input_style(self, name: str) -> str:
        style = self.layer(name).inputs
        if style == "auto":
            return "single" if self.registry.layers[name].max_inputs == 1 else "list"
        return style

    def call(self, name: str, attrs: Mapping[str, Any], explicit: Sequence[str]) -> KerasCall:
        """The constructor call for layer ``name``: only explicitly given arguments, like hand-written code."""
        entry = self.layer(name)
        if entry.lower is not None:
            return entry.lower(attrs, explicit, self)
        return self.default_call(entry, self.registry.layers[name].params, attrs, explicit)

    def default_call(self, entry: KerasLayer, params: Sequence[Param], attrs: Mapping[str, Any],
                     explicit: Sequence[str]) -> KerasCall:
        args: list[Any] = []
        kwargs: list[tuple[str, Any]] = []
        in_positional = True
        for i, p in enumerate(params):
            if p.name not in explicit:
                in_positional = False
                continue
            value = attrs[p.name]
            if _is_activation(p.kind) and isinstance(value, str):
                value = self.activation(value)
            if i < entry.positional and in_positional:
                args.append(value)
            else:
                in_positional = False
                kwargs.append((p.name, value))
        return KerasCall(entry.cls, tuple(args), tuple(kwargs), entry.module)

    def type_name(self, node) -> str:
        """The Keras class a node becomes, as ``model.summary()`` shows it (``Bidirectional(LSTM)``)."""
        entry = self.table.get("layer", node.op)
        if not isinstance(entry, KerasLayer):
            return node.op
        inner = node.attr.get("layer")
        if entry.lower is not None and isinstance(inner, str) and inner in self.registry.layers:
            inner_entry = self.table.get("layer", inner)
            if isinstance(inner_entry, KerasLayer):
                return f"{entry.cls}({inner_entry.cls})"
        return entry.cls

    def node_call(self, node) -> KerasCall:
        """The KerasCall for one IR node, with its spec name as the Keras layer name."""
        layer = self.registry.layers[node.op]
        try:
            call = self.call(node.op, node.attr, node.explicit)
            if not isinstance(call, KerasCall):
                raise TypeError(f"its Keras lowering returned {call!r:.80}; expected a KerasCall")
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - plugin lowerings are untrusted code
            owner = self.table.owner("layer", layer.name) or "?"
            if owner.startswith("nndsl.") or isinstance(exc, PluginCodeError):
                raise  # nndsl's own lowering failing is nndsl's bug: an internal error
            raise PluginCodeError(f"layer '{layer.name}' (lowered by plugin {owner}) failed to lower to Keras: "
                                  f"{type(exc).__name__}: {exc}") from None
        # Layers nested in a wrapper (Bidirectional(LSTM(...))) get names derived from the node's,
        # so a build never depends on Keras' process-wide name counters.
        args = tuple(_named(a, f"{node.name}_{snake(a.cls)}") if isinstance(a, KerasCall) and a.module == "layers"
                     else a for a in call.args)
        return KerasCall(call.cls, lower(args, self), (*lower_kwargs(call.kwargs, self), ("name", node.name)),
                         call.module)


def _named(call: KerasCall, name: str) -> KerasCall:
    if any(k == "name" for k, _ in call.kwargs):
        return call
    return KerasCall(call.cls, call.args, (*call.kwargs, ("name", name)), call.module)


def optimizer_call(model, lowering: KerasLowering) -> KerasCall:
    opt = model.training.optimizer
    if opt is None:
        return KerasCall("RMSprop", (), (), "optimizers")
    attrs = opt.attr
    return KerasCall(lowering.optimizer(opt.name), (), lower_kwargs(((k, attrs[k]) for k in opt.explicit), lowering),
                     "optimizers")


def keras_object(kind: str, name: str, options, lowering: KerasLowering) -> KerasCall:
    """The KerasCall for one (kind, name) of the table with its options (lowered in turn)."""
    entry = lowering.object(kind, name)
    return KerasCall(entry.cls, (), lower_kwargs(options, lowering), entry.module)


def lower(value: Any, lowering: KerasLowering) -> Any:
    """A checked attribute value as Keras takes it: configured objects become KerasCalls."""
    if isinstance(value, Configured):
        return keras_object(value.kind, value.name, value.options, lowering)
    if isinstance(value, KerasCall):
        return KerasCall(value.cls, lower(value.args, lowering), lower_kwargs(value.kwargs, lowering), value.module)
    if isinstance(value, tuple):
        return tuple(lower(v, lowering) for v in value)
    return value


def lower_kwargs(kwargs, lowering: KerasLowering) -> tuple[tuple[str, Any], ...]:
    return tuple((k, lower(v, lowering)) for k, v in kwargs)


def loss_value(name: str, options, lowering: KerasLowering) -> Any:
    """A loss as compile() takes it: the Keras name, or a loss object when options were given."""
    if not options:
        return lowering.loss(name)
    return keras_object("loss", lowering.registry.losses[name].name, options, lowering)


def compile_arguments(model, registry, options: dict | None = None,
                      keras_backend: str | None = None) -> dict[str, Any]:
    """compile() keyword arguments as plain values and KerasCalls (the optimizer).

    ``keras_backend`` (the live one, when building) drops what it cannot honour: the spec's
    ``steps_per_execution`` > 1 on torch (with a warning; an explicit option is an error).
    """
    lowering = KerasLowering(registry)
    t = model.training
    out: dict[str, Any] = {"optimizer": optimizer_call(model, lowering)}
    losses = t.losses
    if losses:
        loss_options = dict(t.loss_options)
        per_output = {o: loss_value(name, loss_options.get(o), lowering) for o, name in losses if o}
        overall = [loss_value(name, loss_options.get(""), lowering) for o, name in losses if not o]
        if per_output:
            out["loss"] = {o: per_output.get(o, overall[0] if overall else None) for o in model.outputs}
        elif len(model.outputs) > 1:
            out["loss"] = {o: overall[0] for o in model.outputs}
        else:
            out["loss"] = overall[0]
    if t.loss_weights:
        weights = dict(t.loss_weights)
        if len(model.outputs) > 1:
            out["loss_weights"] = {o: weights.get(o, 1.0) for o in model.outputs}
        else:
            out["loss_weights"] = weights.get(model.outputs[0], 1.0)
    if t.metrics:
        overall_m = [lowering.metric(m) for o, m in t.metrics if not o]
        per_m: dict[str, list[str]] = {}
        for o, m in t.metrics:
            if o:
                per_m.setdefault(o, []).append(lowering.metric(m))
        if len(model.outputs) == 1 and not per_m:
            out["metrics"] = overall_m
        else:
            out["metrics"] = {o: overall_m + per_m.get(o, []) for o in model.outputs if overall_m or per_m.get(o)}
    fit = dict(t.fit)
    options = dict(options or {})
    steps = options.get("steps_per_execution", fit.get("steps_per_execution"))
    if steps is not None and keras_backend == "torch" and steps > 1:
        # Keras on PyTorch runs one batch per call; its ValueError would only come at fit time.
        if options.get("steps_per_execution") is not None:
            raise BackendError(f"steps_per_execution={steps}: Keras on torch runs one batch per call "
                               "(steps_per_execution must be 1)")
        warnings.warn(f"the spec's steps_per_execution={steps} is ignored: Keras on torch runs one batch "
                      "per call", stacklevel=3)
        steps = None
    if steps is not None:
        out["steps_per_execution"] = steps
    jit = options.get("jit_compile", fit.get("jit_compile"))
    if jit is not None:
        out["jit_compile"] = {"true": True, "false": False, "auto": "auto"}.get(jit, jit)
    return out

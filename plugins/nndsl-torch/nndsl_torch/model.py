"""A checked model lowered to PyTorch: the plan (pure data, no torch) and the live ``nn.Module``.

:func:`plan` runs every lowering of the table over the IR and collects what the backend cannot
take (a layer with no lowering, an option it cannot honour, a mask reaching a layer that would
ignore it) as problems at their lines, all at once. :class:`SpecModule` instantiates a plan;
the emitter (:mod:`nndsl_torch.emit`) prints the same plan as source.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass
from typing import Any

from .lowering import CALLBACKS, LAYERS, LOSS_OPTIONS as _LOSS_OPTIONS, METRICS, Call, Lowered, Unsupported, optimizer_call

BACKEND = "torch"


@dataclass(frozen=True)
class PlannedNode:
    name: str          # the spec's tensor name
    attribute: str     # the module attribute that holds its layer (a safe identifier)
    op: str
    lowered: Lowered
    inputs: tuple[str, ...]
    mask: str | None   # the tensor whose mask this layer receives (None: no mask)


@dataclass(frozen=True)
class Problem:
    span: Any          # nndsl.Span or None
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class Plan:
    """The lowered layers; what keeps the model from building (``problems``); and what keeps it
    from training (``training_problems``: optimizer, losses, metrics, callbacks, masked outputs)."""

    nodes: tuple[PlannedNode, ...]
    problems: tuple[Problem, ...]
    training_problems: tuple[Problem, ...] = ()

    @property
    def all_problems(self) -> tuple[Problem, ...]:
        return self.problems + self.training_problems


# nn.Module's own attribute names (forward, training, ...) cannot name a layer
_RESERVED = {"forward", "training", "inputs", "outputs", "self", "torch", "nn", "F", "math", "x", "masks"}


def attribute_names(names) -> dict[str, str]:
    """A distinct, safe Python attribute name for every tensor name."""
    import torch.nn  # noqa: F401 - only to know nn.Module's attributes

    from torch import nn

    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        ident = name if name.isascii() and name.isidentifier() else "layer"
        if keyword.iskeyword(ident) or ident.startswith("_") or ident in _RESERVED or hasattr(nn.Module, ident):
            ident = ident.strip("_") + "_layer"
        base, n = ident, 1
        while ident in used:
            n += 1
            ident = f"{base}_{n}"
        used.add(ident)
        out[name] = ident
    return out


def _safe_attribute_names(names) -> dict[str, str]:
    """:func:`attribute_names` without importing torch when it is absent (checking only)."""
    try:
        return attribute_names(names)
    except ImportError:
        return {n: n for n in names}


def plan(model, registry=None, attributes: bool = True) -> Plan:
    """Lower every node and training construct; never raises for what the backend cannot take.

    ``attributes=False`` leaves the module attribute names unchosen (choosing them imports
    torch), for checking what the backend supports.
    """
    problems: list[Problem] = []
    nodes: list[PlannedNode] = []
    tensor_names = [n.name for n in model.nodes]
    names = _safe_attribute_names(tensor_names) if attributes else {n: n for n in tensor_names}
    table = layer_table(registry)
    masked: dict[str, str] = {}  # tensor -> the tensor whose mask it carries
    for node in model.nodes:
        shapes = [tuple(model.tensor_shape(i)) for i in node.inputs]
        lower = table.get(("layer", node.op))
        if lower is None:
            problems.append(Problem(node.span, f"layer '{node.op}' has no lowering in backend '{BACKEND}'"))
            continue
        try:
            lowered = lower(node, shapes)
        except Unsupported as e:
            problems.append(Problem(node.span, e.message))
            continue
        mask = next((masked[i] for i in node.inputs if i in masked), None)
        if mask is not None and not (lowered.takes_mask or lowered.keeps_mask):
            problems.append(Problem(node.span, f"layer '{node.op}' receives the mask of embedding mask_zero=true; "
                                               f"masking into '{node.op}' has no lowering in backend '{BACKEND}'"))
        if lowered.makes_mask:
            masked[node.name] = node.name
        elif mask is not None and lowered.keeps_mask:
            masked[node.name] = mask
        elif mask is not None and lowered.takes_mask and _returns_sequences(lowered.call):
            masked[node.name] = mask
        nodes.append(PlannedNode(node.name, names[node.name], node.op, lowered, node.inputs, mask))
    training = training_problems(model, registry)
    spans = {n.name: n.span for n in model.nodes}
    for out in model.outputs:
        if out in masked:
            training.append(Problem(spans.get(out), f"output '{out}' carries the mask of embedding mask_zero=true; "
                                                    f"a masked loss has no lowering in backend '{BACKEND}'"))
    return Plan(tuple(nodes), tuple(problems), tuple(training))


def layer_table(registry) -> dict:
    """{("layer", op): lowering}: the merged ``torch`` table of nndsl's lowering hook (this
    plugin's entries and any other plugin's), or this plugin's own without a registry."""
    merged = {("layer", k): v for k, v in LAYERS.items()}
    if registry is not None:
        table = registry.lowerings(BACKEND)
        merged.update({key: value for key, value in table.entries.items() if key[0] == "layer"})
    return merged


def _returns_sequences(call: Call) -> bool:
    inner = call.args[0] if call.cls == "Bidirectional" else call
    return bool(dict(inner.kwargs).get("return_sequences"))


def training_problems(model, registry=None) -> list[Problem]:
    """What keeps a model that builds from training here: options and settings the loop cannot
    honour (the names themselves are checked against the lowering table by TorchBackend)."""
    t = model.training
    out: list[Problem] = []
    if t.optimizer is not None:
        try:
            optimizer_call(t.optimizer, registry)
        except Unsupported as e:
            out.append(Problem(t.optimizer.span, e.message))
    for i, (_, name) in enumerate(t.metrics):
        if name not in METRICS:
            out.append(Problem(t.metric_span(i), f"metric '{name}' has no lowering in backend '{BACKEND}'"))
    loss_spans = {o: t.loss_span(i) for i, (o, _) in enumerate(t.losses)}
    loss_names = dict(t.losses)
    for output, options in getattr(t, "loss_options", ()):
        loss = loss_names.get(output, "")
        honoured = _LOSS_OPTIONS.get(registry.losses[loss].long if registry is not None and loss in registry.losses
                                     else loss, ())
        for name, value in options:
            if name not in honoured or (name == "axis" and value != -1):
                what = f"{name}={value}" if name == "axis" else name
                out.append(Problem(loss_spans.get(output), f"loss option {what} has no lowering in backend "
                                                           f"'{BACKEND}'",
                                   "drop the option or train with a Keras backend" +
                                   (f" (torch honours {', '.join(honoured)} here)" if honoured else "")))
    from .schedules import axis_problem

    for node in model.nodes:
        problem = axis_problem(node, registry)
        if problem is not None:
            out.append(Problem(node.span, problem))
        if node.attr.get("activity_regularizer") is not None:
            out.append(Problem(node.span, f"activity_regularizer on layer '{node.op}' has no lowering in backend "
                                          f"'{BACKEND}'", "weight regularizers (kernel_regularizer=...) do"))
    for cb in t.callbacks:
        if cb.name in CALLBACKS:
            continue
        out.append(Problem(cb.span, f"callback '{cb.name}' has no lowering in backend '{BACKEND}'"))
    return out


# the live module ------------------------------------------------------------------------------

def instantiate(value: Any) -> Any:
    """Construct what a :class:`Call` describes (recursively); other values pass through."""
    if isinstance(value, Call):
        cls = resolve(value.cls)
        return cls(*(instantiate(a) for a in value.args), **{k: instantiate(v) for k, v in value.kwargs})
    return value


def resolve(path: str):
    """``Conv`` -> nndsl_torch.runtime.Conv; ``torch.nn.Flatten`` or a plugin's
    ``pkg.module.Class`` -> that class (imported when a model is built)."""
    if "." in path:
        import importlib

        module, _, name = path.rpartition(".")
        return getattr(importlib.import_module(module), name)
    from . import runtime

    return getattr(runtime, path)


def _module_class():
    import torch
    from torch import nn

    from .runtime import ACTIVATIONS

    class SpecModule(nn.Module):
        """The spec as an ``nn.Module``: tensors in and out in the spec's shapes (channels-last).

        Call it with the inputs in the spec's order, by name, or as one dict keyed by name. One
        output comes back as a tensor, several as a dict keyed by output name.
        """

        def __init__(self, model, the_plan: Plan):
            super().__init__()
            self.spec_name = model.name
            self.input_names = tuple(i.name for i in model.inputs)
            self.output_names = tuple(model.outputs)
            self.nodes = the_plan.nodes
            for node in the_plan.nodes:
                setattr(self, node.attribute, instantiate(node.lowered.call))
            self.activations = {n.name: ACTIVATIONS[n.lowered.activation] for n in the_plan.nodes
                                if n.lowered.activation}

        def forward(self, *args, **kwargs):
            if len(args) == 1 and isinstance(args[0], dict) and not kwargs:
                kwargs, args = dict(args[0]), ()
            if len(args) + len(kwargs) != len(self.input_names):
                raise TypeError(f"{self.spec_name} takes {len(self.input_names)} inputs "
                                f"({', '.join(self.input_names)}), got {len(args) + len(kwargs)}")
            tensors = dict(zip(self.input_names, args))
            tensors.update(kwargs)
            masks: dict[str, Any] = {}
            for node in self.nodes:
                layer = getattr(self, node.attribute)
                inputs = [tensors[i] for i in node.inputs]
                if node.lowered.takes_mask:
                    y = layer(inputs[0], masks.get(node.mask))
                else:
                    y = layer(*inputs)
                if node.lowered.makes_mask:
                    masks[node.name] = inputs[0] != 0
                fn = self.activations.get(node.name)
                tensors[node.name] = fn(y) if fn is not None else y
            if len(self.output_names) == 1:
                return tensors[self.output_names[0]]
            return {o: tensors[o] for o in self.output_names}

    del torch
    return SpecModule


def build_module(model, registry=None):
    """The ``nn.Module`` for a checked model (raises ``BackendError`` listing what cannot lower)."""
    the_plan = plan(model, registry)
    if the_plan.problems:
        from nndsl.backends.base import BackendError

        raise BackendError(unsupported_message(the_plan))
    return _module_class()(model, the_plan)


def unsupported_message(the_plan: Plan, training: bool = False) -> str:
    lines = [f"backend '{BACKEND}' cannot lower this model" + (" for training:" if training else ":")]
    for p in (the_plan.all_problems if training else the_plan.problems):
        where = f"line {p.span.line}: " if p.span is not None else ""
        lines.append(f"  {where}{p.message}")
    return "\n".join(lines)

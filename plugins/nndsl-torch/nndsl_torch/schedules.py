"""Keras' learning-rate schedules and weight penalties, as plain functions for the torch trainer.

A schedule maps the optimizer's step count (0 before the first update, as Keras' optimizer
``iterations``) to a learning rate with Keras 3's formulas; :func:`learning_rate` evaluates
the spec's ``adam cosine_decay(1e-3, 1000)``. :func:`penalty_terms` lists the weight penalties
(``kernel_regularizer=l2(0.01)``) as (l1, l2, parameter) triples; both are checked against
Keras in the plugin's tests. No torch import here.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

SCHEDULES = ("cosine_decay", "cosine_decay_restarts", "exponential_decay", "inverse_time_decay",
             "piecewise_constant_decay", "polynomial_decay")
REGULARIZERS = ("l1", "l2", "l1_l2")


def options(value: Any, table: Mapping[str, Any]) -> dict[str, Any]:
    """A configured object's options with the definition's defaults filled in (a bare name too)."""
    name = value if isinstance(value, str) else value.name
    definition = table[name]
    given = {} if isinstance(value, str) else dict(value.options)
    return {p.name: given.get(p.name, p.default) for p in definition.params}


def _cosine_decay(o, step):
    init, decay_steps, alpha = o["initial_learning_rate"], o["decay_steps"], o["alpha"]
    warmup_steps, target = o["warmup_steps"] or 0, o["warmup_target"]
    if target is not None and warmup_steps > 0:
        if step < warmup_steps:
            return init + (target - init) * step / warmup_steps
        init, step = target, step - warmup_steps
    step = min(step, decay_steps)
    cosine = 0.5 * (1.0 + math.cos(math.pi * step / decay_steps))
    return init * ((1.0 - alpha) * cosine + alpha)


def _cosine_decay_restarts(o, step):
    init, first, t_mul, m_mul, alpha = (o["initial_learning_rate"], o["first_decay_steps"], o["t_mul"], o["m_mul"],
                                        o["alpha"])
    fraction = step / first
    if t_mul == 1.0:
        restart = math.floor(fraction)
        fraction -= restart
    else:
        restart = math.floor(math.log(1.0 - fraction * (1.0 - t_mul)) / math.log(t_mul))
        done = (1.0 - t_mul ** restart) / (1.0 - t_mul)
        fraction = (fraction - done) / t_mul ** restart
    cosine = 0.5 * m_mul ** restart * (1.0 + math.cos(math.pi * fraction))
    return init * ((1.0 - alpha) * cosine + alpha)


def _exponential_decay(o, step):
    p = step / o["decay_steps"]
    return o["initial_learning_rate"] * o["decay_rate"] ** (math.floor(p) if o["staircase"] else p)


def _inverse_time_decay(o, step):
    p = step / o["decay_steps"]
    return o["initial_learning_rate"] / (1.0 + o["decay_rate"] * (math.floor(p) if o["staircase"] else p))


def _piecewise_constant_decay(o, step):
    for boundary, value in zip(o["boundaries"], o["values"]):
        if step <= boundary:
            return value
    return o["values"][-1]


def _polynomial_decay(o, step):
    init, decay_steps, end, power = (o["initial_learning_rate"], o["decay_steps"], o["end_learning_rate"],
                                     o["power"])
    if o["cycle"]:
        decay_steps = decay_steps * max(math.ceil(step / decay_steps), 1)
    else:
        step = min(step, decay_steps)
    return (init - end) * (1.0 - step / decay_steps) ** power + end


_FORMULAS: dict[str, Callable[[Mapping[str, Any], int], float]] = {
    "cosine_decay": _cosine_decay, "cosine_decay_restarts": _cosine_decay_restarts,
    "exponential_decay": _exponential_decay, "inverse_time_decay": _inverse_time_decay,
    "piecewise_constant_decay": _piecewise_constant_decay, "polynomial_decay": _polynomial_decay,
}


def learning_rate(value: Any, registry, step: int) -> float:
    """The learning rate at ``step``: a number as it is, a schedule by Keras' formula."""
    if isinstance(value, (int, float)):
        return float(value)
    return float(_FORMULAS[value.name](options(value, registry.schedules), int(step)))


# weight penalties -------------------------------------------------------------------------------

# a layer argument -> the runtime modules' parameters it regularizes (all that the module has)
_PENALIZED = {
    "kernel_regularizer": ("weight", "kernel", "query_kernel", "key_kernel", "value_kernel", "output_kernel",
                           "gate_kernel"),
    "bias_regularizer": ("bias", "query_bias", "key_bias", "value_bias", "output_bias", "gate_bias"),
    "recurrent_regularizer": ("recurrent_kernel",),
    "embeddings_regularizer": ("weight",),
    "depthwise_regularizer": ("weight", "depthwise"),
    "pointwise_regularizer": ("pointwise",),
}


def penalty_terms(model, module, registry) -> list[tuple[float, float, Any]]:
    """(l1, l2, parameter) for every regularized weight of a built module; Keras adds
    ``l1 * sum(|w|) + l2 * sum(w ** 2)`` of each to the loss (layout does not change a sum)."""
    out = []
    for planned in module.nodes:
        node = model.node(planned.name)
        layer = getattr(module, planned.attribute)
        parts = [layer.forward_layer, layer.backward_layer] if node.op == "bidirectional" else [layer]
        for arg, names in _PENALIZED.items():
            value = node.attr.get(arg)
            if value is None:
                continue
            o = options(value, registry.regularizers)
            for part in parts:
                for name in names:
                    param = getattr(part, name, None)
                    if param is not None and hasattr(param, "requires_grad"):
                        out.append((float(o.get("l1", 0.0)), float(o.get("l2", 0.0)), param))
    return out


# weight constraints -----------------------------------------------------------------------------

CONSTRAINTS = ("max_norm", "min_max_norm", "non_neg", "unit_norm")
_CONSTRAINED = {
    "kernel_constraint": _PENALIZED["kernel_regularizer"],
    "bias_constraint": _PENALIZED["bias_regularizer"],
    "recurrent_constraint": ("recurrent_kernel",),
    "depthwise_constraint": ("weight", "depthwise"),
    "pointwise_constraint": ("pointwise",),
}


def keras_axis_in_torch(op: str, param_name: str, ndim: int):
    """Where axis ``k`` of a Keras weight is in the runtime's parameter (the layouts of
    nndsl_torch.weights), or None where Keras' axes do not survive (depthwise kernels are merged)."""
    if param_name in ("weight", "pointwise") and (op == "dense"):
        return lambda k: 1 - (k % 2)
    if (op.startswith("conv") and param_name == "weight") or param_name == "pointwise":
        rank = ndim - 2

        def conv(k: int) -> int:
            k %= ndim
            return 2 + k if k < rank else (1 if k == rank else 0)
        return conv
    if param_name in ("weight", "depthwise") and op.startswith(("depthwiseconv", "separableconv")):
        return None
    return lambda k: k % ndim


def constraint_terms(model, module, registry) -> list[tuple[str, dict, Any, Any]]:
    """(constraint name, its options with defaults, parameter, axis mapper) for every constrained
    weight of a built module; the trainer projects each after every optimizer step, as Keras does."""
    out = []
    for planned in module.nodes:
        node = model.node(planned.name)
        layer = getattr(module, planned.attribute)
        parts = [layer.forward_layer, layer.backward_layer] if node.op == "bidirectional" else [layer]
        for arg, names in _CONSTRAINED.items():
            value = node.attr.get(arg)
            if value is None:
                continue
            name = value if isinstance(value, str) else value.name
            name = registry.constraints[name].name
            o = options(value, registry.constraints)
            for part in parts:
                for pname in names:
                    param = getattr(part, pname, None)
                    if param is not None and hasattr(param, "requires_grad"):
                        out.append((name, o, param, keras_axis_in_torch(node.op, pname, param.dim())))
    return out


def axis_problem(node, registry) -> str | None:
    """Why a constraint of ``node`` cannot be projected in the runtime's layout, or None."""
    for arg in ("depthwise_constraint",):
        value = node.attr.get(arg)
        if value is None:
            continue
        name = value if isinstance(value, str) else value.name
        name = registry.constraints[name].name if registry is not None else name
        if name != "non_neg":
            return (f"{arg}={name} on layer '{node.op}' has no lowering in backend 'torch' (the depthwise kernel's "
                    "Keras axes are merged in PyTorch's layout; non_neg works)")
    return None

"""Checks of the training section that need the whole model: what `run` would only find later.

Callbacks watching quantities that are never logged (or need validation data the fit does not
hold out), class weights that do not fit the output, learning-rate callbacks that cannot set a
scheduled rate, and a loss that disagrees with its output's activation.
"""

from __future__ import annotations

from typing import Iterable

from . import codes, ir
from .diagnostics import Diagnostic, Severity, Span, did_you_mean
from .params import Configured
from .registry import Registry
from .semantic.bound import BoundModel

# Losses that want probabilities from a softmax over the last axis (unless from_logits=true).
_SOFTMAX_LOSSES = ("categorical_crossentropy", "sparse_categorical_crossentropy", "categorical_focal_crossentropy")
_SIGMOID_LOSSES = ("binary_crossentropy", "binary_focal_crossentropy")


def logged_names(training: ir.Training, outputs: list[str], registry: Registry) -> set[str]:
    """What each epoch logs (without ``val_``): the loss, per-output losses, metrics as Keras names them."""
    names = {"loss", "learning_rate"}
    multi = len(outputs) > 1
    if multi:
        names |= {f"{o}_loss" for o in outputs}
    for output, metric in training.metrics:
        logged = registry.metrics[metric].logged_as
        if multi:
            names |= {f"{o}_{logged}" for o in ([output] if output else outputs)}
        else:
            names.add(logged)
    return names


def lint_training(bound: BoundModel, nodes: tuple[ir.Node, ...], registry: Registry) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    t = bound.training
    outputs = [name for name, _ in bound.outputs]
    out += _monitors(bound, outputs, registry)
    out += _scheduled_rate(t)
    out += _class_weight(bound, nodes, outputs, registry)
    out += _loss_activation(bound, nodes, outputs, registry)
    out += _memory(bound, nodes)
    return out


def _memory(bound: BoundModel, nodes: tuple[ir.Node, ...]) -> Iterable[Diagnostic]:
    """W011: weights plus optimizer state that this machine cannot hold (nndsl/memory.py)."""
    from . import memory

    found = memory.too_large(nodes, bound.training.optimizer)
    if found is not None:
        largest = memory.largest_node(nodes)
        yield Diagnostic(codes.TOO_LARGE_FOR_MEMORY, memory.message(*found),
                         largest.span if largest is not None else None,
                         memory.HINT + f" (the largest layer holds {largest.params.total:,} parameters)"
                         if largest is not None else memory.HINT, Severity.WARNING)


def _monitors(bound: BoundModel, outputs: list[str], registry: Registry) -> Iterable[Diagnostic]:
    t = bound.training
    validation = bool(t.fit_options.get("validation_split"))
    logged = logged_names(t, outputs, registry) if outputs else set()
    for cb, span in zip(t.callbacks, bound.monitor_spans):
        definition = registry.callbacks.get(cb.name)
        params = {p.name: p for p in definition.params} if definition is not None else {}
        if "monitor" not in params:
            continue
        options = dict(cb.options)
        if "monitor" not in options and "save_best_only" in params and not options.get("save_best_only"):
            continue  # a checkpoint saved every epoch does not read its monitor
        monitor = options.get("monitor", params["monitor"].default)
        if monitor.startswith("val_") and not validation:
            yield Diagnostic(codes.NO_VALIDATION,
                             f"{cb.name} watches {monitor}, but the fit holds out no validation data", span,
                             f"add 'fit validation_split=0.1', or watch a training quantity: monitor={monitor[4:]}")
            continue
        base = monitor[4:] if monitor.startswith("val_") else monitor
        if logged and base not in logged:
            prefix = "val_" if monitor.startswith("val_") else ""
            choices = sorted(prefix + n for n in logged if not (prefix and n == "learning_rate"))
            metric = registry.metrics.get(base)
            if metric is not None and metric.logged_as in logged:
                as_logged = prefix + metric.logged_as
                hint = f"the logs call the metric {base} '{as_logged}': monitor={as_logged}"
            else:
                hint = (did_you_mean(monitor, choices) or
                        f"logged: {', '.join(choices)}; add the metric (metrics ...) or watch one of these")
            yield Diagnostic(codes.UNKNOWN_MONITOR, f"{cb.name} watches {monitor}, which training does not log",
                             span, hint, Severity.WARNING)


def _scheduled_rate(t: ir.Training) -> Iterable[Diagnostic]:
    opt = t.optimizer
    if opt is None or not isinstance(opt.attr.get("learning_rate"), Configured):
        return
    for cb in t.callbacks:
        if cb.name in ("learning_rate_scheduler", "reduce_lr_on_plateau"):
            yield Diagnostic(codes.BAD_TRAINING,
                             f"{cb.name} sets the learning rate, but the optimizer's learning rate is a schedule",
                             cb.span, "use one: a number as the optimizer's rate with this callback, "
                                      "or the schedule alone")


def _output_classes(node: ir.Node | None) -> int | None:
    if node is None or not node.shape or node.shape[-1] is None:
        return None
    width = node.shape[-1]
    return width if width > 1 else 2


def _class_weight(bound: BoundModel, nodes, outputs: list[str], registry: Registry) -> Iterable[Diagnostic]:
    weights = bound.training.fit_options.get("class_weight")
    if weights is None:
        return
    span = bound.fit_span
    if len(outputs) > 1:
        yield Diagnostic(codes.BAD_TRAINING, f"class_weight needs a model with one output; this one has "
                         f"{len(outputs)} ({', '.join(outputs)})", span,
                         "Keras applies class weights to single-output models only; use loss_weights between outputs")
        return
    loss, _ = bound.training.loss_for(outputs[0]) if outputs else (None, {})
    definition = registry.losses.get(loss) if loss else None
    if definition is not None and definition.labels == "values":
        yield Diagnostic(codes.BAD_TRAINING, f"class_weight weighs samples by class, but loss {loss} compares "
                         "values, not classes", span, "drop class_weight, or use a classification loss")
        return
    if weights == "balanced" or not outputs:
        return
    classes = _output_classes(next((n for n in nodes if n.name == outputs[0]), None))
    if classes is not None and len(weights) != classes:
        yield Diagnostic(codes.ARG_RANGE, f"class_weight gives {len(weights)} weights, but the output "
                         f"'{outputs[0]}' has {classes} classes", span,
                         f"give one weight per class id 0..{classes - 1}, or class_weight=balanced")


def _activation(node: ir.Node) -> str | None:
    """The activation a node ends with, when it is a plain one (None: none or not known)."""
    value = node.attr.get("activation")
    return value if isinstance(value, str) else None


def _loss_activation(bound: BoundModel, nodes, outputs: list[str], registry: Registry) -> Iterable[Diagnostic]:
    t = bound.training
    by_name = {n.name: n for n in nodes}
    spans = dict(bound.loss_spans)
    for output in outputs:
        node = by_name.get(output)
        loss, options = t.loss_for(output)
        if node is None or loss is None:
            continue
        activation = _activation(node) or ("linear" if "activation" in node.attr else None)
        if activation is None:
            continue
        span = spans.get(output) or bound.loss_span or node.span
        logits = bool(options.get("from_logits"))
        if logits and activation in ("softmax", "sigmoid"):
            yield Diagnostic(codes.SUSPICIOUS, f"loss {loss} has from_logits=true, but output '{output}' already "
                             f"applies {activation}", span,
                             f"drop from_logits=true, or remove the {activation} from '{output}' so it outputs logits",
                             Severity.WARNING)
        elif loss in _SOFTMAX_LOSSES and activation == "sigmoid" and node.shape and node.shape[-1] != 1:
            yield Diagnostic(codes.SUSPICIOUS, f"loss {loss} wants a softmax over the classes, but output "
                             f"'{output}' applies sigmoid", span,
                             f"use softmax on '{output}', or binary_crossentropy for independent labels",
                             Severity.WARNING)
        elif not logits and activation == "linear" and loss in _SOFTMAX_LOSSES + _SIGMOID_LOSSES:
            want = "softmax" if loss in _SOFTMAX_LOSSES else "sigmoid"
            yield Diagnostic(codes.SUSPICIOUS, f"loss {loss} wants probabilities, but output '{output}' has no "
                             "activation", span,
                             f"add {want} to '{output}', or write the loss with from_logits=true", Severity.WARNING)


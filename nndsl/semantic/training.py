"""Binding the statements that are not layers: input and the training section.

One function per statement kind, each ``(binder, call) -> None``; :data:`nndsl.semantic.bind.STATEMENTS`
maps the keyword to it. A function reports its problems through the binder and records what it
bound on the binder's state (inputs, optimizer, losses, ...).
"""

from __future__ import annotations

import dataclasses

import os

from .. import ast, codes, ir
from ..diagnostics import Span, did_you_mean
from ..params import ArgError, Float, describe
from ..statements import DATA_PARAMS, FIT_PARAMS, INPUT_PARAMS
from .scope import TensorRef, INPUT


def bind_input(b, call: ast.Call) -> None:
    """`input 784`, `input image 28 28 1 dtype=uint8`."""
    b.input_written = True
    args = list(call.args)
    name = None
    name_span = call.span
    if args and isinstance(args[0], ast.Ident) and args[0].name not in ("true", "false", "none"):
        name, name_span = args[0].name, args[0].span
        args = args[1:]
    # `input text dtype=string`: one string per sample, Keras' Input(shape=(), dtype="string")
    scalar_string = any(kw.name == "dtype" and isinstance(kw.value, (ast.Ident, ast.String))
                        and getattr(kw.value, "name", getattr(kw.value, "value", None)) == "string"
                        for kw in call.keywords)
    if not args and not scalar_string:
        b.error(codes.MISSING_ARG, "input needs its shape", call.span,
                "write the dimensions without the batch: input 784, or input image 28 28 1")
        return
    params = INPUT_PARAMS
    if not args:  # a scalar string: the shape is ()
        params = tuple(dataclasses.replace(p, default=()) if p.name == "shape" else p for p in params)
    bound = b.bind("input", params, call, args)
    if bound is None:
        return
    values, _ = bound
    if name is None:
        name = "input_layer" if not b.inputs else f"input_layer_{len(b.inputs)}"
    elif not b.check_new_name(name, name_span):
        return
    ref = TensorRef(INPUT, len(b.inputs))
    b.scope.define(name, ref, name_span)
    b.inputs.append(ir.Input(name, tuple(values["shape"]), values["dtype"], call.span))
    b.current_ref = ref


def bind_optimizer(b, call: ast.Call) -> None:
    """`optimizer adam 0.001`."""
    if not call.args or not isinstance(call.args[0], ast.Ident):
        b.error(codes.MISSING_ARG, "optimizer needs a name", call.span, "for example: optimizer adam 0.001")
        return
    optimizer_from(b, call.args[0].name, call.args[0].span, call, call.args[1:])


def optimizer_from(b, name: str, span: Span, call: ast.Call, args) -> None:
    """An optimizer by name with its arguments (`optimizer adam 0.001` or a bare `adam 0.001`)."""
    opt = b.registry.optimizers.get(name)
    if opt is None:
        b.error(codes.UNKNOWN_OPTIMIZER, f"unknown optimizer '{name}'", span,
                did_you_mean(name, b.registry.optimizers) or
                "known optimizers: " + ", ".join(b.registry.canonical("optimizers")))
        return
    bound = b.bind(opt.name, opt.params, call, args)
    if bound is None:
        return
    values, explicit = bound
    b.optimizer = ir.Optimizer(opt.name, tuple((p.name, values[p.name]) for p in opt.params), explicit, call.span)


def bind_loss(b, call: ast.Call) -> None:
    """``loss NAME [options]`` for every output, or ``loss OUT=NAME[(options)] ...`` per output."""
    if not call.args and not call.keywords:
        b.error(codes.MISSING_ARG, "loss needs a name", call.span, "for example: loss mse")
        return
    if len(call.args) > 1:
        b.error(codes.ARG_COUNT, "loss takes one name for all outputs", call.args[1].span,
                "give one loss per output as out=NAME")
        return
    if call.args:
        loss = _loss_def(b, call.args[0])
        if loss is None:
            return
        names = {p.name for p in loss.params}
        for kw in call.keywords:
            if kw.name not in names and isinstance(kw.value, (ast.Ident, ast.CallValue)) \
                    and kw.value.name in b.registry.losses:
                b.error(codes.SYNTAX, "a loss for all outputs and per-output losses in one statement",
                        kw.span, "write either 'loss mse' or 'loss out1=mse out2=mae'")
                return
        _add_loss(b, "", loss, call.args[0], call.keywords, None)
        return
    for kw in call.keywords:
        loss = _loss_def(b, kw.value)
        if loss is not None:
            _add_loss(b, kw.name, loss, kw.value, (), kw.span)


def _loss_def(b, value: ast.Value):
    if not isinstance(value, (ast.Ident, ast.String, ast.CallValue)):
        b.error(codes.ARG_TYPE, f"expected a loss name, got {describe(value)}", value.span)
        return None
    name = value.value if isinstance(value, ast.String) else value.name
    loss = b.registry.losses.get(name)
    if loss is None:
        b.error(codes.UNKNOWN_LOSS, f"unknown loss '{name}'", getattr(value, "name_span", value.span),
                did_you_mean(name, b.registry.losses) or
                "known losses: " + ", ".join(b.registry.canonical("losses")))
    return loss


def _add_loss(b, output: str, loss, value: ast.Value, keywords, span: Span | None) -> None:
    """Bind a loss's options (from its call value and the statement) and record it."""
    args = value.args if isinstance(value, ast.CallValue) else ()
    own = value.keywords if isinstance(value, ast.CallValue) else ()
    options: tuple = ()
    if args or own or keywords:
        if not loss.params:
            first = (args or own or keywords)[0]
            b.error(codes.UNKNOWN_KEYWORD, f"loss {loss.name} takes no options", first.span,
                    "losses with options: " + ", ".join(sorted(
                        {d.name for d in b.registry.losses.values() if d.params})))
            return
        fake = ast.Call(loss.name, tuple(args), tuple(own) + tuple(keywords), value.span,
                        getattr(value, "name_span", value.span))
        bound = b.bind(f"loss {loss.name}", loss.params, fake)
        if bound is None:
            return
        values, explicit = bound
        options = tuple((k, values[k]) for k in explicit)
    b.losses.append((output, loss.name))
    b.loss_at.append(value.span)
    if options:
        b.loss_options.append((output, options))
    if output and span is not None:
        b.loss_spans.append((output, span))


def bind_loss_weights(b, call: ast.Call) -> None:
    """``loss_weights 1.0 0.2`` (in output order) or ``loss_weights digit=1.0 parity=0.2``."""
    if not call.args and not call.keywords:
        b.error(codes.MISSING_ARG, "loss_weights needs a weight per output", call.span,
                "for example: loss_weights digit=1.0 parity=0.2")
        return
    if call.args and call.keywords:
        b.error(codes.SYNTAX, "weights in output order and by output name in one statement",
                call.keywords[0].span, "write either 'loss_weights 1.0 0.2' or 'loss_weights a=1.0 b=0.2'")
        return
    kind = Float(min=0.0)
    pairs = [("", a, a.span) for a in call.args] + [(k.name, k.value, k.span) for k in call.keywords]
    weights = []
    for output, value, span in pairs:
        try:
            weights.append((output, kind.convert(value, b.ctx), span))
        except ArgError as e:
            code = codes.ARG_RANGE if e.code == "range" else codes.ARG_TYPE
            b.error(code, f"loss_weights: {e.message}", value.span, "a weight is a number >= 0")
            return
    for output, _, span in weights:
        if output:
            b.loss_spans.append((output, span))
    b.loss_weights_raw = (weights, call.span)


def finish_loss_weights(b, outputs: list[str]) -> tuple[tuple[str, float], ...]:
    """Weights by output name, once the outputs are known (in output order when not named)."""
    if b.loss_weights_raw is None:
        return ()
    weights, span = b.loss_weights_raw
    if weights[0][0]:
        return tuple((o, w) for o, w, _ in weights)
    if outputs and len(weights) != len(outputs):
        b.error(codes.ARG_COUNT, f"loss_weights gives {len(weights)} weight{'s' * (len(weights) != 1)} "
                f"for {len(outputs)} output{'s' * (len(outputs) != 1)} ({', '.join(outputs)})", span,
                "give one weight per output, in output order, or name them: "
                "loss_weights " + " ".join(f"{o}=1.0" for o in outputs))
        return ()
    return tuple((o, w) for o, (_, w, _) in zip(outputs, weights))


def bind_metrics(b, call: ast.Call) -> None:
    """`metrics accuracy`, `metrics digit=accuracy parity=auc`."""
    if not call.args and not call.keywords:
        b.error(codes.MISSING_ARG, "metrics needs at least one name", call.span, "for example: metrics accuracy")
    pairs = [("", a) for a in call.args] + [(k.name, k.value) for k in call.keywords]
    for output, value in pairs:
        if not isinstance(value, (ast.Ident, ast.String)):
            b.error(codes.ARG_TYPE, f"expected a metric name, got {describe(value)}", value.span)
            continue
        name = value.name if isinstance(value, ast.Ident) else value.value
        metric = b.registry.metrics.get(name)
        if metric is None:
            b.error(codes.UNKNOWN_METRIC, f"unknown metric '{name}'", value.span,
                    did_you_mean(name, b.registry.metrics) or
                    "known metrics: " + ", ".join(b.registry.canonical("metrics")))
            continue
        if output:
            b.loss_spans.append((output, value.span))
        b.metrics.append((output, metric.name))
        b.metric_at.append(value.span)


def bind_fit(b, call: ast.Call) -> None:
    """`fit epochs=5 batch_size=64`."""
    b.fit_span = call.span
    bound = b.bind("fit", FIT_PARAMS, call)
    if bound is not None:
        values, explicit = bound
        b.fit = {k: values[k] for k in explicit}


def bind_data(b, call: ast.Call) -> None:
    """`data mnist` or `data "digits.npz"`."""
    if not call.args:
        b.error(codes.MISSING_ARG, "data needs a data set name or a quoted path", call.span,
                'for example: data mnist, or data "digits.npz"')
        return
    source = call.args[0]
    if isinstance(source, ast.Ident):
        if b.registry.datasets and source.name not in b.registry.datasets:
            b.error(codes.UNKNOWN_DATASET, f"unknown data set '{source.name}'", source.span,
                    did_you_mean(source.name, b.registry.datasets) or
                    "built-in data sets: " + ", ".join(sorted(b.registry.datasets)) +
                    '; a file is written as a quoted path: data "file.npz"')
            return
        kind, value = "dataset", source.name
    elif isinstance(source, ast.String):
        if not source.value:
            b.error(codes.ARG_RANGE, "empty path", source.span)
            return
        kind, value = "path", source.value
    else:
        b.error(codes.ARG_TYPE, f"expected a data set name or a quoted path, got {describe(source)}",
                source.span, 'for example: data mnist, or data "digits.npz"')
        return
    params = DATA_PARAMS[1:]
    if kind == "path" and b.registry.data_formats:
        params = _data_format_params(b, value, source.span, call)
        if params is None:
            return
    bound = b.bind("data", params, call, call.args[1:])
    if bound is None:
        return
    values, explicit = bound
    b.data = ir.DataRef(kind, value, tuple((k, values[k]) for k in explicit), call.span)


def _data_format_params(b, path: str, span: Span, call: ast.Call):
    """The options of the data format that reads ``path`` (E721 when none does, E720 for an
    option another format takes); None when reported."""
    fmt = b.registry.data_format(path)
    if fmt is None:
        known = sorted({s for f in b.registry.data_formats.values() for s in f.suffixes})
        b.error(codes.UNKNOWN_DATA_FORMAT, f"no data format reads '{path}'", span,
                f"data files are {', '.join(known)}; a folder of class subfolders ends in /: data \"photos/\"")
        return None
    own = {p.name for p in fmt.params}
    ok = True
    for kw in call.keywords:
        if kw.name in own:
            continue
        others = sorted({f.name for f in b.registry.data_formats.values()
                         if any(p.name == kw.name for p in f.params)})
        if others:
            what = "a folder" if fmt.folder else f"'{os.path.splitext(path)[1].lower()}' files"
            b.error(codes.DATA_OPTION, f"{kw.name}= applies to {' and '.join(others)} data, not to {what}",
                    kw.name_span, f"{fmt.name} data takes: {', '.join(sorted(own)) or 'no options'}")
            ok = False
    return fmt.params if ok else None


def bind_callback(b, call: ast.Call) -> None:
    """`callback early_stopping patience=3`."""
    from ..builtins.callbacks import NOT_CALLBACKS

    known = b.registry.canonical("callbacks")
    if not call.args or not isinstance(call.args[0], ast.Ident):
        b.error(codes.MISSING_ARG, "callback needs a name", call.span, "known callbacks: " + ", ".join(known))
        return
    name = call.args[0].name
    definition = b.registry.callbacks.get(name)
    if definition is None:
        b.error(codes.UNKNOWN_CALLBACK, f"unknown callback '{name}'", call.args[0].span,
                NOT_CALLBACKS.get(name) or did_you_mean(name, b.registry.callbacks)
                or "known callbacks: " + ", ".join(known))
        return
    bound = b.bind(definition.name, definition.params, call, call.args[1:])
    if bound is None:
        return
    values, explicit = bound
    if definition.validate is not None:
        problem = definition.validate(values)
        if problem:
            b.error(codes.ARG_RANGE, f"{definition.name}: {problem}", call.span)
            return
    b.callbacks.append(ir.Callback(definition.name, tuple((k, values[k]) for k in explicit), call.span))
    b.monitor_spans.append(next((k.value.span for k in call.keywords if k.name == "monitor"), call.span))

"""Pass 1: give the syntax tree meaning against the registry.

Classifies statements (inputs, layer chains, training statements), binds every argument to
its parameter with type and range checks, and resolves tensor names. It collects every
problem it finds instead of stopping at the first. Shapes are the next pass's job.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

from . import ast, codes
from .diagnostics import Diagnostic, Severity, Span, did_you_mean
from .params import ArgError, ConvertContext, Float, Param, describe
from .registry import OBJECT_TABLES, LayerDef, Registry, plugin_owner
from .statements import (DATA_PARAMS, FIT_PARAMS, INPUT_PARAMS, RESERVED_WORDS,
                         STATEMENT_KEYWORDS)
from . import ir


@dataclass(frozen=True, slots=True)
class BoundLayer:
    """A layer application with checked arguments; its name is final, its shape not yet known."""

    name: str
    layer: LayerDef
    params: tuple[Param, ...]
    attrs: tuple[tuple[str, Any], ...]
    explicit: tuple[str, ...]
    inputs: tuple[str, ...]
    span: Span
    user_named: bool
    origin: ast.Origin | None = None


@dataclass(frozen=True, slots=True)
class BoundModel:
    inputs: tuple[ir.Input, ...]
    layers: tuple[BoundLayer, ...]
    outputs: tuple[tuple[str, Span | None], ...]
    training: ir.Training
    loss_spans: tuple[tuple[str, Span], ...] = ()
    # Every name written after `output`, including ones whose chain failed (no cascades).
    declared_outputs: frozenset[str] = frozenset()
    fit_span: Span | None = None
    # Where each callback's monitor is written (the statement when it is the default).
    monitor_spans: tuple[Span, ...] = ()
    loss_span: Span | None = None


_ACTIVATION_OP = "activation"
POISONED = ("poisoned", -1)
# Keyword names from older Keras (and common shorthands) that Keras 3 spells differently.
_LEGACY_NAMES = {"lr": "learning_rate", "decay": "weight_decay", "nb_epoch": "epochs", "epoch": "epochs",
                 "alpha": "negative_slope", "init": "kernel_initializer", "nb_filter": "filters",
                 "output_dim": "units", "border_mode": "padding", "subsample": "strides",
                 "dim_ordering": "data_format", "p": "rate", "sigma": "stddev"}


@dataclass
class _Pending:
    """A layer application before automatic names are handed out."""

    name: str | None
    layer: LayerDef
    params: tuple[Param, ...]
    attrs: dict
    explicit: tuple[str, ...]
    inputs: list
    span: Span
    origin: ast.Origin | None = None
    fixed_name: bool = False


@dataclass
class _Resolver:
    registry: Registry
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ctx = ConvertContext(activations=tuple(self.registry.activations),
                                  suggest=lambda n, names: did_you_mean(n, names),
                                  objects={t: getattr(self.registry, t) for t in OBJECT_TABLES})
        self.inputs: list[ir.Input] = []
        self.pending: list[_Pending] = []
        # tensor name -> ("input", index) / ("layer", index into pending)
        self.tensors: dict[str, tuple[str, int]] = {}
        self.tensor_spans: dict[str, Span] = {}
        self.current_ref: tuple[str, int] | None = None
        self.outputs: list[tuple[tuple[str, int], Span]] = []
        self.output_names: dict[str, Span] = {}
        self.optimizer: ir.Optimizer | None = None
        self.losses: list[tuple[str, str]] = []
        self.loss_options: list[tuple[str, tuple]] = []
        self.loss_spans: list[tuple[str, Span]] = []
        self.loss_weights_raw: tuple[list, Span] | None = None
        self.monitor_spans: list[Span] = []
        self.metrics: list[tuple[str, str]] = []
        self.fit: dict[str, Any] = {}
        self.data: ir.DataRef | None = None
        self.callbacks: list[ir.Callback] = []
        self.seen_statements: dict[str, Span] = {}
        self.declared: set[str] = set()
        # An input statement was written (even a broken one): no "no input" cascades.
        self.input_written = False
        self.fit_span: Span | None = None
        self.origin: ast.Origin | None = None
        self.recovered = False
        # id(flat step) -> index into pending: `nndsl expand` prints each step's final name.
        self.step_layers: dict[int, int] = {}
        self.labels = 0
        self.tensors["%poisoned"] = POISONED
        self.shapes: list[tuple | None] = []  # shapes of pending layers, computed on request

    # The expander's sink ------------------------------------------------------------------

    def current(self) -> str | None:
        """A label for the tensor the last statement produced, so a block can take it."""
        if self.current_ref is None:
            return None
        self.labels += 1
        label = f"%current{self.labels}"
        self.tensors[label] = self.current_ref
        return label

    def shape(self, label: str) -> tuple | None:
        """The shape of a tensor bound so far (None if it failed); each layer is inferred once."""
        ref = self.tensors.get(label)
        if ref is None or ref[0] == "poisoned":
            return None
        if ref[0] == "input":
            return self.inputs[ref[1]].shape
        while len(self.shapes) <= ref[1]:
            p = self.pending[len(self.shapes)]
            shape = None
            in_shapes = [self.inputs[r[1]].shape if r[0] == "input" else self.shapes[r[1]] for r in p.inputs]
            if all(s is not None for s in in_shapes):
                try:
                    shape = tuple(p.layer.output_shape(p.attrs, in_shapes))
                except Exception:  # noqa: BLE001 - reported with its span by the inference pass
                    shape = None
            self.shapes.append(shape)
        return self.shapes[ref[1]]

    def name_of(self, label: str) -> str | None:
        """The final name of the tensor an expansion label (or a written name) stands for."""
        ref = self.tensors.get(label)
        if ref is None or ref[0] == "poisoned":
            return None
        return self.inputs[ref[1]].name if ref[0] == "input" else self.pending[ref[1]].name

    def layer_name_of_step(self, step: ast.Call) -> str | None:
        i = self.step_layers.get(id(step))
        return self.pending[i].name if i is not None else None

    def visible(self) -> list[str]:
        """Tensor names a user wrote (no expander labels), for 'did you mean' hints."""
        return [n for n in self.tensors if not n.startswith("%")]

    # Reporting ----------------------------------------------------------------------------

    def error(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint, origin=self.origin))

    def warn(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint, Severity.WARNING, origin=self.origin))

    # Binding ------------------------------------------------------------------------------

    def bind(self, what: str, params: Sequence[Param], call: ast.Call,
             args: Sequence[ast.Value] | None = None) -> tuple[dict, tuple[str, ...]] | None:
        """Match arguments to params, convert them; None if anything failed (reported)."""
        args = call.args if args is None else args
        ok = True
        for late in call.late_positional:
            self.error(codes.ARG_ORDER, f"positional argument {describe(late)} after a keyword argument",
                       late.span, "put positional arguments first: dense 32 relu use_bias=false")
            ok = False
        positional = [p for p in params if p.positional]
        given: dict[str, tuple[Any, Span]] = {}
        i = 0
        for p in positional:
            if i >= len(args):
                break
            if p.variadic:
                given[p.name] = (tuple(args[i:]), args[i].span)
                i = len(args)
                break
            given[p.name] = (args[i], args[i].span)
            i += 1
        if i < len(args):
            names = ", ".join(p.name for p in positional) or "none"
            self.error(codes.ARG_COUNT,
                       f"{what} takes {len(positional)} positional argument{'s' * (len(positional) != 1)} "
                       f"({names}), got {len(args)}", args[i].span,
                       f"give the others as key=value; {what} takes: " + _signature(params))
            ok = False
        by_name = {p.name: p for p in params}
        for kw in call.keywords:
            p = by_name.get(kw.name)
            if p is None:
                legacy = _LEGACY_NAMES.get(kw.name)
                if legacy in by_name:
                    hint = f"did you mean '{legacy}'? (Keras 3 calls '{kw.name}' '{legacy}')"
                else:
                    hint = did_you_mean(kw.name, by_name) or f"{what} takes: " + _signature(params)
                self.error(codes.UNKNOWN_KEYWORD, f"{what} has no option '{kw.name}'", kw.name_span, hint)
                ok = False
                continue
            if kw.name in given:
                self.error(codes.DUPLICATE_ARG, f"{what} got '{kw.name}' twice", kw.name_span,
                           "give each argument once")
                ok = False
                continue
            given[kw.name] = ((kw.value,) if p.variadic else kw.value, kw.span)
        values: dict[str, Any] = {}
        for p in params:
            if p.name not in given:
                if p.required:
                    self.error(codes.MISSING_ARG, f"{what} needs '{p.name}'", call.span,
                               f"{what} takes: " + _signature(params))
                    ok = False
                continue
            raw, span = given[p.name]
            self.ctx.notes.clear()
            try:
                if p.variadic:
                    if isinstance(raw, tuple) and len(raw) == 1 and isinstance(raw[0], ast.Tuple):
                        raw = raw[0].items
                    values[p.name] = tuple(p.kind.convert(v, self.ctx) for v in raw)
                else:
                    values[p.name] = p.kind.convert(raw, self.ctx)
                for code, message, hint in self.ctx.take_notes():
                    self.warn(code, f"{what}: '{p.name}': {message}", _value_span(raw, span), hint)
            except ArgError as e:
                code = {"range": codes.ARG_RANGE, "activation": codes.UNKNOWN_ACTIVATION}.get(e.code or "", codes.ARG_TYPE)
                self.error(code, f"{what}: '{p.name}': {e.message}", e.span or _value_span(raw, span), e.hint)
                ok = False
        if not ok:
            return None
        explicit = tuple(p.name for p in params if p.name in values)
        for p in params:
            if p.name not in values:
                values[p.name] = p.default
        return values, explicit

    # Statements ---------------------------------------------------------------------------

    def statement(self, st: ast.Statement) -> None:
        self.origin = st.origin
        if st.alias_of is not None:
            self.alias(st)
            return
        if st.is_output and st.target:
            self.declared.add(st.target)
        chain = st.chain
        if chain is None:  # `output name`
            self.mark_output(st.target or "", st.target_span or st.span)
            return
        head = chain.steps[0]
        is_keyword = (not head.parenthesized and st.target is None and not st.is_output
                      and (head.name in STATEMENT_KEYWORDS
                           or (head.name in self.registry.optimizers and head.name not in self.registry.layers)))
        if is_keyword:
            if len(chain.steps) > 1:
                self.error(codes.SYNTAX, f"'{head.name}' is a statement of its own and cannot be chained",
                           chain.steps[1].span, "end the statement before '->'")
                return
            self.keyword_statement(head)
            return
        if not head.parenthesized and head.name in STATEMENT_KEYWORDS:
            self.error(codes.RESERVED_NAME, f"'{head.name}' is a statement keyword, not a layer", head.name_span,
                       f"write '{head.name} ...' on a line of its own")
            return
        self.chain_statement(st)

    def keyword_statement(self, call: ast.Call) -> None:
        name = call.name
        handler = {"input": self.input_statement, "optimizer": self.optimizer_statement,
                   "loss": self.loss_statement, "loss_weights": self.loss_weights_statement,
                   "metrics": self.metrics_statement,
                   "fit": self.fit_statement, "data": self.data_statement,
                   "callback": self.callback_statement}.get(name)
        if name in ("optimizer", "loss", "loss_weights", "fit", "data") and name in self.seen_statements:
            self.error(codes.DUPLICATE_STATEMENT, f"a second '{name}' statement", call.name_span,
                       f"the first is on line {self.seen_statements[name].line}; keep one")
            return
        if handler is None:  # a bare optimizer name: `rmsprop 0.001`
            if "optimizer" in self.seen_statements:
                self.error(codes.DUPLICATE_STATEMENT, "a second optimizer statement", call.name_span,
                           f"the first is on line {self.seen_statements['optimizer'].line}; keep one")
                return
            self.seen_statements["optimizer"] = call.span
            self.optimizer_from(call.name, call.name_span, call, call.args)
            return
        if name != "input":
            self.seen_statements.setdefault(name, call.span)
        handler(call)

    def input_statement(self, call: ast.Call) -> None:
        self.input_written = True
        args = list(call.args)
        name = None
        name_span = call.span
        if args and isinstance(args[0], ast.Ident) and args[0].name not in ("true", "false", "none"):
            name, name_span = args[0].name, args[0].span
            args = args[1:]
        if not args:
            self.error(codes.MISSING_ARG, "input needs its shape", call.span,
                       "write the dimensions without the batch: input 784, or input image 28 28 1")
            return
        bound = self.bind("input", INPUT_PARAMS, call, args)
        if bound is None:
            return
        values, _ = bound
        if name is None:
            name = "input_layer" if not self.inputs else f"input_layer_{len(self.inputs)}"
        elif not self.check_new_name(name, name_span):
            return
        self.tensors[name] = ("input", len(self.inputs))
        self.tensor_spans[name] = name_span
        self.inputs.append(ir.Input(name, tuple(values["shape"]), values["dtype"], call.span))
        self.current_ref = ("input", len(self.inputs) - 1)

    def optimizer_statement(self, call: ast.Call) -> None:
        if not call.args or not isinstance(call.args[0], ast.Ident):
            self.error(codes.MISSING_ARG, "optimizer needs a name", call.span, "for example: optimizer adam 0.001")
            return
        self.optimizer_from(call.args[0].name, call.args[0].span, call, call.args[1:])

    def optimizer_from(self, name: str, span: Span, call: ast.Call, args) -> None:
        opt = self.registry.optimizers.get(name)
        if opt is None:
            self.error(codes.UNKNOWN_OPTIMIZER, f"unknown optimizer '{name}'", span,
                       did_you_mean(name, self.registry.optimizers) or
                       "known optimizers: " + ", ".join(self.registry.canonical("optimizers")))
            return
        bound = self.bind(opt.name, opt.params, call, args)
        if bound is None:
            return
        values, explicit = bound
        self.optimizer = ir.Optimizer(opt.name, tuple((p.name, values[p.name]) for p in opt.params),
                                      explicit, call.span)

    def loss_statement(self, call: ast.Call) -> None:
        """``loss NAME [options]`` for every output, or ``loss OUT=NAME[(options)] ...`` per output."""
        if not call.args and not call.keywords:
            self.error(codes.MISSING_ARG, "loss needs a name", call.span, "for example: loss mse")
            return
        if len(call.args) > 1:
            self.error(codes.ARG_COUNT, "loss takes one name for all outputs", call.args[1].span,
                       "give one loss per output as out=NAME")
            return
        if call.args:
            loss = self.loss_def(call.args[0])
            if loss is None:
                return
            names = {p.name for p in loss.params}
            for kw in call.keywords:
                if kw.name not in names and isinstance(kw.value, (ast.Ident, ast.CallValue)) \
                        and kw.value.name in self.registry.losses:
                    self.error(codes.SYNTAX, "a loss for all outputs and per-output losses in one statement",
                               kw.span, "write either 'loss mse' or 'loss out1=mse out2=mae'")
                    return
            self.add_loss("", loss, call.args[0], call.keywords, None)
            return
        for kw in call.keywords:
            loss = self.loss_def(kw.value)
            if loss is not None:
                self.add_loss(kw.name, loss, kw.value, (), kw.span)

    def loss_def(self, value: ast.Value):
        if not isinstance(value, (ast.Ident, ast.String, ast.CallValue)):
            self.error(codes.ARG_TYPE, f"expected a loss name, got {describe(value)}", value.span)
            return None
        name = value.value if isinstance(value, ast.String) else value.name
        loss = self.registry.losses.get(name)
        if loss is None:
            self.error(codes.UNKNOWN_LOSS, f"unknown loss '{name}'", getattr(value, "name_span", value.span),
                       did_you_mean(name, self.registry.losses) or
                       "known losses: " + ", ".join(self.registry.canonical("losses")))
        return loss

    def add_loss(self, output: str, loss, value: ast.Value, keywords, span: Span | None) -> None:
        """Bind a loss's options (from its call value and the statement) and record it."""
        args = value.args if isinstance(value, ast.CallValue) else ()
        own = value.keywords if isinstance(value, ast.CallValue) else ()
        options: tuple = ()
        if args or own or keywords:
            if not loss.params:
                first = (args or own or keywords)[0]
                self.error(codes.UNKNOWN_KEYWORD, f"loss {loss.name} takes no options", first.span,
                           "losses with options: " + ", ".join(sorted(
                               {d.name for d in self.registry.losses.values() if d.params})))
                return
            fake = ast.Call(loss.name, tuple(args), tuple(own) + tuple(keywords), value.span,
                            getattr(value, "name_span", value.span))
            bound = self.bind(f"loss {loss.name}", loss.params, fake)
            if bound is None:
                return
            values, explicit = bound
            options = tuple((k, values[k]) for k in explicit)
        self.losses.append((output, loss.name))
        if options:
            self.loss_options.append((output, options))
        if output and span is not None:
            self.loss_spans.append((output, span))

    def loss_weights_statement(self, call: ast.Call) -> None:
        """``loss_weights 1.0 0.2`` (in output order) or ``loss_weights digit=1.0 parity=0.2``."""
        if not call.args and not call.keywords:
            self.error(codes.MISSING_ARG, "loss_weights needs a weight per output", call.span,
                       "for example: loss_weights digit=1.0 parity=0.2")
            return
        if call.args and call.keywords:
            self.error(codes.SYNTAX, "weights in output order and by output name in one statement",
                       call.keywords[0].span, "write either 'loss_weights 1.0 0.2' or 'loss_weights a=1.0 b=0.2'")
            return
        kind = Float(min=0.0)
        pairs = [("", a, a.span) for a in call.args] + [(k.name, k.value, k.span) for k in call.keywords]
        weights = []
        for output, value, span in pairs:
            try:
                weights.append((output, kind.convert(value, self.ctx), span))
            except ArgError as e:
                code = codes.ARG_RANGE if e.code == "range" else codes.ARG_TYPE
                self.error(code, f"loss_weights: {e.message}", value.span, "a weight is a number >= 0")
                return
        for output, _, span in weights:
            if output:
                self.loss_spans.append((output, span))
        self.loss_weights_raw = (weights, call.span)

    def metrics_statement(self, call: ast.Call) -> None:
        if not call.args and not call.keywords:
            self.error(codes.MISSING_ARG, "metrics needs at least one name", call.span, "for example: metrics accuracy")
        pairs = [("", a) for a in call.args] + [(k.name, k.value) for k in call.keywords]
        for output, value in pairs:
            if not isinstance(value, (ast.Ident, ast.String)):
                self.error(codes.ARG_TYPE, f"expected a metric name, got {describe(value)}", value.span)
                continue
            name = value.name if isinstance(value, ast.Ident) else value.value
            metric = self.registry.metrics.get(name)
            if metric is None:
                self.error(codes.UNKNOWN_METRIC, f"unknown metric '{name}'", value.span,
                           did_you_mean(name, self.registry.metrics) or
                           "known metrics: " + ", ".join(self.registry.canonical("metrics")))
                continue
            if output:
                self.loss_spans.append((output, value.span))
            self.metrics.append((output, metric.name))

    def fit_statement(self, call: ast.Call) -> None:
        self.fit_span = call.span
        bound = self.bind("fit", FIT_PARAMS, call)
        if bound is not None:
            values, explicit = bound
            self.fit = {k: values[k] for k in explicit}

    def data_statement(self, call: ast.Call) -> None:
        if not call.args:
            self.error(codes.MISSING_ARG, "data needs a data set name or a quoted path", call.span,
                       'for example: data mnist, or data "digits.npz"')
            return
        source = call.args[0]
        if isinstance(source, ast.Ident):
            if self.registry.datasets and source.name not in self.registry.datasets:
                self.error(codes.UNKNOWN_DATASET, f"unknown data set '{source.name}'", source.span,
                           did_you_mean(source.name, self.registry.datasets) or
                           "built-in data sets: " + ", ".join(sorted(self.registry.datasets)) +
                           '; a file is written as a quoted path: data "file.npz"')
                return
            kind, value = "dataset", source.name
        elif isinstance(source, ast.String):
            if not source.value:
                self.error(codes.ARG_RANGE, "empty path", source.span)
                return
            kind, value = "path", source.value
        else:
            self.error(codes.ARG_TYPE, f"expected a data set name or a quoted path, got {describe(source)}",
                       source.span, 'for example: data mnist, or data "digits.npz"')
            return
        params = DATA_PARAMS[1:]
        if kind == "path" and self.registry.data_formats:
            params = self.data_format_params(value, source.span, call)
            if params is None:
                return
        bound = self.bind("data", params, call, call.args[1:])
        if bound is None:
            return
        values, explicit = bound
        self.data = ir.DataRef(kind, value, tuple((k, values[k]) for k in explicit), call.span)

    def data_format_params(self, path: str, span: Span, call: ast.Call) -> tuple[Param, ...] | None:
        """The options of the data format that reads ``path`` (E721 when none does, E720 for an
        option another format takes); None when reported."""
        fmt = self.registry.data_format(path)
        if fmt is None:
            known = sorted({s for f in self.registry.data_formats.values() for s in f.suffixes})
            self.error(codes.UNKNOWN_DATA_FORMAT, f"no data format reads '{path}'", span,
                       f"data files are {', '.join(known)}; a folder of class subfolders ends in /: data \"photos/\"")
            return None
        own = {p.name for p in fmt.params}
        ok = True
        for kw in call.keywords:
            if kw.name in own:
                continue
            others = sorted({f.name for f in self.registry.data_formats.values()
                             if any(p.name == kw.name for p in f.params)})
            if others:
                what = "a folder" if fmt.folder else f"'{os.path.splitext(path)[1].lower()}' files"
                self.error(codes.DATA_OPTION, f"{kw.name}= applies to {' and '.join(others)} data, not to {what}",
                           kw.name_span, f"{fmt.name} data takes: {', '.join(sorted(own)) or 'no options'}")
                ok = False
        return fmt.params if ok else None

    def callback_statement(self, call: ast.Call) -> None:
        from .builtins.callbacks import NOT_CALLBACKS

        known = self.registry.canonical("callbacks")
        if not call.args or not isinstance(call.args[0], ast.Ident):
            self.error(codes.MISSING_ARG, "callback needs a name", call.span, "known callbacks: " + ", ".join(known))
            return
        name = call.args[0].name
        definition = self.registry.callbacks.get(name)
        if definition is None:
            self.error(codes.UNKNOWN_CALLBACK, f"unknown callback '{name}'", call.args[0].span,
                       NOT_CALLBACKS.get(name) or did_you_mean(name, self.registry.callbacks)
                       or "known callbacks: " + ", ".join(known))
            return
        bound = self.bind(definition.name, definition.params, call, call.args[1:])
        if bound is None:
            return
        values, explicit = bound
        if definition.validate is not None:
            problem = definition.validate(values)
            if problem:
                self.error(codes.ARG_RANGE, f"{definition.name}: {problem}", call.span)
                return
        self.callbacks.append(ir.Callback(definition.name, tuple((k, values[k]) for k in explicit), call.span))
        self.monitor_spans.append(next((k.value.span for k in call.keywords if k.name == "monitor"), call.span))

    # Layer chains -------------------------------------------------------------------------

    def check_new_name(self, name: str, span: Span) -> bool:
        if name in self.tensors and name not in self.tensor_spans:
            return True  # named by a statement with a syntax error: that error is enough
        if name in self.tensors:
            self.error(codes.DUPLICATE_NAME, f"'{name}' is already defined", span,
                       f"it was defined on line {self.tensor_spans[name].line}; pick another name")
            return False
        if name in STATEMENT_KEYWORDS or name in RESERVED_WORDS:
            self.error(codes.RESERVED_NAME, f"'{name}' is a reserved word", span, "pick another name")
            return False
        if name in self.registry.layers or name in self.registry.activations or name in self.registry.optimizers:
            self.error(codes.RESERVED_NAME, f"'{name}' is the name of a layer, activation or optimizer", span,
                       f"pick another name, such as '{name}_out'")
            return False
        return True

    def tensor_ref(self, value: ast.Value) -> tuple[str, int] | None:
        if not isinstance(value, ast.Ident):
            self.error(codes.BAD_INPUTS, f"expected a tensor name, got {describe(value)}", value.span,
                       "inside parentheses come input tensors, then options as key=value: concat(a, b, axis=-1)")
            return None
        ref = self.tensors.get(value.name)
        if ref is None:
            self.error(codes.UNDEFINED_TENSOR, f"'{value.name}' is not defined", value.span,
                       did_you_mean(value.name, self.visible()) or "define it first: x = ... or input x ...")
        return ref

    def chain_statement(self, st: ast.Statement) -> None:
        chain = st.chain
        assert chain is not None
        steps = list(chain.steps)
        source: tuple[str, int] | None
        head = steps[0]
        if (not head.parenthesized and not head.args and not head.keywords
                and head.name not in self.registry.layers and head.name not in self.registry.activations):
            # A chain that starts from a named tensor: `x = image -> conv2d ...`
            if len(steps) == 1 and head.name not in self.tensors:
                # `relux` alone: most likely a misspelled layer, not a missing tensor.
                self.lookup_layer(head)
                self.current_ref = POISONED
                return
            source = self.tensor_ref(ast.Ident(head.name, head.name_span))
            if source is None:
                source = POISONED
            steps = steps[1:]
            if not steps:
                if st.is_output and st.target == head.name:
                    self.mark_output(head.name, head.name_span)
                    return
                what = f"{'output ' if st.is_output else ''}{st.target} = {head.name}" if st.target else head.name
                self.error(codes.BAD_OUTPUT, f"'{what}' applies no layer", chain.span,
                           f"write 'output {head.name}' to make it an output" if st.is_output else
                           "add a layer: x = y -> dense 10")
                return
        elif head.parenthesized:
            source = None
        else:
            source = self.current_ref
            if source is not None and source[0] == "input" and len(self.inputs) > 1:
                names = [i.name for i in self.inputs]
                self.error(codes.TOO_MANY_INPUTS_SEQ,
                           f"'{head.name}' has no source and the model has {len(names)} inputs "
                           f"({', '.join(names)})", head.name_span,
                           f"start the chain from an input: x = {names[-1]} -> {head.name} ...")
                source = POISONED
            if source is None:
                if not self.inputs and not self.input_written:
                    self.error(codes.NO_SOURCE, f"'{head.name}' has nothing to apply to", head.name_span,
                               "declare an input first: input 784")
                source = POISONED
        produced: tuple[str, int] | None = source  # None: a chain opening with a call, concat(a, b)
        for step in steps:
            produced = self.layer_step(step, produced)
        assert produced is not None  # every chain here has at least one step
        if produced[0] != "layer":
            self.current_ref = produced
            if st.target:
                # Keep later statements from cascading into "undefined" errors.
                if st.target not in self.tensors:
                    self.tensors[st.target] = POISONED
                    self.tensor_spans[st.target] = st.target_span or st.span
            return
        if st.synthetic:
            self.tensors[st.target] = produced
            if st.is_output:
                self.outputs.append((produced, st.span))
        elif st.target is not None:
            if self.check_new_name(st.target, st.target_span or st.span):
                if not self.pending[produced[1]].fixed_name:
                    # The target names the tensor and its last layer, unless that layer has name=.
                    self.pending[produced[1]].name = st.target
                self.tensors[st.target] = produced
                self.tensor_spans[st.target] = st.target_span or st.span
                if st.is_output:
                    self.outputs.append((produced, st.target_span or st.span))
        self.current_ref = produced

    def layer_step(self, step: ast.Call, previous: tuple[str, int] | None) -> tuple[str, int]:
        """Check one layer of a chain; an input that already failed poisons the result silently.

        Arguments are still checked after a failure, so every mistake in a chain is reported.
        """
        poisoned = False
        inputs: list[tuple[str, int]] = []
        if previous is not None:
            poisoned |= previous[0] == "poisoned"
            inputs.append(previous)
        if step.parenthesized:
            for arg in step.paren_args:
                ref = self.tensor_ref(arg)
                if ref is None or ref[0] == "poisoned":
                    poisoned = True
                    continue
                inputs.append(ref)
        layer, attrs_call, args = self.lookup_layer(step)
        if layer is None:
            return POISONED
        if poisoned:
            self.bind_only(layer, attrs_call, args)
            return POISONED
        n = len(inputs)
        if n < layer.min_inputs or (layer.max_inputs is not None and n > layer.max_inputs):
            if layer.max_inputs == 1:
                expect = "one input"
            elif layer.max_inputs is None:
                expect = f"at least {layer.min_inputs} inputs"
            else:
                expect = f"{layer.min_inputs} to {layer.max_inputs} inputs"
            self.error(codes.BAD_INPUTS, f"{layer.name} takes {expect}, got {n}", step.name_span,
                       f"name the tensors to combine: {layer.name}(a, b)" if layer.max_inputs != 1
                       else "chain it after one tensor: x -> " + layer.name)
            return POISONED
        params = layer.params
        if layer.expand_params is not None:
            try:
                params = self.expand_params(layer, args, step)
            except ArgError as e:
                self.error(codes.ARG_TYPE, f"{layer.name}: {e.message}", e.span or step.name_span, e.hint)
                return POISONED
            if params is None:
                return POISONED
        bound = self.bind(layer.name, params, attrs_call, args)
        if bound is None:
            return POISONED
        values, explicit = bound
        self.pending.append(_Pending(step.layer_name, layer, params, values, explicit, inputs, step.span,
                                     self.origin, step.layer_name is not None))
        self.step_layers[id(step)] = len(self.pending) - 1
        return ("layer", len(self.pending) - 1)

    def bind_only(self, layer: LayerDef, call: ast.Call, args) -> None:
        params = layer.params
        if layer.expand_params is not None:
            try:
                params = self.expand_params(layer, args, call)
            except ArgError:
                return
            if params is None:
                return
        self.bind(layer.name, params, call, args)

    def expand_params(self, layer: LayerDef, args, step: ast.Call) -> tuple[Param, ...] | None:
        """A layer's own signature rule; a plugin's that fails is reported (None), not raised."""
        assert layer.expand_params is not None
        try:
            params = layer.expand_params(self.registry, args)
            if not all(isinstance(p, Param) for p in params):
                raise TypeError(f"expand_params returned {params!r:.80}; expected Params")
            return tuple(params)
        except ArgError:
            raise
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - plugin rules are untrusted code
            owner = plugin_owner(self.registry, "layers", layer.name)
            if owner is None:
                raise
            self.error(codes.ARG_TYPE, f"layer '{layer.name}' (from plugin {owner}) failed: "
                       f"{type(exc).__name__}: {exc}", step.name_span,
                       f"this is a bug in plugin {owner}, not in the spec; report it to its authors")
            return None

    def lookup_layer(self, step: ast.Call) -> tuple[LayerDef | None, ast.Call, Sequence[ast.Value]]:
        layer = self.registry.layers.get(step.name)
        bare = not (step.args or step.keywords)
        # `relu` alone is the activation; `relu max_value=6` is the layer of that name, if any.
        if step.name in self.registry.activations and (layer is None or bare):
            act_layer = self.registry.layers.get(_ACTIVATION_OP)
            if act_layer is not None:
                if step.args or step.keywords:
                    self.error(codes.ARG_COUNT, f"the bare activation '{step.name}' takes no arguments",
                               (step.args or step.keywords)[0].span,
                               f"use 'activation {step.name}', or a layer such as leakyrelu for options")
                    return None, step, ()
                fake = ast.Call(_ACTIVATION_OP, (ast.Ident(step.name, step.name_span),), (), step.span,
                                step.name_span)
                return act_layer, fake, fake.args
        if layer is not None:
            return layer, step, step.args
        hint = did_you_mean(step.name, list(self.registry.layers) + list(self.registry.activations)
                            + list(self.registry.optimizers) + list(STATEMENT_KEYWORDS))
        if step.name in self.registry.optimizers:
            hint = f"'{step.name}' is an optimizer; write it on a line of its own"
        elif step.name in self.registry.losses or step.name in self.registry.metrics:
            hint = f"'{step.name}' is a loss/metric; write 'loss {step.name}' or 'metrics {step.name}'"
        elif hint is None and step.name in self.tensors:
            hint = f"'{step.name}' is a tensor; a chain starts from it: y = {step.name} -> ..."
        self.error(codes.UNKNOWN_LAYER, f"unknown layer '{step.name}'", step.name_span, hint)
        return None, step, ()

    def alias(self, st: ast.Statement) -> None:
        """`y = x -> block ...`: the block's result gets the statement's name."""
        ref = self.tensors.get(st.alias_of or "", POISONED)
        assert st.target is not None
        if not self.check_new_name(st.target, st.target_span or st.span):
            return
        self.tensors[st.target] = ref
        self.tensor_spans[st.target] = st.target_span or st.span
        if ref[0] == "layer":
            p = self.pending[ref[1]]
            # A layer made in a block, or unnamed, takes the statement's name; one the spec
            # named itself (a tensor name, name=) keeps its name and `target` is another name for it.
            if p.name is None or (p.origin is not None and p.origin.frames):
                p.name = st.target
                p.fixed_name = False
        if st.is_output:
            self.declared.add(st.target)
            if ref[0] == "layer":
                self.outputs.append((ref, st.target_span or st.span))
            elif ref[0] == "input":
                self.error(codes.BAD_OUTPUT, f"input '{st.target}' cannot be an output", st.span,
                           "apply at least one layer to it")
        self.current_ref = ref

    def mark_output(self, name: str, span: Span) -> None:
        ref = self.tensors.get(name)
        if ref is None:
            self.error(codes.UNDEFINED_TENSOR, f"'{name}' is not defined", span,
                       did_you_mean(name, self.visible()) or "define it first: output y = x -> dense 10")
            return
        if ref[0] == "poisoned":
            return
        if ref[0] == "input":
            self.error(codes.BAD_OUTPUT, f"input '{name}' cannot be an output", span,
                       "apply at least one layer to it")
            return
        self.outputs.append((ref, span))

    # Finishing ----------------------------------------------------------------------------

    def finish(self, model_span: Span) -> BoundModel:
        if not self.inputs and not self.input_written:
            self.error(codes.NO_INPUT, "the model has no input", model_span,
                       "start with an input statement: input 784")
        self.origin = None
        self.check_fixed_names()
        # Hand out automatic names like Keras: dense, dense_1, ... skipping user names.
        taken = {p.name for p in self.pending if p.name} | {i.name for i in self.inputs}
        counters: dict[str, int] = {}
        for p in self.pending:
            if p.name is None:
                base = p.layer.auto_name
                k = counters.get(base, 0)
                while True:
                    candidate = base if k == 0 else f"{base}_{k}"
                    k += 1
                    if candidate not in taken:
                        break
                counters[base] = k
                p.name = candidate
                taken.add(candidate)

        def tensor_name(ref: tuple[str, int]) -> str:
            return self.inputs[ref[1]].name if ref[0] == "input" else self.pending[ref[1]].name  # type: ignore[return-value]

        user_named = {p.name for p in self.pending if p.name in self.tensors}
        layers = tuple(BoundLayer(p.name, p.layer, p.params, tuple((q.name, p.attrs[q.name]) for q in p.params),  # type: ignore[arg-type]
                                  p.explicit, tuple(tensor_name(r) for r in p.inputs), p.span,
                                  p.name in user_named or p.fixed_name, p.origin) for p in self.pending)
        outputs: list[tuple[str, Span | None]] = []
        seen = set()
        for ref, span in self.outputs:
            name = tensor_name(ref)
            if name in seen:
                self.error(codes.DUPLICATE_NAME, f"'{name}' is marked as an output twice", span)
                continue
            seen.add(name)
            outputs.append((name, span))
        if not outputs and not self.declared and self.current_ref is not None and self.current_ref[0] == "layer":
            outputs.append((tensor_name(self.current_ref), None))
        if not outputs and self.inputs and not self.has_errors() and not self.recovered:
            self.error(codes.NO_OUTPUT, "the model has no output", model_span,
                       "add a layer after the input: dense 10 softmax")
        training = ir.Training(self.optimizer, tuple(self.losses), tuple(self.metrics),
                               tuple(self.fit.items()), self.data, tuple(self.callbacks),
                               tuple(self.loss_options), self.finish_loss_weights([o for o, _ in outputs]))
        return BoundModel(tuple(self.inputs), layers, tuple(outputs), training, tuple(self.loss_spans),
                          frozenset(self.declared), self.fit_span, tuple(self.monitor_spans),
                          self.seen_statements.get("loss"))

    def finish_loss_weights(self, outputs: list[str]) -> tuple[tuple[str, float], ...]:
        if self.loss_weights_raw is None:
            return ()
        weights, span = self.loss_weights_raw
        if weights[0][0]:
            return tuple((o, w) for o, w, _ in weights)
        if outputs and len(weights) != len(outputs):
            self.error(codes.ARG_COUNT, f"loss_weights gives {len(weights)} weight{'s' * (len(weights) != 1)} "
                       f"for {len(outputs)} output{'s' * (len(outputs) != 1)} ({', '.join(outputs)})", span,
                       "give one weight per output, in output order, or name them: "
                       "loss_weights " + " ".join(f"{o}=1.0" for o in outputs))
            return ()
        return tuple((o, w) for o, (_, w, _) in zip(outputs, weights))

    def check_fixed_names(self) -> None:
        """Names fixed by `name=` or made inside blocks must not meet another name."""
        first: dict[str, tuple[Span, ast.Origin | None]] = {i.name: (i.span, None) for i in self.inputs if i.span}
        for p in self.pending:
            if p.name is None:
                continue
            if p.name in first:
                span, origin = first[p.name]
                where = _where(span, origin)
                self.diagnostics.append(Diagnostic(
                    codes.DUPLICATE_NAME, f"two layers are named '{p.name}'", p.span,
                    f"the other is at {where}; give one of them name=...", origin=p.origin))
                continue
            first[p.name] = (p.span, p.origin)

    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)


def _where(span: Span, origin: ast.Origin | None) -> str:
    if origin is None:
        return f"line {span.line}"
    return f"{origin.filename}:{span.line}:{span.column}" + (
        f" (in block '{origin.frames[-1].block}')" if origin.frames else "")


def _value_span(raw: Any, fallback: Span) -> Span:
    if isinstance(raw, tuple):
        spans = [v.span for v in raw if hasattr(v, "span")]
        if spans:
            return Span(spans[0].line, spans[0].column, spans[-1].end_line, spans[-1].end_column)
        return fallback
    return getattr(raw, "span", fallback)


def _signature(params: Sequence[Param]) -> str:
    parts = []
    for p in params:
        if p.positional:
            parts.append(f"{p.name}{'...' if p.variadic else ''}" + ("" if p.required else "?"))
        else:
            parts.append(f"{p.name}=")
    return " ".join(parts)


def resolve(module: ast.Module, registry: Registry, filename: str = "<string>",
            overrides: dict | None = None, include=None):
    """Expand a parsed module and bind it against the registry, one statement at a time.

    Returns the bound model, every diagnostic, and the expansion (the flat statements and the
    assertions still to check).
    """
    from .expand import Expander

    r = _Resolver(registry)
    if module.recovered:  # after syntax errors: no cascades from what the broken lines meant
        r.input_written = True
        r.recovered = True
        for name in module.recovered_names:
            if name not in r.tensors:
                r.tensors[name] = POISONED  # no span: a later definition is not a duplicate
            r.declared.add(name)
    expansion = Expander(r, registry, filename, overrides, include).run(module)
    if any(d.is_error for d in expansion.diagnostics):
        r.recovered = True  # statements were left out: "no output" would be a cascade
    span = module.statements[0].span if module.statements else Span.point(1, 1)
    bound = r.finish(Span.point(span.line, span.column))
    expansion.step_name = r.layer_name_of_step
    return bound, _once(expansion.diagnostics + r.diagnostics), expansion, r.name_of


def _once(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """One diagnostic per distinct problem: a mistake in a block is not repeated per copy."""
    seen: set = set()
    out = []
    for d in diagnostics:
        key = (d.code, d.message, d.span, d.origin.filename if d.origin is not None else None)
        if d.origin is None or key not in seen:
            seen.add(key)
            out.append(d)
    return out

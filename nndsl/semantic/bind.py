"""Bind: give the flat statements meaning against the registry, one statement at a time.

Classifies each statement the expander hands over (an input, a training statement, a layer
chain, an alias for a block's result, `output y`), binds every argument to its parameter with
type and range checks, and resolves tensor names to typed references. It collects every
problem instead of stopping at the first. Shapes are inference's job.

Adding a statement kind is one entry in :data:`STATEMENTS` and one function ``(binder, call)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .. import ast, codes, ir
from ..diagnostics import Diagnostic, Severity, Span, did_you_mean
from ..params import ConvertContext, Param
from ..registry import OBJECT_TABLES, Registry
from ..statements import STATEMENT_KEYWORDS
from . import layers, training
from .arguments import bind_arguments
from .bound import BoundLayer, BoundModel, Pending
from .scope import POISONED, POISONED_LABEL, Scope, TensorRef


@dataclass(frozen=True)
class StatementKind:
    """How one statement keyword binds: its function, and whether a second one is E502."""

    bind: Callable[["Binder", ast.Call], None]
    once: bool = False


STATEMENTS: dict[str, StatementKind] = {
    "input": StatementKind(training.bind_input),
    "optimizer": StatementKind(training.bind_optimizer, once=True),
    "loss": StatementKind(training.bind_loss, once=True),
    "loss_weights": StatementKind(training.bind_loss_weights, once=True),
    "metrics": StatementKind(training.bind_metrics),
    "fit": StatementKind(training.bind_fit, once=True),
    "data": StatementKind(training.bind_data, once=True),
    "callback": StatementKind(training.bind_callback),
}


class Binder:
    """The binder's state, and the expander's sink (it asks for shapes and the current tensor)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.diagnostics: list[Diagnostic] = []
        self.ctx = ConvertContext(activations=tuple(registry.activations),
                                  suggest=lambda n, names: did_you_mean(n, names),
                                  objects={t: getattr(registry, t) for t in OBJECT_TABLES})
        self.scope = Scope()
        self.inputs: list[ir.Input] = []
        self.pending: list[Pending] = []
        self.current_ref: TensorRef | None = None
        self.outputs: list[tuple[TensorRef, Span]] = []
        self.optimizer: ir.Optimizer | None = None
        self.losses: list[tuple[str, str]] = []
        self.loss_options: list[tuple[str, tuple]] = []
        self.loss_at: list[Span | None] = []     # where each of self.losses is written
        self.metric_at: list[Span | None] = []   # where each of self.metrics is written
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
        self.shapes: list[tuple | None] = []  # shapes of pending layers, computed on request

    # The expander's sink ------------------------------------------------------------------

    def current(self) -> str | None:
        """A label for the tensor the last statement produced, so a block can take it."""
        if self.current_ref is None:
            return None
        self.labels += 1
        label = f"%current{self.labels}"
        self.scope.define(label, self.current_ref)
        return label

    def shape(self, label: str) -> tuple | None:
        """The shape of a tensor bound so far (None if it failed); each layer is inferred once."""
        ref = self.scope.get(label)
        if ref is None or ref.failed:
            return None
        if ref.is_input:
            return self.inputs[ref.index].shape
        while len(self.shapes) <= ref.index:
            p = self.pending[len(self.shapes)]
            shape = None
            in_shapes = [self.inputs[r.index].shape if r.is_input else self.shapes[r.index] for r in p.inputs]
            if all(s is not None for s in in_shapes):
                try:
                    shape = tuple(p.layer.output_shape(p.attrs, in_shapes))
                except Exception:  # noqa: BLE001 - reported with its span by the inference pass
                    shape = None
            self.shapes.append(shape)
        return self.shapes[ref.index]

    def name_of(self, label: str) -> str | None:
        """The final name of the tensor an expansion label (or a written name) stands for."""
        ref = self.scope.get(label)
        if ref is None or ref.failed:
            return None
        return self.inputs[ref.index].name if ref.is_input else self.pending[ref.index].name

    def layer_name_of_step(self, step: ast.Call) -> str | None:
        i = self.step_layers.get(id(step))
        return self.pending[i].name if i is not None else None

    # Reporting ----------------------------------------------------------------------------

    def error(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint, origin=self.origin))

    def warn(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint, Severity.WARNING, origin=self.origin))

    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    # Binding ------------------------------------------------------------------------------

    def bind(self, what: str, params: Sequence[Param], call: ast.Call,
             args: Sequence[ast.Value] | None = None) -> tuple[dict, tuple[str, ...]] | None:
        """Match arguments to params, convert them; None if anything failed (reported)."""
        return bind_arguments(self, self.ctx, what, params, call, args)

    def check_new_name(self, name: str, span: Span) -> bool:
        return layers.check_new_name(self, name, span)

    # Statements ---------------------------------------------------------------------------

    def statement(self, st: ast.Statement) -> None:
        """One flat statement from the expander."""
        self.origin = st.origin
        if st.alias_of is not None:
            layers.bind_alias(self, st)
            return
        if st.is_output and st.target:
            self.declared.add(st.target)
        chain = st.chain
        if chain is None:  # `output name`
            layers.mark_output(self, st.target or "", st.target_span or st.span)
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
        layers.bind_chain(self, st)

    def keyword_statement(self, call: ast.Call) -> None:
        name = call.name
        kind = STATEMENTS.get(name)
        if kind is None:  # a bare optimizer name: `rmsprop 0.001`
            if "optimizer" in self.seen_statements:
                self.error(codes.DUPLICATE_STATEMENT, "a second optimizer statement", call.name_span,
                           f"the first is on line {self.seen_statements['optimizer'].line}; keep one")
                return
            self.seen_statements["optimizer"] = call.span
            training.optimizer_from(self, call.name, call.name_span, call, call.args)
            return
        if kind.once and name in self.seen_statements:
            self.error(codes.DUPLICATE_STATEMENT, f"a second '{name}' statement", call.name_span,
                       f"the first is on line {self.seen_statements[name].line}; keep one")
            return
        if name != "input":
            self.seen_statements.setdefault(name, call.span)
        kind.bind(self, call)

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

        def tensor_name(ref: TensorRef) -> str:
            return self.inputs[ref.index].name if ref.is_input else self.pending[ref.index].name  # type: ignore[return-value]

        refs = self.scope.refs
        user_named = {p.name for p in self.pending if p.name in refs}
        bound_layers = tuple(BoundLayer(p.name, p.layer, p.params, tuple((q.name, p.attrs[q.name]) for q in p.params),  # type: ignore[arg-type]
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
        if not outputs and not self.declared and self.current_ref is not None and self.current_ref.is_layer:
            outputs.append((tensor_name(self.current_ref), None))
        if not outputs and self.inputs and not self.has_errors() and not self.recovered:
            self.error(codes.NO_OUTPUT, "the model has no output", model_span,
                       "add a layer after the input: dense 10 softmax")
        train = ir.Training(self.optimizer, tuple(self.losses), tuple(self.metrics),
                            tuple(self.fit.items()), self.data, tuple(self.callbacks),
                            tuple(self.loss_options), training.finish_loss_weights(self, [o for o, _ in outputs]),
                            tuple(self.loss_at), tuple(self.metric_at), self.fit_span)
        return BoundModel(tuple(self.inputs), bound_layers, tuple(outputs), train, tuple(self.loss_spans),
                          frozenset(self.declared), self.fit_span, tuple(self.monitor_spans),
                          self.seen_statements.get("loss"))

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


def _where(span: Span, origin: ast.Origin | None) -> str:
    if origin is None:
        return f"line {span.line}"
    return f"{origin.filename}:{span.line}:{span.column}" + (
        f" (in block '{origin.frames[-1].block}')" if origin.frames else "")


def resolve(module: ast.Module, registry: Registry, filename: str = "<string>",
            overrides: dict | None = None, include=None):
    """Expand a parsed module and bind it against the registry, one statement at a time.

    Returns the bound model, every diagnostic, the expansion (the flat statements and the
    assertions still to check) and the final name of each expansion label.
    """
    from ..expand import Expander

    b = Binder(registry)
    if module.recovered:  # after syntax errors: no cascades from what the broken lines meant
        b.input_written = True
        b.recovered = True
        for name in module.recovered_names:
            if name not in b.scope.refs:
                b.scope.define(name, POISONED)  # no span: a later definition is not a duplicate
            b.declared.add(name)
    expansion = Expander(b, registry, filename, overrides, include).run(module)
    if any(d.is_error for d in expansion.diagnostics):
        b.recovered = True  # statements were left out: "no output" would be a cascade
    span = module.statements[0].span if module.statements else Span.point(1, 1)
    bound = b.finish(Span.point(span.line, span.column))
    expansion.step_name = b.layer_name_of_step
    return bound, _once(expansion.diagnostics + b.diagnostics), expansion, b.name_of


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


__all__ = ["Binder", "BoundLayer", "BoundModel", "POISONED", "POISONED_LABEL", "STATEMENTS", "StatementKind",
           "resolve"]

"""Pass 0: expand the v2 language into v1 statements.

Blocks are inlined, repetitions unrolled, `if` branches chosen, constants, spec parameters
and layer defaults applied, and every expression evaluated, so the binder after this pass only
sees v1 statements whose values are literals, names, tuples and call values. Each statement
made from a block carries an :class:`~nndsl.ast.Origin` (the calls on the way to it).

Expressions may ask for a tensor's shape (`x.shape`, `channels(x)`). The expander does not
infer shapes itself: it hands each statement to a :class:`Sink` as soon as it is made, and asks
the sink for the shapes of tensors already produced, so the whole pipeline stays one pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Protocol

from . import ast, codes
from .diagnostics import Diagnostic, Span, did_you_mean
from .statements import STATEMENT_KEYWORDS

MAX_BLOCK_DEPTH = 64
MAX_REPEAT = 100_000
MAX_STATEMENTS = 1_000_000
_INT_LIMIT = 2 ** 63


class Sink(Protocol):
    """Where expanded statements go (the binder), and what it can tell about them."""

    def statement(self, st: ast.Statement) -> None: ...

    def shape(self, label: str) -> tuple | None:
        """The shape of a tensor already produced (without the batch), or None if unknown."""

    def current(self) -> str | None:
        """A label for the tensor the last statement produced (the implicit chain source)."""


# Values during expansion -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TensorVal:
    """A tensor: ``label`` is its name in the expanded spec; ``written`` how the spec named it."""

    label: str
    written: str


@dataclass(frozen=True, slots=True)
class Sym:
    """A bare name with no value bound: `relu`, `same`, a layer name."""

    name: str


@dataclass(frozen=True, slots=True)
class CallVal:
    name: str
    args: tuple
    keywords: tuple[tuple[str, Any], ...]


class _UnknownDim:
    def __repr__(self) -> str:
        return "?"


UNKNOWN = _UnknownDim()


class ExpandProblem(Exception):
    """One diagnostic; raised inside the expander and reported once per statement."""

    def __init__(self, code: str, message: str, span: Span | None, hint: str | None = None):
        super().__init__(message)
        self.diagnostic = Diagnostic(code, message, span, hint)


@dataclass
class _BlockDef:
    block: ast.Block
    env: "_Env"
    filename: str
    broken: bool = False  # its definition failed (reported): calls to it fail quietly


class _Env:
    """Lexical scope: constants, parameters, tensors and blocks visible by name."""

    def __init__(self, parent: "_Env | None" = None):
        self.parent = parent
        self.values: dict[str, Any] = {}
        self.spans: dict[str, Span] = {}
        self.blocks: dict[str, _BlockDef] = {}

    def lookup(self, name: str) -> Any:
        env: _Env | None = self
        while env is not None:
            if name in env.values:
                return env.values[name]
            env = env.parent
        raise KeyError(name)

    def block(self, name: str) -> _BlockDef | None:
        env: _Env | None = self
        while env is not None:
            if name in env.blocks:
                return env.blocks[name]
            env = env.parent
        return None

    def names(self) -> set[str]:
        out: set[str] = set()
        env: _Env | None = self
        while env is not None:
            out |= set(env.values)
            env = env.parent
        return out


@dataclass
class _Frame:
    """One block instance being expanded."""

    prefix: str           # prefix of every layer name inside it ("" at the top level)
    origin: ast.Origin | None
    defaults: dict[str, tuple[tuple[str, Any, Span], ...]]
    auto_counts: dict[str, int] = field(default_factory=dict)
    outputs: list[TensorVal] | None = None


# The expander ------------------------------------------------------------------------------

@dataclass
class Expansion:
    """The expanded program: every v1 statement (in order) and the assertions to check later."""

    statements: list[ast.Statement]
    assertions: list[tuple[ast.Assert, "_Env"]]
    params: dict[str, Any]
    diagnostics: list[Diagnostic]
    # Set by the binder: the final layer name of a flat step (for `nndsl expand`).
    step_name: Callable[[ast.Call], str | None] | None = None


class Expander:
    def __init__(self, sink: Sink, registry, filename: str = "<string>",
                 overrides: dict[str, ast.Value] | None = None,
                 include: Callable[[ast.Include, str], tuple[ast.Module | None, str, list[Diagnostic]]] | None = None):
        self.sink = sink
        self.registry = registry
        self.filename = filename
        self.overrides = dict(overrides or {})
        self.used_overrides: set[str] = set()
        self.include_loader = include
        self.out: list[ast.Statement] = []
        self.assertions: list[tuple[ast.Assert, _Env]] = []
        self.params: dict[str, Any] = {}
        self.diagnostics: list[Diagnostic] = []
        self.labels = 0
        self.errors = 0
        self.inputs = 0
        self.instances: dict[str, int] = {}
        self.seen_problems: set[tuple] = set()
        self.stack: list[str] = []  # block names being expanded (for cycles)
        self.files: list[str] = [filename]
        self.included: set[str] = set()
        # The include statements being expanded: (including file, span), outermost first.
        self.include_sites: list[tuple[str, Span]] = []

    # Reporting --------------------------------------------------------------------------

    def report(self, problem: ExpandProblem, frame: _Frame) -> None:
        if isinstance(problem, _Quiet):
            return
        diag = problem.diagnostic
        key = (diag.code, diag.span, frame.origin.filename if frame.origin else self.filename, diag.message)
        if key in self.seen_problems:
            return
        self.seen_problems.add(key)
        self.diagnostics.append(_with_origin(diag, frame.origin))

    # Statements -------------------------------------------------------------------------

    def run(self, module: ast.Module) -> Expansion:
        env = _Env()
        for name in module.recovered_blocks:  # their definitions had syntax errors
            env.blocks[name] = _BlockDef(ast.Block(name, (), (), Span.point(1, 1), Span.point(1, 1)), env, "", True)
        frame = _Frame("", None, {})
        self.body(module.statements, env, frame)
        for name in self.overrides:
            if name not in self.used_overrides:
                self.diagnostics.append(Diagnostic(
                    codes.UNKNOWN_PARAM, f"--set {name}: the spec has no 'param {name}'", None,
                    ("its params: " + ", ".join(sorted(self.params))) if self.params else
                    "declare it in the spec: param " + name + " = ..."))
        return Expansion(self.out, self.assertions, self.params, self.diagnostics)

    def body(self, statements, env: _Env, frame: _Frame) -> None:
        for st in statements:
            try:
                self.statement(st, env, frame)
            except ExpandProblem as problem:
                self.report(problem, frame)
                self.errors += not isinstance(problem, _Quiet)
                # What the statement would have defined is poisoned: no cascade of "undefined".
                if isinstance(st, ast.Statement) and st.target:
                    env.values.setdefault(st.target, TensorVal(self.poisoned_label(), st.target))
                    if frame.outputs is not None and st.is_output:
                        frame.outputs.append(TensorVal(self.poisoned_label(), st.target))
                elif isinstance(st, ast.Statement) and frame.outputs is not None and st.is_output:
                    frame.outputs.append(TensorVal(self.poisoned_label(), "output"))
                elif isinstance(st, ast.MultiAssign):
                    for name, _ in st.targets:
                        env.values.setdefault(name, TensorVal(self.poisoned_label(), name))
                elif isinstance(st, (ast.Let, ast.Param)):
                    env.values.setdefault(st.name, _POISON)
                elif isinstance(st, ast.Block):
                    env.blocks.setdefault(st.name, _BlockDef(st, env, "", broken=True))

    def statement(self, st, env: _Env, frame: _Frame) -> None:
        handler = _STATEMENTS.get(type(st))
        assert handler is not None, type(st)
        handler(self, st, env, frame)

    def let_statement(self, st: ast.Let, env: _Env, frame: _Frame) -> None:
        self.define(env, st.name, st.name_span, self.evaluate(st.value, env, frame))

    def param_statement(self, st: ast.Param, env: _Env, frame: _Frame) -> None:
        if frame.outputs is not None:
            raise ExpandProblem(codes.BAD_BLOCK, "'param' inside a block", st.span,
                                "declare spec parameters at the top of the file; a block takes arguments")
        value = self.evaluate(st.value, env, frame)
        if st.name in self.overrides:
            self.used_overrides.add(st.name)
            value = self.evaluate(self.overrides[st.name], env, frame)
        self.define(env, st.name, st.name_span, value)
        self.params[st.name] = value

    def define(self, env: _Env, name: str, span: Span, value: Any) -> None:
        self.check_free(env, name, span)
        if name in _BUILTINS or name in _MODEL_NAMES:
            raise ExpandProblem(codes.RESERVED_NAME, f"'{name}' is a reserved word", span, "pick another name")
        env.values[name] = value
        env.spans[name] = span

    def check_free(self, env: _Env, name: str, span: Span) -> None:
        if name in env.values and env.values[name] is not _POISON:
            line = env.spans[name].line if name in env.spans else None
            raise ExpandProblem(codes.DUPLICATE_NAME, f"'{name}' is already defined", span,
                                f"it was defined on line {line}; pick another name" if line else "pick another name")
        if name in _RESERVED:
            raise ExpandProblem(codes.RESERVED_NAME, f"'{name}' is a reserved word", span, "pick another name")

    def default_statement(self, st: ast.Default, env: _Env, frame: _Frame) -> None:
        layer = self.registry.layers.get(st.layer) if self.registry is not None else None
        if layer is None:
            raise ExpandProblem(codes.UNKNOWN_LAYER, f"unknown layer '{st.layer}'", st.layer_span,
                                did_you_mean(st.layer, self.registry.layers) if self.registry is not None else None)
        if st.positional:
            raise ExpandProblem(codes.ARG_TYPE, "a default is given as key=value", st.positional[0].span,
                                f"for example: default {st.layer} activation=relu")
        names = {p.name for p in layer.params}
        entries = dict((k, (k, v, s)) for k, v, s in frame.defaults.get(layer.name, ()))
        for kw in st.keywords:
            if kw.name not in names:
                raise ExpandProblem(codes.UNKNOWN_KEYWORD, f"{layer.name} has no option '{kw.name}'", kw.name_span,
                                    did_you_mean(kw.name, names))
            entries[kw.name] = (kw.name, self.evaluate(kw.value, env, frame), kw.value.span)
        frame.defaults = {**frame.defaults, layer.name: tuple(entries.values())}

    def include_statement(self, st: ast.Include, env: _Env, frame: _Frame) -> None:
        if frame.outputs is not None:
            raise ExpandProblem(codes.BAD_INCLUDE, "'include' inside a block", st.span,
                                "include files at the top level")
        if self.include_loader is None:
            raise ExpandProblem(codes.BAD_INCLUDE, "include is not available here", st.span,
                                "check a file, not text, to use include")
        module, filename, problems = self.include_loader(st, self.files[-1])
        if module is None and not problems:
            raise ExpandProblem(codes.BAD_INCLUDE, f"cannot include {st.path!r}: {filename}", st.span,
                                "an include names a file relative to the including file, or std/NAME")
        if filename in self.files:
            cycle = " -> ".join(self.files[self.files.index(filename):] + [filename])
            raise ExpandProblem(codes.INCLUDE_CYCLE, f"include cycle: {cycle}", st.span,
                                "an included file must not include the file that includes it")
        site = tuple(self.include_sites) + ((self.files[-1], st.span),)
        if problems:
            self.diagnostics.extend(replace(d, origin=replace(d.origin, included_from=site))
                                    if d.origin is not None and not d.origin.frames else d for d in problems)
            return
        assert module is not None
        if filename in self.included:
            return  # included once already: its definitions are in scope
        if filename in self.files:
            cycle = " -> ".join(self.files[self.files.index(filename):] + [filename])
            raise ExpandProblem(codes.INCLUDE_CYCLE, f"include cycle: {cycle}", st.span,
                                "an included file must not include the file that includes it")
        self.included.add(filename)
        for inner in module.statements:
            if not isinstance(inner, (ast.Block, ast.Let, ast.Include, ast.Default)):
                raise ExpandProblem(codes.BAD_INCLUDE, f"{filename} holds a model statement; an included "
                                    "file holds only blocks, constants, defaults and includes", st.span,
                                    f"{filename}:{inner.span.line} is the first such statement")
        self.files.append(filename)
        self.include_sites.append((site[-1]))
        inner_frame = _Frame("", ast.Origin(filename, included_from=site), frame.defaults)
        try:
            self.body(module.statements, env, inner_frame)
        finally:
            self.files.pop()
            self.include_sites.pop()
        frame.defaults = inner_frame.defaults  # an included file's defaults hold after the include

    def block_statement(self, st: ast.Block, env: _Env, frame: _Frame) -> None:
        if self.registry is not None and (st.name in self.registry.layers or st.name in self.registry.activations):
            raise ExpandProblem(codes.RESERVED_NAME, f"block '{st.name}' has the name of a layer", st.name_span,
                                f"pick another name, such as '{st.name}_block'")
        if st.name in _RESERVED or st.name in _BUILTINS:
            raise ExpandProblem(codes.RESERVED_NAME, f"'{st.name}' is a reserved word", st.name_span, "pick another name")
        if st.name in env.blocks:
            first = env.blocks[st.name].block
            raise ExpandProblem(codes.DUPLICATE_NAME, f"block '{st.name}' is already defined", st.name_span,
                                f"it was defined on line {first.span.line}; pick another name")
        seen: set[str] = set()
        optional = False
        for p in st.params:
            if p.name in seen:
                raise ExpandProblem(codes.DUPLICATE_ARG, f"block '{st.name}' has two parameters named '{p.name}'",
                                    p.span, "give each parameter its own name")
            seen.add(p.name)
            if p.default is None and optional:
                raise ExpandProblem(codes.ARG_ORDER, f"parameter '{p.name}' without a default after one with a default",
                                    p.span, "put parameters with defaults last")
            optional |= p.default is not None
        filename = frame.origin.filename if frame.origin else self.files[-1]
        env.blocks[st.name] = _BlockDef(st, env, filename)

    def if_statement(self, st: ast.If, env: _Env, frame: _Frame) -> None:
        for test, body in st.branches:
            if _truth(self.evaluate(test, env, frame), test.span):
                self.body(body, env, frame)
                return
        self.body(st.otherwise, env, frame)

    def assert_statement(self, st: ast.Assert, env: _Env, frame: _Frame) -> None:
        self.assertions.append((replace(st, origin=frame.origin), env))

    def multi_assign(self, st: ast.MultiAssign, env: _Env, frame: _Frame) -> None:
        for name, span in st.targets:
            self.check_free(env, name, span)
        result = self.chain(st.chain, env, frame, want_all=True)
        if not isinstance(result, tuple) or len(result) != len(st.targets):
            got = len(result) if isinstance(result, tuple) else 1
            raise ExpandProblem(codes.BAD_OUTPUT, f"{len(st.targets)} names for {got} output{'s' * (got != 1)}",
                                st.targets[0][1], "a block's 'output' lines say how many tensors it returns")
        for (name, span), tensor in zip(st.targets, result):
            env.values[name] = TensorVal(tensor.label, name)
            env.spans[name] = span

    def chain_statement(self, st: ast.Statement, env: _Env, frame: _Frame) -> None:
        if frame.outputs is not None and st.is_output:  # inside a block: a block output
            if st.chain is None:
                tensor = self.tensor_named(st.target or "", st.target_span or st.span, env)
            else:
                if st.target is not None:
                    self.check_free(env, st.target, st.target_span or st.span)
                tensor = self.chain(st.chain, env, frame, target=st.target)
                if st.target is not None:
                    env.values[st.target] = TensorVal(tensor.label, st.target)
                    env.spans[st.target] = st.target_span or st.span
            frame.outputs.append(tensor)
            return
        if st.chain is None:  # `output y` at the top level
            self.out_statement(replace(st, target=self.tensor_label(st.target or "", env)), frame)
            return
        if st.target is not None and not isinstance(env.values.get(st.target), TensorVal):
            self.check_free(env, st.target, st.target_span or st.span)  # a tensor twice: the binder says so
        tensor = self.chain(st.chain, env, frame, target=st.target, is_output=st.is_output, statement=st)
        if st.target is not None and tensor is not None:
            env.values[st.target] = TensorVal(tensor.label, st.target)
            env.spans[st.target] = st.target_span or st.span

    # Chains -----------------------------------------------------------------------------

    def chain(self, chain: ast.Chain, env: _Env, frame: _Frame, target: str | None = None,
              is_output: bool = False, statement: ast.Statement | None = None, want_all: bool = False,
              source: TensorVal | None = None):
        """Expand one chain; return the tensor it produces (or the outputs of a multi-output block)."""
        steps = list(chain.steps)
        head = steps[0]
        top = frame.origin is None or frame.outputs is None
        if (source is None and isinstance(head, ast.Call) and not head.parenthesized and not head.args
                and not head.keywords):
            value = self.lookup(head.name, env)
            if isinstance(value, TensorVal):
                source, steps = value, steps[1:]
            elif value is _MISSING and len(steps) > 1 and env.block(head.name) is None and not self.is_layer(head.name):
                source, steps = TensorVal(head.name, head.name), steps[1:]  # the binder knows it (an input)
            elif value is not _MISSING and not isinstance(value, Sym) and env.block(head.name) is None:
                raise ExpandProblem(codes.ARG_TYPE, f"'{head.name}' is {_describe(value)}, not a tensor",
                                    head.name_span, "a chain starts from a tensor name or a layer")
        if statement is not None and _plain_v1(steps, env) and (
                frame.origin is None and (source is None or source.label == source.written)):
            # A v1 statement: passes through with its values evaluated.
            calls = tuple(self.layer_call(step, env, frame, None) for step in steps)
            if all(a is b for a, b in zip(calls, steps)) and (source is None or source.label == head.name):
                new = statement  # nothing to evaluate: the statement as parsed
            else:
                if source is not None:
                    calls = (ast.Call(source.label, (), (), chain.steps[0].span, chain.steps[0].name_span),) + calls
                new = replace(statement, chain=ast.Chain(calls, chain.span), origin=frame.origin)
                if not calls:
                    new = replace(new, chain=chain)
            self.emit(new)
            self.bind_input(new, env)
            name = target if target is not None else None
            return TensorVal(name, name) if name else None
        current: TensorVal | None = source
        pending: list[ast.Call] = []
        pending_source: TensorVal | None = source
        result: Any = None

        def flush(final: bool = False) -> TensorVal | None:
            nonlocal pending, pending_source
            if not pending:
                return current
            label = self.new_label() if not (final and top and target) else target
            calls = list(pending)
            if final and target and not top and not _has_name(steps[-1]):
                # Inside a block, `y = ...` names its last layer <instance>_y.
                calls[-1] = replace(calls[-1], layer_name=frame.prefix + target)
            if pending_source is not None:
                calls.insert(0, ast.Call(pending_source.label, (), (), chain.span, chain.span))
            self.emit(ast.Statement(ast.Chain(tuple(calls), chain.span), label, chain.span,
                                    bool(final and is_output and top), chain.span, origin=frame.origin,
                                    synthetic=label != target))
            pending = []
            return TensorVal(label, target or label)

        for step in steps:
            if isinstance(step, ast.Repeat):
                current = flush()
                current = self.repeat(step, current, env, frame)
                pending_source = current
                continue
            block = env.block(step.name) if isinstance(step, ast.Call) else None
            if block is not None:
                current = flush()
                if current is None and pending_source is None and not step.parenthesized and frame.outputs is None:
                    # Like a layer, a block starting a statement continues from the previous result.
                    label = self.sink.current()
                    current = TensorVal(label, label) if label is not None else None
                result = self.call_block(block, step, current, env, frame)
                if isinstance(result, tuple):
                    if step is not steps[-1] or not want_all:
                        if len(result) != 1:
                            raise ExpandProblem(codes.BAD_OUTPUT, f"block '{step.name}' has {len(result)} outputs",
                                                step.name_span, f"name them: a, b = {step.name}(...)")
                    current = result[0] if len(result) == 1 else None
                pending_source = current
                continue
            if step.parenthesized and any(isinstance(a, ast.Ident) and a.name == "_" for a in step.paren_args):
                current = flush()
                if current is None:
                    raise ExpandProblem(codes.BAD_INPUTS, "'_' stands for the chained tensor, and there is none here",
                                        step.name_span, "write the tensor's name instead")
                pending_source = None
                pending.append(self.layer_call(step, env, frame, current))
                continue
            if current is None and not pending and pending_source is None and frame.outputs is not None \
                    and not step.parenthesized:
                raise ExpandProblem(codes.NO_SOURCE, f"'{step.name}' has nothing to apply to", step.name_span,
                                    "inside a block, start each chain from a tensor: y = x -> " + step.name)
            if current is None and not pending and pending_source is None and not step.parenthesized \
                    and statement is None:
                pass
            if current is None and pending_source is None and not pending and not step.parenthesized:
                label = self.sink.current()
                if label is not None:
                    pending_source = TensorVal(label, label)
            named_by_target = target is not None and not top and step is steps[-1] and not _has_name(step)
            pending.append(self.layer_call(step, env, frame, None, auto_name=not named_by_target))
        if want_all and isinstance(result, tuple) and not pending and steps and \
                isinstance(steps[-1], ast.Call) and env.block(steps[-1].name) is not None:
            return result
        if pending:
            return flush(final=True)
        if current is None:
            return None
        if top and (target is not None or is_output):
            # The chain ends in a block: name its result like the statement says.
            where = statement.target_span if statement is not None and statement.target_span else chain.span
            self.emit(ast.Statement(None, target, where, is_output, statement.span if statement else chain.span,
                                    origin=frame.origin, alias_of=current.label))
            return TensorVal(target or current.label, target or current.label)
        return current

    def repeat(self, step: ast.Repeat, current: TensorVal | None, env: _Env, frame: _Frame) -> TensorVal | None:
        count = self.evaluate(step.count, env, frame)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ExpandProblem(codes.ARG_TYPE, f"repeat takes a count (an integer >= 0), got {_describe(count)}",
                                step.count.span)
        if count > MAX_REPEAT:
            raise ExpandProblem(codes.ARG_RANGE, f"repeat {count:,}: the limit is {MAX_REPEAT:,}", step.count.span)
        body = step.body
        for k in range(count):
            inner = _Env(env)
            if step.index_name is not None:
                inner.values[step.index_name] = k
            copy = _Frame(frame.prefix, frame.origin, frame.defaults, frame.auto_counts, frame.outputs)
            chain = body if isinstance(body, ast.Chain) else ast.Chain((body,), body.span)
            chain = _rename_copy(chain, k, inner, self)
            source = current if current is not None else (
                TensorVal(self.sink.current(), "") if self.sink.current() is not None else None)
            current = self.chain(chain, inner, copy, source=source) or current
            frame.defaults = copy.defaults
        return current

    # Blocks -----------------------------------------------------------------------------

    def call_block(self, block: _BlockDef, call: ast.Call, current: TensorVal | None, env: _Env, frame: _Frame):
        definition = block.block
        if block.broken:
            raise _Quiet()
        if definition.name in self.stack:
            cycle = " -> ".join(self.stack[self.stack.index(definition.name):] + [definition.name])
            raise ExpandProblem(codes.BLOCK_CYCLE, f"block cycle: {cycle}", call.name_span,
                                "a block must not call itself, directly or through other blocks")
        if len(self.stack) >= MAX_BLOCK_DEPTH:
            raise ExpandProblem(codes.BLOCK_CYCLE, f"blocks nested deeper than {MAX_BLOCK_DEPTH}", call.name_span)
        positional: list[tuple[Any, Span]] = []
        if current is not None and not (call.parenthesized and any(
                isinstance(a, ast.Ident) and a.name == "_" for a in call.paren_args)):
            positional.append((current, call.name_span))
        for value in (call.paren_args if call.parenthesized else call.args):
            if isinstance(value, ast.Ident) and value.name == "_":
                if current is None:
                    raise ExpandProblem(codes.BAD_INPUTS, "'_' stands for the chained tensor, and there is none here",
                                        value.span, "write the tensor's name instead")
                positional.append((current, value.span))
            else:
                positional.append((self.evaluate(value, env, frame), value.span))
        for late in call.late_positional:
            raise ExpandProblem(codes.ARG_ORDER, "positional argument after a keyword argument", late.span,
                                "put positional arguments first")
        params = definition.params
        if len(positional) > len(params):
            raise ExpandProblem(codes.ARG_COUNT, f"block '{definition.name}' takes {len(params)} argument"
                                f"{'s' * (len(params) != 1)} ({', '.join(p.name for p in params)}), got {len(positional)}",
                                positional[len(params)][1], f"{definition.name}({', '.join(p.name for p in params)})")
        given: dict[str, Any] = {}
        for p, (value, _) in zip(params, positional):
            given[p.name] = value
        instance_name: str | None = None
        by_name = {p.name: p for p in params}
        for kw in call.keywords:
            if kw.name == "name":
                instance_name = _name_value(kw.value)
                continue
            if kw.name not in by_name:
                raise ExpandProblem(codes.UNKNOWN_KEYWORD, f"block '{definition.name}' has no parameter '{kw.name}'",
                                    kw.name_span, did_you_mean(kw.name, by_name) or
                                    f"{definition.name}({', '.join(p.name for p in params)})")
            if kw.name in given:
                raise ExpandProblem(codes.DUPLICATE_ARG, f"block '{definition.name}' got '{kw.name}' twice",
                                    kw.name_span, "give each argument once")
            given[kw.name] = self.evaluate(kw.value, env, frame)
        body_env = _Env(block.env)
        for p in params:
            if p.name in given:
                body_env.values[p.name] = given[p.name]
            elif p.default is not None:
                body_env.values[p.name] = self.evaluate(p.default, body_env, frame)
            else:
                raise ExpandProblem(codes.MISSING_ARG, f"block '{definition.name}' needs '{p.name}'", call.span,
                                    f"{definition.name}({', '.join(q.name for q in params)})")
            body_env.spans[p.name] = p.span
        if instance_name is None:
            base = f"{frame.prefix}{definition.name}"
            k = self.instances.get(base, 0)
            self.instances[base] = k + 1
            instance_name = definition.name if k == 0 else f"{definition.name}_{k}"
        prefix = f"{frame.prefix}{instance_name}_"
        call_file = frame.origin.filename if frame.origin else self.files[-1]
        frames = (frame.origin.frames if frame.origin else ()) + (
            ast.Frame(definition.name, instance_name, call.span, call_file),)
        inner = _Frame(prefix, ast.Origin(block.filename, frames), dict(frame.defaults), outputs=[])
        self.stack.append(definition.name)
        errors_before = self.errors
        try:
            self.body(definition.body, body_env, inner)
        finally:
            self.stack.pop()
        outputs = inner.outputs or []
        if self.errors != errors_before and (not outputs or any(o.label == "%poisoned" for o in outputs)):
            raise _Quiet()  # the body's error is reported; its outputs would only cascade
        if not outputs:
            raise ExpandProblem(codes.BAD_OUTPUT, f"block '{definition.name}' has no 'output' line",
                                definition.name_span, "end the block with: output y")
        return tuple(outputs)

    # Calls ------------------------------------------------------------------------------

    def layer_call(self, step: ast.Call, env: _Env, frame: _Frame, chained: TensorVal | None,
                   auto_name: bool = True) -> ast.Call:
        """A layer step with every value evaluated, defaults added and its name made explicit."""
        if step.origin is not None:
            return step
        if not frame.prefix and self.unchanged(step, env, frame):
            return step  # a v1 step: nothing to evaluate, name or default (the common case, kept cheap)
        # Statement keywords (`input x 3`, `loss y=mse`) take names, which may be tensor names.
        names = step.name in STATEMENT_KEYWORDS and not step.parenthesized
        args = tuple(self.value_node(a, env, frame, names) for a in step.args)
        paren_args = []
        for a in step.paren_args:
            if isinstance(a, ast.Ident) and a.name == "_" and chained is not None:
                paren_args.append(ast.Ident(chained.label, a.span))
            else:
                paren_args.append(self.tensor_arg(a, env, frame))
        keywords = []
        layer_name: str | None = None
        for kw in step.keywords:
            if kw.name == "name":
                layer_name = _name_value(kw.value)
                continue
            keywords.append(ast.Keyword(kw.name, self.value_node(kw.value, env, frame, names), kw.span, kw.name_span))
        late = tuple(self.value_node(a, env, frame) for a in step.late_positional)
        layer = self.registry.layers.get(step.name) if self.registry is not None else None
        if layer is not None and frame.defaults.get(layer.name):
            written = {k.name for k in keywords}
            positional = [p.name for p in layer.params if p.positional]
            written |= set(positional[:len(args)])
            if any(p.variadic for p in layer.params if p.positional) and args:
                written |= set(positional)
            for name, value, span in frame.defaults[layer.name]:
                if name not in written:
                    keywords.append(ast.Keyword(name, _to_node(value, span), span, span))
        if frame.prefix:
            # `relu` alone is the activation layer even where a layer is also called relu (Keras' ReLU)
            bare_activation = (self.registry is not None and step.name in self.registry.activations
                               and not args and not keywords and not step.parenthesized)
            auto = "activation" if bare_activation or (layer is None and self.registry is not None and
                                                        step.name in self.registry.activations) else (
                layer.auto_name if layer is not None else step.name)
            if layer_name is None and not auto_name:
                layer_name = "?"  # the statement's target names it (below, in chain())
            elif layer_name is None:
                k = frame.auto_counts.get(auto, 0)
                frame.auto_counts[auto] = k + 1
                layer_name = auto if k == 0 else f"{auto}_{k}"
            layer_name = frame.prefix + layer_name
        return ast.Call(step.name, args, tuple(keywords), step.span, step.name_span, step.parenthesized,
                        tuple(paren_args), late, origin=frame.origin, layer_name=layer_name)

    def unchanged(self, step: ast.Call, env: _Env, frame: _Frame) -> bool:
        if frame.defaults and step.name in frame.defaults or (
                frame.defaults and self.registry is not None and step.name in self.registry.layers
                and self.registry.layers[step.name].name in frame.defaults):
            return False
        for value in step.args:
            if not self.plain(value, env):
                return False
        for kw in step.keywords:
            if kw.name == "name" or not self.plain(kw.value, env):
                return False
        for value in step.paren_args:
            if not isinstance(value, ast.Ident) or value.name == "_":
                return False
            found = self.lookup(value.name, env)
            if found is not _MISSING and not (isinstance(found, TensorVal) and found.label == value.name):
                return False
        return not step.late_positional

    def plain(self, value: ast.Value, env: _Env) -> bool:
        """A literal, or a name bound to nothing: the binder reads it as written."""
        kind = type(value)
        if kind is ast.Number or kind is ast.String or kind is ast.Unknown:
            return True
        if kind is ast.Ident:
            return self.lookup(value.name, env) is _MISSING
        if kind is ast.Tuple:
            return not value.grouping and all(self.plain(v, env) for v in value.items)
        return False

    def tensor_arg(self, value: ast.Value, env: _Env, frame: _Frame) -> ast.Value:
        if isinstance(value, ast.Ident):
            found = self.lookup(value.name, env)
            if isinstance(found, TensorVal):
                return ast.Ident(found.label, value.span)
            if found is _MISSING or isinstance(found, Sym):
                return value
            raise ExpandProblem(codes.BAD_INPUTS, f"'{value.name}' is {_describe(found)}, not a tensor", value.span,
                                "inside parentheses come input tensors, then options as key=value: concat(a, b, axis=-1)")
        return self.value_node(value, env, frame)

    def tensor_named(self, name: str, span: Span, env: _Env) -> TensorVal:
        found = self.lookup(name, env)
        if isinstance(found, TensorVal):
            return found
        if found is _MISSING or isinstance(found, Sym):
            raise ExpandProblem(codes.UNDEFINED_TENSOR, f"'{name}' is not defined", span,
                                did_you_mean(name, env.names()) or "define it first: y = x -> dense 10")
        raise ExpandProblem(codes.ARG_TYPE, f"'{name}' is {_describe(found)}, not a tensor", span)

    def tensor_label(self, name: str, env: _Env) -> str:
        found = self.lookup(name, env)
        return found.label if isinstance(found, TensorVal) else name

    def bind_input(self, st: ast.Statement, env: _Env) -> None:
        """`input image 28 28 1`: the name is a tensor from here on (as the binder names it)."""
        head = st.chain.steps[0] if st.chain is not None and st.chain.steps else None
        if head is None or head.name != "input" or st.target is not None or len(st.chain.steps) != 1:
            return
        first = head.args[0] if head.args else None
        if isinstance(first, ast.Ident) and first.name not in ("true", "false", "none"):
            name = first.name
        else:
            name = "input_layer" if not self.inputs else f"input_layer_{self.inputs}"
        self.inputs += 1
        if name not in env.values:
            env.values[name] = TensorVal(name, name)

    def is_layer(self, name: str) -> bool:
        return self.registry is not None and (name in self.registry.layers or name in self.registry.activations)

    def lookup(self, name: str, env: _Env) -> Any:
        try:
            found = env.lookup(name)
        except KeyError:
            return _MISSING
        if found is _POISON:
            raise _Quiet()  # its definition failed, and that is reported
        return found

    # Output -----------------------------------------------------------------------------

    def emit(self, st: ast.Statement) -> None:
        if len(self.out) >= MAX_STATEMENTS:
            raise ExpandProblem(codes.TOO_LARGE, f"the spec expands to more than {MAX_STATEMENTS:,} statements",
                                st.span, "lower a repeat count")
        self.out.append(st)
        self.sink.statement(st)

    def out_statement(self, st: ast.Statement, frame: _Frame) -> None:
        self.emit(replace(st, origin=frame.origin))

    def new_label(self) -> str:
        self.labels += 1
        return f"%{self.labels}"

    def poisoned_label(self) -> str:
        return "%poisoned"

    # Expressions ------------------------------------------------------------------------

    def value_node(self, value: ast.Value, env: _Env, frame: _Frame, names: bool = False) -> ast.Value:
        """An argument as the binder will see it: literal values, names, tuples, call values."""
        if isinstance(value, (ast.Number, ast.String, ast.Unknown)):
            return value
        if isinstance(value, ast.CallValue) and value.name not in _BUILTINS and value.name != "channels":
            # A call value (`l2(0.01)`) is passed on with each argument evaluated where it stands.
            return ast.CallValue(value.name, tuple(self.value_node(a, env, frame) for a in value.args),
                                 tuple(ast.Keyword(k.name, self.value_node(k.value, env, frame), k.span, k.name_span)
                                       for k in value.keywords), value.span, value.name_span)
        if isinstance(value, ast.Tuple) and value.grouping:
            # A whole argument `(3)`, `((3))`, `(relu)`: the one-item tuple of v1; `(width)` is width.
            inner = value.items[0]
            if isinstance(inner, ast.Ident) and not isinstance(self.lookup(inner.name, env), (Sym, type(None))) \
                    and self.lookup(inner.name, env) is not _MISSING:
                return self.value_node(inner, env, frame, names)
            if isinstance(inner, (ast.Number, ast.String, ast.Unknown, ast.Ident, ast.Tuple)):
                return ast.Tuple((self.value_node(inner, env, frame, names),), value.span)
        if isinstance(value, ast.Ident):
            found = self.lookup(value.name, env)
            if found is _MISSING or (names and isinstance(found, TensorVal)):
                return value
            if isinstance(found, Sym):  # a parameter holding a name (act=relu): the name it holds
                return ast.Ident(found.name, value.span)
            if isinstance(found, TensorVal):
                raise ExpandProblem(codes.ARG_TYPE, f"'{value.name}' is a tensor, not a value", value.span,
                                    f"use its shape: channels({value.name}) or {value.name}.shape")
            return _to_node(found, value.span)
        return _to_node(self.evaluate(value, env, frame), value.span)

    def evaluate(self, value: ast.Value, env: _Env, frame: _Frame) -> Any:
        return _Evaluator(self, env, frame).eval(value)


_MISSING = object()
_POISON = object()  # a name whose definition failed
_RESERVED = frozenset({"output", "block", "repeat", "true", "false", "none", "param", "let", "default",
                       "include", "assert", "if", "else", "elif", "as", "and", "or", "not", "_"})
# Names an assertion reads; not usable as constants.
_MODEL_NAMES = frozenset({"params", "trainable_params", "non_trainable_params", "macs", "layers"})

_STATEMENTS: dict[type, Callable] = {
    ast.Statement: Expander.chain_statement,
    ast.MultiAssign: Expander.multi_assign,
    ast.Param: Expander.param_statement,
    ast.Let: Expander.let_statement,
    ast.Default: Expander.default_statement,
    ast.Include: Expander.include_statement,
    ast.Block: Expander.block_statement,
    ast.If: Expander.if_statement,
    ast.Assert: Expander.assert_statement,
}


def _plain_v1(steps, env: _Env) -> bool:
    """No blocks, repeats or `_` placeholders: the statement expands to itself."""
    for step in steps:
        if isinstance(step, ast.Repeat):
            return False
        if env.block(step.name) is not None:
            return False
        if step.parenthesized and any(isinstance(a, ast.Ident) and a.name == "_" for a in step.paren_args):
            return False
    return True


def _rename_copy(chain: ast.Chain, k: int, env: _Env, expander: Expander) -> ast.Chain:
    """Copy k of a repeated step: an explicit `name=n` becomes `n_<k+1>`."""
    steps = []
    for step in chain.steps:
        if isinstance(step, ast.Call):
            keywords = tuple(
                ast.Keyword("name", ast.String(f"{_name_value(kw.value)}_{k + 1}", kw.value.span), kw.span, kw.name_span)
                if kw.name == "name" else kw for kw in step.keywords)
            step = replace(step, keywords=keywords)
        steps.append(step)
    return ast.Chain(tuple(steps), chain.span)


def _has_name(step) -> bool:
    return isinstance(step, ast.Call) and any(kw.name == "name" for kw in step.keywords)


def _name_value(value: ast.Value) -> str:
    if isinstance(value, ast.Ident):
        name = value.name
    elif isinstance(value, ast.String):
        name = value.value
    else:
        raise ExpandProblem(codes.ARG_TYPE, "name= takes a name", value.span, "for example: name=stage2_block1")
    if not name or not all(c.isascii() and (c.isalnum() or c in "_-.") for c in name):
        raise ExpandProblem(codes.ARG_TYPE, f"name {name!r} is not a legal layer name", value.span,
                            "use ASCII letters, digits, '_', '-' and '.'")
    return name


def _with_origin(diag: Diagnostic, origin: ast.Origin | None) -> Diagnostic:
    if origin is None:
        return diag
    return replace(diag, origin=origin)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, tuple):
        return "a tuple"
    if isinstance(value, TensorVal):
        return f"the tensor '{value.written}'"
    if isinstance(value, Sym):
        return f"the name '{value.name}'"
    if value is None:
        return "none"
    if value is UNKNOWN:
        return "an unknown dimension"
    if isinstance(value, CallVal):
        return f"the call {value.name}(...)"
    return "a value"


def _truth(value: Any, span: Span) -> bool:
    if isinstance(value, (TensorVal, Sym, CallVal)) or value is UNKNOWN:
        raise ExpandProblem(codes.ARG_TYPE, f"a condition must be a value, got {_describe(value)}", span)
    return bool(value)


def _to_node(value: Any, span: Span) -> ast.Value:
    """An evaluated value back as a syntax node (what the binder reads)."""
    if value is True or value is False:
        return ast.Ident("true" if value else "false", span)
    if value is None:
        return ast.Ident("none", span)
    if isinstance(value, int):
        return ast.Number(value, str(value), span)
    if isinstance(value, float):
        return ast.Number(value, repr(value), span)
    if isinstance(value, str):
        return ast.String(value, span)
    if isinstance(value, Sym):
        return ast.Ident(value.name, span)
    if value is UNKNOWN:
        return ast.Unknown(span)
    if isinstance(value, tuple):
        return ast.Tuple(tuple(_to_node(v, span) for v in value), span)
    if isinstance(value, CallVal):
        return ast.CallValue(value.name, tuple(_to_node(v, span) for v in value.args),
                             tuple(ast.Keyword(k, _to_node(v, span), span, span) for k, v in value.keywords),
                             span, span)
    if isinstance(value, TensorVal):
        return ast.Ident(value.label, span)
    raise ExpandProblem(codes.ARG_TYPE, f"cannot use {_describe(value)} here", span)


# Expression evaluation ---------------------------------------------------------------------

def _make_divisible(v, divisor, min_value=None):
    """keras.applications' ``_make_divisible``, exactly."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


_BUILTINS: dict[str, Callable] = {
    "int": int, "float": float, "round": round, "min": min, "max": max, "abs": abs,
    "ceil": math.ceil, "floor": math.floor, "make_divisible": _make_divisible, "len": len,
}
_NUMBERS = (int, float)
_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
    "//": lambda a, b: a // b, "%": lambda a, b: a % b, "**": lambda a, b: a ** b,
}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


class _Evaluator:
    def __init__(self, expander: Expander, env: _Env, frame: _Frame):
        self.expander = expander
        self.env = env
        self.frame = frame

    def eval(self, node: ast.Value) -> Any:
        method = getattr(self, "eval_" + type(node).__name__)
        return method(node)

    def eval_Number(self, node: ast.Number) -> Any:
        if node.text[-1:] in ("k", "M", "G") and not self.frame.__dict__.get("assertion"):
            pass
        return node.value

    def eval_String(self, node: ast.String) -> Any:
        return node.value

    def eval_Unknown(self, node: ast.Unknown) -> Any:
        return UNKNOWN

    def eval_Ident(self, node: ast.Ident) -> Any:
        if node.name == "true":
            return True
        if node.name == "false":
            return False
        if node.name == "none":
            return None
        found = self.expander.lookup(node.name, self.env)
        if found is _MISSING:
            return Sym(node.name)
        return found

    def eval_Tuple(self, node: ast.Tuple) -> Any:
        if node.grouping:
            return self.eval(node.items[0])  # `(a)` is `a` inside expressions
        return tuple(self.eval(i) for i in node.items)

    def number(self, node: ast.Value, what: str) -> Any:
        value = self.eval(node)
        if isinstance(value, _NUMBERS) and not isinstance(value, bool) or isinstance(value, bool):
            return value
        if isinstance(value, Sym):
            raise ExpandProblem(codes.UNDEFINED_NAME, f"'{value.name}' is not defined", node.span,
                                did_you_mean(value.name, self.env.names()) or
                                f"{what} needs numbers; define it first: let {value.name} = ...")
        raise ExpandProblem(codes.ARG_TYPE, f"{what} needs numbers, got {_describe(value)}", node.span)

    def eval_BinOp(self, node: ast.BinOp) -> Any:
        if node.op == "and":
            left = self.eval(node.left)
            return self.eval(node.right) if _truth(left, node.left.span) else left
        if node.op == "or":
            left = self.eval(node.left)
            return left if _truth(left, node.left.span) else self.eval(node.right)
        left, right = self.eval(node.left), self.eval(node.right)
        if node.op in ("+", "*") and (isinstance(left, tuple) or isinstance(right, tuple)):
            ok = (isinstance(left, tuple) and isinstance(right, tuple)) if node.op == "+" else (
                isinstance(left, int) or isinstance(right, int))
            if ok:
                return self.check_result(_BINARY[node.op](left, right), node)
        for side, value in ((node.left, left), (node.right, right)):
            if not isinstance(value, _NUMBERS):
                if isinstance(value, Sym):
                    if node.op == "-" and side is node.right and self.expander.registry is not None and (
                            value.name in self.expander.registry.layers or value.name in self.expander.registry.activations):
                        raise ExpandProblem(codes.UNEXPECTED_CHARACTER, "unexpected '-'", _op_span(node),
                                            "chain layers with '->'; a negative number is written -1")
                    raise ExpandProblem(codes.UNDEFINED_NAME, f"'{value.name}' is not defined", side.span,
                                        did_you_mean(value.name, self.env.names()) or
                                        f"'{node.op}' needs numbers; define it first: let {value.name} = ...")
                raise ExpandProblem(codes.ARG_TYPE, f"'{node.op}' needs numbers, got {_describe(value)}", side.span)
        if node.op == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 64:
            raise ExpandProblem(codes.ARG_RANGE, "the result does not fit in 64 bits", node.span)
        try:
            result = _BINARY[node.op](left, right)
        except ZeroDivisionError:
            raise ExpandProblem(codes.ARG_RANGE, "division by zero", node.right.span) from None
        except (OverflowError, ValueError) as e:
            raise ExpandProblem(codes.ARG_RANGE, f"'{node.op}': {e}", node.span) from None
        return self.check_result(result, node)

    def check_result(self, result: Any, node) -> Any:
        if isinstance(result, complex):
            raise ExpandProblem(codes.ARG_RANGE, "the result is a complex number", node.span)
        if isinstance(result, int) and not -_INT_LIMIT <= result < _INT_LIMIT:
            raise ExpandProblem(codes.ARG_RANGE, "the result does not fit in 64 bits", node.span)
        if isinstance(result, tuple) and len(result) > 10_000:
            raise ExpandProblem(codes.ARG_RANGE, "a tuple of more than 10,000 items", node.span)
        return result

    def eval_UnaryOp(self, node: ast.UnaryOp) -> Any:
        if node.op == "not":
            return not _truth(self.eval(node.operand), node.operand.span)
        value = self.number(node.operand, f"unary '{node.op}'")
        return -value if node.op == "-" else +value

    def eval_Compare(self, node: ast.Compare) -> Any:
        left = self.eval(node.first)
        for op, right_node in node.rest:
            right = self.eval(right_node)
            if op not in ("==", "!=") and not (isinstance(left, _NUMBERS) and isinstance(right, _NUMBERS)) and not (
                    isinstance(left, tuple) and isinstance(right, tuple)):
                bad, span = (left, node.first.span) if not isinstance(left, (*_NUMBERS, tuple)) else (right, right_node.span)
                raise ExpandProblem(codes.ARG_TYPE, f"'{op}' compares numbers, got {_describe(bad)}", span)
            try:
                ok = _COMPARE[op](left, right)
            except TypeError:
                raise ExpandProblem(codes.ARG_TYPE, f"cannot compare {_describe(left)} with {_describe(right)}",
                                    node.span) from None
            if not ok:
                return False
            left = right
        return True

    def eval_Conditional(self, node: ast.Conditional) -> Any:
        return self.eval(node.then) if _truth(self.eval(node.test), node.test.span) else self.eval(node.otherwise)

    def eval_Attribute(self, node: ast.Attribute) -> Any:
        if node.name != "shape":
            raise ExpandProblem(codes.ARG_TYPE, f"'.{node.name}': a tensor has only '.shape'", node.name_span,
                                "for example: x.shape[-1]")
        return self.shape_of(node.value)

    def shape_of(self, node: ast.Value) -> tuple:
        tensor = self.eval(node)
        if not isinstance(tensor, TensorVal):
            if isinstance(tensor, Sym):
                raise ExpandProblem(codes.UNDEFINED_TENSOR, f"'{tensor.name}' is not defined", node.span,
                                    did_you_mean(tensor.name, self.env.names()) or "the shape of a tensor defined above")
            raise ExpandProblem(codes.ARG_TYPE, f"{_describe(tensor)} is not a tensor", node.span)
        shape = self.expander.sink.shape(tensor.label)
        if shape is None:
            raise _Quiet()  # the tensor failed to check; that error is reported already
        return tuple(UNKNOWN if d is None else d for d in shape)

    def eval_Index(self, node: ast.Index) -> Any:
        value = self.eval(node.value)
        index = self.eval(node.index)
        if not isinstance(value, tuple):
            raise ExpandProblem(codes.ARG_TYPE, f"cannot index {_describe(value)}", node.value.span)
        if isinstance(index, bool) or not isinstance(index, int):
            raise ExpandProblem(codes.ARG_TYPE, f"an index is an integer, got {_describe(index)}", node.index.span)
        if not -len(value) <= index < len(value):
            raise ExpandProblem(codes.ARG_RANGE, f"index {index} out of range for a tuple of {len(value)}",
                                node.index.span)
        return value[index]

    def eval_CallValue(self, node: ast.CallValue) -> Any:
        if node.name == "channels":
            if len(node.args) != 1 or node.keywords:
                raise ExpandProblem(codes.ARG_COUNT, "channels takes one tensor: channels(x)", node.span)
            shape = self.shape_of(node.args[0])
            if not shape:
                raise ExpandProblem(codes.ARG_TYPE, "a scalar tensor has no channels", node.args[0].span)
            return shape[-1]
        args = tuple(self.eval(a) for a in node.args)
        keywords = tuple((k.name, self.eval(k.value)) for k in node.keywords)
        builtin = _BUILTINS.get(node.name)
        if builtin is None:
            return CallVal(node.name, args, keywords)
        for value, arg in zip(args + tuple(v for _, v in keywords), node.args + tuple(k.value for k in node.keywords)):
            if not isinstance(value, (*_NUMBERS, tuple)):
                raise ExpandProblem(codes.ARG_TYPE, f"{node.name} needs numbers, got {_describe(value)}", arg.span)
        try:
            return self.check_result(builtin(*args, **dict(keywords)), node)
        except (TypeError, ValueError, OverflowError, ZeroDivisionError) as e:
            raise ExpandProblem(codes.ARG_TYPE, f"{node.name}: {e}", node.span) from None


class _Quiet(ExpandProblem):
    """A problem already reported elsewhere (a failed tensor): stop without a new diagnostic."""

    def __init__(self):
        super().__init__(codes.SHAPE, "", None)


def _op_span(node: ast.BinOp) -> Span:
    left, right = node.left.span, node.right.span
    if left.end_line == right.line and right.column - left.end_column >= 1:
        # The operator sits between the operands; point at its first non-blank column.
        return Span.point(left.end_line, left.end_column + 1 if right.column - left.end_column > 1 else left.end_column)
    return node.span


# Assertions ---------------------------------------------------------------------------------

class _FinalShapes:
    """Shapes of the finished model, by expansion label (for `assert x.shape == ...`)."""

    def __init__(self, name_of: Callable[[str], str | None], shapes: dict[str, tuple]):
        self.name_of = name_of
        self.shapes = shapes

    def shape(self, label: str) -> tuple | None:
        name = self.name_of(label)
        return self.shapes.get(name) if name is not None else None

    def statement(self, st) -> None:  # pragma: no cover - assertions make no statements
        raise AssertionError("an assertion made a statement")

    def current(self) -> str | None:
        return None


def check_assertions(expansion: Expansion, totals: dict[str, Any], shapes: dict[str, tuple],
                     name_of: Callable[[str], str | None], text_of: Callable[[ast.Origin | None, Span], str],
                     registry=None) -> list[Diagnostic]:
    """Evaluate every `assert` against the finished model; a failure shows the actual value."""
    diagnostics: list[Diagnostic] = []
    expander = Expander(_FinalShapes(name_of, shapes), registry)  # type: ignore[arg-type]
    for st, env in expansion.assertions:
        scope = _Env(env)
        for name, value in totals.items():
            scope.values[name] = value
        frame = _Frame("", st.origin, {})
        try:
            result = _Evaluator(expander, scope, frame).eval(st.test)
            if _truth(result, st.test.span):
                continue
            message = _failure(st.test, expander, scope, frame, text_of)
            diagnostics.append(_with_origin(Diagnostic(codes.ASSERTION_FAILED, message, st.span), st.origin))
        except _Quiet:
            continue
        except ExpandProblem as problem:
            d = problem.diagnostic
            diagnostics.append(_with_origin(Diagnostic(codes.BAD_ASSERTION, d.message, d.span, d.hint), st.origin))
    return diagnostics


def _failure(test: ast.Value, expander: Expander, env: _Env, frame: _Frame,
             text_of: Callable[[ast.Origin | None, Span], str]) -> str:
    if isinstance(test, ast.Compare) and len(test.rest) == 1:
        op, right = test.rest[0]
        actual = _Evaluator(expander, env, frame).eval(test.first)
        return f"{text_of(frame.origin, test.first.span)} is {_show(actual)}, not {op} {text_of(frame.origin, right.span)}"
    return f"assertion failed: {text_of(frame.origin, test.span)}"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_show(v) if not isinstance(v, int) or isinstance(v, bool) else str(v)
                               for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value) if isinstance(value, (float, str)) else str(value)

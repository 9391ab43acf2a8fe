"""`nndsl expand`: the flat v1 spec a v2 file means.

Blocks inlined, repetitions unrolled, expressions evaluated, includes and defaults applied, and
every layer named explicitly, so the text checks to the same model. Printed from the expanded
statements and the binder's final names; nothing here re-derives what the passes decided.
"""

from __future__ import annotations

import re

from . import ast
from .statements import RESERVED_WORDS, STATEMENT_KEYWORDS

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def quote(text: str) -> str:
    """A string literal the parser reads back as ``text``."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif not ch.isprintable():
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else "?")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


class _Printer:
    def __init__(self, result, registry):
        self.expansion = result.expansion
        self.names = result.names          # label or written name -> final layer/input name
        self.registry = registry
        self.tensor_of: dict[str, str] = {}  # final layer/input name -> name printed for its tensor
        self.used: set[str] = set()
        self.lines: list[str] = []

    def legal(self, name: str) -> bool:
        r = self.registry
        return (bool(_NAME.match(name)) and name not in self.used and name not in STATEMENT_KEYWORDS
                and name not in RESERVED_WORDS and name not in r.layers and name not in r.activations
                and name not in r.optimizers)

    def tensor(self, label: str) -> str:
        final = self.names(label) or label
        return self.tensor_of.get(final, final)

    def value(self, v: ast.Value, tensors: bool = False) -> str:
        if isinstance(v, ast.Number):
            return v.text
        if isinstance(v, ast.String):
            return quote(v.value)
        if isinstance(v, ast.Ident):
            return self.tensor(v.name) if tensors else v.name
        if isinstance(v, ast.Unknown):
            return "?"
        if isinstance(v, ast.Tuple):
            items = [self.value(i) for i in v.items]
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        if isinstance(v, ast.CallValue):
            return f"{v.name}(" + ", ".join([self.value(a) for a in v.args] +
                                           [f"{k.name}={self.value(k.value)}" for k in v.keywords]) + ")"
        raise TypeError(f"not a flat value: {v!r}")

    def call(self, step: ast.Call, name: str | None) -> str:
        keywords = [f"{k.name}={self.value(k.value)}" for k in step.keywords]
        if name is not None:
            keywords.append(f"name={name}")
        if step.parenthesized:
            inner = [self.value(a, tensors=True) for a in step.paren_args] + keywords
            return f"{step.name}(" + ", ".join(inner) + ")"
        return " ".join([step.name, *(self.value(a) for a in step.args), *keywords])

    def statement(self, st: ast.Statement) -> None:
        if st.alias_of is not None or st.chain is None:
            if st.is_output:
                self.lines.append(f"output {self.tensor(st.alias_of or st.target or '')}")
            return
        steps = list(st.chain.steps)
        head = steps[0]
        if head.name in STATEMENT_KEYWORDS or (head.name in self.registry.optimizers
                                               and head.name not in self.registry.layers and st.target is None):
            self.lines.append(self.call(head, None))  # input, loss, fit, ...: as written
            if head.name == "input":
                first = head.args[0] if head.args else None
                if isinstance(first, ast.Ident):
                    self.used.add(first.name)
            return
        parts = []
        if self.expansion.step_name(head) is None and not head.parenthesized:
            parts.append(self.tensor(head.name))  # the chain starts from a tensor
            steps = steps[1:]
        finals = [self.expansion.step_name(s) for s in steps]
        for step, final in zip(steps[:-1], finals[:-1]):
            parts.append(self.call(step, final))
        last, final = steps[-1], finals[-1]
        target = final if final is not None and self.legal(final) else None
        if target is None and final is not None:
            target = f"t_{final}"
            while not self.legal(target):
                target += "_"
        parts.append(self.call(last, final if target != final else None))
        if final is not None:
            self.tensor_of[final] = target
        self.used.add(target)
        prefix = "output " if st.is_output else ""
        self.lines.append(f"{prefix}{target} = " + " -> ".join(parts))


    # Assertions -------------------------------------------------------------------------
    # Printed after the model (they are checked against the finished model): constants and
    # parameters become their values, tensors the names printed for them; model totals
    # (params, macs, layers) stay names. Nested expressions are parenthesized, so the text
    # reads back as the same tree whatever the precedence.

    def assertion(self, st: ast.Assert, env) -> None:
        self.lines.append("assert " + self.expr(st.test, env, top=True))

    def expr(self, v, env, top: bool = False) -> str:
        kind = type(v)
        if kind is ast.Number:
            return v.text
        if kind is ast.String:
            return quote(v.value)
        if kind is ast.Unknown:
            return "?"
        if kind is ast.Ident:
            return self.name(v.name, env)
        if kind is ast.Tuple:
            items = [self.expr(i, env) for i in v.items]
            if v.grouping:
                return "(" + items[0] + ")"
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        if kind is ast.CallValue:
            return f"{v.name}(" + ", ".join([self.expr(a, env, top=True) for a in v.args] +
                                           [f"{k.name}={self.expr(k.value, env, top=True)}" for k in v.keywords]) + ")"
        if kind is ast.Attribute:
            return f"{self.expr(v.value, env)}.{v.name}"
        if kind is ast.Index:
            return f"{self.expr(v.value, env)}[{self.expr(v.index, env, top=True)}]"
        if kind is ast.BinOp:
            text = f"{self.expr(v.left, env)} {v.op} {self.expr(v.right, env)}"
        elif kind is ast.UnaryOp:
            text = f"not {self.expr(v.operand, env)}" if v.op == "not" else f"{v.op}{self.expr(v.operand, env)}"
        elif kind is ast.Compare:
            text = " ".join([self.expr(v.first, env)] + [f"{op} {self.expr(r, env)}" for op, r in v.rest])
        elif kind is ast.Conditional:
            text = f"{self.expr(v.then, env)} if {self.expr(v.test, env)} else {self.expr(v.otherwise, env)}"
        else:
            raise TypeError(f"not an expression: {v!r}")
        return text if top else f"({text})"

    def name(self, name: str, env) -> str:
        from .expand import CallVal, Sym, TensorVal

        if name in ("true", "false", "none"):
            return name
        try:
            found = env.lookup(name)
        except KeyError:
            return name  # params, macs, layers, ...: the finished model's totals
        if isinstance(found, TensorVal):
            return self.tensor(found.label)
        return self.constant(found, Sym, CallVal)

    def constant(self, value, sym, call) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if value is None:
            return "none"
        if isinstance(value, (int, float)):
            return repr(value)
        if isinstance(value, str):
            return quote(value)
        if isinstance(value, tuple):
            items = [self.constant(v, sym, call) for v in value]
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        if isinstance(value, sym):
            return value.name
        if isinstance(value, call):
            return f"{value.name}(" + ", ".join([self.constant(a, sym, call) for a in value.args] +
                                               [f"{k}={self.constant(v, sym, call)}" for k, v in value.keywords]) + ")"
        return str(value)


def render_flat(result, registry) -> str:
    """The flat v1 text of a checked spec (``CheckResult``), its assertions last."""
    printer = _Printer(result, registry)
    for st in result.expansion.statements:
        printer.statement(st)
    for st, env in result.expansion.assertions:
        printer.assertion(st, env)
    head = f"# {result.source.filename}, expanded by nndsl expand: every layer named, nothing left to expand\n"
    return head + "\n".join(printer.lines) + "\n"

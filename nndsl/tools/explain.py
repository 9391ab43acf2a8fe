"""``nndsl explain``: a diagnostic code's long explanation, or a registered name's reference.

``explain("E204")`` reads :data:`nndsl.codes.DESCRIPTIONS` (the meaning, as LANGUAGE.md's
code table says it) and :mod:`nndsl.tools.explanations` (a wrong and a right example, and the
fix). ``explain("conv2d")`` reads the live registry, so plugins' layers are explained too: the
doc line, the Keras class, the signature and every option's kind and default.

Example::

    print(explain("E204", registry))
    print(explain("dense", registry))
"""

from __future__ import annotations

import re

from .. import codes
from ..catalogue import kind_text, signature
from ..errors import UsageError
from .explanations import EXPLANATIONS

__all__ = ["explain", "explain_code", "explain_name"]

_CODE = re.compile(r"[EW]\d{3}")
# Registry tables explain looks names up in, and what to call an entry of each.
_TABLES = (("layers", "layer"), ("activations", "activation"), ("optimizers", "optimizer"), ("losses", "loss"),
           ("metrics", "metric"), ("regularizers", "regularizer"), ("constraints", "constraint"),
           ("initializers", "initializer"), ("schedules", "learning-rate schedule"), ("callbacks", "callback"),
           ("datasets", "data set"))


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.replace("; ", "\n").splitlines())


def explain_code(code: str) -> str:
    """What diagnostic ``code`` means, an example that gets it, the fix, and the corrected example."""
    code = code.upper()
    if code not in codes.DESCRIPTIONS:
        from ..diagnostics import did_you_mean

        hint = did_you_mean(code, [c.lower() for c in codes.DESCRIPTIONS])
        hint = hint.upper().replace("DID YOU MEAN", "did you mean").replace(" OR ", " or ") if hint else None
        raise UsageError(f"no diagnostic code {code}" + (f"; {hint}" if hint else "") +
                         " (spec/LANGUAGE.md lists every code)")
    severity = "warning" if code.startswith("W") else "error"
    out = [f"{severity}[{code}]: {codes.DESCRIPTIONS[code]}"]
    entry = EXPLANATIONS.get(code)
    if entry is None:
        out.append("\nNo longer explanation yet; spec/LANGUAGE.md's code table has an example.")
        return "\n".join(out) + "\n"
    if entry.wrong is not None:
        out += ["", "For example, this spec gets it:", "", _indent(entry.wrong)]
    out += ["", "How to fix it: " + entry.fix]
    if entry.right is not None:
        out += ["", "Fixed:", "", _indent(entry.right)]
    return "\n".join(out) + "\n"


def _value(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "(" + ", ".join(_value(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return str(value)


def _params(params) -> list[str]:
    if not params:
        return ["Options: none."]
    rows = []
    for i, p in enumerate(params):
        default = "required" if p.required else f"default {_value(p.default)}"
        where = " (positional)" if p.positional else ""
        doc = f": {p.doc}" if p.doc else ""
        rows.append((f"{p.name}{where}", f"{kind_text(p.kind)}; {default}{doc}"))
    width = max(len(a) for a, _ in rows)
    return ["Options:"] + [f"  {a.ljust(width)}  {b}" for a, b in rows]


def explain_name(name: str, registry) -> str:
    """The reference of a registered layer, activation, optimizer, loss, metric or object."""
    found = []
    for table, what in _TABLES:
        entry = getattr(registry, table, {}).get(name)
        if entry is not None:
            found.append((table, what, entry))
    if not found:
        from ..diagnostics import did_you_mean

        names = sorted({n for table, _ in _TABLES for n in getattr(registry, table, {})})
        hint = did_you_mean(name, names)
        raise UsageError(f"{name!r} is not a diagnostic code or a registered name" +
                         (f"; {hint}" if hint else "") + " (nndsl plugins lists what is registered)")
    out: list[str] = []
    for table, what, entry in found:
        if out:
            out.append("")
        canonical = entry.name
        title = f"{canonical} ({what}" + (f", written here as {name}" if canonical != name else "") + ")"
        out.append(title)
        if getattr(entry, "doc", ""):
            out.append(f"  {entry.doc}")
        aliases = getattr(entry, "aliases", ())
        if aliases:
            out.append("Aliases: " + ", ".join(aliases))
        owner = registry.owners.get((table, canonical)) if isinstance(getattr(registry, "owners", None), dict) else None
        if owner:
            out.append(f"From: {owner}")
        if table == "layers":
            keras = registry.lowerings("keras").get("layer", canonical)
            if keras is not None and getattr(keras, "cls", None):
                out.append(f"Keras: {keras.cls}")
            if entry.max_inputs is None:
                inputs = f"{entry.min_inputs} or more input tensors"
            elif entry.min_inputs == entry.max_inputs:
                inputs = "one input tensor" if entry.max_inputs == 1 else f"{entry.max_inputs} input tensors"
            else:
                inputs = f"{entry.min_inputs} to {entry.max_inputs} input tensors"
            usage = f"{canonical} {signature(entry.params)}".rstrip() if entry.max_inputs == 1 else \
                f"{canonical}(a, b, key=value)"
            out.append(f"Usage: {usage}   ({inputs})")
        params = getattr(entry, "params", None)
        if params is not None:
            out += _params(params)
    return "\n".join(out) + "\n"


def explain(name: str, registry=None) -> str:
    """``nndsl explain NAME``: a diagnostic code (E204, w002) or a registered name (dense, adam)."""
    if _CODE.fullmatch(name.upper()):
        return explain_code(name)
    if registry is None:
        from ..plugins import default_registry

        registry = default_registry()
    return explain_name(name, registry)

"""Safe Python source for values and names, shared by every emitter (Keras, plugins' own).

Nothing from a spec reaches generated code as raw text: names are re-validated as ASCII
identifiers, and values are rendered by :func:`literal`, which knows only Python's literal
forms (numbers, booleans, None, strings via :func:`string_literal`, tuples, lists, dicts) and
refuses anything else, unless the caller passes ``other`` to render its own objects (the Keras
emitter renders its constructor calls that way).
"""

from __future__ import annotations

import json
import keyword
import math
from typing import Any, Callable

from ..errors import EmitError  # noqa: F401 - re-exported

# Names generated scripts use themselves; a tensor with one of these names gets a "_".
TAKEN = {"keras", "layers", "np", "model", "inputs", "outputs", "build_model", "load_data", "main",
         "x_train", "y_train", "x_test", "y_test", "print", "len", "range", "dict", "list", "tuple",
         "int", "float", "str", "type", "object", "input", "id", "min", "max", "sum", "super"}


def identifier(name: str, taken: set[str] = TAKEN) -> str:
    """A safe Python variable name for a spec tensor name."""
    if not (isinstance(name, str) and name.isascii() and name.isidentifier()):
        raise EmitError(f"not a safe identifier: {name!r}")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in taken or name.startswith("__"):
        return name.strip("_") + "_" if name.strip("_") else "t_"
    return name


def dotted(path: str) -> str:
    """A module path (``pkg.mod``) checked to be made of safe identifiers."""
    parts = path.split(".")
    if not all(p.isascii() and p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        raise EmitError(f"not a safe module path: {path!r}")
    return path


def keyword_name(name: str) -> str:
    """A keyword argument name checked to be a safe identifier."""
    if not (isinstance(name, str) and name.isascii() and name.isidentifier() and not keyword.iskeyword(name)):
        raise EmitError(f"not a safe keyword: {name!r}")
    return name


def literal(value: Any, other: Callable[[Any], str | None] | None = None) -> str:
    """Python source for a plain value; ``other(value)`` renders anything else, or EmitError."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise EmitError(f"not a finite number: {value!r}")
        return repr(float(value))
    if isinstance(value, str):
        return string_literal(value)
    if isinstance(value, tuple):
        inner = ", ".join(literal(v, other) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v, other) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(str(k))}: {literal(v, other)}" for k, v in value.items()) + "}"
    rendered = other(value) if other is not None else None
    if rendered is None:
        raise EmitError(f"cannot render a {type(value).__name__} as Python")
    return rendered


def string_literal(text: str) -> str:
    """A double-quoted, ASCII-only Python string literal that reads back as exactly ``text``.

    JSON's escapes, except that characters beyond U+FFFF get Python's ``\\U`` escape: JSON
    writes them as a surrogate pair, which Python would read as two separate characters.
    """
    if all(ord(ch) <= 0xFFFF for ch in text):
        return json.dumps(text)
    return '"' + "".join(json.dumps(ch)[1:-1] if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}" for ch in text) + '"'

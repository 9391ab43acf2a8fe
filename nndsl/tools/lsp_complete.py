"""Completion: what may be written at the cursor, from the live registry and the spec's names.

The text before the cursor on its line says where we are (the start of a statement, a step
after ``->``, a layer's options, a keyword's value, the inside of ``add(...)``); the registry
says which layers, activations, optimizers, losses, metrics, data sets and callbacks exist
(plugins' included, since the server loads them), and the index which tensors, constants and
blocks are in scope. Nothing here knows the Language Server Protocol.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import params as P
from ..statements import DATA_PARAMS, FIT_PARAMS, INPUT_PARAMS

# Words that start a statement and are not registry names.
STATEMENT_WORDS = ("input", "output", "param", "let", "default", "include", "block", "repeat", "if",
                   "assert", "loss", "loss_weights", "metrics", "fit", "data", "callback")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_TARGET = re.compile(r"^\s*(?:output\s+)?[A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*\s*=(?!=)\s*")
_KEY_VALUE = re.compile(r"(?:^|\s)([A-Za-z_]\w*)=$")


@dataclass(frozen=True)
class Item:
    """One completion: ``kind`` is what it names (layer, block, tensor, keyword, ...)."""

    label: str
    kind: str
    detail: str = ""
    doc: str = ""
    insert: str | None = None


def signature(name: str, params) -> str:
    """`conv2d filters kernel_size [activation] strides=1 ...`: positionals, then options."""
    parts = [name]
    for p in params:
        if p.positional:
            text = p.name + ("..." if p.variadic else "")
            parts.append(text if p.required else f"[{text}]")
    for p in params:
        if not p.positional:
            parts.append(f"{p.name}={_default(p)}")
    return " ".join(parts)


def _default(p) -> str:
    if p.required:
        return "..."
    d = p.default
    if d is None:
        return "none"
    if isinstance(d, bool):
        return "true" if d else "false"
    if isinstance(d, str):
        return d
    return str(d)


def keyword_item(p) -> Item:
    default = "required" if p.required else f"default {_default(p)}"
    return Item(f"{p.name}=", "keyword", f"{p.kind.expected}; {default}", p.doc, f"{p.name}=")


def params_of(registry, name: str, index=None):
    """The signature of a statement, layer, optimizer or block named ``name`` (None if unknown)."""
    if name == "fit":
        return FIT_PARAMS
    if name == "data":
        return DATA_PARAMS
    if name == "input":
        return INPUT_PARAMS
    if name in registry.layers:
        return registry.layers[name].params
    if name in registry.optimizers:
        return registry.optimizers[name].params
    if index is not None:
        for e in index.block_entries():
            if e.name == name:
                return tuple(P.Param(param, P.Kind(), P.REQUIRED if default is None else default, positional=True)
                             for param, default in e.symbol.signature)
    return None


def complete(registry, index, line_text: str, line: int, column: int) -> list[Item]:
    """Completions for the cursor at 1-based (line, column) of the main file."""
    prefix = line_text[:max(column - 1, 0)]
    if "#" in prefix or prefix.count('"') % 2:
        return []  # in a comment or a string
    m = _WORD.search(prefix)
    word = m.group() if m else ""
    before = prefix[:len(prefix) - len(word)]
    visible = index.visible(line) if index is not None else {}
    tensors = [s for s in visible.values() if s.role in ("input", "tensor", "output", "argument")]
    constants = [s for s in visible.values() if s.role in ("param", "let")]
    blocks = [s for s in visible.values() if s.role == "block"]

    # Inside parentheses: the tensors (and constants) an argument can name.
    if before.count("(") > before.count(")"):
        key = _KEY_VALUE.search(before.rstrip(" "))
        if key and before.endswith("="):
            return _values(registry, index, before, key.group(1)) or []
        return [_symbol(s) for s in tensors + constants]

    stripped = before
    arrow = "->" in stripped
    statement_start = False
    if arrow:
        seg = stripped.rsplit("->", 1)[1]
        chain_start = False
    else:
        t = _TARGET.match(stripped)
        seg = stripped[t.end():] if t else stripped
        chain_start = True
        statement_start = t is None
    if ":" in seg and re.search(r"\brepeat\b", seg):
        seg = seg.rsplit(":", 1)[1]
    tokens = seg.split()

    if before.endswith("=") and not before.endswith("=="):
        key = _KEY_VALUE.search(before)
        if key and tokens and tokens[0] != key.group(1) + "=":
            return _values(registry, index, before, key.group(1), tokens[0])
    if not tokens:
        items = _layers(registry) + [_symbol(s) for s in blocks]
        if chain_start:
            items += [_symbol(s) for s in tensors]
        if not arrow and statement_start:
            items += [Item(w, "statement", "statement") for w in STATEMENT_WORDS]
            items += [Item(n, "optimizer", "optimizer", d.doc) for n, d in _canonical(registry, "optimizers")]
        return items

    head = tokens[0]
    written = {t.split("=", 1)[0] for t in tokens[1:] if "=" in t}
    if head == "loss":
        return [Item(n, "loss", "loss", d.doc) for n, d in _canonical(registry, "losses")] + \
               [Item(f"{s.name}=", "tensor", "an output's loss") for s in tensors if s.role == "output"]
    if head == "metrics":
        return [Item(n, "metric", "metric", d.doc) for n, d in _canonical(registry, "metrics")] + \
               [Item(f"{s.name}=", "tensor", "an output's metrics") for s in tensors if s.role == "output"]
    if head == "data" and len(tokens) == 1:
        return [Item(n, "dataset", "data set", d.doc) for n, d in _canonical(registry, "datasets")]
    if head == "callback" and len(tokens) == 1:
        return [Item(n, "callback", "callback", d.doc) for n, d in _canonical(registry, "callbacks")]
    if head == "callback":
        definition = registry.callbacks.get(tokens[1])
        return [keyword_item(p) for p in getattr(definition, "params", ()) if p.name not in written]
    if head == "include":
        return [Item(f"std/{n}", "file", "standard library") for n in _std_names()]
    if head == "default" and len(tokens) == 1:
        return _layers(registry)
    if head == "default":
        head, tokens = tokens[1], tokens[1:]
    signature_params = params_of(registry, head, index)
    if signature_params is None:
        return []
    items = [keyword_item(p) for p in signature_params if p.name not in written and not
             (head in _block_names(blocks) and p.positional and p.name == _first(signature_params))]
    if any(isinstance(_unwrap(p.kind), P.Activation) and p.positional for p in signature_params):
        items += [Item(n, "activation", "activation", d.doc) for n, d in _canonical(registry, "activations")]
    if head in _block_names(blocks):
        items += [_symbol(s) for s in constants]
    return items


def _first(params) -> str:
    return params[0].name if params else ""


def _block_names(blocks) -> set[str]:
    return {b.name for b in blocks}


def _unwrap(kind):
    while isinstance(kind, P.Optional):
        kind = kind.inner
    return kind


def _values(registry, index, before: str, key: str, head: str | None = None) -> list[Item]:
    """The values keyword ``key`` of the statement or layer ``head`` accepts."""
    if head is None:
        m = re.search(r"([A-Za-z_]\w*)\s*\([^()]*$", before)
        head = m.group(1) if m else ""
    if head == "default":
        rest = before.split()
        head = rest[1] if len(rest) > 1 else ""
    signature_params = params_of(registry, head, index) or ()
    kind = None
    for p in signature_params:
        if p.name == key:
            kind = p.kind
    if kind is None:
        return []
    optional = isinstance(kind, P.Optional)
    kind = _unwrap(kind)
    out: list[Item] = []
    if isinstance(kind, P.Activation):
        out = [Item(n, "activation", "activation", d.doc) for n, d in _canonical(registry, "activations")]
    elif isinstance(kind, P.Choice):
        out = [Item(c, "value", kind.expected) for c in kind.choices]
    elif isinstance(kind, P.Bool):
        out = [Item("true", "value", "boolean"), Item("false", "value", "boolean")]
    elif isinstance(kind, P.Object):
        out = [Item(n, "value", kind.what, d.doc) for n, d in _canonical(registry, kind.table)]
    if optional and out:
        out.append(Item("none", "value", "none"))
    return out


def _canonical(registry, table: str):
    items = getattr(registry, table, {})
    return [(name, item) for name, item in sorted(items.items()) if getattr(item, "name", name) == name]


def _layers(registry) -> list[Item]:
    out = []
    for name, d in _canonical(registry, "layers"):
        owner = registry.owner("layers", name)
        source = "" if owner.startswith("nndsl.") else f" (plugin {owner})"
        out.append(Item(name, "layer", signature(name, d.params) + source, d.doc))
    return out


def _symbol(entry) -> Item:
    kinds = {"block": "block", "param": "constant", "let": "constant"}
    return Item(entry.name, kinds.get(entry.role, "tensor"), entry.symbol.detail or entry.role)


def _std_names() -> list[str]:
    from importlib import resources

    try:
        return sorted(p.name[:-3] for p in (resources.files("nndsl") / "std").iterdir() if p.name.endswith(".nn"))
    except OSError:
        return []

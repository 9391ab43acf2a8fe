"""Which backend lowers what: the coverage table of docs/PLUGINS.md, generated from the data.

Each backend's lowering table (:mod:`nndsl.lowering`, filled through ``nndsl_lowerings``) says
what it lowers; :attr:`nndsl.backends.base.Backend.reasons` says why it lowers no entry for
the rest. :func:`coverage` reads both for every backend that needs lowerings, and
``python -m nndsl.coverage --write docs/PLUGINS.md`` replaces the text between
``<!-- coverage:start -->`` and ``<!-- coverage:end -->``; a test fails when they differ, and
another when a construct has neither a lowering nor a reason.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Sequence

from . import docblocks

from .lowering import KINDS
from .registry import Registry

START = "<!-- coverage:start -->"
END = "<!-- coverage:end -->"


@dataclass(frozen=True)
class Cell:
    """One construct in one backend: lowered, or not (with the backend's reason, if any)."""

    lowered: bool
    reason: str | None = None


def lowering_backends(registry: Registry) -> list:
    """The backends that need lowerings (a drawing that takes anything is left out), one per
    lowering table and kinds (keras-functional and keras-sequential share theirs)."""
    seen: dict[tuple, list] = {}
    for backend in sorted({id(b): b for b in registry.backends.values()}.values(), key=lambda b: b.name):
        if backend.lowers:
            seen.setdefault((backend.table_name, tuple(backend.lowers)), []).append(backend)
    return [group[0] for group in seen.values()]


def column_name(registry: Registry, backend) -> str:
    """``keras-functional, keras-sequential`` for a table two backends share."""
    names = sorted({b.name for b in registry.backends.values()
                    if b.lowers and b.table_name == backend.table_name and tuple(b.lowers) == tuple(backend.lowers)})
    return ", ".join(names)


def coverage(registry: Registry, kind: str = "layer") -> dict[str, dict[str, Cell]]:
    """``{construct name: {backend name: Cell}}`` for every canonical name of ``kind``."""
    table = KINDS[kind]
    out: dict[str, dict[str, Cell]] = {}
    backends = lowering_backends(registry)
    for name in registry.canonical(table):
        row = {}
        for backend in backends:
            if kind not in backend.lowers or backend.lowerings(registry).has(kind, name):
                row[backend.name] = Cell(True)
            else:
                row[backend.name] = Cell(False, backend.reasons.get((kind, name)))
        out[name] = row
    return out


def unexplained(registry: Registry) -> list[str]:
    """``backend: kind name`` for every construct a backend neither lowers nor says why not."""
    return [f"{backend}: {kind} {name}" for kind in KINDS for name, row in coverage(registry, kind).items()
            for backend, cell in row.items() if not cell.lowered and not cell.reason]


def render_coverage(registry: Registry) -> str:
    """Markdown: a layer x backend table by category, then the other kinds' gaps."""
    backends = lowering_backends(registry)
    columns = [column_name(registry, b) for b in backends]
    lines = ["| layer | category | " + " | ".join(columns) + " |",
             "| --- | --- | " + " | ".join("---" for _ in columns) + " |"]
    reasons: dict[str, int] = {}

    def mark(cell: Cell) -> str:
        if cell.lowered:
            return "yes"
        if cell.reason is None:
            return "no"
        number = reasons.setdefault(cell.reason, len(reasons) + 1)
        return f"no ({number})"

    layers = coverage(registry, "layer")
    for category in sorted({registry.layers[n].category for n in layers}):
        for name in (n for n in layers if registry.layers[n].category == category):
            lines.append(f"| `{name}` | {category} | " + " | ".join(mark(layers[name][b.name]) for b in backends) + " |")
    lines += ["", "| kind | " + " | ".join(columns) + " |", "| --- | " + " | ".join("---" for _ in columns) + " |"]
    for kind in KINDS:
        if kind == "layer":
            continue
        rows = coverage(registry, kind)
        cells = []
        for b in backends:
            missing = [n for n, row in rows.items() if not row[b.name].lowered]
            if not missing:
                cells.append(f"all {len(rows)}")
            else:
                cells.append(f"{len(rows) - len(missing)} of {len(rows)}; not " + ", ".join(
                    f"`{n}`" + (f" ({reasons.setdefault(rows[n][b.name].reason, len(reasons) + 1)})"
                                if rows[n][b.name].reason else "") for n in missing))
        lines.append(f"| {KINDS[kind]} | " + " | ".join(cells) + " |")
    if reasons:
        lines.append("")
        lines += [f"{number}. {reason}" for reason, number in reasons.items()]
    return "\n".join(lines) + "\n"


def documented_registry() -> Registry:
    """The built-in plugins and the torch plugin shipped beside nndsl (plugins/nndsl-torch):
    what docs/PLUGINS.md documents, whatever else is installed."""
    from .plugins import build_registry, get_plugin_manager

    pm = get_plugin_manager(load_entrypoints=False)
    from nndsl_torch import plugin  # the table documents the shipped torch backend

    pm.register(plugin, "torch", distribution="nndsl-torch")
    return build_registry(pm)


def replace_block(document: str, text: str) -> str:
    """``document`` with the text between the markers replaced by ``text``."""
    return docblocks.replace_block(document, text, START, END)


def extract_block(document: str) -> str:
    """The text between the markers (what :func:`replace_block` writes)."""
    return docblocks.extract_block(document, START, END)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nndsl.coverage",
                                     description="Print the layer x backend coverage table, or rewrite it in a file.")
    parser.add_argument("--write", metavar="FILE", help="replace the coverage block in FILE (docs/PLUGINS.md)")
    args = parser.parse_args(argv)
    try:
        text = render_coverage(documented_registry())
    except ImportError:
        print("the coverage table documents the torch backend: put plugins/nndsl-torch on PYTHONPATH "
              "(or pip install it)", file=sys.stderr)
        return 2
    if not args.write:
        sys.stdout.write(text)
        return 0
    return docblocks.write_block(args.write, text, START, END, "coverage table")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

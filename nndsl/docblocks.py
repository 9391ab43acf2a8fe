"""Generated text kept inside a Markdown file between two marker comments.

The catalogue (spec/LANGUAGE.md) and the backend coverage table (docs/PLUGINS.md) are generated
from the live registry; tests compare the committed block with a fresh render, and
``python -m nndsl.catalogue|coverage --write FILE`` rewrites it. One implementation for both.
"""

from __future__ import annotations

import sys


def replace_block(document: str, text: str, start_marker: str, end_marker: str) -> str:
    """``document`` with the text between the markers replaced by ``text``."""
    start, end = document.find(start_marker), document.find(end_marker)
    if start < 0 or end < start:
        raise ValueError(f"the document has no {start_marker} ... {end_marker} block")
    return document[:start + len(start_marker)] + "\n" + text + document[end:]


def extract_block(document: str, start_marker: str, end_marker: str) -> str:
    """The text between the markers (what :func:`replace_block` writes)."""
    start, end = document.find(start_marker), document.find(end_marker)
    if start < 0 or end < start:
        raise ValueError(f"the document has no {start_marker} ... {end_marker} block")
    return document[start + len(start_marker) + 1:end]


def write_block(path: str, text: str, start_marker: str, end_marker: str, what: str) -> int:
    """Rewrite the block in the file at ``path`` when it changed; say so. Returns an exit code."""
    with open(path, encoding="utf-8") as fh:
        doc = fh.read()
    try:
        new = replace_block(doc, text, start_marker, end_marker)
    except ValueError as e:
        print(f"{path}: {e}", file=sys.stderr)
        return 2
    if new != doc:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(new)
        print(f"{path}: {what} updated")
    else:
        print(f"{path}: {what} already up to date")
    return 0

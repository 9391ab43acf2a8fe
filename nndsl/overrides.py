"""`--set NAME=VALUE` flags as parsed values, shared by the CLI and ``nndsl tune --resume``.

Kept apart from the CLI so that the run package (which must not import the CLI) can read the
flags a tune was started with back from its ``tune.json``.
"""

from __future__ import annotations

from typing import Iterable

from .diagnostics import SpecError, UsageError


def parse_set(items: Iterable[str]) -> dict:
    """{name: parsed value} for flags like ``classes=10``; a malformed one is a UsageError.

    Example::

        parse_set(["classes=10", "width=64 * 2"])
    """
    from .parser import parse_value
    from .spaces import has_space

    out: dict = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier() or not name.isascii():
            raise UsageError(f"--set {item!r}: write --set NAME=VALUE, e.g. --set classes=10")
        if name in out:
            raise UsageError(f"--set {name} given twice")
        try:
            out[name] = parse_value(text.strip() or "''")
        except SpecError as e:
            raise UsageError(f"--set {name}={text}: not a value ({e.diagnostics[0].message})") from None
        if has_space(out[name]):
            raise UsageError(f"--set {name}={text}: --set gives a value, not a search space; write the space "
                             f"in the spec (param {name} = {text}) and search it with nndsl tune")
    return out

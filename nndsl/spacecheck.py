"""Checking a spec with search spaces: every space's values, the models they make, the range.

`nndsl check` on a spec with spaces checks a set of the models the spaces allow (each one a
plain spec with values written in, through :func:`nndsl.check.check_source`): all of them when
there are at most :data:`MAX_PRODUCT` (every option of a choice, every integer of a small
``int`` range, both ends of other ranges); otherwise each space's values one at a time with
the other spaces at their defaults. A value that breaks every model it was checked in is an
error (E609) at the space, naming the value and the line that broke; one that breaks only
some is a warning (W014). `nndsl summary` shows the reference model and the parameter range.

Example::

    input 28 28
    flatten
    dense choice(96, 100) relu
    reshape (10, 10)    # 96 cannot be reshaped: E609 at the choice, naming 96 and line 4
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Mapping

from . import codes
from .check import CheckResult, check_source
from .diagnostics import Diagnostic, Severity, Source, SpecError
from .parser import parse_recovering
from .registry import Registry
from .semantic.analyze import _position
from .spaces import Space, find_spaces, map_span, substitute

MAX_PRODUCT = 256


@dataclass(frozen=True)
class SpaceCheck:
    """What checking a spec with spaces found.

    ``result`` is the reference model's check (the defaults, or the first valid combination);
    ``values`` its values; ``params`` the (fewest, most) parameters over the valid models.
    """

    spaces: tuple[Space, ...]
    result: CheckResult
    values: Mapping[str, str]
    warnings: tuple[Diagnostic, ...]
    source: Source
    checked: int
    valid: int
    exhaustive: bool
    params: tuple[int, int]

    @property
    def sources(self):
        """Included files' text, for rendering diagnostics inside them."""
        return self.result.sources


def combinations(spaces: tuple[Space, ...]) -> tuple[list[dict[str, str]], bool]:
    """The value sets to check (defaults first) and whether they are every probe combination."""
    probes = [s.probes() for s in spaces]
    total = 1
    for p in probes:
        total *= len(p)
    if total <= MAX_PRODUCT:
        return [dict(zip((s.name for s in spaces), combo)) for combo in itertools.product(*probes)], True
    base = {s.name: s.default for s in spaces}
    out = [base]
    for s, values in zip(spaces, probes):
        out += [{**base, s.name: v} for v in values if v != s.default]
    # every space at its last value too: where parameters grow with the values, the largest model
    out.append({s.name: values[-1] for s, values in zip(spaces, probes)})
    return out, False


def check_spaces(source: Source, registry: Registry | None = None, overrides: dict | None = None, *,
                 data_files: bool = False) -> CheckResult | SpaceCheck:
    """Check a spec that may have search spaces; a spec without any gets :func:`check_source`'s result.

    Raises SpecError (against ``source``) with the spaces' own problems, the values that make
    every model invalid (E609), or, when no checked model is valid, the reference model's errors.
    """
    if registry is None:
        from .plugins import default_registry
        registry = default_registry()
    module, _ = parse_recovering(source)
    spaces, problems = find_spaces(module, source, overrides) if module is not None else ((), [])
    if not spaces and not problems:
        return check_source(source, registry, overrides, data_files=data_files)
    if problems:
        raise SpecError(sorted(problems, key=_position), source)
    combos, exhaustive = combinations(spaces)
    outcomes: list[tuple[dict[str, str], CheckResult | SpecError]] = []
    for values in combos:
        variant = Source(substitute(source, spaces, values), source.filename)
        try:
            outcomes.append((values, check_source(variant, registry, overrides, data_files=data_files)))
        except SpecError as e:
            outcomes.append((values, e))
    valid = [(v, r) for v, r in outcomes if isinstance(r, CheckResult)]
    if not valid:
        values, error = outcomes[0]
        raise SpecError(_mapped(error.diagnostics, spaces, values, source.filename), source, error.sources)
    diags: list[Diagnostic] = []
    bad: set[tuple[str, str]] = set()
    # First the values that break every model they were checked in (E609); then, among the
    # models free of those, the values that break some (W014), so one bad value is one report.
    for phase in ("always", "sometimes"):
        pool = outcomes if phase == "always" else [
            (v, r) for v, r in outcomes if not any((k, x) in bad for k, x in v.items())]
        for space in spaces:
            for value in space.probes():
                seen = [(v, r) for v, r in pool if v[space.name] == value]
                failed = [(v, r) for v, r in seen if isinstance(r, SpecError)]
                if not failed or (phase == "always") != (len(failed) == len(seen)):
                    continue
                values, error = failed[0]
                where, message = _first_error(error, source.filename)
                others = ", ".join(f"{k}={x}" for k, x in values.items() if k != space.name)
                if phase == "always":
                    bad.add((space.name, value))
                    diags.append(Diagnostic(
                        codes.SPACE_VALUE_INVALID, f"{space.name} = {value} makes the model invalid: {where}: "
                        f"{message}" + (f" (checked with {others})" if others and len(seen) == 1 else ""),
                        space.span, f"drop {value} from {space.text}" if space.kind == "choice"
                        else f"narrow {space.text} so that it leaves {value} out"))
                else:
                    diags.append(Diagnostic(
                        codes.SPACE_VALUE_SOMETIMES_INVALID, f"{space.name} = {value} makes {len(failed)} of "
                        f"the {len(seen)} checked models invalid, e.g. with {others}: {where}: {message}",
                        space.span, "nndsl tune records such trials as failed; narrow the spaces to avoid them",
                        Severity.WARNING))
    reference_values, reference = valid[0]
    warnings = _mapped(reference.warnings, spaces, reference_values, source.filename)
    errors = [d for d in diags if d.is_error]
    if errors:
        raise SpecError(sorted(diags + warnings, key=_position), source, reference.sources)
    totals = [r.model.params.total for _, r in valid]
    return SpaceCheck(spaces, reference, reference_values, tuple(sorted(diags + warnings, key=_position)), source,
                      len(outcomes), len(valid), exhaustive, (min(totals), max(totals)))


def _first_error(error: SpecError, filename: str) -> tuple[str, str]:
    """Where a variant's first error is (`line 4`, `blocks.nn:3`) and its message."""
    first = next(d for d in error.diagnostics if d.is_error)
    where = f"line {first.span.line}" if first.span else "the model"
    if first.origin is not None and first.origin.filename != filename:
        where = f"{first.origin.filename}:{first.span.line}" if first.span else first.origin.filename
    return where, first.message


def _mapped(diags, spaces: tuple[Space, ...], values: Mapping[str, str], source_name: str) -> list[Diagnostic]:
    """Diagnostics on a variant's text, placed back in the original text (same file only)."""
    out = []
    for d in diags:
        if d.span is not None and (d.origin is None or d.origin.filename == source_name):
            d = replace(d, span=map_span(d.span, spaces, values))
        out.append(d)
    return out

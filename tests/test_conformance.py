"""The conformance suite: every case under spec/conformance/ run as a golden-file test.

``valid/NAME.nn`` must check, and ``nndsl summary`` must print exactly ``valid/NAME.expected``.
``spaces/NAME.nn`` (specs with search spaces, which build many models, so the model kits
leave them out) must check, and ``nndsl summary`` must print ``spaces/NAME.expected``.
``invalid/NAME.nn`` must produce exactly the diagnostics in ``invalid/NAME.expected``, one
``LINE:COL CODE`` per line (errors and warnings, in reported order; ``-:- CODE`` for one
without a location). Set ``NNDSL_UPDATE_GOLDEN=1`` to rewrite expectations from the current
output, then review every changed file by eye: a golden file is not a rubber stamp.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nndsl import cli
from nndsl.check import read_source
from nndsl.diagnostics import SpecError
from nndsl.spacecheck import check_spaces

ROOT = Path(__file__).resolve().parent.parent / "spec" / "conformance"
UPDATE = os.environ.get("NNDSL_UPDATE_GOLDEN") == "1"


def _cases(kind: str) -> list[Path]:
    return sorted((ROOT / kind).glob("*.nn"))


def _compare(expected_path: Path, actual: str) -> None:
    if UPDATE:
        expected_path.write_text(actual, encoding="utf-8", newline="\n")
        return
    assert expected_path.exists(), f"{expected_path} is missing; run with NNDSL_UPDATE_GOLDEN=1 and review it"
    assert actual == expected_path.read_text(encoding="utf-8")


def diagnostic_lines(path: Path, registry) -> str:
    """``LINE:COL CODE`` for every diagnostic the checker reports on ``path``."""
    try:
        diags = check_spaces(read_source(str(path)), registry).warnings
    except SpecError as e:
        diags = e.diagnostics
    return "".join(f"{d.span.line}:{d.span.column} {d.code}\n" if d.span else f"-:- {d.code}\n" for d in diags)


def test_suite_is_big_enough():
    assert len(_cases("valid")) >= 15
    assert len(_cases("invalid")) >= 40


@pytest.mark.parametrize("case", _cases("valid"), ids=lambda p: p.stem)
def test_valid(case: Path, capsys):
    code = cli.main(["summary", str(case)])
    out, err = capsys.readouterr()
    assert code == 0, err
    _compare(case.with_suffix(".expected"), out)


@pytest.mark.parametrize("case", _cases("spaces"), ids=lambda p: p.stem)
def test_spaces(case: Path, capsys):
    assert cli.main(["check", str(case)]) == 0
    capsys.readouterr()
    code = cli.main(["summary", str(case)])
    out, err = capsys.readouterr()
    assert code == 0, err
    _compare(case.with_suffix(".expected"), out)


@pytest.mark.parametrize("case", _cases("invalid"), ids=lambda p: p.stem)
def test_invalid(case: Path, registry):
    actual = diagnostic_lines(case, registry)
    assert actual, f"{case.name} produced no diagnostics"
    _compare(case.with_suffix(".expected"), actual)


@pytest.mark.parametrize("case", _cases("invalid"), ids=lambda p: p.stem)
def test_invalid_renders_without_traceback(case: Path, capsys):
    """The CLI reports every case as diagnostics: exit 1 on errors, never an internal error."""
    expected = case.with_suffix(".expected")
    has_error = expected.exists() and any(" E" in line for line in expected.read_text().splitlines())
    code = cli.main(["check", str(case)])
    _, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err
    assert code == (1 if has_error else 0)
    for line in expected.read_text().splitlines() if expected.exists() else ():
        assert f"[{line.split()[1]}]" in err


@pytest.mark.parametrize("cls, name", [
    ("Dense", "dense"), ("SpatialDropout1D", "spatial_dropout1d"), ("Conv2D", "conv2d"),
    ("LeakyReLU", "leaky_re_lu"), ("GlobalAveragePooling2D", "global_average_pooling2d"),
    ("BatchNormalization", "batch_normalization"), ("Conv2DTranspose", "conv2d_transpose"),
])
def test_automatic_names_are_keras_snake_case(cls, name):
    """Keras' automatic layer names follow keras.src.utils.naming.to_snake_case."""
    from nndsl.backends.keras.lower import snake

    assert snake(cls) == name


def test_automatic_names_are_the_ones_keras_gives(registry):
    """Every built-in layer's auto_name (language) is what Keras names its class (the parity reference)."""
    from nndsl.backends.keras import KerasLowering

    lowering = KerasLowering(registry)
    from nndsl.backends.keras.lower import snake

    for name in registry.canonical("layers"):
        assert registry.layers[name].auto_name == snake(lowering.layer(name).cls), name

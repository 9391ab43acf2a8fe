"""``nndsl explain``: every code explained, its examples true, and names from the live registry."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from nndsl import codes
from nndsl.spacecheck import check_spaces
from nndsl.diagnostics import Source, SpecError, UsageError
from nndsl.tools.explain import explain
from nndsl.tools.explanations import EXPLANATIONS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LANGUAGE = open(os.path.join(ROOT, "spec", "LANGUAGE.md"), encoding="utf-8").read()
TABLE = dict(re.findall(r"^\| ([EW]\d{3}) \| [^|]+ \| `(.+)` \|$", LANGUAGE, re.M))


def codes_of(text: str, registry) -> tuple[list[str], bool]:
    """The codes a spec gets, checked as test_docs checks LANGUAGE.md's examples (search spaces allowed)."""
    try:
        return [d.code for d in check_spaces(Source(text), registry).warnings], False
    except SpecError as e:
        return [d.code for d in e.diagnostics], True


def test_entries_are_codes():
    assert set(EXPLANATIONS) <= set(codes.DESCRIPTIONS)


@pytest.mark.parametrize("code", sorted(codes.DESCRIPTIONS))
def test_every_code_is_explained(code):
    text = explain(code)
    assert text.startswith(("error", "warning")) and code in text and codes.DESCRIPTIONS[code] in text
    assert explain(code.lower()) == text


@pytest.mark.parametrize("code", sorted(c for c, e in EXPLANATIONS.items() if e.wrong))
def test_examples_get_the_code_and_the_fix_does_not(code, registry):
    entry = EXPLANATIONS[code]
    found, _ = codes_of(entry.wrong, registry)
    assert code in found, (entry.wrong, found)
    if code in TABLE:
        assert TABLE[code] == entry.wrong, "keep the example in step with spec/LANGUAGE.md's table"
    assert entry.right, "an example that gets the code needs its fixed form"
    found, failed = codes_of(entry.right, registry)
    assert code not in found and not failed, (entry.right, found)


def test_explain_a_layer_from_the_live_registry(registry):
    text = explain("conv2d", registry)
    assert "Keras: Conv2D" in text and "Usage: conv2d filters kernel_size activation?" in text
    assert re.search(r"strides +an integer or a tuple of 2 integers >= 1; default 1", text)
    assert "convolution2d" in text
    assert "conv2d (layer, written here as convolution2d)" in explain("convolution2d", registry)
    assert "2 or more input tensors" in explain("concat", registry)
    assert "learning_rate (positional)" in explain("adam", registry)


def test_unknown_names_suggest():
    with pytest.raises(UsageError, match="dense"):
        explain("dens")
    with pytest.raises(UsageError, match="E204"):
        explain("E294")


def nndsl_cli(*args):
    return subprocess.run([sys.executable, "-m", "nndsl.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def test_cli_explain():
    r = nndsl_cli("explain", "E205")
    assert r.returncode == 0 and "use_bias=false" in r.stdout
    r = nndsl_cli("explain", "dense")
    assert r.returncode == 0 and "units (positional)" in r.stdout
    r = nndsl_cli("explain", "nosuchthing")
    assert r.returncode == 2 and "Traceback" not in r.stderr

"""The model zoo (spec/examples/zoo/): every spec against the real Keras model it mirrors.

Keras is the oracle: keras.applications models built with ``weights=None`` and the keras.io
examples rebuilt in tests/zoo_reference.py. Totals, trainable and non-trainable counts and
the output shape must be identical; the specs also build with nndsl's Keras backend to the
same counts. Line targets and the README table are checked here too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import nndsl
from zoo_reference import APPLICATIONS, TUTORIAL_LINES, counts, keras_source_lines, reference_model

ROOT = Path(__file__).resolve().parent.parent
ZOO = ROOT / "spec" / "examples" / "zoo"
README = ZOO / "README.md"
MODELS = ["vgg16", "resnet50", "mobilenet_v2", "densenet121", "efficientnet_b0", "transformer_text", "unet"]
# The targets: lines of the spec plus any non-standard file it includes.
LINE_TARGETS = {"resnet50": 40, "densenet121": 35, "mobilenet_v2": 45, "efficientnet_b0": 50}
UPDATE = os.environ.get("NNDSL_UPDATE_GOLDEN") == "1"


def spec_path(name: str) -> Path:
    return ZOO / f"{name}.nn"


def present() -> list[str]:
    return [m for m in MODELS if spec_path(m).exists()]


def check(name: str, registry=None, **overrides):
    """The spec's IR; ``overrides`` set spec parameters as ``--set NAME=VALUE`` does."""
    if not overrides:
        return nndsl.load(str(spec_path(name)), registry=registry)
    from nndsl.check import check_source, read_source
    from nndsl.parser import parse_value

    values = {k: parse_value(str(v)) for k, v in overrides.items()}
    return check_source(read_source(str(spec_path(name))), registry, overrides=values).model


def code_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


_INCLUDE = re.compile(r'^\s*include\s+"([^"]+)"', re.M)


def spec_lines(name: str) -> int:
    """Code lines of the spec and of every non-standard file it includes (std/... is free)."""
    seen: set[Path] = set()

    def count(path: Path) -> int:
        if path in seen:
            return 0
        seen.add(path)
        text = path.read_text(encoding="utf-8")
        return len(code_lines(text)) + sum(count(path.parent / inc) for inc in _INCLUDE.findall(text))

    return count(spec_path(name))


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_spec_matches_the_keras_model(name, registry):
    assert spec_path(name).exists(), f"{spec_path(name)} is missing"
    model = check(name, registry)
    (output,) = model.outputs
    trainable, non_trainable, shape = counts(reference_model(name))
    assert (model.params.trainable, model.params.non_trainable) == (trainable, non_trainable)
    assert tuple(model.tensor_shape(output)) == shape


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_spec_builds_with_keras_to_the_same_counts(name, registry):
    built = nndsl.build(check(name, registry), registry=registry)
    assert counts(built) == counts(reference_model(name))


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_one_spec_serves_the_family_with_set_classes(name, registry):
    """`--set classes=10` gives the model Keras builds with classes=10."""
    model = check(name, registry, classes=10)
    trainable, non_trainable, shape = counts(reference_model(name, classes=10))
    assert (model.params.trainable, model.params.non_trainable) == (trainable, non_trainable)
    assert tuple(model.tensor_shape(model.outputs[0])) == shape and shape[-1] == 10


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("alpha", [0.35, 0.5, 1.4])
def test_mobilenet_width_multiplier(registry, alpha):
    """`--set alpha=0.5`: keras.applications' narrower (or wider) MobileNetV2, through make_divisible."""
    model = check("mobilenet_v2", registry, alpha=alpha)
    trainable, non_trainable, shape = counts(reference_model("mobilenet_v2", alpha=alpha))
    assert (model.params.trainable, model.params.non_trainable, tuple(model.tensor_shape(model.outputs[0]))) == (
        trainable, non_trainable, shape)


@pytest.mark.parametrize("name", MODELS)
def test_line_targets(name):
    assert spec_path(name).exists(), f"{spec_path(name)} is missing"
    if name in LINE_TARGETS:
        assert spec_lines(name) <= LINE_TARGETS[name]


def test_zoo_checks_without_importing_tensorflow():
    """`nndsl check` of every zoo spec stays on the light path (no TensorFlow or Keras)."""
    code = ("import sys, nndsl\n"
            f"for p in {[str(spec_path(m)) for m in present()]!r}:\n"
            "    nndsl.load(p)\n"
            "bad = [m for m in ('tensorflow', 'keras', 'torch', 'jax') if m in sys.modules]\n"
            "assert not bad, bad\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]


# The README table ------------------------------------------------------------------------------

TABLE_START = "<!-- zoo-table:start -->"
TABLE_END = "<!-- zoo-table:end -->"


def render_table(registry) -> str:
    rows = ["| model | lines of .nn | lines of the Keras source | params | MACs |", "| --- | ---: | ---: | ---: | ---: |"]
    for name in MODELS:
        model = check(name, registry)
        keras_lines = keras_source_lines(name) if name in APPLICATIONS else TUTORIAL_LINES[name]
        rows.append(f"| [{name}]({name}.nn) | {spec_lines(name)} | {keras_lines} | {model.params.total:,} | "
                    f"{model.macs:,} |")
    return "\n".join(rows)


@pytest.mark.keras
def test_readme_table_matches_the_real_figures(registry):
    """Params and MACs from the specs, Keras lines from the installed Keras source."""
    text = README.read_text(encoding="utf-8")
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    table = render_table(registry)
    if UPDATE:
        README.write_text(text[:start] + "\n" + table + "\n" + text[end:], encoding="utf-8")
        return
    assert text[start:end].strip() == table, "run NNDSL_UPDATE_GOLDEN=1 pytest tests/test_zoo.py and review"

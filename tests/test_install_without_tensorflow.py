"""The documented install without TensorFlow (README, "Keras backends") works from scratch.

A fresh virtual environment (no system site-packages, so nothing leaks in from this one) gets
``pip install -r requirements/jax.txt`` and ``pip install --no-deps`` of this repository, as
README says; then ``nndsl run`` trains the seed spec there on JAX (chosen by nndsl because
TensorFlow is absent) and the TensorFlow-only features say what they need. Downloads about
95 MB from PyPI (jaxlib 85 MB, scipy, keras and their dependencies); about 70 s to install on
2 cores with an empty pip cache, 20 s to train.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED_SPEC = os.path.join(ROOT, "spec", "examples", "mnist_mlp.nn")


def pypi_reachable() -> bool:
    """Whether pip's configured index answers (asked through pip itself, as the install will)."""
    try:
        done = subprocess.run([sys.executable, "-m", "pip", "index", "versions", "keras"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and "keras" in done.stdout


def requirement_names(lines) -> set[str]:
    import re

    return {re.split(r"[<>=\[ ;]", line.strip(), maxsplit=1)[0].lower() for line in lines
            if line.strip() and not line.strip().startswith("#")}


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_requirement_files_are_pyprojects_dependencies_with_keras_and_a_backend_for_tensorflow(backend):
    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        core = requirement_names(tomllib.load(fh)["project"]["dependencies"])
    with open(os.path.join(ROOT, "requirements", f"{backend}.txt"), encoding="utf-8") as fh:
        listed = requirement_names(fh)
    assert "tensorflow" in core  # the default install keeps TensorFlow
    assert listed == (core - {"tensorflow"}) | {"keras", backend}


@pytest.mark.slow
@pytest.mark.skipif(not pypi_reachable(), reason="needs PyPI (pip install)")
def test_install_without_tensorflow_trains_the_seed_spec_on_jax(tmp_path):
    # the repository's package files only, so building the package writes nothing into the checkout
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(os.path.join(ROOT, name), source / name)
    shutil.copytree(os.path.join(ROOT, "nndsl"), source / "nndsl",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "KERAS_BACKEND", "PYTHONHOME", "VIRTUAL_ENV", "TF_CPP_MIN_LOG_LEVEL")}
    env.update(KERAS_HOME=str(tmp_path / "keras-home"), NNDSL_OFFLINE="1")

    def pip(*args):
        done = subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args],
                              env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]

    pip("-r", os.path.join(ROOT, "requirements", "jax.txt"))   # README's commands, verbatim but the paths
    pip("--no-deps", str(source))
    probe = subprocess.run([python, "-c", "import importlib.util as u; print(u.find_spec('tensorflow') is None)"],
                           env=env, capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == "True", "TensorFlow must be absent from this environment"

    nndsl = str(venv / "bin" / "nndsl")

    def run(*args):
        return subprocess.run([nndsl, *map(str, args)], env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=600)

    out = tmp_path / "run"
    done = run("run", SEED_SPEC, "--out", out, "--seed", 0)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "device: CPU" in done.stdout and "Keras on jax " in done.stdout
    for noise in ("absl::InitializeLog", "I0000", "Traceback"):
        assert noise not in done.stderr, done.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["keras_backend"] == "jax" and metrics["test"]["accuracy"] >= 0.85, metrics["test"]

    # a second run: Keras wrote {"backend": "tensorflow"} into keras.json on its first import
    done = run("evaluate", out)
    assert done.returncode == 0 and "evaluated" in done.stdout, done.stderr[-3000:]

    # the TensorFlow-only features say what they need, before anything is written
    for flag, value in (("--pipeline", "tfdata"), ("--strategy", "mirrored")):
        done = run("run", SEED_SPEC, "--out", tmp_path / flag.strip("-"), flag, value)
        assert done.returncode == 2, done.stderr[-3000:]
        assert "install tensorflow" in done.stderr and "Traceback" not in done.stderr
        assert not (tmp_path / flag.strip("-")).exists()
    # an explicit backend that is missing is an error that names what is installed
    env["KERAS_BACKEND"] = "tensorflow"
    done = run("run", SEED_SPEC, "--out", tmp_path / "tf")
    assert done.returncode == 2 and "install tensorflow, or choose one of jax" in done.stderr, done.stderr

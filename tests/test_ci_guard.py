"""CI cannot go green by skipping: with NNDSL_REQUIRE_KERAS set (as .ci/run does), a Keras that
fails to import is an error, not ~450 skipped tests."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _collect(tmp_path, **env):
    broken = tmp_path / "site" / "keras"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text('raise ImportError("broken on purpose")\n')
    environ = {k: v for k, v in os.environ.items() if k != "NNDSL_REQUIRE_KERAS"}
    environ.update(env, PYTHONPATH=os.pathsep.join([str(tmp_path / "site"), ROOT, os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--collect-only",
                           "-rs", os.path.join(ROOT, "tests", "test_backends_keras.py")],
                          capture_output=True, text=True, env=environ, cwd=ROOT, timeout=120)


def test_a_broken_keras_fails_the_run_when_required(tmp_path):
    done = _collect(tmp_path, NNDSL_REQUIRE_KERAS="1")
    assert done.returncode != 0
    assert "NNDSL_REQUIRE_KERAS is set but `import keras` fails: ImportError: broken on purpose" in (
        done.stdout + done.stderr)


def test_without_the_requirement_keras_tests_are_skipped_locally(tmp_path):
    done = _collect(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ci_script_requires_keras():
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as fh:
        assert "export NNDSL_REQUIRE_KERAS=1" in fh.read()

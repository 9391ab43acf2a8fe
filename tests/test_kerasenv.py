"""nndsl.kerasenv: which Keras backend runs, decided without importing Keras or a backend."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import nndsl.kerasenv as kerasenv
from nndsl.kerasenv import BackendUnavailable, choose, configured


@pytest.fixture
def clean(monkeypatch, tmp_path):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    return tmp_path


def only(monkeypatch, *modules):
    monkeypatch.setattr(kerasenv, "installed", lambda module: module in modules)


def test_keras_order_is_kept_environment_then_keras_json(clean, monkeypatch):
    assert configured() == (None, "")
    (clean / "keras.json").write_text(json.dumps({"backend": "jax"}))
    assert configured() == ("jax", "keras.json")
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert configured() == ("torch", "KERAS_BACKEND")


def test_tensorflow_stays_the_default_when_installed(clean, monkeypatch):
    only(monkeypatch, "keras", "tensorflow", "jax", "torch")
    assert choose() == "tensorflow"
    import os

    assert "KERAS_BACKEND" not in os.environ  # Keras' own default, nothing forced


def test_keras_json_naming_a_missing_backend_is_not_a_choice(clean, monkeypatch):
    # Keras itself writes {"backend": "tensorflow"} on its first import, even under KERAS_BACKEND=jax
    (clean / "keras.json").write_text(json.dumps({"backend": "tensorflow"}))
    only(monkeypatch, "keras", "jax")
    assert choose() == "jax"
    monkeypatch.delenv("KERAS_BACKEND")
    (clean / "keras.json").write_text(json.dumps({"backend": "jax"}))
    only(monkeypatch, "keras", "tensorflow")
    assert choose() == "tensorflow"
    import os

    assert os.environ["KERAS_BACKEND"] == "tensorflow"  # or Keras would follow keras.json to the missing jax
    only(monkeypatch, "keras", "jax", "torch", "tensorflow")
    monkeypatch.delenv("KERAS_BACKEND")
    (clean / "keras.json").write_text(json.dumps({"backend": "torch"}))
    assert choose() == "torch"


@pytest.mark.parametrize("present, picked", [(("jax", "torch"), "jax"), (("torch",), "torch")])
def test_without_tensorflow_an_installed_backend_is_picked(clean, monkeypatch, present, picked):
    only(monkeypatch, "keras", *present)
    assert choose() == picked
    import os

    assert os.environ["KERAS_BACKEND"] == picked  # set before Keras is imported, so Keras agrees


def test_missing_pieces_are_clear_errors(clean, monkeypatch):
    only(monkeypatch, "tensorflow")
    with pytest.raises(BackendUnavailable, match=r"install keras"):
        choose()
    only(monkeypatch, "keras")
    with pytest.raises(BackendUnavailable, match="none is installed: install tensorflow, jax or torch"):
        choose()
    only(monkeypatch, "keras", "jax")
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    with pytest.raises(BackendUnavailable, match="KERAS_BACKEND selects the Keras backend 'torch', which is not "
                                                 "installed: install torch, or choose one of jax"):
        choose()
    assert BackendUnavailable.exit_code == 2


def test_tensorflow_only_features_say_what_they_need(monkeypatch):
    only(monkeypatch, "keras", "jax")
    with pytest.raises(BackendUnavailable, match="SavedModel export needs TensorFlow, which is not installed: "
                                                 "install tensorflow"):
        kerasenv.require_tensorflow("SavedModel export")


def test_choosing_imports_no_backend():
    code = ("import sys, nndsl.kerasenv as k; k.choose(); "
            "print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

"""Which Keras backend runs, decided before Keras is imported (Keras fixes it at import).

Keras reads ``KERAS_BACKEND``, then ``backend`` in ``$KERAS_HOME/keras.json`` (default
``~/.keras``), and falls back to TensorFlow. nndsl keeps that order and adds one step: when
neither names an installed backend and TensorFlow is not installed (an install without
TensorFlow, see README), it picks JAX, else PyTorch, instead of letting ``import keras`` fail.
(Keras writes ``"backend": "tensorflow"`` into a new keras.json on its first import whatever
``KERAS_BACKEND`` says, so keras.json naming a missing backend is not treated as a choice.) Nothing here
imports a backend: availability is :func:`importlib.util.find_spec`.
"""

from __future__ import annotations

import importlib.util
import json
import os

from .diagnostics import NndslError

BACKENDS = ("tensorflow", "jax", "torch")
# Without TensorFlow, the first of these that is installed (JAX trains the seed model faster
# than PyTorch on CPU: benchmarks/README.md, "Keras backends").
FALLBACK_ORDER = ("jax", "torch")


class BackendUnavailable(NndslError):
    """Keras, or the Keras backend asked for, is not installed."""

    exit_code = 2


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _keras_json_backend() -> str | None:
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json"), encoding="utf-8") as fh:
            value = json.load(fh).get("backend")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


def configured() -> tuple[str | None, str]:
    """(backend named by the environment or keras.json, where it came from); (None, "") if neither."""
    env = os.environ.get("KERAS_BACKEND")
    if env:
        return env, "KERAS_BACKEND"
    from_json = _keras_json_backend()
    if from_json:
        return from_json, "keras.json"
    return None, ""


def choose() -> str:
    """The backend Keras will use; sets ``KERAS_BACKEND`` when nndsl had to pick one.

    Raises:
        BackendUnavailable: Keras is missing, the named backend is missing, or no backend is.
    """
    if not installed("keras"):
        raise BackendUnavailable("nndsl needs Keras to build and train: install keras (pip install keras)")
    name, origin = configured()
    if name is not None and origin == "KERAS_BACKEND":
        if name in BACKENDS and not installed(name):
            raise BackendUnavailable(f"{origin} selects the Keras backend {name!r}, which is not installed: "
                                     f"install {name}, or choose one of {', '.join(_available()) or 'none'}")
        return name
    if name is not None and (name not in BACKENDS or installed(name)):
        return name
    # keras.json naming a backend that is not installed is no choice to honour: Keras writes
    # "tensorflow" there itself on its first import, even when KERAS_BACKEND said otherwise.
    for candidate in ("tensorflow",) + FALLBACK_ORDER:
        if installed(candidate):
            if name is not None or candidate != "tensorflow":  # else Keras' own default is right
                os.environ["KERAS_BACKEND"] = candidate
            return candidate
    raise BackendUnavailable("Keras needs a backend and none is installed: install tensorflow, jax or torch "
                             "(see README, \"Keras backends\")")


def _available() -> list[str]:
    return [b for b in BACKENDS if installed(b)]


def import_keras():
    """``import keras`` on the chosen backend, with TensorFlow's native start-up chatter filtered."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    choose()
    from .run.quiet import native_stderr_filtered

    with native_stderr_filtered():
        import keras

        if keras.backend.backend() == "tensorflow":
            # TensorFlow looks for CUDA on its first device query ("failed call to cuInit" on a
            # machine without a driver): make that query here, inside the filter.
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")
    if keras.backend.backend() != "tensorflow":
        _keep_tensorflow_out(keras)
    return keras


def _keep_tensorflow_out(keras) -> None:
    """Stop Keras importing TensorFlow on JAX and PyTorch just because it is installed.

    Keras 3.15 imports TensorFlow lazily wherever it asks ``tf.available``: on every
    ``model.save`` (to test ``isinstance(obj, tf.TensorShape)`` while serializing) and in
    ``keras.utils.set_random_seed`` (to seed TensorFlow too). On another backend that costs
    seconds and hundreds of MB per run and prints absl's "All log messages before
    absl::InitializeLog()" lines; a model built on JAX or PyTorch holds no TensorFlow
    objects, so the answer "not available" is right for it. Left alone when TensorFlow was
    already imported (``pipeline tfdata``) or when this private Keras detail has changed.
    """
    import sys

    if "tensorflow" in sys.modules:
        return
    try:
        from keras.src.utils import module_utils
    except ImportError:
        return
    lazy = getattr(module_utils, "tensorflow", None)
    if lazy is not None and getattr(lazy, "module", "?") is None and hasattr(lazy, "_available"):
        lazy._available = False


def require_tensorflow(feature: str):
    """``import tensorflow`` for a TensorFlow-only feature, or a clear error saying what it needs."""
    if not installed("tensorflow"):
        raise BackendUnavailable(f"{feature} needs TensorFlow, which is not installed: "
                                 "install tensorflow (pip install tensorflow)")
    from .run.quiet import native_stderr_filtered

    with native_stderr_filtered():
        import tensorflow as tf

    return tf

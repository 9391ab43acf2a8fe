"""Load an exported artifact in the runtime that will serve it and run it on given rows.

One function per format, each returning ``{output name: array}``: what a server or a phone
would compute. A runtime that cannot load or run the artifact is a
:class:`VerificationError` naming the runtime and its reason, never a
traceback. Inputs are fed by the Keras model's input names, which every exporter keeps.
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Callable

from ..errors import RunError


class VerificationError(RunError):
    """The exported artifact did not load, or did not give the run's outputs (exit 4)."""


class VerifyFailed(Exception):
    """The runtime could not load or run the artifact (:func:`verify` makes it a VerificationError)."""


def verify(fmt: str, path: str, inputs: dict, model_ir=None, registry=None) -> tuple[dict, str, list[str]]:
    """Run ``inputs`` through the artifact at ``path``: (outputs by name, runtime in words, notes)."""
    from .quiet import native_stderr_filtered

    runner: Callable[..., tuple[dict, str, list[str]]] = RUNTIMES[fmt]
    try:  # runtimes print native start-up lines ("Created TensorFlow Lite XNNPACK delegate"): filtered
        with warnings.catch_warnings(), native_stderr_filtered():
            warnings.simplefilter("ignore")
            return runner(path, inputs, model_ir, registry)
    except VerificationError:
        raise
    except Exception as e:  # noqa: BLE001 - any runtime failure is a failed verification
        message = str(e).strip().splitlines()[0] if str(e).strip() else ""
        if not isinstance(e, VerifyFailed):
            message = f"{type(e).__name__}: {message}"
        raise VerificationError(f"export --to {fmt} failed verification: the artifact does not run in "
                                f"{_RUNTIME_NAMES[fmt]}: {message}") from e


def _keras(path, inputs, model_ir, registry):
    from .keras_trainer import load_keras_model

    model = load_keras_model(path, model_ir, registry)
    feed = inputs if len(inputs) > 1 else next(iter(inputs.values()))
    return named_outputs(model, model.predict(feed, verbose=0)), "keras.saving.load_model (safe mode)", []


def _savedmodel(path, inputs, model_ir, registry):
    from ..kerasenv import require_tensorflow

    tf = require_tensorflow("verifying a SavedModel")
    loaded = tf.saved_model.load(path)
    if "serving_default" not in loaded.signatures:
        raise VerifyFailed("it has no serving_default signature (TensorFlow Serving calls that one)")
    fn = loaded.signatures["serving_default"]
    names = list(fn.structured_input_signature[1])
    feed = _by_name(names, inputs)
    out = fn(**{k: tf.constant(v) for k, v in feed.items()})
    return {k: v.numpy() for k, v in out.items()}, "tf.saved_model.load (serving_default signature)", []


def _onnx(path, inputs, model_ir, registry):
    import onnx
    import onnxruntime as ort

    onnx.checker.check_model(path)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    feed = _by_name(names, inputs)
    out_names = [o.name for o in session.get_outputs()]
    values = session.run(out_names, feed)
    return dict(zip(out_names, values)), f"onnxruntime {ort.__version__} (CPU)", []


def _tflite(path, inputs, model_ir, registry):
    """The LiteRT interpreter (``ai-edge-litert``) when installed, else TensorFlow's own.

    LiteRT alone runs only builtin ops; a model that needs TensorFlow ops (Flex: an LSTM over
    inputs of any length, for one) fails there and runs only where the Select TF ops delegate
    is linked, so that is said, and the check falls back to TensorFlow's interpreter, which has it.
    """
    notes = []
    flex = flex_ops(path)
    if flex:
        notes.append("the model uses TensorFlow ops outside LiteRT's builtin set (" + ", ".join(flex)
                     + "): on a device it needs the Select TF ops (Flex) delegate")
    try:
        from ai_edge_litert.interpreter import Interpreter

        runtime = "LiteRT (ai-edge-litert)"
    except ImportError:
        Interpreter, runtime = None, ""
    if Interpreter is None or flex:
        from ..kerasenv import require_tensorflow

        tf = require_tensorflow("verifying a TFLite file")
        Interpreter, runtime = tf.lite.Interpreter, "TensorFlow's TFLite interpreter (with the Flex delegate)"
    interpreter = Interpreter(model_path=path)
    signatures = interpreter.get_signature_list()
    if not signatures:
        raise VerifyFailed("it has no signature to call")
    runner = interpreter.get_signature_runner(next(iter(signatures)))
    names = list(runner.get_input_details())
    try:
        out = runner(**_by_name(names, inputs))
    except RuntimeError as e:
        if flex and "Flex" in str(e):
            raise VerifyFailed(
                f"it calls TensorFlow ops outside LiteRT's builtin set ({', '.join(flex)}), which need the "
                "Select TF ops (Flex) delegate, and no interpreter here links it (Keras 3's LiteRT export "
                "turns recurrent layers such as lstm and gru into such ops); export --to onnx or savedmodel "
                "serves this model") from None
        raise
    return dict(out), runtime, notes


_FLEX = re.compile(rb"Flex[A-Z][A-Za-z0-9]+")


def flex_ops(path: str) -> list[str]:
    """Names of the TensorFlow (Flex) custom ops a ``.tflite`` file calls (their names are plain
    strings in the flatbuffer's operator codes)."""
    with open(path, "rb") as fh:
        return sorted({m.decode() for m in _FLEX.findall(fh.read())})


def named_outputs(keras_model, raw) -> dict:
    """Outputs as {name: array} whatever structure Keras' ``predict`` returned."""
    import numpy as np

    if isinstance(raw, dict):
        return {k: np.asarray(v) for k, v in raw.items()}
    arrays = list(raw) if isinstance(raw, (list, tuple)) else [raw]
    names = list(getattr(keras_model, "output_names", None) or [])
    if len(names) != len(arrays):
        names = [f"output_{i}" for i in range(len(arrays))]
    return {n: np.asarray(a) for n, a in zip(names, arrays)}


def _by_name(names: list[str], inputs: dict) -> dict[str, Any]:
    """The rows keyed by the artifact's input names (the Keras names; one input pairs with one)."""
    if set(names) == set(inputs):
        return {n: inputs[n] for n in names}
    if len(names) == len(inputs) == 1:
        return {names[0]: next(iter(inputs.values()))}
    stripped = {n.split(":")[0]: n for n in names}
    if set(stripped) == set(inputs):
        return {stripped[k]: v for k, v in inputs.items()}
    raise VerifyFailed(f"its inputs are {', '.join(names)}, the model's are {', '.join(inputs)}")


RUNTIMES = {"keras": _keras, "savedmodel": _savedmodel, "onnx": _onnx, "tflite": _tflite}
_RUNTIME_NAMES = {"keras": "Keras", "savedmodel": "TensorFlow's SavedModel loader", "onnx": "onnxruntime",
                  "tflite": "the TFLite interpreter"}

"""Emitted Python builds the same model as the in-process backend (issue 3's oracle).

For every example spec and every valid conformance case: exec the emitted script, call its
build_model(), and compare layer types, configs, output shapes, parameter counts and, with the
same weights, predictions on the same input.
"""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest

import nndsl

pytestmark = pytest.mark.keras

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS = sorted(glob.glob(os.path.join(ROOT, "spec", "examples", "*.nn"))
               + glob.glob(os.path.join(ROOT, "spec", "conformance", "valid", "*.nn")))


def _random_inputs(model_ir, rng):
    def one(inp):
        shape = tuple(4 if d is None else d for d in inp.shape)
        if inp.dtype == "string":  # Keras' NumPy adapter takes no strings: a tf.string tensor
            import tensorflow as tf

            return tf.constant(rng.choice(np.array(["red", "green", "a b c", ""], dtype=object), size=(2, *shape)))
        if inp.dtype.startswith("int") or inp.dtype == "uint8":
            return rng.integers(0, 2, size=(2, *shape)).astype(inp.dtype)
        return rng.standard_normal((2, *shape)).astype("float32")
    if len(model_ir.inputs) == 1:
        return one(model_ir.inputs[0])
    return {i.name: one(i) for i in model_ir.inputs}


def _as_list(pred):
    if isinstance(pred, dict):
        return [pred[k] for k in sorted(pred)]
    if isinstance(pred, (list, tuple)):
        return list(pred)
    return [pred]


@pytest.mark.parametrize("path", SPECS, ids=[os.path.relpath(p, ROOT) for p in SPECS])
def test_emitted_script_builds_the_same_model(path, registry):
    model_ir = nndsl.load(path, registry=registry)
    source = nndsl.emit(model_ir, registry=registry)
    compile(source, path, "exec")
    namespace: dict = {"__name__": "emitted"}
    exec(source, namespace)  # noqa: S102 - our own generated code, the thing under test
    emitted = namespace["build_model"]()
    unseeded = {n.name for n in model_ir.nodes if n.attr.get("seed", 0) is None}
    built = nndsl.build(model_ir, registry=registry)

    assert [type(layer).__name__ for layer in emitted.layers] == [type(layer).__name__ for layer in built.layers]
    for a, b in zip(emitted.layers, built.layers):
        config_a, config_b = a.get_config(), b.get_config()
        if type(a).__name__ == "RandomCrop" and a.name in unseeded:
            config_a.pop("seed"), config_b.pop("seed")  # Keras draws one when the spec gives none
        assert config_a == config_b, a.name
        assert [tuple(o.shape) for o in _as_list(a.output)] == [tuple(o.shape) for o in _as_list(b.output)]
    assert emitted.count_params() == built.count_params() == model_ir.params.total
    assert type(emitted.optimizer).__name__ == type(built.optimizer).__name__

    from nndsl.builtins.layers_preprocessing import needs_adapt

    if any(needs_adapt(n.op, n.attr) and n.op != "normalization" for n in model_ir.nodes):
        return  # an unadapted lookup table cannot run (Keras: "Table not initialized"); test_adapt covers it
    emitted.set_weights(built.get_weights())
    rng = np.random.default_rng(0)
    x = _random_inputs(model_ir, rng)
    for p, q in zip(_as_list(emitted.predict(x, verbose=0)), _as_list(built.predict(x, verbose=0))):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)

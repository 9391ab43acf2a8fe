"""The Keras backends use only Keras 3's public API: every example builds on JAX too.

Built in a subprocess with KERAS_BACKEND=jax (the backend is fixed when Keras is imported);
each model's parameter count must equal the IR's, and a forward pass must give the output
shapes the IR inferred.
"""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = [pytest.mark.slow, pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                                                   reason="jax is not installed (pip install -e .[test])")]

SCRIPT = textwrap.dedent("""
    import glob, json, sys
    import numpy as np
    import keras
    import nndsl
    assert keras.backend.backend() == "jax", keras.backend.backend()
    out = {}
    for path in sorted(glob.glob(sys.argv[1])):
        ir = nndsl.load(path)
        model = nndsl.build(ir)
        def sample(i):
            shape = tuple(4 if d is None else d for d in i.shape)
            return np.zeros((2, *shape), dtype="int32" if i.dtype.startswith("int") else "float32")
        x = sample(ir.inputs[0]) if len(ir.inputs) == 1 else {i.name: sample(i) for i in ir.inputs}
        y = model.predict(x, verbose=0)
        ys = y if isinstance(y, dict) else {ir.outputs[0]: y}
        out[path] = {"params": int(model.count_params()), "ir_params": ir.params.total,
                     "shapes": {k: list(np.shape(v)[1:]) for k, v in ys.items()},
                     "ir_shapes": {o: [4 if d is None else d for d in ir.tensor_shape(o)] for o in ir.outputs}}
    print(json.dumps(out))
""")


def test_every_example_builds_and_runs_on_jax(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "jax", "NNDSL_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run([sys.executable, "-c", SCRIPT, os.path.join(ROOT, "spec", "examples", "*.nn")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(results) == len(glob.glob(os.path.join(ROOT, "spec", "examples", "*.nn")))
    for path, r in results.items():
        assert r["params"] == r["ir_params"], path
        assert r["shapes"] == r["ir_shapes"], path

"""``nndsl emit --python --backend torch``: a standalone script that runs with PyTorch alone."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nndsl  # noqa: E402
from nndsl_torch.emit import ACTIVATION_SOURCE  # noqa: E402
from nndsl_torch.runtime import ACTIVATIONS  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
EXAMPLES = sorted(os.path.join(ROOT, "spec", "examples", n) for n in os.listdir(os.path.join(ROOT, "spec", "examples"))
                  if n.endswith(".nn"))


def load_script(text: str, tmp_path, name="script"):
    """Import an emitted script as a module (its __main__ block does not run)."""
    import importlib.util

    path = tmp_path / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_every_example_emits_a_script_whose_model_is_the_built_module(path, registry, tmp_path):
    model = nndsl.load(path, registry)
    text = nndsl.emit(model, backend="torch", registry=registry)
    ast.parse(text)
    imports = {a.name.split(".")[0] for n in ast.walk(ast.parse(text)) if isinstance(n, (ast.Import, ast.ImportFrom))
               for a in (n.names if isinstance(n, ast.Import) else [type("A", (), {"name": n.module})])}
    assert imports <= {"math", "os", "importlib", "numpy", "torch"}, imports
    script = load_script(text, tmp_path)
    built = nndsl.build(model, backend="torch", registry=registry).eval()
    emitted = script.Model().eval()
    emitted.load_state_dict(built.state_dict())  # the same parameter names
    rng = np.random.default_rng(0)
    inputs = []
    for i in model.inputs:
        shape = (2,) + tuple(5 if d is None else d for d in i.shape)
        feeds_embedding = any(n.op == "embedding" and i.name in n.inputs for n in model.nodes)
        inputs.append(torch.as_tensor(rng.integers(0, 50, size=shape) if feeds_embedding
                                      else rng.normal(size=shape).astype("float32")))
    with torch.no_grad():
        want, got = built(*inputs), emitted(*inputs)
    if isinstance(want, dict):
        for k in want:
            torch.testing.assert_close(got[k], want[k])
    else:
        torch.testing.assert_close(got, want)


def test_the_script_trains_on_its_data_without_nndsl(registry, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6)).astype("float32")
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype("int64"))
    spec = ("input 6\ndense 8 relu\ndense 2 softmax\nadam 0.01 clipnorm=1.0\nloss sparse_categorical_crossentropy\n"
            "metrics accuracy auc\nfit epochs=3 batch_size=32 validation_split=0.2\ndata \"d.npz\"\n")
    (tmp_path / "m.nn").write_text(spec)
    text = nndsl.emit(nndsl.load(tmp_path / "m.nn", registry), backend="torch", registry=registry)
    assert "torch.optim.Adam(parameters, lr=0.01, eps=1e-07)" in text  # Keras epsilon; torch betas
    assert "clip_grad_norm_([p], 1.0)" in text
    (tmp_path / "train.py").write_text(text)
    blocker = tmp_path / "block" / "sitecustomize.py"
    blocker.parent.mkdir()
    blocker.write_text("import sys\nclass B:\n    def find_module(self, n, p=None): pass\n"
                       "    def find_spec(self, n, p=None, t=None):\n"
                       "        if n.split('.')[0] in ('nndsl', 'nndsl_torch'):\n"
                       "            raise ImportError('blocked ' + n)\n"
                       "sys.meta_path.insert(0, B())\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(blocker.parent)
    out = subprocess.run([sys.executable, "train.py"], cwd=tmp_path, capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("epoch 1/3: loss ") and "val_accuracy" in lines[0] and "auc" in lines[0]
    assert lines[-1].startswith("test: loss ")


def test_spec_text_is_never_unescaped_in_the_script(registry, tmp_path):
    evil = 'x"); import os; os.system("echo pwned"); ("'
    written = evil.replace('"', '\\"')
    (tmp_path / "e.nn").write_text(f'input 4\ndense 2 softmax\nadam 0.01\nloss mse\ndata "{written}.npz"\n')
    text = nndsl.emit(nndsl.load(tmp_path / "e.nn", registry), backend="torch", registry=registry)
    tree = ast.parse(text)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "system"]
    assert not calls
    assert any(isinstance(n, ast.Constant) and n.value == evil + ".npz" for n in ast.walk(tree))


def test_a_tensor_named_like_the_scripts_own_names_does_not_shadow_them(registry, tmp_path):
    spec = "input torch 4\nnn = torch -> dense 3 relu\nF = nn -> dense 2\noutput self = F -> softmax\n"
    model = nndsl.check(spec, registry=registry)
    script = load_script(nndsl.emit(model, backend="torch", registry=registry), tmp_path)
    assert tuple(script.Model()(torch.zeros(1, 4)).shape) == (1, 2)


def test_unsupported_constructs_stop_emit_with_every_reason(registry):
    from nndsl.backends.base import BackendError

    model = nndsl.check("input 4\ndense 2 kernel_regularizer=orthogonal_regularizer\nsparsemax\nadam 0.01\n"
                        "loss mse\n", registry=registry)
    with pytest.raises(BackendError, match="(?s)line 2.*line 3"):
        nndsl.emit(model, backend="torch", registry=registry)


def test_emit_refuses_what_only_run_applies(registry):
    """Weight penalties, schedules, class weights and callbacks are the trainer's: the script
    would silently drop them, so emit says so (nndsl run --backend torch applies them)."""
    from nndsl.backends.base import BackendError

    spec = ("input 4\ndense 2 softmax kernel_regularizer=l2(0.01)\nadam exponential_decay(0.1, 10, 0.5)\n"
            "loss scce\nfit class_weight=(1.0, 2.0) validation_split=0.5\ncallback early_stopping\n")
    model = nndsl.check(spec, registry=registry)
    with pytest.raises(BackendError) as err:
        nndsl.emit(model, backend="torch", registry=registry)
    text = str(err.value)
    for line, what in ((2, "kernel_regularizer on layer 'dense'"), (3, "schedule exponential_decay"),
                       (5, "fit class_weight"), (6, "callback early_stopping")):
        assert f"line {line}: " in text and what in text, (what, text)


@pytest.mark.parametrize("name", sorted(ACTIVATION_SOURCE))
def test_each_activation_expression_computes_the_runtime_function(name):
    import math  # noqa: F401 - the namespace the script has
    from torch.nn import functional as F  # noqa: F401

    x = torch.linspace(-3, 3, 16).reshape(2, 8)
    namespace = {"torch": torch, "F": F, "ACTIVATIONS": ACTIVATIONS, "x": x}
    got = eval(ACTIVATION_SOURCE[name].format("x"), namespace)  # noqa: S307 - our own constant templates
    torch.testing.assert_close(got, ACTIVATIONS[name](x))


def test_every_runtime_activation_has_an_expression():
    assert set(ACTIVATION_SOURCE) == set(ACTIVATIONS) - {"linear"}

"""The torch backend as users meet it: plugins listing, nndsl.build, diagnostics, weight copy."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nndsl  # noqa: E402
import nndsl_torch  # noqa: E402
from nndsl.backends.base import BackendError  # noqa: E402

SEED = "input 784\ndense 32 relu\ndense 10 softmax\nrmsprop 0.001\nloss mse\n"


def test_the_backend_is_registered_by_the_plugin(registry):
    assert "torch" in registry.backends
    assert registry.owner("backends", "torch") == "torch"


def test_build_returns_a_module_in_the_specs_shapes(registry):
    module = nndsl.build(SEED, backend="torch", registry=registry)
    assert isinstance(module, torch.nn.Module)
    y = module(torch.zeros(4, 784))
    assert tuple(y.shape) == (4, 10)
    assert nndsl_torch.count_params(module) == (25450, 0)


def test_convnet_takes_channels_last_inputs(registry):
    spec = "input 28 28 1\nconv2d 8 3 relu padding=same\nmaxpool2d 2\nflatten\ndense 10 softmax\n"
    module = nndsl.build(spec, backend="torch", registry=registry)
    y = module(torch.rand(2, 28, 28, 1))
    assert tuple(y.shape) == (2, 10)
    torch.testing.assert_close(y.sum(-1), torch.ones(2))


def test_several_inputs_by_position_name_or_dict_and_outputs_by_name(registry):
    spec = ("input a 4\ninput b 3\nh = concat(a, b) -> dense 5 relu\noutput p = h -> dense 1 sigmoid\n"
            "output q = h -> dense 2 softmax\n")
    module = nndsl.build(spec, backend="torch", registry=registry)
    a, b = torch.rand(2, 4), torch.rand(2, 3)
    by_position, by_name, by_dict = module(a, b), module(a=a, b=b), module({"a": a, "b": b})
    assert set(by_position) == {"p", "q"} and tuple(by_position["q"].shape) == (2, 2)
    torch.testing.assert_close(by_position["p"], by_name["p"])
    torch.testing.assert_close(by_position["q"], by_dict["q"])
    with pytest.raises(TypeError, match="takes 2 inputs"):
        module(a)


def test_what_cannot_lower_is_reported_all_at_once_with_lines(registry):
    spec = "input 8\ndense 4 kernel_regularizer=orthogonal_regularizer\nsparsemax\nadam 0.01 use_ema=true\nloss mse\n"
    model = nndsl.check(spec, registry=registry)
    gaps = registry.backends["torch"].unsupported(model, registry)
    assert [(g.span.line, g.message) for g in gaps] == [
        (2, "regularizer 'orthogonal_regularizer' has no lowering in backend 'torch'"),
        (3, "activation 'sparsemax' has no lowering in backend 'torch'"),
        (4, "optimizer option use_ema has no lowering in backend 'torch'"),
    ]
    with pytest.raises(BackendError, match="line 2: regularizer 'orthogonal_regularizer'") as err:
        nndsl.build(model, backend="torch", registry=registry)
    assert "line 3" in str(err.value) and "use_ema" not in str(err.value)  # building needs no optimizer


CHECK_ME = """\
input 20 8
bidirectional simplernn 4 return_sequences=true
lstm 4
dense 5 sparsemax kernel_initializer=he_normal(seed=1)
dense 3 softmax
adam 0.01 use_ema=true
loss cce label_smoothing=0.1 from_logits=true
metrics accuracy
fit validation_split=0.1
callback early_stopping
callback tensorboard
"""


def test_check_backend_torch_reports_every_construct_at_its_line(tmp_path):
    """`nndsl check --backend torch`: E700 (no lowering) and E701 (an option it cannot honour),
    all at once, without importing torch or TensorFlow."""
    path = tmp_path / "m.nn"
    path.write_text(CHECK_ME, encoding="utf-8")
    code = ("import sys\nfrom nndsl.cli import main\nfrom nndsl.plugins import default_registry\n"
            "from torch_plugin_registry import torch_registry\nimport nndsl.cli as c\n"
            "c._registry = torch_registry\n"
            f"rc = main(['check', '--backend', 'torch', {str(path)!r}])\n"
            "print(rc, sorted(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))\n")
    import os

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.dirname(__file__), *sys.path])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "1 []", out.stderr
    found = [line.split(": ", 1)[1] for line in out.stderr.splitlines() if line.startswith(str(path))]
    assert found == [
        "error[E700]: activation 'sparsemax' has no lowering in backend 'torch'",
        "error[E701]: kernel_initializer=he_normal(...) with arguments has no lowering in backend 'torch'; "
        "initializer names do (kernel_initializer=he_normal)",
        "error[E701]: optimizer option use_ema has no lowering in backend 'torch'",
        "error[E700]: callback 'tensorboard' has no lowering in backend 'torch'",
    ]
    assert "4 errors" in out.stderr


def test_build_without_training_support_still_builds_the_module(registry):
    # a masked output cannot train here (Keras would mask the loss), but the module builds
    spec = "input ?\nembedding 50 4 mask_zero=true\nlayernorm\ndense 2 softmax\nadam 0.01\nloss mse\n"
    model = nndsl.check(spec, registry=registry)
    module = nndsl.build(model, backend="torch", registry=registry)
    assert tuple(module(torch.tensor([[1, 2, 0]])).shape) == (1, 3, 2)
    gaps = registry.backends["torch"].unsupported(model, registry)
    assert [g.training for g in gaps if "mask" in g.message] == [True]


@pytest.mark.keras
def test_load_keras_weights_gives_keras_outputs(registry):
    model = nndsl.check("input 6\ndense 5 tanh\nbatchnorm\ndense 3 softmax\n", registry=registry)
    keras_model = nndsl.build(model, backend="keras-functional", registry=registry, compile=False)
    from nndsl.testing import randomize_weights

    randomize_weights(keras_model)
    module = nndsl.build(model, backend="torch", registry=registry).eval()
    nndsl_torch.load_keras_weights(module, keras_model)
    x = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
    want = np.asarray(keras_model(x, training=False))
    got = module(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.keras
def test_load_keras_weights_refuses_another_models_weights(registry):
    keras_model = nndsl.build("input 6\ndense 5\n", backend="keras-functional", registry=registry, compile=False)
    module = nndsl.build("input 6\ndense 4\n", backend="torch", registry=registry)
    with pytest.raises(ValueError, match="does not fit"):
        nndsl_torch.load_keras_weights(module, keras_model)


def test_importing_the_plugin_and_checking_never_imports_torch_or_tensorflow():
    code = ("import sys, nndsl, nndsl_torch.plugin\n"
            "from nndsl.plugins import default_registry\n"
            "r = default_registry()\n"
            "nndsl.check('input 4; dense 2', registry=r)\n"
            "print(sorted(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_nndsl_plugins_lists_the_torch_backend(installed):
    out = subprocess.run([sys.executable, "-m", "nndsl.cli", "plugins"], capture_output=True, text=True, check=True)
    assert "torch (nndsl-torch 0.1.0)" in out.stdout and "backends: torch" in out.stdout


def test_the_table_is_registered_through_nndsls_lowering_hook(registry):
    table = registry.lowerings("torch")
    assert table.owner("layer", "conv2d") == "torch" and table.has("optimizer", "ftrl")
    assert table.has("loss", "huber") and table.has("callback", "early_stopping")
    from nndsl_torch.lowering import PREPROCESSING_REFUSED

    # nndsl-extras' own layer, and the preprocessing layers torch documents it cannot lower
    assert set(registry.canonical("layers")) - set(table.names("layer")) <= {"scale", *PREPROCESSING_REFUSED}


def test_another_plugin_can_lower_its_layer_for_torch(registry):
    """A third plugin's lowering for backend 'torch' is used: here nndsl-extras' `scale`."""
    from nndsl.lowering import Lowering
    from nndsl_torch.lowering import Call, Lowered

    table = registry.lowerings("torch")
    if "scale" not in registry.layers:
        pytest.skip("nndsl-extras is not installed")
    table.add(Lowering("layer", "scale", lambda node, shapes: Lowered(Call("torch.nn.Identity"))), "extras", False)
    module = nndsl.build("input 4\nscale\ndense 2\n", backend="torch", registry=registry)
    assert isinstance(module.scale, torch.nn.Identity)


def test_every_builtin_layer_lowers_or_says_why_not(registry):
    """Each built-in layer has a torch lowering, or a documented reason (nndsl_torch.lowering)."""
    from nndsl_torch.lowering import LAYERS, PREPROCESSING_REFUSED

    missing = [name for name in registry.canonical("layers")
               if registry.owner("layers", name).startswith("nndsl.builtins.") and name not in LAYERS
               and name not in PREPROCESSING_REFUSED]
    assert missing == []
    spec = ("input i 8 8 3\noutput a = i -> randomflip\noutput b = i -> resizing 4 4\ninput s 1 dtype=string\n"
            "output t = s -> stringlookup\n")
    gaps = registry.backends["torch"].unsupported(nndsl.check(spec, registry=registry), registry)
    assert [(g.span.line, g.message, g.hint.split("; ")[0]) for g in gaps] == [
        (2, "layer 'randomflip' has no lowering in backend 'torch'", PREPROCESSING_REFUSED["randomflip"].split("; ")[0]),
        (3, "layer 'resizing' has no lowering in backend 'torch'", PREPROCESSING_REFUSED["resizing"].split("; ")[0]),
        (5, "layer 'stringlookup' has no lowering in backend 'torch'",
         PREPROCESSING_REFUSED["stringlookup"].split("; ")[0])]


@pytest.mark.parametrize("axis", ["", " axis=none", " axis=(1, 2)"])
def test_torch_adapts_normalization_as_keras_does(registry, axis):
    """`run --backend torch` adapts a normalization on an input like Keras' adapt (Keras is the oracle)."""
    spec = f"input 4 3\nnormalization{axis}\nflatten\ndense 2\nadam\nloss mse"
    model = nndsl.check(spec, registry=registry)
    x = np.random.default_rng(0).normal(5.0, 3.0, size=(50, 4, 3)).astype(np.float32)
    trainer = registry.backends["torch"].trainer(registry)
    trainer.build(model, {})
    kept = (model.nodes[0].params.non_trainable - 1) // 2  # Keras' 2 x C + 1 non-trainable values
    assert trainer.adapt({"normalization": ("input_layer",)}, x, {}) == [
        f"normalization (Normalization): mean and variance of {kept} value(s)"]
    reference = nndsl.build(model, registry=registry)
    reference.get_layer("normalization").adapt(x)
    layer = getattr(trainer.module, "normalization")
    want = reference.get_layer("normalization")
    np.testing.assert_allclose(layer.mean.numpy().reshape(-1), np.asarray(want.mean).reshape(-1), rtol=1e-5)
    np.testing.assert_allclose(layer.variance.numpy().reshape(-1), np.asarray(want.variance).reshape(-1), rtol=1e-4)
    assert int(layer.count) == int(np.asarray(want.count))


def test_torch_refuses_to_adapt_what_only_keras_can(registry):
    from nndsl.errors import RunError

    model = nndsl.check("input 4\ndense 3\nnormalization\ndense 1\nadam\nloss mse", registry=registry)
    trainer = registry.backends["torch"].trainer(registry)
    trainer.build(model, {})
    with pytest.raises(RunError, match="normalization applied straight to an input"):
        trainer.adapt({"normalization": ("input_layer",)}, np.zeros((4, 4), np.float32), {})


def test_the_loss_function_is_the_definitions_long_name(registry):
    """The torch table keeps no short -> long loss map: LossDef.long names the runtime function."""
    from nndsl_torch import runtime
    from nndsl_torch.lowering import loss_function
    from nndsl_torch.trainer import _losses

    for name in registry.canonical("losses"):
        assert loss_function(name, registry) in runtime.LOSSES, name
    model = nndsl.check("input 3\ndense 2\nloss mae\n", registry=registry)
    assert _losses(model, registry) == {model.outputs[0]: "mean_absolute_error"}

"""What a Keras backend cannot honour never reaches Keras (issue 16), checked without importing Keras."""

from __future__ import annotations

import pytest

import nndsl
from nndsl.backends.base import BackendError
from nndsl.backends.keras import compile_arguments
from nndsl.run.device import Device

SEED = "input 784\ndense 32 relu\ndense 10 softmax\nrmsprop 0.001\nloss mse\nfit steps_per_execution=64\n"


def test_the_run_plans_compile_options_reach_compile(registry):
    """Regression: a local for the loss options shadowed ``options``, so run's plan never reached compile."""
    model = nndsl.check(SEED, registry=registry)
    args = compile_arguments(model, registry, {"steps_per_execution": 5, "jit_compile": "false"})
    assert args["steps_per_execution"] == 5 and args["jit_compile"] is False


def test_build_drops_the_specs_multi_step_on_torch_with_a_warning(registry):
    model = nndsl.check(SEED, registry=registry)
    with pytest.warns(UserWarning, match="steps_per_execution=64 is ignored: Keras on torch runs one batch"):
        assert "steps_per_execution" not in compile_arguments(model, registry, {}, "torch")
    assert compile_arguments(model, registry, {}, "jax")["steps_per_execution"] == 64
    assert compile_arguments(model, registry)["steps_per_execution"] == 64  # no backend given: as written
    with pytest.raises(BackendError, match="steps_per_execution=8: Keras on torch runs one batch per call"):
        compile_arguments(model, registry, {"steps_per_execution": 8}, "torch")


def test_emitted_script_runs_one_batch_per_call_on_torch(registry):
    from test_emit_injection import assert_only_expected_code

    source = nndsl.emit(SEED, registry=registry)
    assert 'steps_per_execution=1 if keras.backend.backend() == "torch" else 64,' in source
    assert_only_expected_code(source)
    compile(source, "script.py", "exec")


def test_device_line_names_the_hardware_and_the_keras_backend():
    gpu = Device("GPU", ("NVIDIA H200", "NVIDIA H200"), "torch", "torch 2.13.0", "CUDA 12.8")
    assert gpu.describe() == "2 GPUs (0: NVIDIA H200; 1: NVIDIA H200) via CUDA 12.8, Keras on torch 2.13.0"
    cpu = Device("CPU", ("CPU",), "jax", "jax 0.10.2")
    assert cpu.describe().startswith("CPU (") and cpu.describe().endswith(" cores), Keras on jax 0.10.2")
    assert cpu.to_json()["software"] == "jax 0.10.2" and gpu.to_json()["platform"] == "CUDA 12.8"

"""The conformance kit (nndsl.testing): the Keras backends pass it; a wrong backend fails it."""

from __future__ import annotations

import pytest

from nndsl.backends.base import BackendError
from nndsl.backends.keras import KerasFunctional
from nndsl.testing import FAIL, PASS, UNSUPPORTED, Case, cases, check, conformance_test, random_inputs


def _registry_with(*backends):
    from nndsl.plugins import build_registry, get_plugin_manager

    registry = build_registry(get_plugin_manager(load_entrypoints=False))
    for b in backends:
        registry.add("backends", b, "test")
    return registry


def test_cases_cover_every_valid_conformance_spec_and_example():
    names = [c.name for c in cases()]
    assert "examples/mnist_mlp.nn" in names and "conformance/valid/attention.nn" in names
    assert not [n for n in names if "invalid" in n or "/include/" in n]  # included files are not models


def test_random_inputs_respect_embedding_vocabularies():
    import nndsl

    model = nndsl.check("input ?\nembedding 7 2\nflatten\n")
    (x,) = random_inputs(model, unknown=50).values()
    assert x.shape == (3, 50) and x.min() >= 0 and x.max() < 7


class OffByOne(KerasFunctional):
    """A backend whose outputs are wrong: the kit must say so."""

    name = "off-by-one"

    def predict_arrays(self, built, inputs):
        return {k: v + 1.0 for k, v in super().predict_arrays(built, inputs).items()}


class NoDense(KerasFunctional):
    name = "no-dense"

    def check_supported(self, model, registry):
        if any(n.op == "dense" for n in model.nodes):
            raise BackendError("layer 'dense' has no lowering in backend 'no-dense'")


class MiscountingBackend(KerasFunctional):
    name = "miscounting"

    def count_params(self, built):
        return built.count_params() + 1


@pytest.mark.keras
def test_a_backend_with_wrong_outputs_fails_and_one_that_refuses_is_unsupported(tmp_path):
    spec = tmp_path / "s.nn"
    spec.write_text("input 4\ndense 3 relu\ndense 2\n")
    registry = _registry_with(OffByOne(), NoDense(), MiscountingBackend())
    case = Case("s.nn", spec)
    wrong = check("off-by-one", case, registry)
    assert wrong.status == FAIL and "differs from Keras" in wrong.detail
    refused = check("no-dense", case, registry)
    assert refused.status == UNSUPPORTED and "no lowering" in refused.detail
    miscounted = check("miscounting", case, registry)
    assert miscounted.status == FAIL and "parameters" in miscounted.detail
    ok = check("keras-functional", case, registry)
    assert ok.status == PASS and "outputs within" in ok.detail


@pytest.mark.keras
def test_a_spec_that_does_not_check_is_a_failure_not_a_crash(tmp_path):
    spec = tmp_path / "bad.nn"
    spec.write_text("input 4\ndens 3\n")
    outcome = check("keras-functional", Case("bad.nn", spec))
    assert outcome.status == FAIL and "does not check" in outcome.detail


# The Keras backends run the kit like any plugin would (slow: every spec builds twice).
test_keras_functional_conformance = conformance_test("keras-functional")
test_keras_sequential_conformance = conformance_test(
    "keras-sequential", expect_supported=("examples/mnist_mlp.nn", "examples/mnist_convnet.nn"))



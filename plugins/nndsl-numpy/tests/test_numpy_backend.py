"""The worked example as its author would test it: through the language, and with the
conformance kit against Keras."""

from __future__ import annotations

import numpy as np
import pytest

import nndsl
from nndsl.testing import conformance_test


def numpy_registry():
    """A fresh registry with this plugin (registered by hand when it is not pip-installed)."""
    from nndsl.plugins import build_registry, get_plugin_manager

    pm = get_plugin_manager(load_entrypoints=False)
    from nndsl_numpy import plugin

    pm.register(plugin, "numpy", distribution="nndsl-numpy")
    return build_registry(pm)


def test_build_runs_a_dense_network():
    model = nndsl.build("input 4\ndense 3 relu\ndense 2 softmax\n", backend="numpy", registry=numpy_registry())
    out = model(np.ones((5, 4)))
    (probabilities,) = out.values()
    assert probabilities.shape == (5, 2) and np.allclose(probabilities.sum(-1), 1.0)


def test_check_reports_what_it_cannot_lower():
    from nndsl.backends.base import lowering_diagnostics

    registry = numpy_registry()
    model = nndsl.check("input 8 8 1\nconv2d 4 3\nflatten\ndense 2 gelu\n", registry=registry)
    diags = lowering_diagnostics(registry.backends["numpy"], model, registry)
    assert [(d.code, d.span.line, d.message) for d in diags] == [
        ("E700", 2, "layer 'conv2d' has no lowering in backend 'numpy'"),
        ("E700", 4, "activation 'gelu' has no lowering in backend 'numpy'"),
    ]
    assert diags[0].hint.startswith("this example lowers dense networks only")


test_numpy_conformance = conformance_test("numpy", registry_factory=numpy_registry,
                                          expect_supported=("examples/mnist_mlp.nn",))

"""The conformance kit (nndsl.testing) on the torch backend: every spec nndsl ships."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from torch_plugin_registry import torch_registry  # noqa: E402
from nndsl.testing import conformance_test  # noqa: E402

test_torch_conformance = conformance_test(
    "torch", registry_factory=torch_registry,
    expect_supported=("examples/mnist_mlp.nn", "examples/mnist_convnet.nn", "examples/residual.nn",
                      "examples/text_lstm.nn", "examples/multi_io.nn", "examples/mnist_functional.nn",
                      "conformance/valid/attention.nn", "conformance/valid/recurrent.nn",
                      "conformance/valid/normalization.nn", "conformance/valid/merge_layers.nn"))

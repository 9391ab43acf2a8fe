"""Core layers against real Keras: shapes and parameter counts (Keras is the oracle)."""

from __future__ import annotations

import pytest

from parity import assert_keras_parity

pytestmark = pytest.mark.keras

CASES = [
    "input 784\ndense 32 relu\ndense 10 softmax",
    "input 20\ndense 7 use_bias=false",
    "input 5 12\ndense 3 tanh",
    "input ? 12\ndense 3",
    "input 16\nrelu\nsigmoid\nactivation tanh\ngelu",
    "input 16\nleakyrelu\nleakyrelu 0.1",
    "input 16\ndropout 0.5\ngaussiannoise 0.1",
    "input 10 8\nspatialdropout1d 0.2",
    "input 6 6 4\nspatialdropout2d 0.2",
    "input 28 28\nrescaling 0.00392 0.5\nflatten",
    "input 784\nreshape 28 28 1",
    "input 784\nreshape (-1, 28)",
    "input 12 ?\nflatten",
    "input 3 4 5\npermute 3 1 2",
    "input 8\nrepeatvector 4",
    "input ?\nembedding 1000 64",
    "input 7 dtype=int32\nembedding 50 8 mask_zero=true",
    "input 10 16\nbatchnorm",
    "input 10 16\nbatchnorm axis=1 center=false",
    "input 16\nbatchnormalization scale=false",
    "input 10 16\nlayernorm",
    "input 16\nlayernormalization center=false",
    "input 8 8 32\ngroupnorm 8",
    "input 8 8 32\ngroupnorm groups=4 scale=false",
]


@pytest.mark.parametrize("text", CASES)
def test_core_layer_matches_keras(text, registry):
    assert_keras_parity(text, registry)

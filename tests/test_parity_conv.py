"""Convolution, pooling and spatial reshaping layers against real Keras (Keras is the oracle).

Every case builds the symbolic Keras model from the IR and compares each layer's output shape
and trainable/non-trainable parameter counts; channels_first models are only built, never run.
"""

from __future__ import annotations

import pytest

from parity import assert_keras_parity

pytestmark = pytest.mark.keras

CONV = [
    # 1-D
    "input 100 8\nconv1d 16 3",
    "input 100 8\nconv1d 16 3 relu padding=same",
    "input 101 8\nconv1d 16 5 strides=3",
    "input 101 8\nconv1d 16 5 strides=3 padding=same",
    "input 50 4\nconv1d 8 3 padding=causal dilation_rate=4",
    "input 50 4\nconv1d 8 4 padding=causal strides=2",
    "input 50 4\nconv1d 8 3 dilation_rate=2",
    "input 50 8\nconv1d 12 3 groups=4",
    "input 50 8\nconv1d 12 (3,) use_bias=false",
    "input ? 8\nconv1d 16 3",
    "input ? 8\nconv1d 16 3 strides=2 padding=same",
    "input 8 50\nconv1d 16 3 data_format=channels_first",
    "input 8 ?\nconv1d 16 3 padding=same data_format=channels_first",
    "input 3 2\nconv1d 4 3",
    # 2-D
    "input 28 28 1\nconv2d 32 3 relu",
    "input 28 28 1\nconv2d 32 3 relu padding=same",
    "input 28 28 3\nconv2d 64 (3, 5) padding=same strides=2",
    "input 28 28 3\nconv2d 64 (3, 5) strides=(2, 1)",
    "input 27 31 3\nconv2d 8 4 strides=3",
    "input 27 31 3\nconv2d 8 4 strides=3 padding=same",
    "input 32 32 3\nconv2d 8 3 dilation_rate=2",
    "input 32 32 3\nconv2d 8 (3, 2) dilation_rate=(2, 3) padding=same",
    "input 16 16 8\nconv2d 16 3 groups=2",
    "input 16 16 8\nconv2d 8 1 groups=8 use_bias=false",
    "input 16 16 3\nconv2d 4 16",
    "input ? ? 3\nconv2d 16 3",
    "input ? 20 3\nconv2d 16 3 strides=2",
    "input 3 28 28\nconv2d 16 3 data_format=channels_first",
    "input 3 ? 29\nconv2d 16 (3, 4) strides=2 padding=same data_format=channels_first",
    "input 8 16 16\nconv2d 8 3 groups=4 data_format=channels_first",
    "input 28 28 1\nconvolution2d 4 3 kernel_initializer=he_normal bias_initializer=ones",
    "input 28 28 1\nconv2d 4 3 kernel_regularizer=l2 activity_regularizer=l1",
    # 3-D
    "input 16 16 16 1\nconv3d 8 3",
    "input 16 15 14 2\nconv3d 8 (3, 2, 1) strides=2 padding=same",
    "input 16 16 16 4\nconv3d 8 3 groups=2 use_bias=false",
    "input 16 16 16 2\nconv3d 4 3 dilation_rate=(1, 2, 3)",
    "input ? 16 ? 2\nconv3d 4 3",
    "input 2 10 11 12\nconv3d 4 3 data_format=channels_first",
    "input 10 10 10 1\nconvolution3d 2 (2, 3, 4) strides=(1, 2, 3)",
]

TRANSPOSE = [
    "input 10 8\nconv1dtranspose 4 3",
    "input 10 8\nconv1dtranspose 4 3 strides=2",
    "input 10 8\nconv1dtranspose 4 3 strides=2 padding=same",
    "input 10 8\nconv1dtranspose 4 2 strides=3 output_padding=1",
    "input 10 8\nconv1dtranspose 4 4 strides=3 padding=same output_padding=2",
    "input 10 8\nconv1dtranspose 4 3 dilation_rate=2",
    "input ? 8\nconv1dtranspose 4 3 strides=2",
    "input 8 10\nconv1dtranspose 4 3 strides=2 data_format=channels_first",
    "input 7 7 16\nconv2dtranspose 8 3",
    "input 7 7 16\nconv2dtranspose 8 3 relu strides=2 padding=same",
    "input 7 7 16\nconv2dtranspose 8 (2, 3) strides=(2, 3) output_padding=(1, 2)",
    "input 7 7 16\nconv2dtranspose 8 4 strides=2 padding=same output_padding=0",
    "input 7 7 16\nconv2dtranspose 8 5 strides=2 padding=same output_padding=1 use_bias=false",
    "input 7 7 16\nconv2dtranspose 8 1 strides=4",
    "input 7 7 16\nconv2dtranspose 8 3 dilation_rate=(2, 1) padding=same",
    "input ? 7 16\nconv2dtranspose 8 3 strides=2",
    "input 16 7 9\nconv2dtranspose 8 3 strides=2 padding=same data_format=channels_first",
    "input 4 4 4 8\nconv3dtranspose 4 3",
    "input 4 5 6 8\nconv3dtranspose 4 (2, 3, 4) strides=2 padding=same output_padding=(1, 0, 1)",
    "input 8 4 4 4\nconv3dtranspose 4 3 strides=2 data_format=channels_first",
    "input 4 4 4 8\nconvolution3dtranspose 4 2 strides=2 use_bias=false",
    "input 7 7 16\nconvolution2dtranspose 8 3",
]

SEPARABLE_DEPTHWISE = [
    "input 50 8\nseparableconv1d 16 3",
    "input 50 8\nseparableconv1d 16 3 relu padding=same strides=2 depth_multiplier=3",
    "input 50 8\nseparableconv1d 16 3 dilation_rate=2 use_bias=false",
    "input 8 50\nseparableconv1d 16 5 data_format=channels_first",
    "input ? 8\nseparableconvolution1d 4 3",
    "input 28 28 3\nseparableconv2d 32 3",
    "input 28 28 3\nseparableconv2d 32 (3, 5) strides=2 padding=same depth_multiplier=2",
    "input 28 28 3\nseparableconv2d 32 3 use_bias=false pointwise_initializer=he_uniform",
    "input 3 28 28\nseparableconv2d 8 3 data_format=channels_first",
    "input ? ? 3\nseparableconvolution2d 8 3 dilation_rate=2",
    "input 50 8\ndepthwiseconv1d 3",
    "input 50 8\ndepthwiseconv1d 3 relu depth_multiplier=4 strides=2 padding=same",
    "input 8 ?\ndepthwiseconv1d 3 data_format=channels_first use_bias=false",
    "input 28 28 3\ndepthwiseconv2d 3",
    "input 28 28 3\ndepthwiseconv2d (3, 5) depth_multiplier=2 strides=2",
    "input 28 28 3\ndepthwiseconv2d 3 dilation_rate=3 padding=same use_bias=false",
    "input 3 28 28\ndepthwiseconv2d 3 depth_multiplier=2 data_format=channels_first",
    "input ? 28 3\ndepthwiseconv2d 5",
]

POOLING = [
    "input 100 8\nmaxpool1d",
    "input 101 8\nmaxpool1d 3",
    "input 101 8\nmaxpool1d 3 strides=2 padding=same",
    "input 101 8\nmaxpool1d 3 strides=1",
    "input ? 8\navgpool1d 2",
    "input 8 101\navgpool1d 4 data_format=channels_first",
    "input 10 ?\naveragepooling1d 2 padding=same",
    "input 10 4\nmaxpooling1d (5,)",
    "input 28 28 3\nmaxpool2d",
    "input 27 27 3\nmaxpool2d 2",
    "input 27 27 3\nmaxpool2d 2 padding=same",
    "input 28 28 3\nmaxpool2d (3, 2) strides=(1, 2)",
    "input 28 28 3\nmaxpool2d 3 strides=2",
    "input 3 28 27\nmaxpool2d 2 data_format=channels_first",
    "input ? 28 3\nmaxpooling2d 2",
    "input 28 28 3\navgpool2d (2, 2)",
    "input 28 28 3\navgpool2d 5 strides=3 padding=same",
    "input 3 ? 28\naveragepooling2d 2 data_format=channels_first",
    "input 16 16 16 2\nmaxpool3d",
    "input 15 16 17 2\nmaxpool3d (2, 3, 4) strides=2 padding=same",
    "input 2 16 16 16\nmaxpooling3d 2 data_format=channels_first",
    "input 16 16 16 2\navgpool3d 3",
    "input ? 16 16 2\naveragepooling3d (1, 2, 2)",
    "input 100 8\nglobalavgpool1d",
    "input ? 8\nglobalavgpool1d keepdims=true",
    "input 8 100\nglobalaveragepooling1d data_format=channels_first",
    "input 100 8\nglobalmaxpool1d",
    "input 8 ?\nglobalmaxpooling1d data_format=channels_first keepdims=true",
    "input 28 28 3\nglobalavgpool2d",
    "input 28 28 3\nglobalaveragepooling2d keepdims=true",
    "input 3 ? ?\nglobalavgpool2d data_format=channels_first keepdims=true",
    "input 28 28 3\nglobalmaxpool2d",
    "input 3 28 28\nglobalmaxpooling2d data_format=channels_first",
    "input 8 8 8 2\nglobalavgpool3d",
    "input 8 8 8 2\nglobalaveragepooling3d keepdims=true",
    "input 8 8 8 2\nglobalmaxpool3d keepdims=true",
    "input 2 8 8 8\nglobalmaxpooling3d data_format=channels_first",
    "input 8 8 ?\nglobalmaxpool2d",
]

SPATIAL = [
    "input 10 3\nupsampling1d",
    "input ? 3\nupsampling1d 3",
    "input 10 10 3\nupsampling2d",
    "input 10 10 3\nupsampling2d (2, 3) interpolation=bilinear",
    "input 3 10 ?\nupsampling2d 4 data_format=channels_first",
    "input 4 4 4 2\nupsampling3d",
    "input 4 ? 4 2\nupsampling3d (1, 2, 3)",
    "input 2 4 4 4\nupsampling3d 2 data_format=channels_first",
    "input 10 3\nzeropadding1d",
    "input 10 3\nzeropadding1d 4",
    "input 10 3\nzeropadding1d (1, 3)",
    "input 3 10\nzeropadding1d (0, 2) data_format=channels_first",
    "input ? 3\nzeropadding1d 2",
    "input 10 10 3\nzeropadding2d",
    "input 10 10 3\nzeropadding2d 2",
    "input 10 10 3\nzeropadding2d (1, 2)",
    "input 10 10 3\nzeropadding2d ((1, 2), (3, 4))",
    "input 3 10 ?\nzeropadding2d ((0, 1), (2, 3)) data_format=channels_first",
    "input 5 5 5 1\nzeropadding3d",
    "input 5 5 5 1\nzeropadding3d (1, 2, 3)",
    "input 5 ? 5 1\nzeropadding3d ((1, 0), (0, 1), (2, 2))",
    "input 1 5 5 5\nzeropadding3d 1 data_format=channels_first",
    "input 10 3\ncropping1d",
    "input 10 3\ncropping1d 4",
    "input 10 3\ncropping1d (0, 3)",
    "input ? 3\ncropping1d (2, 1)",
    "input 10 10 3\ncropping2d",
    "input 10 10 3\ncropping2d 2",
    "input 10 10 3\ncropping2d (1, 4)",
    "input 10 10 3\ncropping2d ((1, 2), (3, 4))",
    "input 3 10 ?\ncropping2d ((0, 1), (2, 3)) data_format=channels_first",
    "input 6 6 6 1\ncropping3d",
    "input 6 6 6 1\ncropping3d (0, 1, 2)",
    "input 6 ? 6 1\ncropping3d ((1, 0), (0, 1), (2, 2))",
    "input 1 6 6 6\ncropping3d 1 data_format=channels_first",
]

STACKS = [
    "input 28 28 1\nconv2d 32 3 relu\nmaxpool2d\nconv2d 64 3 relu\nmaxpool2d\nflatten\ndense 10 softmax",
    "input 32 32 3\nconv2d 16 3 padding=same\nbatchnorm\nrelu\nseparableconv2d 32 3 padding=same\n"
    "depthwiseconv2d 3 strides=2 padding=same\nglobalavgpool2d\ndense 10",
    "input 28 28 1\nzeropadding2d 2\nconv2d 8 5\ncropping2d 1\nupsampling2d\nconv2dtranspose 1 3 padding=same",
    "input 100 16\nconv1d 32 5 relu padding=causal\nmaxpool1d\nupsampling1d\nglobalmaxpool1d\ndense 1",
    "input 784\nreshape 28 28 1\nconv2d 8 3 relu\navgpool2d 2\nflatten",
    "input 16 16 16 1\nconv3d 4 3 padding=same\nmaxpool3d\nconv3dtranspose 2 2 strides=2\nglobalavgpool3d",
]


@pytest.mark.parametrize("text", CONV)
def test_conv_matches_keras(text, registry):
    assert_keras_parity(text, registry)


@pytest.mark.parametrize("text", TRANSPOSE)
def test_conv_transpose_matches_keras(text, registry):
    assert_keras_parity(text, registry)


@pytest.mark.parametrize("text", SEPARABLE_DEPTHWISE)
def test_separable_and_depthwise_match_keras(text, registry):
    assert_keras_parity(text, registry)


@pytest.mark.parametrize("text", POOLING)
def test_pooling_matches_keras(text, registry):
    assert_keras_parity(text, registry)


@pytest.mark.parametrize("text", SPATIAL)
def test_spatial_reshaping_matches_keras(text, registry):
    assert_keras_parity(text, registry)


@pytest.mark.parametrize("text", STACKS)
def test_conv_stack_matches_keras(text, registry):
    assert_keras_parity(text, registry)


def test_every_conv_layer_and_alias_is_a_real_keras_class(registry):
    """Names are Keras' own: the class exists and every alias is a lower-cased Keras name for it."""
    import keras

    from nndsl.builtins.layers_conv import LAYERS

    by_lower: dict[str, set] = {}
    for attr in dir(keras.layers):
        obj = getattr(keras.layers, attr)
        if isinstance(obj, type):
            by_lower.setdefault(attr.lower(), set()).add(obj)
    from nndsl.backends.keras import KerasLowering

    lowering = KerasLowering(registry)
    for layer in LAYERS:
        cls = getattr(keras.layers, lowering.layer(layer.name).cls)
        for alias in layer.aliases:
            assert cls in by_lower.get(alias, set()), (layer.name, alias)
        assert registry.layers[layer.name] is layer
        # every Keras alias of the class is accepted
        keras_names = {a.lower() for a in dir(keras.layers) if getattr(keras.layers, a) is cls}
        assert keras_names <= {layer.name, *layer.aliases}, (layer.name, keras_names)


def test_emitted_call_reads_like_keras(registry):
    import nndsl

    model = nndsl.check("input 28 28 1\nconv2d 32 3 relu", registry=registry)
    node = model.nodes[0]
    from nndsl.backends.keras import KerasLowering

    call = KerasLowering(registry).call(node.op, node.attr, node.explicit)
    assert (call.cls, call.args, call.kwargs) == ("Conv2D", (32, 3), (("activation", "relu"),))


REJECTED = [  # (spec nndsl rejects with E400, the same layer in Keras, its input shape)
    ("input 2 2 1\nconv2d 8 3", lambda L: L.Conv2D(8, 3), (2, 2, 1)),
    ("input 9 1\nconv1d 8 3 dilation_rate=5", lambda L: L.Conv1D(8, 3, dilation_rate=5), (9, 1)),
    ("input 8 8 3\nconv2d 8 3 groups=2", lambda L: L.Conv2D(8, 3, groups=2), (8, 8, 3)),
    ("input 8 8 4\nconv2d 6 3 groups=4", lambda L: L.Conv2D(6, 3, groups=4), (8, 8, 4)),
    ("input 28 28 ?\nconv2d 8 3", lambda L: L.Conv2D(8, 3), (28, 28, None)),
    ("input 20 20 1\nconv2d 8 3 strides=2 dilation_rate=2",
     lambda L: L.Conv2D(8, 3, strides=2, dilation_rate=2), (20, 20, 1)),
    ("input 20 1\nconv1dtranspose 8 3 strides=2 output_padding=2",
     lambda L: L.Conv1DTranspose(8, 3, strides=2, output_padding=2), (20, 1)),
    ("input 3 3 1\nmaxpool2d 4", lambda L: L.MaxPooling2D(4), (3, 3, 1)),
    ("input 5 5 2\ncropping2d 3", lambda L: L.Cropping2D(3), (5, 5, 2)),
    ("input 5 1\ncropping1d (2, 3)", lambda L: L.Cropping1D((2, 3)), (5, 1)),
    ("input 784\nconv2d 32 3", lambda L: L.Conv2D(32, 3), (784,)),
]


@pytest.mark.parametrize("text, make, shape", REJECTED)
def test_what_nndsl_rejects_keras_rejects_too(text, make, shape, registry):
    import keras

    import nndsl

    with pytest.raises(nndsl.SpecError) as info:
        nndsl.check(text, registry=registry)
    assert [d.code for d in info.value.diagnostics if d.is_error] == ["E400"]
    with pytest.raises((ValueError, TypeError)):  # unknown channels: Keras fails on None % groups
        make(keras.layers)(keras.Input(shape=shape))

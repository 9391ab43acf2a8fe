"""Convolution/pooling misuse gives a located diagnostic with a useful hint (no Keras needed)."""

from __future__ import annotations

import pytest

import nndsl
from nndsl import codes


def errors_of(text: str, registry):
    with pytest.raises(nndsl.SpecError) as info:
        nndsl.check(text, registry=registry)
    return [d for d in info.value.diagnostics if d.is_error]


def only_error(text: str, registry):
    errors = errors_of(text, registry)
    assert len(errors) == 1, errors
    return errors[0]


def test_conv2d_on_a_vector_says_reshape(registry):
    d = only_error("input 784\nconv2d 32 3", registry)
    assert d.code == codes.SHAPE
    assert "conv2d: expects a 4-D input (batch, rows, cols, channels), got (None, 784)" in d.message
    assert "reshape 28 28 1" in d.hint
    assert (d.span.line, d.span.column) == (2, 1)


def test_conv2d_on_a_vector_channels_first_puts_the_channel_first(registry):
    d = only_error("input 784\nconv2d 32 3 data_format=channels_first", registry)
    assert "(batch, channels, rows, cols)" in d.message
    assert "reshape 1 28 28" in d.hint


def test_conv2d_without_channel_axis_suggests_adding_one_or_conv1d(registry):
    d = only_error("input 28 28\nconv2d 8 3", registry)
    assert d.code == codes.SHAPE
    assert "reshape 28 28 1" in d.hint and "conv1d" in d.hint


def test_non_square_vector_gets_a_generic_reshape_hint(registry):
    d = only_error("input 100\nconv2d 8 3", registry)  # 100 is a square, 99 is not
    assert "reshape 10 10 1" in d.hint
    d = only_error("input 99\nconv2d 8 3", registry)
    assert d.hint == "reshape each sample to (rows, cols, channels) first"
    d = only_error("input 100 7\nconv3d 8 3", registry)
    assert "expects a 5-D input" in d.message
    assert d.hint == "use conv1d for (batch, steps, channels) inputs"


def test_too_many_dimensions_points_at_the_3d_layer(registry):
    d = only_error("input 8 8 8 2\nmaxpool2d", registry)
    assert d.code == codes.SHAPE
    assert "maxpool3d" in d.hint


def test_depthwise_has_no_3d_sibling_to_suggest(registry):
    d = only_error("input 8 8 8 2\ndepthwiseconv2d 3", registry)
    assert "depthwiseconv3d" not in (d.hint or "")


@pytest.mark.parametrize("text, what", [
    ("input 2 2 1\nconv2d 8 3", "kernel_size 3"),
    ("input 10 10 1\nconv2d 8 (3, 11)", "kernel_size 11"),
    ("input 9 1\nconv1d 8 3 dilation_rate=5", "spans 11"),
    ("input 4 4 4 1\nconv3d 2 5", "kernel_size 5"),
    ("input 4 4 1\nseparableconv2d 2 5", "kernel_size 5"),
    ("input 4 1\ndepthwiseconv1d 5", "kernel_size 5"),
    ("input 3 3 1\nmaxpool2d 4", "pool_size 4"),
    ("input 3 1\navgpool1d 4", "pool_size 4"),
])
def test_window_larger_than_input_suggests_padding_same(registry, text, what):
    d = only_error(text, registry)
    assert d.code == codes.SHAPE
    assert what in d.message and "larger than" in d.message
    assert "padding=same" in d.hint


def test_padding_same_accepts_a_large_kernel(registry):
    model = nndsl.check("input 2 2 1\nconv2d 8 3 padding=same", registry=registry)
    assert model.nodes[0].shape == (2, 2, 8)


@pytest.mark.parametrize("text", [
    "input 28 28 ?\nconv2d 8 3",
    "input ? 28 28\nconv2d 8 3 data_format=channels_first",
    "input 10 ?\nseparableconv1d 4 3",
    "input 10 10 ?\ndepthwiseconv2d 3",
    "input 10 10 ?\nconv2dtranspose 4 3",
])
def test_unknown_channel_dimension_is_an_error(registry, text):
    d = only_error(text, registry)
    assert d.code == codes.SHAPE
    assert "channel dimension" in d.message


def test_unknown_spatial_dims_stay_unknown(registry):
    model = nndsl.check("input ? 28 3\nconv2d 8 3 strides=2\nmaxpool2d\nupsampling2d\nconv2dtranspose 4 3",
                        registry=registry)
    assert [n.shape for n in model.nodes] == [(None, 13, 8), (None, 6, 8), (None, 12, 8), (None, 14, 4)]


@pytest.mark.parametrize("text, words", [
    ("input 8 8 3\nconv2d 8 3 groups=2", "3 input channels cannot be split into 2 groups"),
    ("input 8 8 4\nconv2d 6 3 groups=4", "filters 6 cannot be split into 4 groups"),
])
def test_groups_must_divide_channels_and_filters(registry, text, words):
    d = only_error(text, registry)
    assert d.code == codes.SHAPE
    assert words in d.message


@pytest.mark.parametrize("text, words", [
    ("input 20 20 1\nconv2d 8 3 strides=2 dilation_rate=2", "dilation_rate"),
    ("input 20 1\nconv1dtranspose 8 3 strides=2 output_padding=2", "output_padding"),
    ("input 5 5 1\ncropping2d 3", "cropping 3 + 3"),
    ("input 5 1\ncropping1d (2, 3)", "cropping 2 + 3"),
    ("input 1 1\nconv1dtranspose 2 2 padding=same output_padding=0", "empty"),
])
def test_settings_keras_rejects_are_shape_errors(registry, text, words):
    d = only_error(text, registry)
    assert d.code == codes.SHAPE
    assert words in d.message and d.hint


@pytest.mark.parametrize("text, param, code", [
    ("input 8 8 1\nconv2d 8 0", "kernel_size", codes.ARG_RANGE),
    ("input 8 8 1\nconv2d 8 (3, 0)", "kernel_size", codes.ARG_RANGE),
    ("input 8 8 1\nconv2d 0 3", "filters", codes.ARG_RANGE),
    ("input 8 8 1\nconv2d 8 3 strides=-1", "strides", codes.ARG_RANGE),
    ("input 8 8 1\nconv2d 8 3 dilation_rate=0", "dilation_rate", codes.ARG_RANGE),
    ("input 8 8 1\nconv2d 8 3 groups=0", "groups", codes.ARG_RANGE),
    ("input 8 8 1\nmaxpool2d 0", "pool_size", codes.ARG_RANGE),
    ("input 8 8 1\nmaxpool2d 2 strides=0", "strides", codes.ARG_RANGE),
    ("input 8 8 1\ndepthwiseconv2d 3 depth_multiplier=0", "depth_multiplier", codes.ARG_RANGE),
    ("input 8 8 1\nzeropadding2d -1", "padding", codes.ARG_RANGE),
    ("input 8 8 1\ncropping2d ((1, -2), (0, 0))", "cropping", codes.ARG_RANGE),
    ("input 8 8 1\nconv2dtranspose 8 3 strides=2 output_padding=-1", "output_padding", codes.ARG_RANGE),
    ("input 8 8 1\nconv2d 8 (3, 3, 3)", "kernel_size", codes.ARG_TYPE),
    ("input 8 8 1\nconv2d 8 3.5", "kernel_size", codes.ARG_TYPE),
    ("input 8 8 1\nconv2d 8 3 use_bias=1", "use_bias", codes.ARG_TYPE),
    ("input 8 8 1\nupsampling2d (2, 2, 2)", "size", codes.ARG_TYPE),
    ("input 8 1\nupsampling1d (2, 2)", "size", codes.ARG_TYPE),
])
def test_bad_arguments(registry, text, param, code):
    d = only_error(text, registry)
    assert d.code == code, d
    assert f"'{param}'" in d.message


@pytest.mark.parametrize("text, expected, hint", [
    ("input 8 8 1\nconv2d 8 3 padding=sam", "one of valid, same", "'same'"),
    ("input 8 8 1\nconv2d 8 3 padding=foo", "one of valid, same, got 'foo'", None),
    ("input 8 8 1\nconv2d 8 3 padding=causal", "one of valid, same, got", None),  # conv1d only
    ("input 8 1\nconv1d 8 3 padding=casual", "one of valid, same, causal", "'causal'"),
    ("input 8 8 1\nmaxpool2d padding=vallid", "one of valid, same", "'valid'"),
    ("input 8 8 1\nconv2d 8 3 data_format=channel_first", "channels_last", "'channels_first'"),
    ("input 8 8 1\nupsampling2d interpolation=bilinar", "nearest", "'bilinear'"),
    ("input 8 8 1\nconv2d 8 3 kernel_initializer=he_normall", "he_normal", "'he_normal'"),
])
def test_bad_choices_say_what_is_allowed(registry, text, expected, hint):
    d = only_error(text, registry)
    assert d.code == codes.ARG_TYPE
    assert expected in d.message
    if hint is not None:
        assert hint in (d.hint or "")


def test_misspelled_option_suggests_the_keras_name(registry):
    d = only_error("input 8 8 1\nconv2d 8 3 stride=2", registry)
    assert d.code == codes.UNKNOWN_KEYWORD
    assert "strides" in d.hint


def test_conv_options_are_not_accepted_by_the_wrong_layer(registry):
    assert only_error("input 8 8 1\nconv2dtranspose 8 3 groups=2", registry).code == codes.UNKNOWN_KEYWORD
    assert only_error("input 8 1\ncropping1d 1 data_format=channels_first", registry).code == codes.UNKNOWN_KEYWORD
    assert only_error("input 8 8 8 1\nupsampling3d interpolation=bilinear", registry).code == codes.UNKNOWN_KEYWORD


def test_average_pooling_needs_a_pool_size_like_keras(registry):
    d = only_error("input 8 8 1\navgpool2d", registry)
    assert d.code == codes.MISSING_ARG
    assert "pool_size" in d.message


def test_missing_kernel_size(registry):
    d = only_error("input 8 8 1\nconv2d 8", registry)
    assert d.code == codes.MISSING_ARG
    assert "kernel_size" in d.message


def test_an_error_does_not_cascade(registry):
    errors = errors_of("input 784\nconv2d 32 3\nmaxpool2d\nflatten\ndense 10", registry)
    assert [e.code for e in errors] == [codes.SHAPE]


def test_checking_conv_specs_never_imports_keras(registry):
    import subprocess
    import sys

    code = ("import sys, nndsl\n"
            "nndsl.check('input 28 28 1; conv2d 8 3 relu; maxpool2d; conv2dtranspose 4 3 strides=2;"
            " zeropadding2d 1; cropping2d 1; upsampling2d; globalavgpool2d')\n"
            "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules, 'imported keras'\n")
    subprocess.run([sys.executable, "-c", code], check=True)

"""Every layer the torch backend lowers computes what Keras computes (after the weight copy),
with the same parameter count: one small spec per layer and option that has a trap in it."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from torch_plugin_registry import torch_registry  # noqa: E402
from nndsl.testing import PASS, Case, check  # noqa: E402

pytestmark = pytest.mark.keras

LAYER_SPECS = {
    "dense": "input 6\ndense 4 relu use_bias=false\ndense 3 softmax",
    "dense_3d": "input 5 6\ndense 4 gelu",
    "activations": "input 8\ndense 8 elu\nselu\nsoftplus\nsoftsign\nswish\nmish\nhard_sigmoid\nhard_silu\nrelu6\n"
                   "leaky_relu\nlog_sigmoid\ncelu\nhard_tanh\ntanh_shrink\nsquareplus\nsparse_plus\nsparse_sigmoid\n"
                   "log_softmax",
    "glu": "input 8\nglu",
    "leakyrelu": "input 8\nleakyrelu 0.1\ndense 2",
    "relu_layer": "input 8\nrelu 0.5 negative_slope=0.1 threshold=0.2\nrelu 6",
    "normalization": "input 4 5\nnormalization\nnormalization axis=(1, 2) invert=true\nnormalization axis=none",
    "positionembedding": "input 6 4\npositionembedding 10\ndropout 0.5 noise_shape=(?, 1, 4)",
    "rescaling": "input 8\nrescaling 0.5 1.0",
    "conv1d_causal": "input 12 3\nconv1d 4 3 padding=causal dilation_rate=2",
    "conv1d_same_stride2": "input 11 3\nconv1d 4 4 strides=2 padding=same",
    "conv2d_same_stride2": "input 9 10 3\nconv2d 5 3 relu strides=2 padding=same",
    "conv2d_even_kernel_same": "input 8 8 2\nconv2d 3 (2, 4) padding=same",
    "conv2d_groups_dilation": "input 9 9 4\nconv2d 6 3 groups=2 dilation_rate=2",
    "conv2d_channels_first": "input 3 9 9\nconv2d 4 3 data_format=channels_first",
    "conv3d": "input 6 6 6 2\nconv3d 3 3 strides=2 padding=same",
    "conv1dtranspose": "input 7 3\nconv1dtranspose 4 3 strides=2",
    "conv2dtranspose_same": "input 5 5 3\nconv2dtranspose 4 3 strides=2 padding=same",
    "conv2dtranspose_valid_small_kernel": "input 5 5 3\nconv2dtranspose 4 1 strides=3",
    "conv2dtranspose_output_padding": "input 5 5 2\nconv2dtranspose 3 3 strides=2 padding=same output_padding=1",
    "conv3dtranspose": "input 3 3 3 2\nconv3dtranspose 2 2 strides=2",
    "depthwiseconv2d": "input 9 9 3\ndepthwiseconv2d 3 depth_multiplier=2 strides=2 padding=same",
    "depthwiseconv1d": "input 9 3\ndepthwiseconv1d 3 depth_multiplier=3",
    "separableconv2d": "input 9 9 3\nseparableconv2d 5 3 relu depth_multiplier=2 padding=same",
    "separableconv1d": "input 9 3\nseparableconv1d 4 3 strides=2",
    "maxpool_same": "input 9 9 2\nmaxpool2d 2 padding=same",
    "avgpool_same": "input 9 9 2\navgpool2d 3 strides=2 padding=same",
    "pool1d_3d": "input 10 2\nmaxpool1d 3 strides=2\navgpool1d 2",
    "pool3d": "input 6 6 6 2\nmaxpool3d 2\navgpool3d 2 padding=same",
    "global_pools": "input 5 5 3\nglobalmaxpool2d keepdims=true\nglobalavgpool2d",
    "global_pools_1d_3d": "input a 6 3\ninput b 4 4 4 2\nx = a -> globalmaxpool1d\ny = b -> globalavgpool3d\n"
                          "output z = concat(x, y)",
    "upsampling": "input 4 4 2\nupsampling2d 2\nupsampling2d (1, 2) interpolation=bilinear",
    "upsampling1d_3d": "input a 4 2\ninput b 2 2 2 1\nx = a -> upsampling1d 3 -> flatten\n"
                       "y = b -> upsampling3d 2 -> flatten\noutput z = concat(x, y)",
    "padding_cropping": "input 6 6 2\nzeropadding2d ((1, 2), (0, 1))\ncropping2d ((2, 0), (1, 1))",
    "padding_cropping_1d_3d": "input a 6 2\ninput b 4 4 4 1\nx = a -> zeropadding1d 2 -> cropping1d (1, 2)"
                              " -> flatten\ny = b -> zeropadding3d 1 -> cropping3d 1 -> flatten\n"
                              "output z = concat(x, y)",
    "batchnorm_options": "input 4 5\nbatchnorm axis=1 momentum=0.9 epsilon=0.01 center=false",
    "layernorm_no_scale": "input 4 5\nlayernorm scale=false epsilon=0.1",
    "groupnorm": "input 4 4 6\ngroupnorm 3",
    "spatialdropout2d": "input 4 4 3\nspatialdropout2d 0.5\ngaussiannoise 0.1\ndropout 0.2",
    "reshape_permute_repeat": "input 12\nreshape 3 4\npermute 2 1\nflatten\nrepeatvector 2",
    "embedding": "input 7\nembedding 30 4\nflatten",
    "lstm": "input 6 3\nlstm 4 return_sequences=true\nlstm 5 go_backwards=true",
    "lstm_no_forget_bias": "input 6 3\nlstm 4 unit_forget_bias=false activation=relu recurrent_activation=hard_sigmoid",
    "gru_reset_before": "input 6 3\ngru 4 reset_after=false return_sequences=true\ngru 3",
    "gru_no_bias": "input 6 3\ngru 4 use_bias=false",
    "simplernn": "input 6 3\nsimplernn 4 activation=relu return_sequences=true\nsimplernn 2",
    "bidirectional_modes": "input 6 3\nbidirectional gru 4 return_sequences=true merge_mode=sum\n"
                           "bidirectional simplernn 3 merge_mode=mul\ndense 2",
    "bidirectional_ave": "input 6 3\nbidirectional lstm 4 merge_mode=ave",
    "masked_lstm": "input 8\nembedding 20 4 mask_zero=true\ndropout 0.1\nbidirectional lstm 3 return_sequences=true\n"
                   "gru 2",
    "attention_options": "input q 5 6\ninput v 7 4\nx = multiheadattention(q, v, num_heads=2, key_dim=3, "
                         "value_dim=5, output_shape=8, use_gate=true)\noutput y = x -> flatten",
    "attention_key": "input q 5 6\ninput v 7 4\ninput k 7 3\n"
                     "output y = multiheadattention(q, v, k, num_heads=3, key_dim=2, use_bias=false)",
    "merges_broadcast": "input a 3 4\ninput b 4\ninput c 1 4\ns = add(a, b, c)\nm = maximum(a, c)\n"
                        "n = minimum(s, m)\noutput y = multiply(n, s)",
    "dot": "input a 4\ninput b 4\ninput c 3 4\ninput d 5 4\nx = dot(a, b, axes=1)\n"
           "y = dot(c, d, axes=(2, 2), normalize=true)\nf = y -> flatten\noutput z = concat(x, f)",
}


# a few traps in the fast suite; every layer with --all (as CI runs)
FAST = {"dense", "conv2d_same_stride2", "conv2dtranspose_same", "gru_reset_before", "lstm", "masked_lstm",
        "attention_options", "batchnorm_options", "avgpool_same"}


@pytest.mark.parametrize("name", [n if n in FAST else pytest.param(n, marks=pytest.mark.slow)
                                  for n in sorted(LAYER_SPECS)])
def test_layer_matches_keras(name, tmp_path):
    path = tmp_path / f"{name}.nn"
    path.write_text(LAYER_SPECS[name] + "\n")
    outcome = check("torch", Case(name, path), torch_registry())
    assert outcome.status == PASS, outcome.detail
    assert "outputs within" in outcome.detail

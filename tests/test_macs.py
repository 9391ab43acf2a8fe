"""MACs (multiply-accumulates, one sample, forward pass) against formulas written out here.

Keras has no such figure, so each expected value is the textbook formula for the layer,
computed in the test from the sizes in the spec, never by the code under test.
"""

from __future__ import annotations

import json

import pytest

import nndsl
from nndsl import cli, ir


def macs_of(text: str, registry, layer: int = -1) -> int:
    return nndsl.check(text, registry=registry).nodes[layer].macs


@pytest.mark.parametrize("text, expected", [
    # dense: inputs x units, once per leading position
    ("input 784\ndense 32", 784 * 32),
    ("input 784\ndense 32 use_bias=false", 784 * 32),
    ("input 10 16\ndense 8", 10 * 16 * 8),
    # conv: H_out * W_out * k * k * C_in * C_out
    ("input 28 28 1\nconv2d 32 3", 26 * 26 * 3 * 3 * 1 * 32),
    ("input 28 28 3\nconv2d 64 3 padding=same strides=2", 14 * 14 * 3 * 3 * 3 * 64),
    ("input 32 32 3\nconv2d 8 (3, 5)", 30 * 28 * 3 * 5 * 3 * 8),
    ("input 16 16 8\nconv2d 16 3 groups=4", 14 * 14 * 3 * 3 * (8 // 4) * 16),
    ("input 3 28 28\nconv2d 16 3 data_format=channels_first", 26 * 26 * 3 * 3 * 3 * 16),
    ("input 100 8\nconv1d 16 3", 98 * 3 * 8 * 16),
    ("input 16 16 16 2\nconv3d 4 3", 14 * 14 * 14 * 27 * 2 * 4),
    # transposed: H_in * W_in * k * k * C_in * C_out (each input scatters one kernel)
    ("input 7 7 16\nconv2dtranspose 8 3 strides=2 padding=same", 7 * 7 * 3 * 3 * 16 * 8),
    ("input 10 8\nconv1dtranspose 4 3 strides=2", 10 * 3 * 8 * 4),
    ("input 4 4 4 8\nconv3dtranspose 4 3", 4 * 4 * 4 * 27 * 8 * 4),
    # depthwise: H_out * W_out * k * k * C_in * depth_multiplier
    ("input 16 16 8\ndepthwiseconv2d 3 padding=same", 16 * 16 * 3 * 3 * 8),
    ("input 16 16 8\ndepthwiseconv2d 3 strides=2 depth_multiplier=2", 7 * 7 * 3 * 3 * 8 * 2),
    ("input 50 4\ndepthwiseconv1d 5", 46 * 5 * 4),
    # separable: the depthwise part plus a 1x1 convolution
    ("input 16 16 8\nseparableconv2d 32 3", 14 * 14 * 9 * 8 + 14 * 14 * 8 * 32),
    ("input 16 16 8\nseparableconv2d 32 3 depth_multiplier=2 padding=same",
     16 * 16 * 9 * 16 + 16 * 16 * 16 * 32),
    ("input 40 6\nseparableconv1d 12 3", 38 * 3 * 6 + 38 * 6 * 12),
    # recurrent: steps * gates * units * (features + units)
    ("input 20 8\nsimplernn 16", 20 * 1 * 16 * (8 + 16)),
    ("input 20 8\nlstm 16", 20 * 4 * 16 * (8 + 16)),
    ("input 20 8\ngru 16 return_sequences=true", 20 * 3 * 16 * (8 + 16)),
    ("input 20 8\nbidirectional lstm 16", 2 * 20 * 4 * 16 * (8 + 16)),
    # attention, self: T=10, d=32, 2 heads of 16: Q, K, V projections, QK^T, AV, output
    ("input 10 32\nmultiheadattention 2 16",
     3 * 10 * 32 * 2 * 16 + 2 * 10 * 10 * 16 + 2 * 10 * 10 * 16 + 10 * 2 * 16 * 32),
])
def test_weighted_layers_count_their_formula(registry, text, expected):
    assert macs_of(text, registry) == expected


def test_cross_attention_with_value_dim_and_output_shape(registry):
    text = "input q 6 12\ninput v 9 20\ny = multiheadattention(q, v, num_heads=3, key_dim=4, value_dim=5, output_shape=7)"
    tq, tv, dq, dv, h, kd, vd, out = 6, 9, 12, 20, 3, 4, 5, 7
    expected = (tq * dq * h * kd + tv * dv * h * kd + tv * dv * h * vd  # Q, K (key = value), V
                + h * tq * tv * kd + h * tq * tv * vd + tq * h * vd * out)
    assert nndsl.check(text, registry=registry).node("y").macs == expected


@pytest.mark.parametrize("text", [
    "input 28 28 1\nmaxpool2d 2", "input 8 8 3\nbatchnorm", "input 10\nrelu", "input 10\ndropout 0.5",
    "input 8 8 3\nglobalavgpool2d", "input 20\nembedding 100 8", "input 6 6 2\nflatten",
    "input a 4\ninput b 4\ny = add(a, b)", "input 8 8 3\nupsampling2d 2", "input 8 8 3\nzeropadding2d 1",
])
def test_other_layers_count_zero(registry, text):
    assert macs_of(text, registry) == 0


@pytest.mark.parametrize("text", [
    "input ? ? 3\nconv2d 8 3", "input ? 8\nlstm 4", "input ? 16\nmultiheadattention 2 8", "input ? 8\ndense 4",
])
def test_an_unknown_size_counts_zero(registry, text):
    assert macs_of(text, registry) == 0


def test_model_total_is_the_sum_and_in_ir_json(registry):
    model = nndsl.check("input 28 28 1\nconv2d 8 3 relu\nflatten\ndense 10", registry=registry)
    conv, dense = 26 * 26 * 9 * 8, 26 * 26 * 8 * 10
    assert [n.macs for n in model.nodes] == [conv, 0, dense]
    assert model.macs == conv + dense
    data = ir.to_json(model)
    assert data["macs"] == conv + dense and [n["macs"] for n in data["nodes"]] == [conv, 0, dense]
    assert ir.from_json(json.loads(json.dumps(data))) == model


def test_ir_json_without_macs_still_loads(registry):
    data = ir.to_json(nndsl.check("input 4\ndense 2", registry=registry))
    for node in data["nodes"]:
        del node["macs"]
    assert ir.from_json(data).nodes[0].macs == 0


def test_summary_has_a_macs_column_and_total(capsys, tmp_path):
    spec = tmp_path / "m.nn"
    spec.write_text("input 28 28 1\nconv2d 32 3\nflatten\ndense 10\n")
    assert cli.main(["summary", str(spec)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["Layer", "(type)", "Output", "Shape", "Param", "#", "MACs"]
    conv, dense = 26 * 26 * 9 * 32, 26 * 26 * 32 * 10
    assert lines[3].split()[-1] == f"{conv:,}" and lines[5].split()[-1] == f"{dense:,}"
    assert f"Total MACs: {conv + dense:,} (one sample, forward pass)" in lines


def test_check_json_reports_layer_and_total_macs(capsys, tmp_path):
    spec = tmp_path / "m.nn"
    spec.write_text("input 8\nh = dense 4\ny = h -> dense 2\n")
    assert cli.main(["check", "--format", "json", str(spec)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["macs"] == 8 * 4 + 4 * 2
    assert report["layer_macs"] == {"h": 8 * 4, "y": 4 * 2}


def test_a_plugin_mac_rule_returning_nonsense_is_a_diagnostic():
    from nndsl.diagnostics import SpecError
    from nndsl.plugins import build_registry, get_plugin_manager
    from nndsl.registry import LayerDef
    import types

    pm = get_plugin_manager(load_entrypoints=False)
    bad = LayerDef("badmacs", "badmacs", (), lambda a, s: s[0], count_macs=lambda a, s: -1)
    pm.register(types.SimpleNamespace(nndsl_layers=nndsl.hookimpl(lambda: [bad])), "badmacs-plugin")
    with pytest.raises(SpecError) as err:
        nndsl.check("input 4\nbadmacs", registry=build_registry(pm))
    assert "MAC-count rule returned -1" in str(err.value.diagnostics[0].message)

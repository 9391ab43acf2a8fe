"""The layers the zoo needs (relu options, normalization, positionembedding, dropout noise_shape,
upper-case padding) against real Keras, plus their bad inputs and a save/load round trip."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nndsl
from nndsl.diagnostics import SpecError
from parity import assert_keras_parity

CASES = [
    "input 16\nrelu max_value=6",
    "input 16\nrelu 6",
    "input 16\nrelu negative_slope=0.1 threshold=0.5",
    "input 8 8 3\nrelu 6.0 negative_slope=0.2",
    "input 8 8 3\nnormalization",
    "input 8 8 3\nnormalization axis=3",
    "input 8 8 3\nnormalization axis=(1, 3)",
    "input 8 8 3\nnormalization axis=none",
    "input 10 5\nnormalization axis=-2 invert=true",
    "input ? ? 3\nnormalization",
    "input 200 dtype=int32\nembedding 20000 32\npositionembedding 200",
    "input 50 dtype=int32\nembedding 100 16\npositionembedding 64 embeddings_initializer=zeros",
    "input ? 8\npositionembedding 30",
    "input 7 7 16\ndropout 0.2 noise_shape=(?, 1, 1, 1)",
    "input 7 7 16\ndropout 0.2 noise_shape=(?, 1, 1, 16) seed=3",
    "input 10 4\ndropout 0.5 noise_shape=(?, 10, 1)",
    "input 28 28 3\nrescaling 0.00392\nnormalization\nconv2d 8 3 padding=SAME",
    "input 28 28 3\nmaxpool2d 3 strides=2 padding=SAME\ndepthwiseconv2d 3 padding=VALID",
]


@pytest.mark.keras
@pytest.mark.parametrize("text", CASES)
def test_zoo_layer_matches_keras(text, registry):
    assert_keras_parity(text, registry)


@pytest.mark.keras
def test_normalization_counts_as_keras_counts(registry):
    """mean and variance per kept index plus Keras' int count weight, all non-trainable."""
    model = assert_keras_parity("input 8 8 3\nnormalization", registry)
    assert (model.params.trainable, model.params.non_trainable) == (0, 3 + 3 + 1)


@pytest.mark.keras
def test_relu_layer_lowers_to_keras_relu_and_bare_relu_stays_an_activation(registry):
    import keras
    from nndsl.backends.keras.build import build_graph

    model = nndsl.check("input 4\nrelu\nrelu max_value=6", registry=registry)
    assert [n.op for n in model.nodes] == ["activation", "relu"]
    _, _, layers = build_graph(model, registry)
    relu6 = layers[model.nodes[1].name]
    assert isinstance(relu6, keras.layers.ReLU) and relu6.max_value == 6.0
    out = relu6(np.array([[-1.0, 3.0, 7.0, 0.0]], dtype="float32"))
    assert np.asarray(out).tolist() == [[0.0, 3.0, 6.0, 0.0]]


@pytest.mark.keras
def test_position_embedding_adds_one_learned_vector_per_position(registry):
    from nndsl.backends.keras.build import build_graph

    model = nndsl.check("input 5 3\npositionembedding 9", registry=registry)
    _, _, layers = build_graph(model, registry)
    layer = layers[model.nodes[0].name]
    x = np.arange(2 * 5 * 3, dtype="float32").reshape(2, 5, 3)
    table = np.asarray(layer.embeddings)
    assert table.shape == (9, 3)
    np.testing.assert_allclose(np.asarray(layer(x)), x + table[:5][None], rtol=1e-6)


@pytest.mark.keras
def test_position_embedding_saves_and_loads(tmp_path, registry):
    import keras
    from nndsl.api import build
    from nndsl.run.keras_trainer import load_keras_model as load_model

    model = nndsl.check("input 12 dtype=int32\nembedding 40 8\npositionembedding 12\nglobalavgpool1d\ndense 2",
                        registry=registry)
    keras_model = build(model, registry=registry)
    path = tmp_path / "m.keras"
    keras_model.save(path)
    loaded = load_model(str(path))
    x = np.arange(24).reshape(2, 12) % 40
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(keras_model(x)), rtol=1e-6)
    assert loaded.count_params() == keras_model.count_params() == model.params.total


@pytest.mark.keras
def test_emitted_script_uses_the_shipped_layer(registry):
    from nndsl.api import emit

    model = nndsl.check("input 6 dtype=int32\nembedding 20 4\npositionembedding 6", registry=registry)
    source = emit(model, "python", registry=registry)
    assert "import nndsl.backends.keras_layers" in source
    namespace: dict = {}
    exec(compile(source, "<emitted>", "exec"), namespace)
    assert namespace["build_model"]().count_params() == model.params.total == 20 * 4 + 6 * 4


@pytest.mark.parametrize("text, code, words", [
    ("input 16\nrelu max_value=-1", "E302", "at least 0"),
    ("input 16\nrelu negative_slope=-0.5", "E302", "at least 0"),
    ("input 16\nrelu threshold=-1", "E302", "at least 0"),
    ("input 16\nrelu alpha=0.1", "E205", "no option 'alpha'"),
    ("input 16\nsigmoid 2", "E300", "bare activation"),
    ("input 8 8 3\nnormalization axis=4", "E400", "out of range"),
    ("input 8 8 3\nnormalization axis=0", "E400", "axis 0"),
    ("input 8 ? 3\nnormalization axis=2", "E400", "known size"),
    ("input 8 8 3\nnormalization axis=1.5", "E301", "integer"),
    ("input 300 dtype=int32\nembedding 100 8\npositionembedding 200", "E400", "longer than max_length 200"),
    ("input 16\npositionembedding 20", "E400", "expects a 3-D input"),
    ("input 10 ?\npositionembedding 20", "E400", "known last"),
    ("input 10 4\npositionembedding 0", "E302", "at least 1"),
    ("input 7 7 16\ndropout 0.2 noise_shape=(?, 1, 1)", "E400", "has 3 axes"),
    ("input 7 7 16\ndropout 0.2 noise_shape=(?, 1, 1, 8)", "E400", "does not broadcast"),
    ("input 7 7 16\ndropout 0.2 noise_shape=(?, 0, 1, 1)", "E302", "positive integer"),
    ("input 7 7 16\ndropout 0.2 noise_shape=4", "E301", "tuple"),
    ("input 8 8 3\nconv2d 4 3 padding=SAMEISH", "E301", "one of valid, same"),
])
def test_bad_inputs_are_diagnostics(registry, text, code, words):
    with pytest.raises(SpecError) as err:
        nndsl.check(text, registry=registry)
    (diag,) = [d for d in err.value.diagnostics if d.is_error]
    assert diag.code == code and words in diag.message


@pytest.mark.parametrize("written", ["SAME", "Same", '"SAME"', "VALID"])
def test_upper_case_padding_is_a_warning_at_the_value(registry, written):
    from nndsl.check import check_source
    from nndsl.diagnostics import Source

    result = check_source(Source(f"input 8 8 3\nconv2d 4 3 padding={written}\n", "<t>"), registry)
    (warning,) = result.warnings
    assert warning.code == "W006" and (warning.span.line, warning.span.column) == (2, 20)
    assert result.model.nodes[0].attr["padding"] == written.strip('"').lower()
    assert "padding" in result.model.nodes[0].explicit


def test_macs_of_new_layers_are_zero(registry):
    model = nndsl.check("input 10 dtype=int32\nembedding 50 4\npositionembedding 10\nrelu 6\nnormalization",
                        registry=registry)
    assert [n.macs for n in model.nodes] == [0, 0, 0, 0]
    assert model.nodes[1].params.total == math.prod((10, 4))

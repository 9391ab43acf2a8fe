"""The standard library (nndsl/std/*.nn): blocks that recur across published models.

The zoo (tests/test_zoo.py) checks most blocks inside whole models against Keras; this file
checks what the zoo does not reach (the basic ResNet block, options left at their defaults
there), that every file documents its source paper, that no file holds a whole model, and
that LANGUAGE.md lists every block.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

import nndsl

STD = Path(nndsl.__file__).resolve().parent / "std"
LANGUAGE = Path(__file__).resolve().parent.parent / "spec" / "LANGUAGE.md"
FILES = sorted(STD.glob("*.nn"))
_BLOCK = re.compile(r"^block\s+([A-Za-z_]\w*)\(", re.M)


def blocks_of(path: Path) -> list[str]:
    return _BLOCK.findall(path.read_text(encoding="utf-8"))


def test_the_library_has_the_blocks_the_issue_asks_for():
    names = {b for f in FILES for b in blocks_of(f)}
    assert {"bottleneck", "basic", "inverted_residual", "dense_layer", "transition", "transformer_encoder",
            "unet_down", "unet_up", "squeeze_excite", "mbconv"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_each_file_cites_its_source_paper(path):
    head = path.read_text(encoding="utf-8").split("\nblock ")[0]
    assert re.search(r"arXiv:\d{4}\.\d{4,5}", head), f"{path.name} does not cite its paper"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_no_file_holds_a_model(path):
    """Blocks only: no input, output or training statement outside a block."""
    top = [line for line in path.read_text(encoding="utf-8").splitlines()
           if line and not line[0].isspace() and not line.startswith("#")]
    assert all(line.startswith(("block ", "include ", "let ", "default ")) for line in top), top


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_each_file_checks_when_included(path, registry):
    nndsl.check(f"include std/{path.stem}\ninput 8\ndense 2", registry=registry)


def test_language_reference_lists_every_block():
    text = LANGUAGE.read_text(encoding="utf-8")
    for path in FILES:
        assert f"std/{path.stem}" in text
        for name in blocks_of(path):
            assert f"`{name}(" in text, f"LANGUAGE.md does not list {name} from std/{path.stem}"


def keras_counts(model) -> tuple[int, int, tuple]:
    return (sum(math.prod(w.shape) for w in model.trainable_weights),
            sum(math.prod(w.shape) for w in model.non_trainable_weights), tuple(model.outputs[0].shape[1:]))


def ir_counts(model) -> tuple[int, int, tuple]:
    return model.params.trainable, model.params.non_trainable, tuple(model.tensor_shape(model.outputs[0]))


@pytest.mark.keras
@pytest.mark.parametrize("stride, shortcut", [(1, False), (2, True), (1, True)])
def test_basic_block_matches_keras(registry, stride, shortcut):
    import keras
    from keras import layers

    def bn(t):
        return layers.BatchNormalization(epsilon=1.001e-5)(t)

    x = keras.Input((16, 16, 32 if not shortcut else 16))
    s = bn(layers.Conv2D(32, 1, strides=stride)(x)) if shortcut else x
    y = layers.Activation("relu")(bn(layers.Conv2D(32, 3, strides=stride, padding="same")(x)))
    y = bn(layers.Conv2D(32, 3, padding="same")(y))
    reference = keras.Model(x, layers.Activation("relu")(layers.Add()([s, y])))
    spec = (f"include std/resnet\ninput 16 16 {32 if not shortcut else 16}\n"
            f"basic 32 stride={stride} shortcut={'true' if shortcut else 'false'}")
    assert ir_counts(nndsl.check(spec, registry=registry)) == keras_counts(reference)


@pytest.mark.keras
def test_squeeze_excite_defaults_to_relu_and_matches_keras(registry):
    import keras
    from keras import layers

    x = keras.Input((8, 8, 24))
    s = layers.Reshape((1, 1, 24))(layers.GlobalAveragePooling2D()(x))
    s = layers.Conv2D(24, 1, padding="same", activation="sigmoid")(layers.Conv2D(6, 1, padding="same", activation="relu")(s))
    reference = keras.Model(x, layers.Multiply()([x, s]))
    model = nndsl.check("include std/squeeze_excite\ninput 8 8 24\nsqueeze_excite 6", registry=registry)
    assert ir_counts(model) == keras_counts(reference)
    assert [n.attr.get("activation") for n in model.nodes if n.op == "conv2d"] == ["relu", "sigmoid"]


@pytest.mark.keras
def test_transformer_encoder_with_its_own_key_dim_matches_keras(registry):
    import keras
    from keras import layers

    x = keras.Input((10, 16))
    a = layers.Dropout(0.1)(layers.MultiHeadAttention(num_heads=2, key_dim=4)(x, x))
    h = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, a]))
    f = layers.Dropout(0.1)(layers.Dense(16)(layers.Dense(8, activation="relu")(h)))
    reference = keras.Model(x, layers.LayerNormalization(epsilon=1e-6)(layers.Add()([h, f])))
    model = nndsl.check("include std/transformer\ninput 10 16\ntransformer_encoder 2 8 key_dim=4", registry=registry)
    assert ir_counts(model) == keras_counts(reference)

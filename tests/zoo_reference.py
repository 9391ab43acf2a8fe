"""The real Keras models the zoo specs (spec/examples/zoo/) must match.

keras.applications models are built with ``weights=None`` (nothing is downloaded). The two
keras.io examples have no library function, so their architectures are rebuilt here from
the tutorials, layer for layer, with the tutorials' hyperparameters:

- "Text classification with Transformer" (Apoorv Nandan;
  https://keras.io/examples/nlp/text_classification_with_transformer/, keras-io
  examples/nlp/text_classification_with_transformer.py): token and position embeddings, one
  Transformer block, global average pooling and a small classifier head.
- "Image segmentation with a U-Net-like architecture" (François Chollet;
  https://keras.io/examples/vision/oxford_pets_image_segmentation/, keras-io
  examples/vision/oxford_pets_image_segmentation.py): an Xception-style encoder of separable
  convolutions and a decoder of transposed convolutions, each stage with a projected residual.
"""

from __future__ import annotations

import math

# keras.applications: (constructor, the functions in its module that build the model)
APPLICATIONS = {
    "vgg16": ("VGG16", "vgg16", ("VGG16",)),
    "resnet50": ("ResNet50", "resnet", ("ResNet", "residual_block_v1", "stack_residual_blocks_v1", "ResNet50")),
    "mobilenet_v2": ("MobileNetV2", "mobilenet_v2", ("MobileNetV2", "_inverted_res_block", "_make_divisible")),
    "densenet121": ("DenseNet121", "densenet", ("dense_block", "transition_block", "conv_block", "DenseNet",
                                                "DenseNet121")),
    "efficientnet_b0": ("EfficientNetB0", "efficientnet", ("DEFAULT_BLOCKS_ARGS", "EfficientNet", "block",
                                                           "EfficientNetB0")),
}

# Lines of the keras.io tutorials' model code, blank and comment-only lines left out, counted
# in the files named above: transformer_text is TransformerBlock (21), TokenAndPositionEmbedding
# (11) and the model statements from `embed_dim = 32` to `model = keras.Model(...)` (14); unet
# is get_model (34). The data sections (vocab_size, maxlen, img_size) are not counted.
TUTORIAL_LINES = {"transformer_text": 46, "unet": 34}


def transformer_text(vocab_size=20000, maxlen=200, embed_dim=32, num_heads=2, ff_dim=32, rate=0.1, classes=2):
    import keras
    from keras import layers, ops

    class TokenAndPositionEmbedding(layers.Layer):
        def __init__(self):
            super().__init__()
            self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
            self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

        def call(self, x):
            positions = self.pos_emb(ops.arange(start=0, stop=ops.shape(x)[-1], step=1))
            return self.token_emb(x) + positions

    class TransformerBlock(layers.Layer):
        def __init__(self):
            super().__init__()
            self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
            self.ffn = keras.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)])
            self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
            self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
            self.dropout1 = layers.Dropout(rate)
            self.dropout2 = layers.Dropout(rate)

        def call(self, inputs):
            out1 = self.layernorm1(inputs + self.dropout1(self.att(inputs, inputs)))
            return self.layernorm2(out1 + self.dropout2(self.ffn(out1)))

    inputs = layers.Input(shape=(maxlen,))
    x = TokenAndPositionEmbedding()(inputs)
    x = TransformerBlock()(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(classes, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def unet(img_size=(160, 160), classes=3):
    import keras
    from keras import layers

    inputs = keras.Input(shape=img_size + (3,))
    x = layers.Conv2D(32, 3, strides=2, padding="same")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    previous = x
    for filters in [64, 128, 256]:
        for _ in range(2):
            x = layers.Activation("relu")(x)
            x = layers.SeparableConv2D(filters, 3, padding="same")(x)
            x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        residual = layers.Conv2D(filters, 1, strides=2, padding="same")(previous)
        x = layers.add([x, residual])
        previous = x
    for filters in [256, 128, 64, 32]:
        for _ in range(2):
            x = layers.Activation("relu")(x)
            x = layers.Conv2DTranspose(filters, 3, padding="same")(x)
            x = layers.BatchNormalization()(x)
        x = layers.UpSampling2D(2)(x)
        residual = layers.UpSampling2D(2)(previous)
        residual = layers.Conv2D(filters, 1, padding="same")(residual)
        x = layers.add([x, residual])
        previous = x
    outputs = layers.Conv2D(classes, 3, activation="softmax", padding="same")(x)
    return keras.Model(inputs, outputs)


def reference_model(name: str, **options):
    """The Keras model a zoo spec mirrors; ``options`` override the defaults (classes=10)."""
    import keras

    if name in APPLICATIONS:
        return getattr(keras.applications, APPLICATIONS[name][0])(weights=None, **options)
    return {"transformer_text": transformer_text, "unet": unet}[name](**options)


def counts(model) -> tuple[int, int, tuple]:
    """(trainable, non-trainable, output shape without the batch) of a Keras model."""
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    non_trainable = sum(math.prod(w.shape) for w in model.non_trainable_weights)
    return trainable, non_trainable, tuple(model.outputs[0].shape[1:])


def keras_source_lines(name: str) -> int:
    """Code lines (no blank, comment or docstring lines) of the keras.applications functions
    (and module constants) that build the model, read from the installed Keras source."""
    import ast
    import importlib.util
    import io
    import os
    import tokenize

    _, module, names = APPLICATIONS[name]
    root = os.path.dirname(importlib.util.find_spec("keras").origin)
    path = os.path.join(root, "src", "applications", f"{module}.py")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    tree = ast.parse(text)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.Module)) and node.body and isinstance(node.body[0], ast.Expr) \
                and isinstance(getattr(node.body[0], "value", None), ast.Constant) \
                and isinstance(node.body[0].value.value, str):
            docstrings.update(range(node.body[0].lineno, node.body[0].end_lineno + 1))
    code_lines = {tok.start[0] for tok in tokenize.generate_tokens(io.StringIO(text).readline)
                  if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                                      tokenize.DEDENT, tokenize.ENDMARKER)}
    wanted = set()
    for node in tree.body:
        target = node.name if isinstance(node, ast.FunctionDef) else (
            node.targets[0].id if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) else None)
        if target in names:
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            wanted.update(range(start, node.end_lineno + 1))
    return len((wanted & code_lines) - docstrings)

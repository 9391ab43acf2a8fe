"""Keras layer classes nndsl ships for layers Keras does not have.

Imported only when a model is built or loaded (it imports Keras). Each class is registered
with ``keras.saving.register_keras_serializable(package="nndsl")``, so a saved ``.keras``
file loads wherever ``import nndsl.backends.keras_layers`` has run; emitted scripts import
this module for the same reason.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="nndsl")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned vector for each position 0..steps-1 to a (batch, steps, features) input.

    The same as the keras.io Transformer text classifier's ``Embedding(maxlen, embed_dim)``
    of ``arange(steps)`` added to the token embeddings: one ``(max_length, features)`` weight.

    Args:
        max_length: the longest sequence the layer takes.
        embeddings_initializer: how the position vectors start (Keras Embedding's default).
    """

    def __init__(self, max_length, embeddings_initializer="uniform", **kwargs):
        super().__init__(**kwargs)
        self.max_length = int(max_length)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.supports_masking = True

    def build(self, input_shape):
        self.embeddings = self.add_weight(shape=(self.max_length, input_shape[-1]),
                                          initializer=self.embeddings_initializer, name="embeddings")

    def call(self, inputs):
        positions = ops.arange(ops.shape(inputs)[-2])
        return inputs + ops.cast(ops.take(self.embeddings, positions, axis=0), inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_length": self.max_length,
                "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer)}


@keras.saving.register_keras_serializable(package="nndsl")
class RandomCrop(keras.layers.RandomCrop):
    """``keras.layers.RandomCrop`` as its documentation describes it: a random window while
    training; otherwise the largest centred window with the target's aspect ratio, resized
    to ``(height, width)`` (what ``resizing H W crop_to_aspect_ratio=true`` does).

    Keras 3.15's own layer returns images uncropped outside training (keras-team/keras#21868),
    so the layer after it, built for the cropped size, fails in ``evaluate`` and ``predict``.
    Training is Keras' own code.
    """

    def transform_images(self, images, transformation, training=True):
        if training:
            return super().transform_images(images, transformation, training=True)
        resized = self.backend.image.resize(images, size=(self.height, self.width), interpolation="bilinear",
                                            data_format=self.data_format, crop_to_aspect_ratio=True)
        return self.backend.cast(resized, self.compute_dtype)

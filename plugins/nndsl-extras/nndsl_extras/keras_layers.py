"""The Keras side of the `scale` layer. Imported only when a model is built."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="nndsl_extras")
class Scale(keras.layers.Layer):
    """y = x * gamma (+ beta): one learnable factor (and offset) per feature of the last axis."""

    def __init__(self, use_offset: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.use_offset = use_offset

    def build(self, input_shape):
        dim = input_shape[-1]
        self.gamma = self.add_weight(shape=(dim,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(dim,), initializer="zeros", name="beta") if self.use_offset else None

    def call(self, x):
        y = x * self.gamma
        return y + self.beta if self.beta is not None else y

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "use_offset": self.use_offset}

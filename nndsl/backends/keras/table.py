"""The Keras lowering of every built-in definition: the Keras backends' ``code_for_op``.

Registered through the public ``nndsl_lowerings`` hook (:mod:`nndsl.builtins.backends`), like
any plugin's entries; a plugin's entry for the same ``(kind, name)`` replaces one of these.
"""

from __future__ import annotations

from ...lowering import Lowering
from .lower import KerasCall, KerasLayer, KerasObject, keras_layer
from .training import OBJECTS


def _bidirectional(attrs, explicit, lowering) -> KerasCall:
    """``Bidirectional(LSTM(...))``: the wrapped layer's own lowering, then the wrapper."""
    inner = lowering.registry.layers[attrs["layer"]]
    wrapped = lowering.default_call(lowering.layer(inner.name), inner.params, attrs, explicit)
    kwargs = (("merge_mode", attrs["merge_mode"]),) if "merge_mode" in explicit else ()
    return KerasCall("Bidirectional", (wrapped,), kwargs)


def _layers() -> list[Lowering]:
    out = [keras_layer(name, cls, positional) for name, cls, positional in (
        # core
        ("dense", "Dense", 1), ("activation", "Activation", 1), ("leakyrelu", "LeakyReLU", 1),
        ("dropout", "Dropout", 1), ("gaussiannoise", "GaussianNoise", 1),
        ("spatialdropout1d", "SpatialDropout1D", 1), ("spatialdropout2d", "SpatialDropout2D", 1),
        ("rescaling", "Rescaling", 1), ("flatten", "Flatten", 0), ("reshape", "Reshape", 1),
        ("permute", "Permute", 1), ("repeatvector", "RepeatVector", 1), ("embedding", "Embedding", 2),
        ("batchnorm", "BatchNormalization", 0), ("layernorm", "LayerNormalization", 0),
        ("groupnorm", "GroupNormalization", 1),
        # recurrent
        ("simplernn", "SimpleRNN", 1), ("lstm", "LSTM", 1), ("gru", "GRU", 1),
        # merges
        ("add", "Add", 0), ("subtract", "Subtract", 0), ("multiply", "Multiply", 0),
        ("average", "Average", 0), ("maximum", "Maximum", 0), ("minimum", "Minimum", 0),
        ("concat", "Concatenate", 0), ("dot", "Dot", 1),
        ("relu", "ReLU", 1), ("normalization", "Normalization", 0),
        # preprocessing and augmentation
        ("textvectorization", "TextVectorization", 1), ("stringlookup", "StringLookup", 0),
        ("integerlookup", "IntegerLookup", 0), ("discretization", "Discretization", 0),
        ("randomflip", "RandomFlip", 1), ("randomrotation", "RandomRotation", 1),
        ("randomzoom", "RandomZoom", 2), ("randomcontrast", "RandomContrast", 1),
        ("resizing", "Resizing", 2), ("centercrop", "CenterCrop", 2),
    )]
    # nndsl's own Keras layer for what Keras lacks (serializable: saved models load back)
    out.append(keras_layer("positionembedding", "PositionEmbedding", 1, module="nndsl.backends.keras_layers"))
    # Keras' RandomCrop with its documented inference behaviour (the centre window): keras#21868
    out.append(keras_layer("randomcrop", "RandomCrop", 2, module="nndsl.backends.keras_layers"))
    out.append(keras_layer("bidirectional", "Bidirectional", 1, lower=_bidirectional))
    out.append(keras_layer("multiheadattention", "MultiHeadAttention", 2, inputs="args"))
    for r in (1, 2, 3):
        out += [keras_layer(f"conv{r}d", f"Conv{r}D", 2),
                keras_layer(f"conv{r}dtranspose", f"Conv{r}DTranspose", 2),
                keras_layer(f"maxpool{r}d", f"MaxPooling{r}D", 1),
                keras_layer(f"avgpool{r}d", f"AveragePooling{r}D", 1),
                keras_layer(f"globalmaxpool{r}d", f"GlobalMaxPooling{r}D", 0),
                keras_layer(f"globalavgpool{r}d", f"GlobalAveragePooling{r}D", 0),
                keras_layer(f"upsampling{r}d", f"UpSampling{r}D", 1),
                keras_layer(f"zeropadding{r}d", f"ZeroPadding{r}D", 1),
                keras_layer(f"cropping{r}d", f"Cropping{r}D", 1)]
    for r in (1, 2):
        out += [keras_layer(f"separableconv{r}d", f"SeparableConv{r}D", 2),
                keras_layer(f"depthwiseconv{r}d", f"DepthwiseConv{r}D", 1)]
    return out


ACTIVATIONS = (
    "relu", "sigmoid", "tanh", "softmax", "gelu", "elu", "selu", "softplus", "softsign", "swish",
    "silu", "mish", "exponential", "hard_sigmoid", "hard_silu", "hard_swish", "relu6",
    "leaky_relu", "log_softmax", "log_sigmoid", "linear", "celu", "glu", "hard_tanh",
    "sparsemax", "squareplus", "tanh_shrink", "hard_shrink", "soft_shrink", "sparse_plus",
    "sparse_sigmoid",
)

OPTIMIZERS = {"sgd": "SGD", "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW", "adagrad": "Adagrad",
              "adadelta": "Adadelta", "adamax": "Adamax", "nadam": "Nadam", "ftrl": "Ftrl", "lion": "Lion"}

METRICS = {
    "accuracy": "accuracy", "binary_accuracy": "binary_accuracy", "categorical_accuracy": "categorical_accuracy",
    "sparse_categorical_accuracy": "sparse_categorical_accuracy",
    "top_k_categorical_accuracy": "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy": "sparse_top_k_categorical_accuracy",
    "auc": "auc", "precision": "precision", "recall": "recall",
    "mse": "mean_squared_error", "mae": "mean_absolute_error", "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error", "rmse": "root_mean_squared_error",
    "binary_crossentropy": "binary_crossentropy", "categorical_crossentropy": "categorical_crossentropy",
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy", "kl_divergence": "kl_divergence",
    "poisson": "poisson", "cosine_similarity": "cosine_similarity", "log_cosh_error": "log_cosh_error",
    "hinge": "hinge", "r2_score": "r2_score",
}

def builtin_lowerings() -> list[Lowering]:
    """Every built-in definition's Keras lowering, as ``nndsl_lowerings(backend="keras")`` returns it.

    Losses, callbacks, regularizers, constraints, initializers and schedules come from
    :data:`nndsl.backends.keras.training.OBJECTS` (a loss: its class; without options compile()
    takes the loss's spelled-out name, :attr:`nndsl.registry.LossDef.long`).
    """
    return [*_layers(),
            *(Lowering("activation", name, name) for name in ACTIVATIONS),
            *(Lowering("optimizer", name, cls) for name, cls in OPTIMIZERS.items()),
            *(Lowering("metric", name, keras) for name, keras in METRICS.items()),
            *(Lowering(kind, name, KerasObject(module, cls)) for (kind, name), (module, cls) in OBJECTS.items())]


__all__ = ["builtin_lowerings", "KerasLayer"]

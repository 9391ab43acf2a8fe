"""Small functions the Keras lowering calls, shared verbatim with the emitted script.

``nndsl run`` imports them; ``nndsl emit --python`` copies their source into the script (see
:data:`nndsl.backends.keras.lower.HELPERS`), so both run the same code. Each must use
only ``keras`` and ``np`` (numpy) and fit in one self-contained function. Keras is imported
inside the functions that need it, so a NumPy-only helper (``balanced_class_weight``) serves
other backends too (the torch trainer) on machines without TensorFlow.
"""

from __future__ import annotations

import numpy as np


def epoch_schedule(schedule):
    """A learning-rate schedule stepped by the epoch number, as LearningRateScheduler calls it."""
    import keras

    def learning_rate(epoch, current=None):
        return float(keras.ops.convert_to_numpy(schedule(epoch)))

    return learning_rate


def balanced_class_weight(labels, classes):
    """Class weights n / (classes * count), scikit-learn's "balanced", from the training labels.

    Labels are class ids, one-hot rows or 0/1 values; a class with no sample gets weight 1.
    """
    if isinstance(labels, dict):  # one output, keyed by its name
        (labels,) = labels.values()
    labels = np.asarray(labels)
    if labels.ndim > 1 and labels.shape[-1] > 1:
        ids = labels.argmax(axis=-1).reshape(-1)
    else:
        ids = np.rint(labels).astype("int64").reshape(-1)
    counts = np.bincount(ids, minlength=classes)[:classes]
    return {c: (float(len(ids) / (classes * int(n))) if n else 1.0) for c, n in enumerate(counts)}


def adapt_preprocessing(model, x, layers, batch_size=256):
    """Adapt preprocessing layers of ``model`` on ``x``, the training inputs, in model order.

    ``layers`` maps each layer's name to the names of the inputs it depends on. ``x`` is one
    array, a dict of arrays by input name, or a tf.data dataset of input batches (the same
    forms). A layer fed straight by an input adapts on that input's values; a layer deeper in
    the model adapts on what the layers before it output in inference mode (earlier layers
    already adapted, augmentation off). Returns one line per layer saying what it learned.
    """
    import keras

    def pick(data, name):
        return data[name] if isinstance(data, dict) else data

    def as_input(values):  # Keras' array adapter takes no str arrays; tf.data takes object ones
        values = np.asarray(values)
        return values.astype(object) if values.dtype.kind == "U" else values

    streamed = hasattr(x, "element_spec") and hasattr(x, "map")
    inputs = {t.name: t for t in model.inputs}
    lines = []
    for name, sources in layers.items():
        layer = model.get_layer(name)
        if len(sources) == 1 and layer.input is inputs[sources[0]]:
            source = sources[0]
            data = x.map(lambda batch, source=source: pick(batch, source)) if streamed else as_input(pick(x, source))
        else:
            sub = keras.Model([inputs[s] for s in sources], layer.input)
            if streamed:
                feed = x.map(lambda batch, sources=sources: [pick(batch, s) for s in sources])
            else:
                feed = [as_input(pick(x, s)) for s in sources]
            data = sub.predict(feed, batch_size=None if streamed else batch_size, verbose=0)
        layer.adapt(data)
        kind = type(layer).__name__
        if kind == "Normalization":
            learned = f"mean and variance of {int(np.prod(layer.mean.shape))} value(s)"
        elif kind == "Discretization":
            learned = f"{len(layer.bin_boundaries)} bin boundaries"
        else:
            learned = f"a vocabulary of {layer.vocabulary_size()} entries"
        lines.append(f"{name} ({kind}): {learned}")
    return lines

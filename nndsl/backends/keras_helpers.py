"""Small functions the Keras lowering calls, shared verbatim with the emitted script.

``nndsl run`` imports them; ``nndsl emit --python`` copies their source into the script (see
:data:`nndsl.backends.keras.lower.HELPERS`), so both run the same code. Each must use
only ``keras`` and ``np`` (numpy) and fit in one self-contained function.
"""

from __future__ import annotations

import keras
import numpy as np


def epoch_schedule(schedule):
    """A learning-rate schedule stepped by the epoch number, as LearningRateScheduler calls it."""

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

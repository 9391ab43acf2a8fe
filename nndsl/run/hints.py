"""Hints ``nndsl run`` gives from the data it is about to train on (NumPy only, no framework).

W010: a numeric input whose training values lie far from unit scale, read by no layer that
rescales it. Dense and convolutional layers start with weights sized for inputs near [-1, 1];
raw 0..255 columns give huge activations and a loss that starts (and often stays) far off:
benchmarks/normalization_csv.py measures a CSV of raw pixel columns at about 0.7 test accuracy
where the same columns with a ``normalization`` layer reach about 0.9.
"""

from __future__ import annotations

import numpy as np

from .. import codes, ir

# Layers that take care of an input's scale when they read it.
SCALERS = ("normalization", "rescaling", "batchnorm", "layernorm", "groupnorm", "discretization")
FAR = 20.0  # |value| beyond which an input counts as far from unit scale
SAMPLE = 10_000  # rows looked at (the first ones: the training rows are already shuffled)


def scale_hints(model: ir.Model, x_train) -> list[str]:
    """``warning[W010]: ...`` lines for inputs far from unit scale that nothing rescales."""
    if not isinstance(x_train, (dict, np.ndarray)):
        return []  # a streamed source: not read twice for a hint
    out = []
    for inp in model.inputs:
        if not inp.dtype.startswith(("float", "bfloat")):
            continue
        readers = {n.op for n in model.nodes if inp.name in n.inputs}
        if not readers or readers & set(SCALERS):
            continue
        values = x_train.get(inp.name) if isinstance(x_train, dict) else x_train
        if not isinstance(values, np.ndarray) or values.size == 0:
            continue
        sample = values[:SAMPLE]
        low, high = float(np.nanmin(sample)), float(np.nanmax(sample))
        if max(abs(low), abs(high)) <= FAR:
            continue
        name = "" if len(model.inputs) == 1 else f" '{inp.name}'"
        out.append(f"warning[{codes.UNSCALED_INPUT}]: input{name} values span {low:g} to {high:g}, far from unit "
                   "scale, and no layer rescales them; add 'normalization' after the input (run adapts it on the "
                   "training split) or 'rescaling' with a fixed factor")
    return out

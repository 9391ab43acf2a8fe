"""Reading the data a ``data`` statement names, for ``nndsl run``, ``evaluate`` and ``emit``.

``data mnist`` is a registered data set (:class:`nndsl.registry.DatasetDef`); ``data "PATH"``
is read by the registered data format that claims the path (:class:`nndsl.registry.DataFormatDef`:
arrays, CSV tables, class-per-subfolder folders, ...). The built-in formats register through the
same ``nndsl_data_formats`` hook as a plugin's (``nndsl/builtins/data_formats.py``). Small data
comes back as arrays (:mod:`nndsl.prepare`); folders and large tables as
:class:`nndsl.data.stream.Split`, read from disk while training.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from .. import ir
from ..errors import DataError


def prepare_data(ref: ir.DataRef, model: ir.Model, registry, *, base_dir: str = ".", seed: int = 0,
                 validation_split: float | None = None, test_split: float | None = 0.1):
    """Load and prepare what ``ref`` names for ``model``; returns :class:`nndsl.prepare.Prepared`.

    Raises:
        DataError: the data cannot be found or read, or does not fit the model.
    """
    from ..datasets import load
    from ..prepare import prepare

    split = {"seed": seed, "validation_split": validation_split, "test_split": test_split}
    if ref.kind == "dataset":
        return prepare(load(ref, registry, base_dir=base_dir), model, registry, **split)
    path = os.path.join(base_dir, os.path.expanduser(ref.value))
    fmt = registry.data_format(ref.value, is_dir=os.path.isdir(path) if os.path.exists(path) else None)
    if fmt is None:
        known = ", ".join(sorted({s for f in registry.data_formats.values() for s in f.suffixes}))
        raise DataError(f"unsupported data file type '{_suffix(ref.value)}' ('{ref.value}'); expected {known} "
                        "or a folder of class subfolders")
    options = dict(ref.options)
    names = {p.name for p in fmt.params}
    foreign = sorted(set(options) - names)
    if foreign:
        raise DataError(f"{', '.join(f'{k}=' for k in foreign)} does not apply to '{ref.value}' ({fmt.name} data)",
                        f"{fmt.name} data takes: {', '.join(sorted(names)) or 'no options'}")
    for p in fmt.params:
        options.setdefault(p.name, p.default)
    return fmt.prepare(path, options, model, registry, shown=ref.value, **split)


def _suffix(path: str) -> str:
    return os.path.splitext(path.rstrip("/"))[1].lower() or os.path.basename(path)


def prepare_arrays(path: str, options: Mapping[str, Any], model: ir.Model, registry, *, shown: str, **split):
    """The ``.npz`` / ``.npy`` / numeric ``.csv`` formats: arrays in memory (:mod:`nndsl.datasets`)."""
    from ..datasets import load_file
    from ..prepare import prepare

    raw = load_file(path, label=options.get("label"), shown=shown)
    return prepare(raw, model, registry, **split)

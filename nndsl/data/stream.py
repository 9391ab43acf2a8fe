"""Data read from disk while training: one :class:`Split` per train / validation / test part.

A data set larger than memory (an image folder, a big CSV) never becomes one array. The
loader lists what is there (file paths, or row numbers of a table), checks it, and splits the
list with the same seeded permutation :func:`nndsl.prepare.prepare` uses for arrays, so a run,
its ``--resume``, ``nndsl evaluate`` and the emitted script see the same rows in each split.
Each :class:`Split` then makes a ``tf.data`` pipeline that reads its rows batch by batch, with
prefetch, as ``fit`` asks for them.

Nothing here imports TensorFlow at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..prepare import _share


@dataclass(frozen=True)
class Split:
    """One split of a streamed data set: how many rows, and how to read them.

    ``make(batch_size, shuffle, seed, labels)`` returns a ``tf.data.Dataset`` of batches:
    ``(x, y)`` pairs when ``labels`` is true, else ``x`` alone (for adapting preprocessing
    layers on the training split). ``x`` is one tensor, or a dict keyed by input name when the
    model has several inputs. ``class_ids`` holds the split's integer class ids when the loader
    knows them cheaply (an image folder), for ``fit class_weight=balanced``.

    Example (the training split of ``data "photos/"``)::

        ds = prepared.x_train.dataset(32, shuffle=True, seed=0)
    """

    rows: int
    make: Callable[[int, bool, Any, bool], Any] = field(repr=False)
    class_ids: Any = field(default=None, repr=False)

    def __len__(self) -> int:
        return self.rows

    def dataset(self, batch_size: int, *, shuffle: bool = False, seed: int | None = None):
        """``(x, y)`` batches, reshuffled every epoch when ``shuffle``."""
        return self.make(batch_size, shuffle, seed, True)

    def features(self, batch_size: int):
        """``x`` batches only, in a fixed order (what preprocessing layers adapt on)."""
        return self.make(batch_size, False, None, False)


def is_stream(data: Any) -> bool:
    """Whether ``data`` (a Prepared field) is read from disk rather than held as arrays."""
    return isinstance(data, Split)


def split_rows(n: int, *, seed: int, validation_split: float | None, test_split: float | None
               ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, list[str]]:
    """(train, validation, test) row numbers of ``n`` rows and the notes saying how.

    The same steps and the same generator as :func:`nndsl.prepare.prepare`: one permutation
    with ``seed``, the first ``test_split`` of it held out as the test set, then
    ``validation_split`` of the rest. ``None`` for a split that is not held out.
    """
    from ..errors import DataError

    for what, share in (("validation_split", validation_split), ("test_split", test_split)):
        if share is not None and not 0.0 <= share < 1.0:
            raise DataError(f"{what} must be in [0, 1), got {share}")
    perm = np.random.default_rng(seed).permutation(n)
    notes = [f"shuffled {n:,} samples with seed {seed}"]
    test = None
    if test_split:
        n_test = _share(n, test_split)
        test, perm = perm[:n_test], perm[n_test:]
        notes.append(f"held out {test_split:.0%} ({n_test:,} samples) as test set")
    else:
        notes.append("no test set (test_split=0)")
    val = None
    if validation_split:
        n_val = _share(len(perm), validation_split)
        val, perm = perm[:n_val], perm[n_val:]
        notes.append(f"held out {validation_split:.0%} ({n_val:,} samples) for validation")
    if len(perm) == 0:
        raise DataError(f"no training samples left: the data has {n:,} and the test/validation splits take them all",
                        "use more data or smaller test_split / validation_split")
    sizes = [f"train {len(perm):,}"] + ([f"validation {len(val):,}"] if val is not None else []) \
        + ([f"test {len(test):,}"] if test is not None else [])
    notes.append(" / ".join(sizes) + " samples")
    return perm, val, test, notes

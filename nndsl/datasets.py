"""Training data for ``nndsl run``: load what a ``data`` statement names, prepare it for Keras.

Two steps, both pure NumPy (nothing here imports TensorFlow or Keras):

* :func:`load` (this module) turns ``data mnist`` (a registered
  :class:`~nndsl.registry.DatasetDef`) or ``data "file.npz"`` into :class:`RawData`: the
  arrays as stored.
* :func:`nndsl.prepare.prepare` fits those arrays to a checked model: scales pixels, reshapes
  samples to the input shapes, encodes labels for each output's loss, shuffles with a seed and
  splits off validation and test sets.

File layouts (paths relative to the spec's directory):

* ``.npz`` (NumPy archive): ``x`` and ``y``, or ``x_train``, ``y_train`` and optionally
  ``x_test``, ``y_test`` (Keras' own ``mnist.npz`` loads as-is). A model with several inputs
  or outputs takes one array per name, prefixed by its role: ``x_NAME`` / ``y_NAME`` (or
  ``x_train_NAME``, ``y_test_NAME``, ... with a test split), where NAME is the spec's input
  or output name. Every array must fit the layout; anything else is an error, not ignored.
* ``.npy`` pair: the path names the inputs file, whose stem is ``x`` or contains ``x`` as
  an underscore-separated word (``x.npy``, ``digits_x.npy``, ``x_train.npy``); the labels
  are the file beside it with that word replaced by ``y`` (``y.npy``, ``digits_y.npy``,
  ``y_train.npy``). For ``x_train.npy``, ``x_test.npy`` and ``y_test.npy`` beside it are
  the test split when both exist.
* ``.csv``: a header row naming the columns, then numbers only; the label column is
  ``label=NAME`` (default: the last column), every other column is an input feature.

Pickles are never loaded (``allow_pickle=False`` always); an archive holding one is an error.
"""

from __future__ import annotations

import csv
import os
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from typing import Mapping, Sequence, Union

import numpy as np

from . import ir
from .errors import DataError  # noqa: F401 - re-exported

Arrays = Union[np.ndarray, "dict[str, np.ndarray]"]

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_NPY_MAGIC = b"\x93NUMPY"


@dataclass(frozen=True)
class RawData:
    """Arrays as loaded, before preparation.

    Each ``x``/``y`` is one array (single input / output) or a dict keyed by the spec's
    input / output names. ``x_test``/``y_test`` are None when the data has no test split.
    ``source`` says in words where the data came from (printed by ``run``).
    """

    x_train: Arrays
    y_train: Arrays
    x_test: Arrays | None
    y_test: Arrays | None
    source: str


# Loading ----------------------------------------------------------------------------------


def load(data_ref: ir.DataRef, registry, *, base_dir: str = ".") -> RawData:
    """Load what a ``data`` statement names: a registered data set or a file.

    Args:
        data_ref: the checked ``data`` statement.
        registry: where ``data NAME`` is looked up.
        base_dir: relative paths resolve against it (the spec file's directory).

    Raises:
        DataError: the data cannot be found or read, or is not in a supported layout.
    """
    options = dict(data_ref.options)
    if data_ref.kind == "dataset":
        definition = registry.datasets.get(data_ref.value)
        if definition is None:
            known = ", ".join(sorted(registry.datasets)) or "none"
            raise DataError(f"unknown data set '{data_ref.value}' (registered: {known})",
                            'a file is written as a quoted path: data "file.npz"')
        if options.get("label") is not None:
            raise DataError(f"label={options['label']} applies to CSV files, not to data set '{data_ref.value}'")
        try:
            raw = definition.load()
        except DataError:
            raise
        except Exception as exc:  # noqa: BLE001 - a plugin's loader is untrusted code
            raise DataError(f"data set '{data_ref.value}' failed to load: {type(exc).__name__}: {exc}") from exc
        if not isinstance(raw, RawData):
            raise DataError(f"data set '{data_ref.value}' returned {type(raw).__name__}; "
                            "expected nndsl.datasets.RawData")
        return raw
    path = os.path.join(base_dir, os.path.expanduser(data_ref.value))
    return load_file(path, label=options.get("label"), shown=data_ref.value)


def load_file(path: str, *, label: str | None = None, shown: str | None = None) -> RawData:
    """Load a ``.npz``, ``.npy`` (pair) or ``.csv`` file; ``shown`` is the name used in messages."""
    shown = shown or path
    if not os.path.exists(path):
        raise DataError(f"data file '{shown}' not found (looked for {os.path.abspath(path)})",
                        "paths are relative to the spec file's directory")
    if os.path.isdir(path):
        raise DataError(f"data path '{shown}' is a directory; expected a .npz, .npy or .csv file")
    ext = os.path.splitext(path)[1].lower()
    if ext != ".csv" and label is not None:
        raise DataError(f"label={label} applies to CSV files, not to '{shown}'",
                        "in an .npz the labels are the arrays named y, y_train, y_test or y_NAME")
    if ext == ".npz":
        return _load_npz(path, shown)
    if ext == ".npy":
        return _load_npy_pair(path, shown)
    if ext == ".csv":
        return _load_csv(path, shown, label)
    raise DataError(f"unsupported data file type '{ext or os.path.basename(path)}' ('{shown}'); "
                    "expected .npz, .npy or .csv")


def _magic(path: str, shown: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(6)
    except OSError as exc:
        raise DataError(f"cannot read '{shown}': {exc.strerror or exc}") from None


def _not_npy_reason(head: bytes) -> str:
    if head[:1] == b"\x80":
        return "it looks like a Python pickle, which nndsl never loads"
    if not head:
        return "it is empty"
    return "it does not start with a NumPy or zip signature"


def _header_dtype(fh, shown: str, name: str) -> np.dtype:
    """Read one .npy header (without the data) to see its dtype."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            _, _, dtype = fmt.read_array_header_1_0(fh)
        else:
            _, _, dtype = fmt.read_array_header_2_0(fh)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"'{shown}': array '{name}' is truncated or corrupt ({exc})") from None
    return dtype


def _pickle_error(shown: str, name: str) -> DataError:
    return DataError(f"'{shown}': array '{name}' holds Python objects (a pickle); nndsl never loads "
                     "pickles from data files",
                     "save plain numeric arrays: np.savez(path, x=x.astype('float32'), y=y)")


def _read_npz(path: str, shown: str) -> dict[str, np.ndarray]:
    head = _magic(path, shown)
    if head.startswith(_NPY_MAGIC):
        raise DataError(f"'{shown}' is a single .npy array, not an .npz archive",
                        "rename it to .npy (with its labels in a y.npy beside it), or save both "
                        "with np.savez(path, x=x, y=y)")
    if not head.startswith(_ZIP_MAGIC):
        raise DataError(f"'{shown}' is not an .npz archive: {_not_npy_reason(head)}")
    arrays: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.namelist() if not m.endswith("/")]
            for member in members:
                if not member.endswith(".npy"):
                    raise DataError(f"'{shown}' holds '{member}', which is not a .npy array",
                                    "an .npz holds only arrays: np.savez(path, x=x, y=y)")
                with zf.open(member) as fh:
                    if _header_dtype(fh, shown, member[:-4]).hasobject:
                        raise _pickle_error(shown, member[:-4])
        with np.load(path, allow_pickle=False) as npz:
            for name in npz.files:
                arrays[name] = npz[name]
    except DataError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as exc:
        raise DataError(f"'{shown}' is truncated or corrupt: {type(exc).__name__}: {exc}") from None
    return arrays


def _load_npz(path: str, shown: str) -> RawData:
    arrays = _read_npz(path, shown)
    if not arrays:
        raise DataError(f"'{shown}' holds no arrays", "expected x and y, or x_train, y_train, x_test, y_test")
    groups: dict[tuple[str, str], dict[str | None, np.ndarray]] = {}
    odd: list[str] = []
    for key, arr in arrays.items():
        parsed = _parse_key(key)
        if parsed is None:
            odd.append(key)
            continue
        role, split, name = parsed
        groups.setdefault((role, split), {})[name] = arr
    expected = ("expected x and y, or x_train, y_train (and x_test, y_test); with several inputs or "
                "outputs x_NAME / y_NAME (x_train_NAME, ...) named like the spec's inputs and outputs")
    found = ", ".join(sorted(arrays))
    if odd:
        raise DataError(f"'{shown}' has arrays that fit no layout: {', '.join(sorted(odd))} (found: {found})",
                        expected)
    splits = {split for _, split in groups}
    if "" in splits and splits - {""}:
        raise DataError(f"'{shown}' mixes unsplit arrays (x, y) with train/test ones (found: {found})",
                        "use either x, y or x_train, y_train, x_test, y_test")
    train = "" if "" in splits else "train"
    for role in ("x", "y"):
        if (role, train) not in groups:
            want = role if train == "" else f"{role}_train"
            raise DataError(f"'{shown}' has no '{want}' array (found: {found})", expected)
    has_test = ("x", "test") in groups or ("y", "test") in groups
    if has_test and not (("x", "test") in groups and ("y", "test") in groups):
        missing = "y_test" if ("x", "test") in groups else "x_test"
        raise DataError(f"'{shown}' has a test split without '{missing}' (found: {found})",
                        "give both x_test and y_test, or neither")

    def pick(role: str, split: str) -> Arrays | None:
        group = groups.get((role, split))
        if group is None:
            return None
        if None in group:
            if len(group) > 1:
                base = role if not split else f"{role}_{split}"
                named = ", ".join(f"{base}_{n}" for n in sorted(k for k in group if k is not None))
                raise DataError(f"'{shown}' has both '{base}' and per-name arrays ({named})",
                                "use one array per input/output name, or a single unnamed one")
            return group[None]
        return {name: arr for name, arr in group.items() if name is not None}

    x_train, y_train = pick("x", train), pick("y", train)
    x_test, y_test = pick("x", "test"), pick("y", "test")
    n = _length(x_train)
    described = f"{_count_words(n)} samples" + (f" + {_count_words(_length(x_test))} test" if x_test is not None else "")
    return RawData(x_train, y_train, x_test, y_test, f"{shown} ({described})")


def _parse_key(key: str) -> tuple[str, str, str | None] | None:
    """``x`` -> (x, "", None); ``x_train`` -> (x, train, None); ``y_test_out`` -> (y, test, out)."""
    role, _, rest = key.partition("_")
    if role not in ("x", "y"):
        return None
    if key == role:
        return role, "", None
    for split in ("train", "test"):
        if rest == split:
            return role, split, None
        if rest.startswith(split + "_") and len(rest) > len(split) + 1:
            return role, split, rest[len(split) + 1:]
    return (role, "", rest) if rest else None


def _load_array(path: str, shown: str) -> np.ndarray:
    head = _magic(path, shown)
    if not head.startswith(_NPY_MAGIC):
        raise DataError(f"'{shown}' is not a .npy array: {_not_npy_reason(head)}")
    try:
        with open(path, "rb") as fh:
            if _header_dtype(fh, shown, os.path.basename(shown)).hasobject:
                raise _pickle_error(shown, os.path.basename(shown))
        return np.load(path, allow_pickle=False)
    except DataError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"'{shown}' is truncated or corrupt: {type(exc).__name__}: {exc}") from None


def _swap_word(stem: str, old: str, new: str) -> str | None:
    words = stem.split("_")
    hits = [i for i, w in enumerate(words) if w.lower() == old]
    if len(hits) != 1:
        return None
    words[hits[0]] = new if words[hits[0]].islower() else new.upper()
    return "_".join(words)


def _load_npy_pair(path: str, shown: str) -> RawData:
    folder, filename = os.path.split(path)
    stem, ext = os.path.splitext(filename)
    label_stem = _swap_word(stem, "x", "y")
    if label_stem is None:
        raise DataError(f"cannot tell where the labels of '{shown}' are",
                        "name the inputs file x.npy (or digits_x.npy, x_train.npy) and put the "
                        "labels beside it as y.npy (digits_y.npy, y_train.npy)")
    label_path = os.path.join(folder, label_stem + ext)
    label_shown = os.path.join(os.path.dirname(shown), label_stem + ext)
    if not os.path.exists(label_path):
        raise DataError(f"labels file '{label_shown}' not found beside '{shown}'",
                        f"a .npy inputs file needs its labels in {label_stem + ext} next to it")
    x, y = _load_array(path, shown), _load_array(label_path, label_shown)
    x_test = y_test = None
    test_stem = _swap_word(stem, "train", "test")
    described = f"{_count_words(_length(x))} samples"
    if test_stem is not None:
        xt_path = os.path.join(folder, test_stem + ext)
        yt_stem = _swap_word(test_stem, "x", "y") or ""
        yt_path = os.path.join(folder, yt_stem + ext)
        if os.path.exists(xt_path) and os.path.exists(yt_path):
            x_test = _load_array(xt_path, os.path.join(os.path.dirname(shown), test_stem + ext))
            y_test = _load_array(yt_path, os.path.join(os.path.dirname(shown), yt_stem + ext))
            described += f" + {_count_words(_length(x_test))} test"
    return RawData(x, y, x_test, y_test, f"{shown} + {label_shown} ({described})")


def _load_csv(path: str, shown: str, label: str | None) -> RawData:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            header = next(csv.reader(fh), None)
    except UnicodeDecodeError as exc:
        raise DataError(f"'{shown}' is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})") from None
    except OSError as exc:
        raise DataError(f"cannot read '{shown}': {exc.strerror or exc}") from None
    if not header:
        raise DataError(f"'{shown}' is empty", "a CSV needs a header row naming the columns, then rows of numbers")
    names = [h.strip() for h in header]
    if all(_is_number(n) for n in names):
        raise DataError(f"'{shown}' has no header row: its first row is numbers ({', '.join(names[:4])}"
                        f"{', ...' if len(names) > 4 else ''})",
                        "add a first row naming the columns, e.g. f1,f2,...,label")
    if len(names) < 2:
        raise DataError(f"'{shown}' has one column ({names[0]!r}); expected input columns and a label column")
    if label is None:
        label_at = len(names) - 1
    else:
        hits = [i for i, n in enumerate(names) if n == label]
        if not hits:
            raise DataError(f"'{shown}' has no column '{label}' (columns: {', '.join(names)})",
                            "label=NAME names the label column; by default it is the last one")
        if len(hits) > 1:
            raise DataError(f"'{shown}' has {len(hits)} columns named '{label}'")
        label_at = hits[0]
    table = _read_numbers(path, shown, names)
    if table.shape[0] == 0:
        raise DataError(f"'{shown}' has a header but no rows of data")
    labels = table[:, label_at]
    features = np.delete(table, label_at, axis=1).astype(np.float32)
    if np.all(np.isfinite(labels)) and np.all(labels == np.round(labels)):
        labels = labels.astype(np.int64)
    else:
        labels = labels.astype(np.float32)
    return RawData(features, labels, None, None,
                   f"{shown} ({_count_words(len(features))} rows, {features.shape[1]} features, "
                   f"label column '{names[label_at]}')")


def _read_numbers(path: str, shown: str, names: Sequence[str]) -> np.ndarray:
    """NumPy's fast reader; when it refuses, find the exact line and field ourselves."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": handled by the caller
            table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, comments=None,
                               quotechar='"', dtype=np.float64, encoding="utf-8-sig")
    except (ValueError, UnicodeDecodeError):
        _explain_bad_csv(path, shown, names)
        raise DataError(f"'{shown}' could not be read as numbers") from None
    if table.shape[0] and table.shape[1] != len(names):
        raise DataError(f"'{shown}': the rows have {table.shape[1]} fields but the header names {len(names)} columns")
    return table


def _explain_bad_csv(path: str, shown: str, names: Sequence[str]) -> None:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            next(reader, None)
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                line = reader.line_num
                if len(row) != len(names):
                    raise DataError(f"'{shown}' line {line} has {len(row)} fields; the header has {len(names)} "
                                    f"({', '.join(names)})", "every row needs one value per column")
                for name, value in zip(names, row):
                    if not _is_number(value):
                        raise DataError(f"'{shown}' line {line}, column '{name}': {value.strip()!r} is not a number",
                                        "every column must be numeric; encode categories as integers first")
    except UnicodeDecodeError as exc:
        raise DataError(f"'{shown}' is not UTF-8 text (offset {exc.start})") from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True



def _length(data: Arrays) -> int:
    return len(next(iter(data.values()))) if isinstance(data, Mapping) else len(data)


def _count_words(n: int) -> str:
    return f"{n:,}"

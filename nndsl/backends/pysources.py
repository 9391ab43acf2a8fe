"""The emitted script's loaders for data folders and tables (``data "photos/"``, ``data "t.csv"``).

They do in plain Python, NumPy and ``tf.data`` what :mod:`nndsl.data.folders` and
:mod:`nndsl.data.tables` do for ``nndsl run``: the same file listing and checks (the script
carries the source of :func:`nndsl.data.folders.image_bytes_problem` and ``text_bytes_problem``), the same
class ids, the same seeded permutation and splits, the same decoding, resizing and scaling, the
same missing-value policy; so a script trains on exactly the files and rows ``run`` would. A
folder is read from disk through ``tf.data`` as ``run`` reads it; a table is loaded into memory
(``run`` streams tables over 256 MiB; the script says so in a comment).

Every value taken from the spec (paths, names, options) is rendered by
:func:`nndsl.backends.pysource.literal`.
"""

from __future__ import annotations

import inspect

from .. import ir
from .pysource import literal

INDENT = "    "

_SPLIT = '''

def split_rows(n):
    """(train, validation, test) row numbers: one seeded permutation, test first, as `nndsl run` splits."""
    order = np.random.default_rng(DATA_SEED).permutation(n)
    n_test = share(n, TEST_SPLIT)
    test, order = order[:n_test], order[n_test:]
    n_val = share(len(order), VALIDATION_SPLIT)
    return order[n_val:], (order[:n_val] if n_val else None), (test if n_test else None)
'''

_FOLDER = '''

def list_folder():
    """Class folders in sorted order; their files (sorted, every level below), checked like `nndsl run`."""
    top = data_path(DATA_DIR)
    classes = sorted(e for e in os.listdir(top) if not e.startswith(".") and os.path.isdir(os.path.join(top, e)))
    paths, ids, bad = [], [], []
    for class_id, name in enumerate(classes):
        for root, dirs, files in os.walk(os.path.join(top, name)):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for filename in sorted(files):
                full = os.path.join(root, filename)
                if filename.startswith(".") or not filename.lower().endswith(SUFFIXES):
                    continue
                why = problem(full)
                if why is not None:
                    bad.append(os.path.relpath(full, top) + " " + why)
                    continue
                paths.append(full)
                ids.append(class_id)
    if bad and BAD_FILES == "stop":
        raise SystemExit("cannot read: " + str.join("; ", bad[:5]) + " (bad_files=skip in the spec trains without them)")
    for line in bad:
        print("skipped:", line)
    return classes, np.array(paths), np.array(ids, dtype=np.int64)


def read(path):
    """One sample from one file, as `nndsl run` reads it."""
    if TEXT:
        return tf.reshape(tf.io.read_file(path), SHAPE)
    image = tf.io.decode_image(tf.io.read_file(path), channels=CHANNELS, expand_animations=False)
    image = tf.image.resize(image, IMAGE_SIZE, method="bilinear")
    image.set_shape(IMAGE_SIZE + (CHANNELS,))
    image = image / 255.0
    return tf.squeeze(image, -1) if SQUEEZE else image


def dataset(paths, labels, shuffle):
    """Files read from disk in batches: shuffled names, parallel decoding, prefetch."""
    ds = tf.data.Dataset.from_tensor_slices((paths, labels))
    if shuffle:
        ds = ds.shuffle(len(paths), seed=SEED, reshuffle_each_iteration=True)
    ds = ds.map(read_pair, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(BATCH_SIZE).prefetch(tf.data.AUTOTUNE)


def read_pair(path, label):
    return read(path), label


def load_data():
    """(train, validation, test) tf.data pipelines, split exactly as `nndsl run` splits."""
    classes, paths, ids = list_folder()
    print("classes:", str.join(", ", ["%d %s" % item for item in enumerate(classes)]))
    labels = prepare_labels(ids, *OUTPUTS[OUTPUT])
    train, val, test = split_rows(len(paths))
    return part(paths, labels, train, SHUFFLE), part(paths, labels, val, False), part(paths, labels, test, False)


def part(paths, labels, rows, shuffle):
    return None if rows is None else dataset(paths[rows], labels[rows], shuffle)


def features(ds):
    """The inputs of a pipeline of (inputs, labels) batches (what preprocessing layers adapt on)."""
    return ds.map(first)


def first(x, y):
    return x


def file_bytes(path, offset=0, count=-1):
    """Bytes of a file (NumPy reads them: the script opens no file itself)."""
    return np.fromfile(path, dtype=np.uint8, count=count, offset=offset).tobytes()
'''

_TABLE = '''

def read_table():
    """(column names, rows of fields) of the table."""
READ_TABLE_BODY


def missing(value):
    return value is None or value.strip() in MISSING


def load_data():
    """(train, validation, test) arrays keyed by the spec's names, as `nndsl run` prepares a table."""
    header, rows = read_table()
    at = {name: i for i, name in enumerate(header)}
    label = LABEL if LABEL is not None else header[-1]
    outputs = {name: at[name if len(OUTPUTS) > 1 else label] for name in OUTPUTS}
    if len(INPUTS) == 1 and next(iter(INPUTS)) not in at:  # one input, every other column
        feeds = {next(iter(INPUTS)): [i for i in range(len(header)) if i not in outputs.values()]}
    else:
        feeds = {name: [at[name]] for name in INPUTS}
    used = [c for cols in feeds.values() for c in cols] + list(outputs.values())
    if MISSING_VALUES == "stop":
        gaps = {header[c]: sum(missing(r[c]) for r in rows) for c in used}
        if any(gaps.values()):
            raise SystemExit("missing values: " + str.join(", ", ["%s %d" % item for item in gaps.items() if item[1]])
                             + " (missing=drop or missing=fill in the spec)")
    words = {name: sorted({r[c].strip() for r in rows if not missing(r[c])}) for name, c in outputs.items()}
    if MISSING_VALUES == "drop":
        rows = [r for r in rows if not any(missing(r[c]) for c in used)]
    train, val, test = split_rows(len(rows))
    fills = {}
    if MISSING_VALUES == "fill":  # numbers: the mean of the training rows; words: ""
        for name, cols in feeds.items():
            for c in cols:
                if INPUTS[name][1] != "string":
                    present = [float(rows[i][c]) for i in train if not missing(rows[i][c])]
                    fills[c] = sum(present) / len(present) if present else 0.0
    for name in outputs:
        try:
            [float(w) for w in words[name]]
            words[name] = None  # numbers: labels as they are
        except ValueError:
            print("classes:", str.join(", ", ["%d %s" % item for item in enumerate(words[name])]))

    table = (rows, feeds, outputs, words, fills)
    return (arrays(table, train), arrays(table, val) if val is not None else None,
            arrays(table, test) if test is not None else None)


def value(field, c, strings, fills):
    if missing(field):
        return fills.get(c, "") if strings else fills.get(c, float("nan"))
    return field if strings else float(field)


def arrays(table, index):
    """(x, y) of the rows ``index``, keyed by the spec's names, prepared as `nndsl run` prepares them."""
    rows, feeds, outputs, words, fills = table
    x, y = {}, {}
    for name, cols in feeds.items():
        shape, dtype = INPUTS[name]
        if dtype == "string":
            column = np.array([value(rows[i][cols[0]], cols[0], True, fills) for i in index], dtype="object")
            x[name] = column.reshape((len(index),) + shape)
        else:
            numbers = np.array([[value(rows[i][c], c, False, fills) for c in cols] for i in index], dtype=np.float64)
            x[name] = prepare_input(numbers.reshape((len(index),) + dims(shape)), shape, dtype)
    for name, c in outputs.items():
        if words[name] is not None:
            ids = {w: k for k, w in enumerate(words[name])}
            raw = np.array([ids[rows[i][c].strip()] for i in index], dtype=np.int64)
        else:
            raw = np.array([float(rows[i][c]) for i in index])
            raw = raw.astype(np.int64) if np.all(raw == np.round(raw)) else raw
        y[name] = prepare_labels(raw, *OUTPUTS[name])
    return (x if len(x) > 1 else next(iter(x.values()))), (y if len(y) > 1 else next(iter(y.values())))
'''


_READ_CSV = '''    table = np.loadtxt(data_path(DATA_FILE), delimiter=",", dtype=str, quotechar='"', comments=None,
                       encoding="utf-8-sig", ndmin=2)
    return [name.strip() for name in table[0]], [list(r) for r in table[1:]]'''

_READ_PARQUET = '''    import pyarrow.parquet as pq  # pip install pyarrow

    columns = pq.read_table(data_path(DATA_FILE)).to_pydict()
    return list(columns), [list(r) for r in zip(*([text(v) for v in c] for c in columns.values()))]


def text(value):
    """A Parquet value as the text a CSV file would hold."""
    if value is None:
        return None
    return "NaN" if value != value else value if isinstance(value, str) else str(value)'''


AS_DATASET = '''

def as_dataset(pair, shuffle=False):
    """(x, y) arrays as a tf.data pipeline of batches (Keras takes words only this way), as `nndsl run` feeds them."""
    if pair is None:
        return None
    ds = tf.data.Dataset.from_tensor_slices(pair)
    if shuffle:
        ds = ds.shuffle(len(pair[1] if not isinstance(pair[1], dict) else next(iter(pair[1].values()))), seed=SEED,
                        reshuffle_each_iteration=True)
    return ds.batch(BATCH_SIZE).prefetch(tf.data.AUTOTUNE)
'''


def _source(fn) -> list[str]:
    return inspect.getsource(fn).rstrip("\n").split("\n")


def folder_lines(model: ir.Model, data: ir.DataRef, path: str):
    """(imports, constants, functions, streams) for ``data "FOLDER/"``; None when only ``run`` can say why not."""
    from ..data import folders
    from ..errors import DataError

    options = dict(data.options)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        return None
    inp, out = model.inputs[0], model.outputs[0]
    text = inp.dtype == "string"
    constants = [f"DATA_DIR = {literal(path)}  # relative to this script's folder",
                 f"OUTPUT = {literal(out)}",
                 f"BAD_FILES = {literal(options.get('bad_files') or 'stop')}",
                 f"TEXT = {literal(text)}"]
    if text:
        constants += [f"SUFFIXES = {literal(folders.TEXT_SUFFIXES)}", f"SHAPE = {literal(tuple(inp.shape))}"]
        functions = _source(folders.text_bytes_problem) + ["", "", "def problem(path):",
                                                           f"{INDENT}return text_bytes_problem(file_bytes(path))"]
    else:
        try:
            size, channels, squeeze, _ = folders._image_geometry(inp, options, data.value)
        except DataError:
            return None  # no image input: `nndsl run` says why
        constants += [f"SUFFIXES = {literal(folders.IMAGE_SUFFIXES)}", f"IMAGE_SIZE = {literal(tuple(size))}",
                      f"CHANNELS = {literal(channels)}", f"SQUEEZE = {literal(squeeze)}"]
        functions = _source(folders.image_bytes_problem) + [
            "", "", "def problem(path):", f"{INDENT}size = os.path.getsize(path)",
            f"{INDENT}return image_bytes_problem(file_bytes(path, 0, 16), file_bytes(path, max(0, size - 32)), size)"]
    functions += _SPLIT.split("\n") + _FOLDER.rstrip("\n").split("\n")
    return {"import os", "import tensorflow as tf"}, constants, functions, True


def table_lines(model: ir.Model, data: ir.DataRef, path: str) -> tuple[set[str], list[str], list[str], bool]:
    """(imports, constants, functions, streams) for ``data "table.csv"`` / ``.parquet``."""
    from ..data import tables

    options = dict(data.options)
    constants = [f"DATA_FILE = {literal(path)}  # loaded into memory here; `nndsl run` streams tables over "
                 f"{tables.STREAM_BYTES >> 20} MiB",
                 f"LABEL = {literal(options.get('label'))}",
                 f"MISSING_VALUES = {literal(options.get('missing') or 'stop')}",
                 f"MISSING = {literal(tuple(sorted(tables.MISSING)))}"]
    parquet = path.lower().endswith((".parquet", ".pq"))
    table = _TABLE.replace("READ_TABLE_BODY", _READ_PARQUET if parquet else _READ_CSV)
    functions = _SPLIT.split("\n") + table.rstrip("\n").split("\n")
    return {"import os"}, constants, functions, False

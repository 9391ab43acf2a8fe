"""Tables with named columns: ``data "penguins.csv" label=species`` (and Parquet).

Each model input is fed by the column of its name (``input age 1`` by column ``age``,
``input sex 1 dtype=string`` by column ``sex``); a model with one input that names no column
takes every column but the label (numbers only). The label column is ``label=NAME`` (default:
the last column); with several outputs, each output is fed by the column of its name. A label
column of words (``Adelie``, ``Gentoo``) becomes class ids in sorted order, as class folders do.

The file is read once before training to check it: every row has one field per column, every
number is a number (an error names the place as ``file:line:col``), and missing values
(empty, ``NA``, ``NaN``, ``null``, ...) are counted per column. ``missing=stop`` (the default)
reports the counts; ``missing=drop`` leaves such rows out; ``missing=fill`` puts in the
column's mean over the training rows (numbers) or an empty string (words). Then the rows are
split with the same seeded permutation as arrays (:func:`nndsl.data.stream.split_rows`).

Small tables are then loaded into memory (shuffled whole every epoch); a table over
``STREAM_BYTES``, or any with ``stream=true``, is read from disk in chunks while training
(``tf.data``, rows reshuffled in a window of ``SHUFFLE_ROWS``), so a table larger than memory
trains with flat memory. Either way the same functions turn raw fields into arrays.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from .. import ir
from ..errors import DataError
from .stream import Split, split_rows

MISSING = frozenset({"", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "<NA>", "#N/A"})
STREAM_BYTES = 256 << 20  # stream=auto reads larger tables from disk while training
CHUNK_ROWS = 4096
SHUFFLE_ROWS = 10_000
MAX_CLASSES = 1000  # distinct words in a label column before it is refused as not a class label

TRAIN, VALIDATION, TEST, DROPPED = 0, 1, 2, 255


# Reading rows -----------------------------------------------------------------------------


class CsvTable:
    """A CSV file read row by row: a header row of names, then one row per sample."""

    kind = "CSV"

    def __init__(self, path: str, shown: str):
        self.path, self.shown = path, shown
        try:
            with open(path, newline="", encoding="utf-8-sig") as fh:
                header = next(csv.reader(fh), None)
        except UnicodeDecodeError as exc:
            raise DataError(f"{shown}:1:1: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                            f"{exc.start})") from None
        except OSError as exc:
            raise DataError(f"cannot read '{shown}': {exc.strerror or exc}") from None
        if not header:
            raise DataError(f"'{shown}' is empty", "a table needs a header row naming the columns, then rows")
        self.names = [h.strip() for h in header]
        if all(_is_number(n) for n in self.names):
            raise DataError(f"{shown}:1:1: no header row: the first row is numbers ({', '.join(self.names[:4])}"
                            f"{', ...' if len(self.names) > 4 else ''})",
                            "add a first row naming the columns, e.g. f1,f2,...,label")
        self.size = os.path.getsize(path)

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[tuple[list[int], list[list[str]]]]:
        """(line numbers, rows of fields), ``size`` rows at a time; blank lines are skipped."""
        try:
            with open(self.path, newline="", encoding="utf-8-sig") as fh:
                reader = csv.reader(fh)
                next(reader, None)
                lines: list[int] = []
                rows: list[list[str]] = []
                for row in reader:
                    if not row or (len(row) == 1 and not row[0].strip()):
                        continue
                    lines.append(reader.line_num)
                    rows.append(row)
                    if len(rows) == size:
                        yield lines, rows
                        lines, rows = [], []
                if rows:
                    yield lines, rows
        except UnicodeDecodeError as exc:
            raise DataError(f"'{self.shown}' is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                            f"{exc.start:,})") from None
        except csv.Error as exc:
            raise DataError(f"'{self.shown}' is not a well-formed CSV file: {exc}") from None

    def where(self, line: int, field: int | None) -> str:
        """``file:line:col`` of a field (the 0-based ``field``; None: the line's end)."""
        return f"{self.shown}:{line}:{_field_column(self.path, line, field)}"


class ParquetTable:
    """A Parquet file read in record batches (needs pyarrow: ``pip install nndsl[parquet]``)."""

    kind = "Parquet"

    def __init__(self, path: str, shown: str):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise DataError(f"reading '{shown}' needs pyarrow, which is not installed",
                            "install it with: pip install nndsl[parquet]") from None
        self.path, self.shown = path, shown
        try:
            self.file = pq.ParquetFile(path)
        except Exception as exc:  # noqa: BLE001 - pyarrow's errors: not a Parquet file, truncated, ...
            raise DataError(f"'{shown}' is not a readable Parquet file: {exc}") from None
        self.names = list(self.file.schema_arrow.names)
        self.size = os.path.getsize(path)

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[tuple[list[int], list[list[str]]]]:
        row = 1
        for batch in self.file.iter_batches(batch_size=size):
            columns = [[None if v is None else _text(v) for v in col.to_pylist()] for col in batch.columns]
            n = batch.num_rows
            yield list(range(row, row + n)), [list(r) for r in zip(*columns)] if columns else [[]] * n
            row += n

    def where(self, line: int, field: int | None) -> str:
        return f"{self.shown}: row {line:,}" + (f", column {field + 1}" if field is not None else "")


def _text(value: Any) -> str:
    if isinstance(value, float) and value != value:
        return "NaN"
    return value if isinstance(value, str) else str(value)


def _field_column(path: str, line: int, field: int | None) -> int:
    """1-based character column where field ``field`` starts on ``line`` (quotes respected)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            for number, text in enumerate(fh, 1):
                if number == line:
                    break
            else:
                return 1
    except (OSError, UnicodeDecodeError):
        return 1
    text = text.rstrip("\r\n")
    if field is None:
        return len(text) + 1
    index, quoted = 0, False
    for col, ch in enumerate(text):
        if index == field:
            return col + 1
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            index += 1
    return len(text) + 1


def open_table(path: str, shown: str):
    if not os.path.exists(path):
        raise DataError(f"data file '{shown}' not found (looked for {os.path.abspath(path)})",
                        "paths are relative to the spec file's directory")
    if os.path.splitext(path)[1].lower() in (".parquet", ".pq"):
        return ParquetTable(path, shown)
    return CsvTable(path, shown)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


# Which columns feed what --------------------------------------------------------------------


@dataclass(frozen=True)
class Feed:
    """Columns that feed one input (or the label of one output)."""

    name: str                 # input or output name
    columns: tuple[int, ...]  # column indexes in the table
    strings: bool             # words (tf.string) rather than numbers
    shape: tuple              # the model's shape for it (without the batch)
    dtype: str = "float32"


def plan_columns(table, model: ir.Model, label: str | None) -> tuple[list[Feed], list[Feed]]:
    """(input feeds, label feeds) by column name; DataError for a column that is not there."""
    names = table.names
    index = {}
    for i, n in enumerate(names):
        if n in index:
            raise DataError(f"'{table.shown}' has two columns named '{n}' (columns {index[n] + 1} and {i + 1})")
        index[n] = i
    listed = ", ".join(names)
    outputs = list(model.outputs)
    if len(outputs) == 1:
        if label is None:
            label_at = len(names) - 1
        elif label not in index:
            raise DataError(f"'{table.shown}' has no column '{label}' (columns: {listed})",
                            "label=NAME names the label column; by default it is the last one")
        else:
            label_at = index[label]
        out_at = {outputs[0]: label_at}
    else:
        missing = [o for o in outputs if o not in index]
        if missing:
            raise DataError(f"the model's outputs {', '.join(outputs)} are fed by the columns of their names, but "
                            f"'{table.shown}' has no column {', '.join(repr(m) for m in missing)} (columns: {listed})")
        out_at = {o: index[o] for o in outputs}
    used = set(out_at.values())
    inputs: list[Feed] = []
    by_name = [inp for inp in model.inputs if inp.name in index]
    if len(model.inputs) == 1 and not by_name:
        inp = model.inputs[0]
        cols = tuple(i for i in range(len(names)) if i not in used)
        if not cols:
            raise DataError(f"'{table.shown}' has only the label column '{names[label_at]}'")
        if inp.dtype == "string":
            raise DataError(f"input '{inp.name}' is dtype=string but '{table.shown}' has no column '{inp.name}'",
                            f"a string input is fed by the column of its name (columns: {listed})")
        inputs.append(Feed(inp.name, cols, False, tuple(inp.shape), inp.dtype))
    else:
        missing = [inp.name for inp in model.inputs if inp.name not in index]
        if missing:
            raise DataError(f"the model's inputs are fed by the columns of their names, but '{table.shown}' has no "
                            f"column {', '.join(repr(m) for m in missing)} (columns: {listed})",
                            "name each input like its column: input age 1, input sex 1 dtype=string")
        for inp in model.inputs:
            at = index[inp.name]
            if at in used:
                raise DataError(f"column '{inp.name}' is the label; it cannot also feed input '{inp.name}'")
            if tuple(inp.shape) not in ((), (1,)):
                raise DataError(f"input '{inp.name}' has shape {tuple(inp.shape)} but is fed by the one column "
                                f"'{inp.name}' (one value per row)", f"declare it as input {inp.name} 1")
            inputs.append(Feed(inp.name, (at,), inp.dtype == "string", tuple(inp.shape), inp.dtype))
    labels = [Feed(o, (at,), False, tuple(model.tensor_shape(o))) for o, at in out_at.items()]
    return inputs, labels


# The checking pass ----------------------------------------------------------------------------


@dataclass
class ColumnStats:
    missing: int = 0
    first_missing: int | None = None
    present: int = 0
    words: set | None = None  # distinct values of a label column while it may be words
    numeric: bool = True      # a label column: every present value a number so far


def scan(table, inputs: Sequence[Feed], labels: Sequence[Feed]) -> tuple[dict[int, ColumnStats], np.ndarray, int]:
    """Read every row once: field counts, numbers, missing values, label values.

    Returns (stats by column, a per-row "has a missing value" mask, rows).
    """
    width = len(table.names)
    stats = {c: ColumnStats() for f in (*inputs, *labels) for c in f.columns}
    number_cols = sorted({c for f in inputs if not f.strings for c in f.columns})
    label_cols = sorted({c for f in labels for c in f.columns})
    for c in label_cols:
        stats[c].words = set()
    masks = []
    rows = 0
    for lines, chunk in table.chunks():
        incomplete = np.zeros(len(chunk), dtype=bool)
        for r, (line, row) in enumerate(zip(lines, chunk)):
            if len(row) != width:
                raise DataError(f"{table.where(line, None if len(row) < width else width)}: this row has "
                                f"{len(row)} fields; the header has {width} ({_short(table.names)})",
                                "every row needs one value per column (quote fields that hold commas)")
            for c, s in stats.items():
                value = row[c]
                if value is None or value.strip() in MISSING:
                    s.missing += 1
                    incomplete[r] = True
                    if s.first_missing is None:
                        s.first_missing = line
                    continue
                s.present += 1
            for c in number_cols:
                value = row[c]
                if value is not None and value.strip() not in MISSING and not _is_number(value):
                    feed = next(f for f in inputs if c in f.columns)
                    raise DataError(f"{table.where(line, c)}: column '{table.names[c]}' holds {value.strip()!r}, "
                                    f"not a number (it feeds input '{feed.name}', {feed.dtype})",
                                    f"words need a string input: input {table.names[c]} 1 dtype=string"
                                    if len(feed.columns) == 1 else "every feature column must hold numbers")
            for c in label_cols:
                value = row[c]
                s = stats[c]
                if value is None or value.strip() in MISSING or s.words is None:
                    continue
                value = value.strip()
                if s.numeric and not _is_number(value):
                    s.numeric = False
                if len(s.words) <= MAX_CLASSES:
                    s.words.add(value)
        masks.append(incomplete)
        rows += len(chunk)
    if rows == 0:
        raise DataError(f"'{table.shown}' has a header but no rows of data")
    for c, s in stats.items():
        if s.present == 0:
            raise DataError(f"column '{table.names[c]}' of '{table.shown}' has no values at all ({s.missing:,} "
                            "missing)", "drop the column from the model, or fill it in the file")
    return stats, np.concatenate(masks), rows


def _short(names: Sequence[str], limit: int = 8) -> str:
    return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")


# Turning fields into arrays ------------------------------------------------------------------


class Converter:
    """Raw fields of a chunk of rows -> (x, y) arrays for the model, the same for memory and streams."""

    def __init__(self, inputs: Sequence[Feed], labels: Sequence[Feed], label_plans: Mapping[str, Any],
                 fills: Mapping[int, Any]):
        self.inputs, self.labels = list(inputs), list(labels)
        self.label_plans, self.fills = label_plans, fills

    def _column(self, rows: Sequence[Sequence[str]], c: int, strings: bool) -> np.ndarray:
        fill = self.fills.get(c, "" if strings else np.nan)
        if strings:
            return np.array([fill if v is None or v.strip() in MISSING else v for v in (r[c] for r in rows)],
                            dtype=object)
        return np.array([fill if v is None or v.strip() in MISSING else v for v in (r[c] for r in rows)],
                        dtype=np.float64)

    def x(self, rows: Sequence[Sequence[str]]) -> dict[str, np.ndarray]:
        out = {}
        for f in self.inputs:
            if f.strings:
                col = self._column(rows, f.columns[0], True)
                out[f.name] = col.reshape((len(rows),) + tuple(f.shape)) if f.shape else col
                continue
            try:  # NumPy parses the strings itself; a missing value sends us the slow way round
                cols = np.array([[r[c] for c in f.columns] for r in rows], dtype=np.float64)
            except (ValueError, TypeError):
                cols = np.stack([self._column(rows, c, False) for c in f.columns], axis=1)
            dtype = "float32" if f.dtype in ("float16", "bfloat16") else f.dtype
            out[f.name] = cols.reshape((len(rows),) + tuple(d if d is not None else -1 for d in f.shape)
                                       ).astype(dtype)
        return out

    def y(self, rows: Sequence[Sequence[str]]) -> dict[str, np.ndarray]:
        out = {}
        for f in self.labels:
            c = f.columns[0]
            classes = self.label_plans[f.name]["classes"]
            if classes is not None:
                index = {w: i for i, w in enumerate(classes)}
                raw = np.array([index[r[c].strip()] for r in rows], dtype=np.int64)
            else:
                raw = self._column(rows, c, False)
                if self.label_plans[f.name]["ids"]:
                    raw = raw.astype(np.int64)
            out[f.name] = self.label_plans[f.name]["convert"](raw)
        return out


def _label_plans(table, labels: Sequence[Feed], stats, model, registry, notes: list[str]) -> dict[str, dict]:
    """How each label column becomes targets: words -> sorted class ids; numbers through prepare's rules."""
    from ..prepare import _plan_labels

    plans = {}
    for f in labels:
        s = stats[f.columns[0]]
        name = table.names[f.columns[0]]
        prefix = f"output '{f.name}': " if len(labels) > 1 else ""
        if not s.numeric:
            if len(s.words) > MAX_CLASSES:
                raise DataError(f"label column '{name}' holds more than {MAX_CLASSES:,} different words; a class "
                                "label has a few", "is it the right column? label=NAME names it")
            classes = tuple(sorted(s.words))
            width = f.shape[-1] if f.shape else None
            if (width or 0) > 1 and width != len(classes) or width == 1 and len(classes) != 2:
                need = f"dense {len(classes)} softmax" if len(classes) > 2 else "dense 1 sigmoid (or dense 2 softmax)"
                raise DataError(f"label column '{name}' has {len(classes)} classes ({_short(list(classes))}) but "
                                f"output '{f.name}' has shape {f.shape}", f"make the last layer {need}")
            notes.append(f"{prefix}classes from column '{name}', in sorted order: "
                         + ", ".join(f"{i} {w}" for i, w in enumerate(classes[:12]))
                         + (", ..." if len(classes) > 12 else ""))
            sample = np.arange(len(classes), dtype=np.int64)
            plans[f.name] = {"classes": classes, "ids": True,
                             "convert": _plan_labels(sample, f.name, model, registry, prefix, notes, None)}
        else:
            values = np.array(sorted(float(w) for w in s.words), dtype=np.float64) if len(s.words) <= MAX_CLASSES \
                else None
            ids = values is not None and bool(np.all(values == np.round(values)))
            sample = values.astype(np.int64) if ids else (values if values is not None else np.zeros(1))
            plans[f.name] = {"classes": None, "ids": ids,
                             "convert": _plan_labels(sample, f.name, model, registry, prefix, notes, None)}
    return plans


# Preparing ----------------------------------------------------------------------------------


def legacy_layout(table, model: ir.Model) -> bool:
    """One numeric input that names no column: the all-numbers CSV layout of nndsl.datasets."""
    return len(model.inputs) == 1 and len(model.outputs) == 1 and model.inputs[0].dtype != "string" \
        and model.inputs[0].name not in table.names


def prepare_table(path: str, options: Mapping[str, Any], model: ir.Model, registry, *, shown: str,
                  seed: int = 0, validation_split: float | None = None, test_split: float | None = 0.1):
    """Check a table against ``model``, split it, and load it (small) or stream it (large)."""
    from ..prepare import Prepared

    table = open_table(path, shown)
    stream = options.get("stream") or "auto"
    streaming = stream == "true" or (stream == "auto" and table.size > STREAM_BYTES)
    policy = options.get("missing") or "stop"
    inputs, labels = plan_columns(table, model, options.get("label"))
    stats, incomplete, rows = scan(table, inputs, labels)
    if (isinstance(table, CsvTable) and not streaming and legacy_layout(table, model)
            and not incomplete.any() and all(stats[f.columns[0]].numeric for f in labels)):
        # all numbers, nothing missing: NumPy's fast reader and nndsl.prepare, as before tables had names
        from . import prepare_arrays

        return prepare_arrays(path, options, model, registry, shown=shown, seed=seed,
                              validation_split=validation_split, test_split=test_split)
    notes: list[str] = []
    warnings: list[str] = []
    names = table.names
    gaps = {c: s for c, s in stats.items() if s.missing}
    label_cols = {f.columns[0] for f in labels}
    if gaps:
        listed = ", ".join(f"'{names[c]}' {s.missing:,} (first on {'line' if table.kind == 'CSV' else 'row'} "
                           f"{s.first_missing:,})" for c, s in sorted(gaps.items()))
        if policy == "stop" or any(c in label_cols for c in gaps) and policy == "fill":
            label_gap = [names[c] for c in gaps if c in label_cols]
            raise DataError(f"'{shown}' has missing values: {listed}",
                            "a missing label cannot be filled: add missing=drop" if label_gap and policy == "fill"
                            else "add missing=drop (leave those rows out) or missing=fill (the training rows' mean; "
                                 "an empty string for words) to the data statement")
    keep = ~incomplete if policy == "drop" else np.ones(rows, dtype=bool)
    if policy == "drop" and gaps:
        notes.append(f"dropped {int(incomplete.sum()):,} of {rows:,} rows with missing values (missing=drop): "
                     f"{listed}")
    kept = int(keep.sum())
    if kept == 0:
        raise DataError(f"every row of '{shown}' has a missing value, so missing=drop leaves none")
    train, val, test, split_notes = split_rows(kept, seed=seed, validation_split=validation_split,
                                               test_split=test_split)
    assign = np.full(rows, DROPPED, dtype=np.uint8)
    kept_rows = np.flatnonzero(keep)
    for part, rows_of in ((TRAIN, train), (VALIDATION, val), (TEST, test)):
        if rows_of is not None:
            assign[kept_rows[rows_of]] = part
    del kept_rows
    fills: dict[int, Any] = {}
    if policy == "fill" and gaps:
        fills = _training_means(table, assign, [c for c in gaps if not _is_string_column(c, inputs)])
        described = ", ".join(f"'{names[c]}' {v:.6g}" for c, v in fills.items())
        notes.append("filled missing values (missing=fill): " + (f"numbers with the training rows' mean ({described})"
                                                                 if fills else "")
                     + ("; " if fills and len(fills) < len(gaps) else "")
                     + ("words with an empty string" if len(fills) < len(gaps) else ""))
    for f in inputs:
        cols = ", ".join(f"'{names[c]}'" for c in f.columns[:6]) + (", ..." if len(f.columns) > 6 else "")
        what = "words (tf.string)" if f.strings else f"numbers ({f.dtype})"
        notes.append(f"input '{f.name}' {tuple(f.shape)} <- column{'s' * (len(f.columns) > 1)} {cols}: {what}")
    plans = _label_plans(table, labels, stats, model, registry, notes)
    notes.extend(split_notes)
    converter = Converter(inputs, labels, plans, fills)
    single_in, single_out = len(inputs) == 1, len(labels) == 1
    source = f"{shown} ({rows:,} rows, {len(names)} columns; {table.kind})"
    if streaming:
        notes.append(f"read from disk in chunks of {CHUNK_ROWS:,} rows while training (stream={stream}; "
                     f"training rows reshuffled in a window of {SHUFFLE_ROWS:,} each epoch)")

        def split(part: int, count) -> Split | None:
            if count is None:
                return None
            return Split(len(count), _stream_maker(table, assign, part, len(count), converter, single_in, single_out))

        return Prepared(split(TRAIN, train), None, split(VALIDATION, val), None, split(TEST, test), None,
                        tuple(notes), source, warnings=tuple(warnings))
    notes.append(f"loaded into memory (stream={stream}; tables over {STREAM_BYTES >> 20} MiB are read from disk "
                 "while training)")
    arrays = _load_parts(table, assign, converter, [part for part, r in ((TRAIN, train), (VALIDATION, val),
                                                                       (TEST, test)) if r is not None])
    order = {TRAIN: train, VALIDATION: val, TEST: test}
    kept_rows = np.flatnonzero(keep)

    def part(which: int):
        if which not in arrays:
            return None, None
        x, y = arrays[which]
        # the rows came in file order; put them in the permutation's order, as prepare() does
        rows_of = kept_rows[order[which]]
        at = np.searchsorted(np.sort(rows_of), rows_of)
        x = {k: v[at] for k, v in x.items()}
        y = {k: v[at] for k, v in y.items()}
        return (next(iter(x.values())) if single_in else x), (next(iter(y.values())) if single_out else y)

    xt, yt = part(TRAIN)
    xv, yv = part(VALIDATION)
    xs, ys = part(TEST)
    if any(f.strings for f in inputs):
        # Keras' array adapter refuses NumPy string arrays: words reach fit through tf.data
        def held(x, y):
            return None if x is None else Split(len(y if not isinstance(y, dict) else next(iter(y.values()))),
                                                _memory_maker(x, y))

        return Prepared(held(xt, yt), None, held(xv, yv), None, held(xs, ys), None, tuple(notes), source,
                        warnings=tuple(warnings))
    return Prepared(xt, yt, xv, yv, xs, ys, tuple(notes), source, warnings=tuple(warnings))


def _memory_maker(x, y):
    """A Split's ``make`` over arrays held in memory (tables with words): sliced, shuffled whole, batched."""

    def make(batch_size: int, shuffle: bool, seed, with_labels: bool):
        from ..kerasenv import require_tensorflow

        tf = require_tensorflow("feeding words to a model")
        ds = tf.data.Dataset.from_tensor_slices((x, y) if with_labels else x)
        if shuffle:
            ds = ds.shuffle(len(y if not isinstance(y, dict) else next(iter(y.values()))), seed=seed,
                            reshuffle_each_iteration=True)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    return make


def _is_string_column(c: int, inputs: Sequence[Feed]) -> bool:
    return any(f.strings and c in f.columns for f in inputs)


def _training_means(table, assign: np.ndarray, columns: Sequence[int]) -> dict[int, float]:
    """Each numeric column's mean over the present values of the training rows only."""
    sums = dict.fromkeys(columns, 0.0)
    counts = dict.fromkeys(columns, 0)
    start = 0
    for _, chunk in table.chunks():
        part = assign[start:start + len(chunk)]
        start += len(chunk)
        for r in np.flatnonzero(part == TRAIN):
            row = chunk[r]
            for c in columns:
                v = row[c]
                if v is not None and v.strip() not in MISSING:
                    sums[c] += float(v)
                    counts[c] += 1
    return {c: (sums[c] / counts[c] if counts[c] else 0.0) for c in columns}


def _load_parts(table, assign: np.ndarray, converter: Converter, parts: Sequence[int]):
    """Every split's rows as arrays (file order), for a table small enough to hold in memory."""
    pieces: dict[int, list] = {p: [] for p in parts}
    start = 0
    for _, chunk in table.chunks():
        where = assign[start:start + len(chunk)]
        start += len(chunk)
        for p in parts:
            rows = [chunk[i] for i in np.flatnonzero(where == p)]
            if rows:
                pieces[p].append((converter.x(rows), converter.y(rows)))
    out = {}
    for p, items in pieces.items():
        if items:
            out[p] = tuple({k: np.concatenate([it[j][k] for it in items]) for k in items[0][j]} for j in (0, 1))
    return out


def _stream_maker(table, assign: np.ndarray, part: int, rows: int, converter: Converter, single_in: bool,
                  single_out: bool):
    """A Split's ``make``: the file read chunk by chunk, this split's rows converted, batched, prefetched."""

    def chunks():
        start = 0
        for _, chunk in table.chunks():
            where = np.flatnonzero(assign[start:start + len(chunk)] == part)
            start += len(chunk)
            if len(where):
                rows = [chunk[i] for i in where]
                x, y = converter.x(rows), converter.y(rows)
                yield (next(iter(x.values())) if single_in else x), (next(iter(y.values())) if single_out else y)

    def make(batch_size: int, shuffle: bool, seed, with_labels: bool):
        from ..kerasenv import require_tensorflow

        tf = require_tensorflow("reading a table while training")
        first = next(chunks(), None)
        if first is None:
            raise DataError(f"'{table.shown}' has no rows in this split")

        def spec(a):
            dtype = tf.string if a.dtype == object else tf.as_dtype(a.dtype)
            return tf.TensorSpec((None,) + a.shape[1:], dtype)

        def specs(v):
            return {k: spec(a) for k, a in v.items()} if isinstance(v, dict) else spec(v)

        ds = tf.data.Dataset.from_generator(chunks, output_signature=(specs(first[0]), specs(first[1])))
        ds = ds.unbatch()
        if shuffle:
            ds = ds.shuffle(SHUFFLE_ROWS, seed=seed, reshuffle_each_iteration=True)
        if not with_labels:
            ds = ds.map(lambda x, y: x)
        ds = ds.batch(batch_size).apply(tf.data.experimental.assert_cardinality(-(-rows // batch_size)))
        return ds.prefetch(tf.data.AUTOTUNE)

    return make

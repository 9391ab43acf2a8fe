"""Class-per-subfolder data: ``data "photos/"`` (images) or a folder of ``.txt`` files (text).

The layout and order are Keras' ``image_dataset_from_directory`` / ``text_dataset_from_directory``
conventions: each subfolder of the data folder is one class, the class ids are the folder names
in sorted order, files are found in every subfolder below a class folder, and files whose suffix
is not an image (``.bmp .gif .jpeg .jpg .png``; ``.txt`` for text) are left out. Files directly
in the data folder belong to no class and are ignored, as in Keras.

Unlike Keras, every file is checked before training by reading its first and last bytes (an
image must start with its format's signature and end with its end marker; a text file must be
UTF-8), so a truncated or mislabelled file is reported by name, not met as a decoding error deep
inside TensorFlow halfway through an epoch. ``bad_files=stop`` (the default) stops with the list;
``bad_files=skip`` leaves them out with a warning.

Images are then read from disk batch by batch (``tf.data`` with parallel decoding and
prefetch), never loaded whole: decoded, converted to the input's channels (``color_mode``),
resized bilinearly to the input's height and width (``image_size``) and scaled to [0, 1], as
nndsl scales 8-bit pixels from arrays. Which one a folder is depends on the model's input:
``dtype=string`` reads text, anything else images.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .. import ir
from ..errors import DataError
from .stream import Split, split_rows

IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
TEXT_SUFFIXES = (".txt",)
COLOR_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
SHOWN_NAMES = 5  # bad files named in a message before "and N more"


@dataclass(frozen=True)
class Listing:
    """What a class-per-subfolder data folder holds, in Keras' order."""

    classes: tuple[str, ...]
    paths: tuple[str, ...]          # full paths, class by class, sorted within each class
    class_ids: np.ndarray           # one id per path (index into classes)
    bad: tuple[tuple[str, str], ...]  # (path relative to the folder, why it cannot be read)
    ignored: tuple[str, ...]        # files with other suffixes, relative to the folder


def image_problem(path: str) -> str | None:
    """Why ``path`` is not a readable image, from its first and last bytes; None when it looks fine."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            head = fh.read(16)
            fh.seek(max(0, size - 32))
            tail = fh.read(32)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    return image_bytes_problem(head, tail, size)


def image_bytes_problem(head, tail, size):
    """Why a file of ``size`` bytes starting with ``head`` (16 bytes) and ending with ``tail`` (32) is no image.

    The emitted script carries this function's source, so it is plain Python without f-strings.
    """
    if size == 0:
        return "is empty"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return None if b"IEND" in tail else "is a truncated PNG (no IEND chunk at its end)"
    if head.startswith(b"\xff\xd8\xff"):
        return None if b"\xff\xd9" in tail else "is a truncated JPEG (no end-of-image marker)"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return None if b";" in tail[-4:] else "is a truncated GIF (no trailer byte at its end)"
    if head.startswith(b"BM") and len(head) >= 6:
        declared = int.from_bytes(head[2:6], "little")
        return None if declared <= size else "is a truncated BMP (%s of %s bytes)" % (format(size, ","),
                                                                                      format(declared, ","))
    return "is not a PNG, JPEG, GIF or BMP image (it starts with %r)" % (head[:8],)


def text_problem(path: str) -> str | None:
    """Why ``path`` is not a readable UTF-8 text file; None when it is."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    return text_bytes_problem(data)


def text_bytes_problem(data):
    """Why ``data`` is not UTF-8 text; None when it is (plain Python: the emitted script carries it)."""
    text = data.decode("utf-8", errors="replace")
    if "\ufffd" not in text or "\ufffd" in data.decode("utf-8", errors="ignore"):
        return None  # valid, or a real U+FFFD character only
    at = len(text[:text.index("\ufffd")].encode("utf-8"))
    return "is not UTF-8 text (byte 0x%02x at offset %s)" % (data[at], format(at, ","))


def list_folder(path: str, shown: str, suffixes: tuple[str, ...], problem) -> Listing:
    """List a class-per-subfolder folder; ``problem(file)`` says why a file cannot be used."""
    try:
        entries = sorted(os.listdir(path))
    except OSError as exc:
        raise DataError(f"cannot read the folder '{shown}': {exc.strerror or exc}") from None
    classes = tuple(e for e in entries if not e.startswith(".") and os.path.isdir(os.path.join(path, e)))
    paths: list[str] = []
    ids: list[int] = []
    bad: list[tuple[str, str]] = []
    ignored: list[str] = []
    for class_id, name in enumerate(classes):
        top = os.path.join(path, name)
        for root, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for filename in sorted(files):
                if filename.startswith("."):
                    continue  # .DS_Store and friends
                full = os.path.join(root, filename)
                rel = os.path.relpath(full, path)
                if not filename.lower().endswith(suffixes):
                    ignored.append(rel)
                    continue
                why = problem(full)
                if why is not None:
                    bad.append((rel, why))
                    continue
                paths.append(full)
                ids.append(class_id)
    return Listing(classes, tuple(paths), np.asarray(ids, dtype=np.int64), tuple(bad), tuple(ignored))


def _named(items, limit: int = SHOWN_NAMES) -> str:
    items = list(items)
    more = len(items) - limit
    return ", ".join(items[:limit]) + (f" and {more:,} more" if more > 0 else "")


def _image_geometry(inp: ir.Input, options: Mapping[str, Any], shown: str) -> tuple[tuple[int, int], int, bool, str]:
    """(image size, channels, squeeze the channel axis, color mode) for an image input."""
    shape = tuple(inp.shape)
    given_size = options.get("image_size")
    if isinstance(given_size, int):
        given_size = (given_size, given_size)
    given_mode = options.get("color_mode")
    fix = "an image folder feeds an input of (height, width, channels), e.g. input 160 160 3"
    if len(shape) == 3:
        height, width, channels = shape
        squeeze = False
    elif len(shape) == 2:
        (height, width), channels, squeeze = shape, 1, True
    else:
        raise DataError(f"input '{inp.name}' has shape {shape}; images from '{shown}' need an input of rank 3 "
                        "(height, width, channels) or 2 (height, width: grey-scale)", fix)
    if channels is None:
        channels = COLOR_CHANNELS[given_mode or "rgb"]
    if channels not in (1, 3, 4):
        raise DataError(f"input '{inp.name}' has {channels} channels; images have 1 (grayscale), 3 (rgb) or 4 (rgba)",
                        fix)
    mode = {1: "grayscale", 3: "rgb", 4: "rgba"}[channels]
    if given_mode is not None and given_mode != mode:
        raise DataError(f"color_mode={given_mode} makes {COLOR_CHANNELS[given_mode]} channels, but input "
                        f"'{inp.name}' has {channels} ({shape})",
                        f"use color_mode={mode}, or change the input's last dimension to "
                        f"{COLOR_CHANNELS[given_mode]}")
    if given_size is not None:
        for what, want, got in (("height", height, given_size[0]), ("width", width, given_size[1])):
            if want is not None and want != got:
                raise DataError(f"image_size={tuple(given_size)} does not fit input '{inp.name}' of shape {shape} "
                                f"(its {what} is {want})",
                                "leave image_size out: it defaults to the input's height and width")
        size = tuple(given_size)
    elif height is None or width is None:
        raise DataError(f"input '{inp.name}' has shape {shape} with an open height or width, so the images need a "
                        "size", 'give one: data "photos/" image_size=(160, 160)')
    else:
        size = (height, width)
    return size, channels, squeeze, mode


def prepare_folder(path: str, options: Mapping[str, Any], model: ir.Model, registry, *, shown: str,
                   seed: int = 0, validation_split: float | None = None, test_split: float | None = 0.1):
    """Check and split a class-per-subfolder folder for ``model``; read it while training."""
    from ..prepare import Prepared, _plan_labels

    if not os.path.isdir(path):
        raise DataError(f"data folder '{shown}' not found (looked for {os.path.abspath(path)})",
                        "paths are relative to the spec file's directory")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise DataError(f"a data folder feeds a model with one input and one output; this one has "
                        f"{len(model.inputs)} input(s) and {len(model.outputs)} output(s)",
                        "for several inputs, use a table (CSV or Parquet) with one column per input")
    inp, out = model.inputs[0], model.outputs[0]
    text = inp.dtype == "string"
    if text and tuple(inp.shape) not in ((), (1,)):
        raise DataError(f"input '{inp.name}' has shape {tuple(inp.shape)}; a text file is one string per sample",
                        f"declare it as input {inp.name} dtype=string (or input {inp.name} 1 dtype=string)")
    if text and options.get("image_size") is not None or text and options.get("color_mode") is not None:
        raise DataError(f"input '{inp.name}' is dtype=string, so '{shown}' is read as text files; image_size and "
                        "color_mode apply to images")
    suffixes = TEXT_SUFFIXES if text else IMAGE_SUFFIXES
    kind = "text file" if text else "image"
    listing = list_folder(path, shown, suffixes, text_problem if text else image_problem)
    warnings: list[str] = []
    if not listing.classes:
        raise DataError(f"'{shown}' has no class folders", "put each class's files in its own subfolder: "
                        f"{shown.rstrip('/')}/cats/1.{'txt' if text else 'jpg'}, {shown.rstrip('/')}/dogs/1.")
    if listing.bad:
        listed = _named(f"{rel} {why}" for rel, why in listing.bad)
        if options.get("bad_files", "stop") == "stop":
            raise DataError(f"'{shown}' has {len(listing.bad):,} {kind}{'s' * (len(listing.bad) != 1)} that cannot "
                            f"be read: {listed}",
                            f"remove or fix them, or add bad_files=skip to the data statement to train without them")
        warnings.append(f"skipped {len(listing.bad):,} {kind}{'s' * (len(listing.bad) != 1)} that cannot be read "
                        f"(bad_files=skip): {listed}")
    if listing.ignored:
        warnings.append(f"ignored {len(listing.ignored):,} file{'s' * (len(listing.ignored) != 1)} that "
                        f"{'are' if len(listing.ignored) != 1 else 'is'} not {'.txt' if text else 'an image'} "
                        f"by name: {_named(listing.ignored)}")
    counts = np.bincount(listing.class_ids, minlength=len(listing.classes))
    empty = [c for c, n in zip(listing.classes, counts) if n == 0]
    if not listing.paths:
        raise DataError(f"'{shown}' has class folders ({_named(listing.classes)}) but no {kind}s in them"
                        + (f"; files found with other suffixes: {_named(listing.ignored)}" if listing.ignored else ""),
                        f"{kind}s are {', '.join(suffixes)} files")
    if empty:
        warnings.append(f"class folder{'s' * (len(empty) != 1)} {_named(empty)} hold{'s' * (len(empty) == 1)} no "
                        f"{kind}s: the model will never see {'it' if len(empty) == 1 else 'them'}")
    if len(listing.classes) < 2:
        raise DataError(f"'{shown}' has one class folder ('{listing.classes[0]}'); a classifier needs two or more",
                        "add a subfolder per class")
    out_shape = tuple(model.tensor_shape(out))
    width = out_shape[-1] if out_shape else None
    if width is not None and width > 1 and width != len(listing.classes) or width == 1 and len(listing.classes) != 2:
        need = f"dense {len(listing.classes)} softmax" if len(listing.classes) > 2 else "dense 1 sigmoid (or dense 2 softmax)"
        raise DataError(f"'{shown}' has {len(listing.classes)} class folders ({_named(listing.classes, 8)}) but output "
                        f"'{out}' has shape {out_shape}",
                        f"make the last layer {need}")
    notes = [f"classes from folder names, in sorted order: "
             + ", ".join(f"{i} {name} ({n:,})" for i, (name, n) in enumerate(zip(listing.classes, counts)))]
    label_of = _plan_labels(listing.class_ids, out, model, registry, "", notes, None)
    train, val, test, split_notes = split_rows(len(listing.paths), seed=seed, validation_split=validation_split,
                                               test_split=test_split)
    if text:
        read = _text_reader(tuple(inp.shape))
        notes.append(f"text files read as one string each (input '{inp.name}', dtype=string), from disk in batches")
    else:
        size, channels, squeeze, mode = _image_geometry(inp, options, shown)
        read = _image_reader(size, channels, squeeze)
        notes.append(f"images decoded as {mode}, resized to {size} (bilinear), scaled to [0, 1] (float32); read from "
                     "disk in batches with prefetch, never loaded whole")
    notes.extend(split_notes)
    paths = np.asarray(listing.paths)

    def split(rows: np.ndarray | None) -> Split | None:
        if rows is None:
            return None
        return Split(len(rows), _maker(paths[rows], label_of(listing.class_ids[rows]), read),
                     class_ids=listing.class_ids[rows])

    source = (f"{shown} ({len(listing.paths):,} {kind}s in {len(listing.classes)} class folders: "
              f"{_named(listing.classes, 8)})")
    return Prepared(split(train), None, split(val), None, split(test), None, tuple(notes), source,
                    warnings=tuple(warnings))


def _maker(paths: np.ndarray, labels: np.ndarray, reader):
    """The Split's ``make``: file names (and labels) sliced, shuffled, read in parallel, batched."""

    def make(batch_size: int, shuffle: bool, seed, with_labels: bool):
        from ..kerasenv import require_tensorflow

        tf = require_tensorflow("reading a data folder")
        read = reader(tf)
        ds = tf.data.Dataset.from_tensor_slices((paths, labels) if with_labels else paths)
        if shuffle:  # file names only: a full-size buffer costs a few bytes a file
            ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
        if with_labels:
            ds = ds.map(lambda p, y: (read(p), y), num_parallel_calls=tf.data.AUTOTUNE)
        else:
            ds = ds.map(read, num_parallel_calls=tf.data.AUTOTUNE)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    return make


def _image_reader(size: tuple[int, int], channels: int, squeeze: bool):
    """``reader(tf)`` -> ``read(path)``: decode, convert channels, resize, scale (traced by tf.data)."""

    def reader(tf):
        def read(path):
            image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
            image = tf.image.resize(image, size, method="bilinear")
            image.set_shape(tuple(size) + (channels,))
            image = image / 255.0
            return tf.squeeze(image, -1) if squeeze else image

        return read

    return reader


def _text_reader(shape: tuple):
    """``reader(tf)`` -> ``read(path)``: the whole file as one string, of the input's shape (() or (1,))."""

    def reader(tf):
        def read(path):
            return tf.reshape(tf.io.read_file(path), shape)

        return read

    return reader

"""Make the small data sets the bundled examples train on (deterministic: run it again, same bytes).

    python spec/examples/data/make_data.py        # rewrites the .npz files beside this script

Each set is synthetic and small (a few hundred samples, tens of kilobytes compressed), made so
that `nndsl run spec/examples/NAME.nn` works out of the box and the model has something to
learn. Replace them with real data of the same layout (the array names are the spec's input and
output names: x_NAME / y_NAME). mnist_functional takes its digits from the 5,000 bundled with
nndsl (nndsl/data/mnist_5k.npz).
"""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BUNDLED_MNIST = os.path.join(HERE, "..", "..", "..", "nndsl", "data", "mnist_5k.npz")


def save(name: str, **arrays: np.ndarray) -> None:
    """A compressed .npz with fixed timestamps, so the same arrays always give the same bytes."""
    path = os.path.join(HERE, name)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())
    print(f"{path}: {', '.join(f'{k} {v.shape} {v.dtype}' for k, v in sorted(arrays.items()))}, "
          f"{os.path.getsize(path):,} bytes")


def mnist_functional(rng: np.random.Generator) -> None:
    """Digits (image) plus 8 side features (meta); outputs: the digit and whether it is odd."""
    with np.load(BUNDLED_MNIST, allow_pickle=False) as data:
        x, y = data["x"], data["y"]
    rows = np.sort(rng.choice(len(x), size=300, replace=False))
    image, digit = x[rows], y[rows].astype(np.int64)
    meta = rng.normal(size=(len(rows), 8)).astype(np.float32)
    meta[:, 0] = digit % 2 + rng.normal(scale=0.3, size=len(rows))  # a hint for the parity head
    save("mnist_functional.npz", x_image=image[..., None], x_meta=meta, y_digit=digit,
         y_parity=(digit % 2).astype(np.int64))


def word_ids(rng: np.random.Generator, n: int, length: int, vocabulary: int, marker: np.ndarray | None = None):
    """Zero-padded id sequences of random lengths; ``marker`` puts id 1 (or 2) first where True (False)."""
    ids = rng.integers(3, vocabulary, size=(n, length))
    lengths = rng.integers(length // 2, length + 1, size=n)
    ids[np.arange(length)[None, :] >= lengths[:, None]] = 0
    if marker is not None:
        ids[:, 0] = np.where(marker, 1, 2)
    return ids.astype(np.uint16)


def multi_io(rng: np.random.Generator) -> None:
    """Two id sequences and 12 tags; priority follows tag 0, department the title's first id."""
    n = 300
    department = rng.integers(0, 4, size=n)
    title = word_ids(rng, n, 12, 10000)
    title[:, 0] = 3 + department
    body = word_ids(rng, n, 40, 10000)
    tags = (rng.random((n, 12)) < 0.25).astype(np.float32)
    save("multi_io.npz", x_title=title, x_body=body, x_tags=tags, y_priority=tags[:, 0].astype(np.int64),
         y_department=department.astype(np.int64))


def residual(rng: np.random.Generator) -> None:
    """32x32 RGB images of 10 stripe patterns (orientation and frequency by class), random phase."""
    n = 200
    label = rng.integers(0, 10, size=n)
    yy, xx = np.mgrid[0:32, 0:32]
    images = np.empty((n, 32, 32, 3), dtype=np.uint8)
    for i, k in enumerate(label):
        coordinate = xx if k % 2 else yy
        wave = (np.sin(coordinate * (1 + k // 2) * np.pi / 16 + rng.integers(0, 8) * np.pi / 4) > 0)
        images[i] = (wave[..., None] * np.array([255, 160 + 9 * k, 40 * (k % 3)])).astype(np.uint8)
    save("residual.npz", x=images, y=label.astype(np.int64))


def text_lstm(rng: np.random.Generator) -> None:
    """Word-id reviews (ids below 20,000, 0 pads); positive ones start with id 1, negative with 2."""
    n = 300
    label = rng.integers(0, 2, size=n)
    save("text_lstm.npz", x=word_ids(rng, n, 40, 20000, marker=label == 1), y=label.astype(np.int64))


def png_bytes(pixels: np.ndarray) -> bytes:
    """A grey-scale 8-bit PNG holding ``pixels`` (plain zlib: no imaging library needed)."""
    import struct
    import zlib

    h, w = pixels.shape
    raw = b"".join(b"\x00" + pixels[i].tobytes() for i in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def digit_folders(rng: np.random.Generator) -> None:
    """digits/<zero..three>/NN.png: 40 real MNIST digits per class, a class-per-subfolder image folder."""
    del rng  # the first 40 of each class, in the bundled order
    with np.load(BUNDLED_MNIST, allow_pickle=False) as data:
        x, y = data["x"], data["y"]
    for label, name in enumerate(("zero", "one", "two", "three")):
        folder = os.path.join(HERE, "digits", name)
        os.makedirs(folder, exist_ok=True)
        for i, k in enumerate(np.flatnonzero(y == label)[:40]):
            with open(os.path.join(folder, f"{i:02d}.png"), "wb") as fh:
                fh.write(png_bytes(x[k]))
    print(f"{os.path.join(HERE, 'digits')}: 4 class folders of 40 PNG digits")


if __name__ == "__main__":
    for make in (mnist_functional, multi_io, residual, text_lstm, digit_folders):
        make(np.random.default_rng(15))

"""Small class-per-subfolder data sets written by the tests: real MNIST digits as PNG files.

The PNG encoder is plain NumPy + zlib (8-bit grey-scale or RGB, no filter), so tests need no
imaging library. Also used by benchmarks/memory_run.py to grow an image folder.
"""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np

MNIST = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "nndsl", "data", "mnist_5k.npz")
NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def png_bytes(pixels: np.ndarray) -> bytes:
    """A PNG file holding ``pixels``: (h, w) grey-scale or (h, w, 3) RGB, uint8."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = pixels.shape[:2]
    color = 0 if pixels.ndim == 2 else 2
    raw = b"".join(b"\x00" + pixels[i].tobytes() for i in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def digits(classes=(0, 1, 2), per_class: int = 50):
    """(images, labels) of real MNIST digits of the given classes, ``per_class`` each."""
    with np.load(MNIST) as data:
        x, y = data["x"], data["y"]
    rows = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in classes])
    return x[rows], y[rows]


def write_digit_folder(root, classes=(0, 1, 2), per_class: int = 50, rgb: bool = False) -> dict[str, np.ndarray]:
    """Write ``root/<digit name>/<i>.png``; returns {relative path: pixels} of what was written."""
    x, y = digits(classes, per_class)
    written = {}
    counters: dict[int, int] = {}
    for image, label in zip(x, y):
        i = counters[label] = counters.get(label, -1) + 1
        rel = os.path.join(NAMES[label], f"{i:04d}.png")
        pixels = np.stack([image] * 3, axis=-1) if rgb else image
        os.makedirs(os.path.join(str(root), NAMES[label]), exist_ok=True)
        with open(os.path.join(str(root), rel), "wb") as fh:
            fh.write(png_bytes(pixels))
        written[rel] = pixels
    return written

"""Peak resident memory of ``nndsl run`` on a CSV table as the file grows: streamed vs in memory.

The table is the bundled MNIST digits shrunk to 7x7 (49 pixel columns, 4x4 average pooling)
plus a ``label`` column, repeated to ``--rows`` rows and then to 4x and 16x that (``--scales``).
Each size trains one epoch of a 49-32-10 model twice in a fresh process: ``stream=true`` (the
table read from disk in chunks while training, :mod:`nndsl.data.tables`) and ``stream=false``
(loaded into memory as arrays). The peak RSS is the child's own ``ru_maxrss`` from
``os.wait4``; an idle ``import tensorflow, keras`` is measured too, so the data's share shows.

What still grows with the rows when streaming: about 18 bytes a row at the split (a permutation
of the row numbers and one split byte per row; the permutation is freed before training).

Run: ``python benchmarks/memory_stream.py`` (``--rows 2000 --scales 1 2`` for a quick look).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from memory_run import BUNDLED, IDLE, peak_rss_mib  # noqa: E402 - a sibling script

SPEC = """input 49
dense 32 relu
dense 10 softmax
adam 0.001
loss sparse_categorical_crossentropy
metrics accuracy
fit epochs=1 batch_size=256 test_split=0.1 seed=0
data "digits.csv" stream={stream}
"""


def write_table(path: str, rows: int) -> int:
    """Write ``rows`` rows of 7x7 digits and their labels; returns the file size in bytes."""
    with np.load(BUNDLED) as npz:
        x, y = npz["x"], npz["y"]
    small = x.reshape(-1, 7, 4, 7, 4).mean(axis=(2, 4)).round().astype(np.uint8).reshape(len(x), 49)
    lines = [",".join(map(str, row)) + f",{label}\n" for row, label in zip(small, y)]
    header = ",".join(f"p{i}" for i in range(49)) + ",label\n"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(header)
        written = 0
        while written < rows:
            take = min(len(lines), rows - written)
            fh.writelines(lines[:take])
            written += take
    return os.path.getsize(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000, help="rows at scale 1")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--modes", nargs="+", default=["true", "false"], choices=("true", "false"),
                        help="stream= settings to measure")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        idle, code, tail = peak_rss_mib([sys.executable, "-c", IDLE], folder)
        if code != 0:
            print(tail)
            return 1
        print(f"idle (import tensorflow, keras): peak RSS {idle:.1f} MiB")
        print("| rows | CSV MiB | " + " | ".join(f"stream={m} peak MiB | above idle" for m in args.modes) + " |")
        print("|---:|---:|" + "---:|---:|" * len(args.modes))
        for scale in args.scales:
            rows = args.rows * scale
            size = write_table(os.path.join(folder, "digits.csv"), rows)
            cells = []
            for mode in args.modes:
                with open(os.path.join(folder, "model.nn"), "w", encoding="utf-8") as fh:
                    fh.write(SPEC.format(stream=mode))
                cmd = [sys.executable, "-m", "nndsl.cli", "run", "model.nn", "--out", f"run-{scale}-{mode}", "--quiet"]
                peak, code, tail = peak_rss_mib(cmd, folder)
                if code != 0:
                    print(f"stream={mode} at {rows:,} rows exited {code}\n{tail}")
                    return 1
                cells += [f"{peak:.1f}", f"{peak - idle:.1f}"]
            print(f"| {rows:,} | {size / 2**20:.1f} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Export every example run to every format and print what the verification measured.

Trains each model for one epoch (offline data: the bundled MNIST digits and example .npz files),
then ``nndsl export`` in this process (TensorFlow imported once, so the seconds are the export
and its check alone) and prints a Markdown table: rows checked, largest |difference| from the
Keras model, the runtime that loaded the artifact, seconds, and the artifact's size.

    python3 benchmarks/export.py [--out DIR] [--models tiny,mnist_convnet,multi_io]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("NNDSL_OFFLINE", "1")

TINY = """\
input 8
dense 16 relu
dense 3 softmax
adam 0.01
loss categorical_crossentropy
metrics accuracy
fit epochs=1 batch_size=16 validation_split=0.2
data "d.npz"
"""


def _spec(name: str, work: str) -> str:
    if name != "tiny":
        return os.path.join(ROOT, "spec", "examples", name + ".nn")
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8)).astype("float32")
    np.savez(os.path.join(work, "d.npz"), x=x, y=(x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5).astype("int64"))
    path = os.path.join(work, "tiny.nn")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(TINY)
    return path


def _size(path: str) -> int:
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="keep the runs and exports here (default: a temporary folder)")
    parser.add_argument("--models", default="tiny,mnist_convnet,multi_io")
    args = parser.parse_args()

    from nndsl.errors import NndslError
    from nndsl.plugins import default_registry
    from nndsl.run import RunOptions, run
    from nndsl.run.export import FORMATS, export_run

    registry = default_registry()
    work = args.out or tempfile.mkdtemp(prefix="nndsl-export-bench-")
    os.makedirs(work, exist_ok=True)
    print("| model | format | rows | max abs diff | runtime | seconds | size |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in args.models.split(","):
        run_dir = os.path.join(work, name)
        run(_spec(name, work), RunOptions(epochs=1, seed=1, out=run_dir, silent=True), registry)
        for fmt in FORMATS:
            out = os.path.join(work, f"{name}-{fmt}", FORMATS[fmt].default_name)
            start = time.perf_counter()
            try:
                r = export_run(run_dir, fmt, registry, out=out)
            except NndslError as e:
                print(f"| {name} | {fmt} | - | failed | {str(e)[:90]}... | {time.perf_counter() - start:.1f} | - |")
                continue
            print(f"| {name} | {fmt} | {r.rows} | {r.max_diff:.2e} | {r.runtime} | "
                  f"{time.perf_counter() - start:.1f} | {_size(out) / 1024:,.0f} KiB |", flush=True)


if __name__ == "__main__":
    main()

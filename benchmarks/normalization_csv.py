"""Raw pixel columns in a CSV, with and without a ``normalization`` layer (issue 14's example).

The table: the bundled 5,000 MNIST digits (``nndsl/data/mnist_5k.npz``), each 28x28 image
average-pooled by 4 rows x 2 columns to 7x14 = 98 pixel columns, rounded to integers 0..255,
plus a ``label`` column: ``pixels.csv``. ``pixels_scaled.csv`` holds the same values / 255.

Variants, one spec each (``input 98 -> [variant] -> dense 64 relu -> dense 10 softmax``,
adam 0.001 (``--model seed``: ``dense 32 relu``, rmsprop 0.001), sparse categorical
cross-entropy, ``--epochs`` epochs, batch 32, 10 % test split, a seed per repeat), trained by
``nndsl run`` in a fresh process:

- ``raw``: the CSV's 0..255 columns fed as they are (what the issue measured);
- ``normalization``: the same file, a ``normalization`` layer first (adapted by ``run`` on
  the training split);
- ``rescaling``: the same file, ``rescaling 0.00392`` first (a fixed 1/255);
- ``scaled``: ``pixels_scaled.csv``, no layer (the data scaled beforehand).

Prints test accuracy and loss per seed, and the mean. Nothing is asserted.

Run: ``python benchmarks/normalization_csv.py`` (``--rows 500 --epochs 1 --seeds 0`` for a
quick look).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLED = os.path.join(ROOT, "nndsl", "data", "mnist_5k.npz")

SPEC = """input 98
{layer}dense {units} relu
dense 10 softmax
{optimizer}
loss sparse_categorical_crossentropy
metrics accuracy
fit epochs={epochs} batch_size=32 test_split=0.1
data "{data}" label=label
"""

# --model: the hidden width and optimizer ("seed" is the README's seed model, 784-32-10 with rmsprop)
MODELS = {"adam64": (64, "adam 0.001"), "seed": (32, "rmsprop 0.001")}

VARIANTS = {
    "raw": ("", "pixels.csv"),
    "normalization": ("normalization\n", "pixels.csv"),
    "rescaling": ("rescaling 0.00392\n", "pixels.csv"),
    "scaled": ("", "pixels_scaled.csv"),
}


def write_tables(folder: str, rows: int) -> None:
    data = np.load(BUNDLED)
    x, y = data["x"][:rows].astype(np.float64), data["y"][:rows]
    if rows < len(data["x"]):  # the file is sorted by class: take every class
        pick = np.random.default_rng(0).choice(len(data["x"]), rows, replace=False)
        x, y = data["x"][pick].astype(np.float64), data["y"][pick]
    pooled = np.rint(x.reshape(len(x), 7, 4, 14, 2).mean(axis=(2, 4))).reshape(len(x), 98)
    header = ",".join([f"p{i}" for i in range(98)] + ["label"])
    for name, values, fmt in (("pixels.csv", pooled, "%d"), ("pixels_scaled.csv", pooled / 255.0, "%.6f")):
        table = np.column_stack([values, y])
        np.savetxt(os.path.join(folder, name), table, delimiter=",", header=header, comments="",
                   fmt=[fmt] * 98 + ["%d"])


def run_one(folder: str, variant: str, seed: int, epochs: int, model: str) -> dict:
    layer, data = VARIANTS[variant]
    units, optimizer = MODELS[model]
    spec = os.path.join(folder, f"{variant}.nn")
    with open(spec, "w", encoding="utf-8") as fh:
        fh.write(SPEC.format(layer=layer, epochs=epochs, data=data, units=units, optimizer=optimizer))
    out = os.path.join(folder, f"run-{variant}-{seed}")
    env = {**os.environ, "NNDSL_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-m", "nndsl.cli", "run", spec, "--out", out, "--seed", str(seed),
                           "--quiet"], capture_output=True, text=True, env=env, cwd=folder)
    if proc.returncode != 0:
        raise SystemExit(f"{variant} seed {seed} failed:\n{proc.stderr[-3000:]}")
    with open(os.path.join(out, "metrics.json"), encoding="utf-8") as fh:
        return json.load(fh)["test"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--model", default="adam64", choices=list(MODELS))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        write_tables(folder, args.rows)
        units, optimizer = MODELS[args.model]
        print(f"{args.rows:,} rows x 98 pixel columns (0..255), {args.epochs} epochs, seeds {args.seeds}; "
              f"98-{units}-10, {optimizer}")
        print(f"| variant | {' | '.join(f'seed {s} acc / loss' for s in args.seeds)} | mean acc | mean loss |")
        print("|---|" + "---:|" * (len(args.seeds) + 2))
        for variant in args.variants:
            results = [run_one(folder, variant, seed, args.epochs, args.model) for seed in args.seeds]
            cells = " | ".join(f"{r['accuracy']:.3f} / {r['loss']:.3f}" for r in results)
            print(f"| {variant} | {cells} | {np.mean([r['accuracy'] for r in results]):.3f} | "
                  f"{np.mean([r['loss'] for r in results]):.3f} |", flush=True)


if __name__ == "__main__":
    main()

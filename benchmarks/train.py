"""Training-side benchmark: nndsl's defaults against the same model written by hand in Keras.

For each model, on the same prepared data (the bundled digits ``nndsl/data/mnist_5k.npz``,
prepared by :func:`nndsl.prepare.prepare` for that model, 10% held out as the test set,
the training rows repeated to ``--rows`` as in full MNIST), it trains two ways, alternating,
``--repeats`` times:

(a) **keras**: plain Keras exactly as a tutorial writes it: ``keras.Sequential([...])``,
    ``compile(optimizer=..., loss=..., metrics=["accuracy"])``, ``fit(x, y, batch_size=128,
    epochs=E)`` on the NumPy arrays, every other setting at its default;
(b) **nndsl**: ``nndsl.build`` + :func:`nndsl.perf.training_plan`, the fast path ``nndsl run``
    uses (``--plan KEY=VALUE`` overrides it, e.g. ``--plan steps_per_execution=1``).

It prints, per model: samples/second of ``fit`` (median over repeats, the first epoch's
tracing included as a user would see it), the ratio (b)/(a), test accuracy (median), and the
training FLOP rate (6 x multiply-adds per sample: forward 2, backward 4; multiply-adds
counted from the IR's shapes) beside the machine's peak, measured as a large float32 matmul
in NumPy (median of 5).

Run: ``python benchmarks/train.py`` (about 10 minutes on 2 cores);
``python benchmarks/train.py --models mlp --epochs 1 --repeats 1 --rows 2000`` for a quick look.
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLED = os.path.join(ROOT, "nndsl", "data", "mnist_5k.npz")
CONVNET_SPEC = os.path.join(ROOT, "spec", "examples", "mnist_convnet.nn")

SEED_SPEC = """input 784
dense 32 relu
dense 10 softmax
rmsprop 0.001
loss mse
metrics accuracy
fit batch_size=128
"""

WIDE_SPEC = """input 784
dense 512 relu
dense 512 relu
dense 10 softmax
rmsprop 0.001
loss categorical_crossentropy
metrics accuracy
fit batch_size=128
"""

# Keras' "simple MNIST convnet" example; used when spec/examples/mnist_convnet.nn is absent.
CONVNET_FALLBACK = """input 28 28 1
conv2d 32 3 relu
maxpool2d 2
conv2d 64 3 relu
maxpool2d 2
flatten
dropout 0.5
dense 10 softmax
adam 0.001
loss sparse_categorical_crossentropy
metrics accuracy
fit batch_size=128
"""


def tutorial_mlp():
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((784,)), layers.Dense(32, activation="relu"),
                              layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.RMSprop(0.001), loss="mse", metrics=["accuracy"])
    return model


def tutorial_wide():
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((784,)), layers.Dense(512, activation="relu"),
                              layers.Dense(512, activation="relu"), layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.RMSprop(0.001), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def tutorial_convnet():
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


@dataclass(frozen=True)
class Case:
    name: str
    spec: str
    tutorial: Callable[[], Any]
    default_rows: int


def cases() -> dict[str, Case]:
    conv = CONVNET_FALLBACK
    if os.path.exists(CONVNET_SPEC):
        with open(CONVNET_SPEC, encoding="utf-8") as fh:
            conv = fh.read()
    return {
        "mlp": Case("mlp 784-32-10", SEED_SPEC, tutorial_mlp, 60_000),
        "wide": Case("mlp 784-512-512-10", WIDE_SPEC, tutorial_wide, 60_000),
        # A convnet epoch on 60,000 rows takes minutes on 2 CPU cores; --rows overrides.
        "convnet": Case("convnet", conv, tutorial_convnet, 12_000),
    }


def macs_per_sample(model) -> int:
    """Multiply-adds of one forward pass: weights (without biases) x output positions."""
    total = 0
    for node in model.nodes:
        attrs = dict(node.attrs)
        weights = node.params.trainable
        if not weights or node.op not in ("dense", "conv1d", "conv2d", "conv3d"):
            continue
        channels = node.shape[-1]
        if attrs.get("use_bias", True):
            weights -= channels
        positions = int(np.prod(node.shape[:-1])) if len(node.shape) > 1 else 1
        total += weights * positions
    return total


def peak_flops(n: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of a float32 n x n matmul in NumPy (median): what this machine can reach."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    a @ b
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n ** 3 / statistics.median(times)


def prepare_data(model, registry, rows: int):
    """The bundled digits prepared for ``model``; training rows repeated to ``rows``."""
    from nndsl.datasets import load_file
    from nndsl.prepare import prepare

    prepared = prepare(load_file(BUNDLED, shown="nndsl/data/mnist_5k.npz"), model, registry,
                       seed=0, validation_split=0.0, test_split=0.1)
    x, y = prepared.x_train, prepared.y_train
    reps = -(-rows // len(x))
    # One new array each (np.tile then a slice view); the 4,500-row originals are dropped.
    x = np.tile(x, (reps,) + (1,) * (x.ndim - 1))[:rows]
    y = np.tile(y, (reps,) + (1,) * (y.ndim - 1))[:rows]
    return x, y, prepared.x_test, prepared.y_test


def parse_plan(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = int(value) if value.isdigit() else value
    return out


def run_keras(case: Case, x, y, x_test, y_test, epochs: int, batch_size: int) -> tuple[float, float]:
    model = case.tutorial()
    t = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - t
    return seconds, float(model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"])


def run_nndsl(ir_model, registry, x, y, x_test, y_test, epochs: int, batch_size: int,
              overrides: dict[str, Any]) -> tuple[float, float, tuple[str, ...]]:
    import nndsl
    from nndsl.perf import training_plan

    plan = training_plan(ir_model, len(x), {"batch_size": batch_size, **overrides})
    model = nndsl.build(ir_model, registry=registry, **plan.compile_options)
    t = time.perf_counter()
    model.fit(**plan.fit_arguments(x, y), epochs=epochs, verbose=0)
    seconds = time.perf_counter() - t
    accuracy = float(model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"])
    return seconds, accuracy, plan.notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mlp,convnet,wide", help="comma-separated: mlp, convnet, wide")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=None,
                        help="training rows (default: 60,000 for the MLPs, 12,000 for the convnet)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--plan", action="append", default=[], metavar="KEY=VALUE",
                        help="override nndsl's training plan, e.g. steps_per_execution=1, pipeline=tfdata")
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    import nndsl
    from nndsl.plugins import default_registry

    registry = default_registry()
    known = cases()
    chosen = [m.strip() for m in args.models.split(",") if m.strip()]
    for name in chosen:
        if name not in known:
            parser.error(f"unknown model {name!r} (choose from {', '.join(known)})")
    overrides = parse_plan(args.plan)
    peak = peak_flops()
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPUs; "
          f"peak (NumPy float32 matmul): {peak / 1e9:.1f} GFLOP/s")
    print(f"epochs {args.epochs}, repeats {args.repeats}, batch {args.batch_size}, "
          f"nndsl plan overrides: {overrides or 'none'}")
    for name in chosen:
        case = known[name]
        ir_model = nndsl.check(case.spec, registry=registry)
        rows = args.rows or case.default_rows
        x, y, x_test, y_test = prepare_data(ir_model, registry, rows)
        samples = rows * args.epochs
        flops_per_sample = 6 * macs_per_sample(ir_model)
        times: dict[str, list[float]] = {"keras": [], "nndsl": []}
        accs: dict[str, list[float]] = {"keras": [], "nndsl": []}
        notes: tuple[str, ...] = ()
        for r in range(args.repeats):
            # Alternate which goes first, so slow spells of the shared machine hit both.
            order = ("keras", "nndsl") if r % 2 == 0 else ("nndsl", "keras")
            for way in order:
                keras.backend.clear_session()
                gc.collect()
                if way == "keras":
                    seconds, acc = run_keras(case, x, y, x_test, y_test, args.epochs, args.batch_size)
                else:
                    seconds, acc, notes = run_nndsl(ir_model, registry, x, y, x_test, y_test, args.epochs,
                                                    args.batch_size, overrides)
                times[way].append(seconds)
                accs[way].append(acc)
        print(f"\n{case.name}: {rows:,} rows x {args.epochs} epochs, "
              f"{flops_per_sample / 1e6:.2f} MFLOP per training sample; nndsl plan: {'; '.join(notes)}")
        rate = {}
        for way in ("keras", "nndsl"):
            rate[way] = samples / statistics.median(times[way])
            flops = rate[way] * flops_per_sample
            print(f"  {way:6s} {rate[way]:>10,.0f} samples/s  test accuracy {statistics.median(accs[way]):.4f}  "
                  f"{flops / 1e9:6.2f} GFLOP/s = {100 * flops / peak:5.1f}% of peak  "
                  f"(runs: {', '.join(f'{t:.2f}s' for t in times[way])})")
        print(f"  ratio nndsl/keras: {rate['nndsl'] / rate['keras']:.2f}x  "
              f"(accuracy difference {statistics.median(accs['nndsl']) - statistics.median(accs['keras']):+.4f})")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

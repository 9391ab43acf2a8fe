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
counted by the IR, Model.macs: each layer's count_macs rule, attention included) beside the machine's peak, measured as a large float32 matmul
in NumPy (median of 5).

Run: ``python benchmarks/train.py`` (about 10 minutes on 2 cores);
``python benchmarks/train.py --models mlp --epochs 1 --repeats 1 --rows 2000`` for a quick look.
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
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

# The zoo's ResNet-50 (spec/examples/zoo/resnet50.nn: std/resnet's bottleneck stages) at a size
# this 2-core machine trains in seconds: one block per stage, 8/16/32 filters, on the 28x28 digits.
RESNET_SPEC = """include std/resnet
input 28 28 1
conv2d 16 3 padding=same -> batchnorm epsilon=1.001e-5 -> relu
bottleneck_stage 8 1 stride=1
bottleneck_stage 16 1
bottleneck_stage 32 1
globalavgpool2d -> dense 10 softmax
adam 0.001
loss sparse_categorical_crossentropy
metrics accuracy
fit batch_size=128
"""

# The zoo's Transformer (spec/examples/zoo/transformer_text.nn: std/transformer's encoder, learned
# positions) reduced to the digits: each image is 28 tokens (its rows) of 28 pixels.
TRANSFORMER_SPEC = """include std/transformer
input 28 28
dense 32 -> positionembedding 28
transformer_encoder 2 32
globalavgpool1d -> dropout 0.1 -> dense 10 softmax
adam 0.001
loss sparse_categorical_crossentropy
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


def tutorial_resnet():
    """RESNET_SPEC as keras.applications.resnet writes a bottleneck block (functional API)."""
    import keras
    from keras import layers

    def bn(t):
        return layers.BatchNormalization(epsilon=1.001e-5)(t)

    def block(x, filters, stride):
        s = bn(layers.Conv2D(4 * filters, 1, strides=stride)(x))
        y = layers.Activation("relu")(bn(layers.Conv2D(filters, 1, strides=stride)(x)))
        y = layers.Activation("relu")(bn(layers.Conv2D(filters, 3, padding="same")(y)))
        y = bn(layers.Conv2D(4 * filters, 1)(y))
        return layers.Activation("relu")(layers.Add()([s, y]))

    inputs = keras.Input((28, 28, 1))
    x = layers.Activation("relu")(bn(layers.Conv2D(16, 3, padding="same")(inputs)))
    x = block(x, 8, 1)
    x = block(x, 16, 2)
    x = block(x, 32, 2)
    outputs = layers.Dense(10, activation="softmax")(layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def tutorial_transformer():
    """TRANSFORMER_SPEC as the keras.io "Text classification with Transformer" example writes it."""
    import keras
    from keras import layers

    class PositionAdd(layers.Layer):
        def build(self, shape):
            self.pos = self.add_weight(shape=(shape[1], shape[2]), initializer="uniform")

        def call(self, x):
            return x + self.pos

    inputs = keras.Input((28, 28))
    x = PositionAdd()(layers.Dense(32)(inputs))
    a = layers.Dropout(0.1)(layers.MultiHeadAttention(num_heads=2, key_dim=32)(x, x))
    h = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, a]))
    f = layers.Dropout(0.1)(layers.Dense(32)(layers.Dense(32, activation="relu")(h)))
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([h, f]))
    x = layers.Dropout(0.1)(layers.GlobalAveragePooling1D()(x))
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
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
        "resnet": Case("zoo resnet (reduced)", RESNET_SPEC, tutorial_resnet, 3_000),
        "transformer": Case("zoo transformer (reduced)", TRANSFORMER_SPEC, tutorial_transformer, 6_000),
    }


def macs_per_sample(model) -> int:
    """Multiply-adds of one forward pass: the IR's count (each layer's ``count_macs`` rule, attention included)."""
    return model.macs


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


def backend_peak_flops(backend: str, n: int = 8192, repeats: int = 5) -> tuple[float, str]:
    """FLOP/s of a float32 n x n matmul on the Keras backend's own default device (for GPUs), and where."""
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
        matmul = jax.jit(jnp.matmul)
        run, where = (lambda: matmul(a, a).block_until_ready()), str(jax.devices()[0].device_kind)
    elif backend == "torch":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
        a = torch.randn(n, n, device=device)
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

        def run():
            torch.matmul(a, a)
            sync()

        where = torch.cuda.get_device_name(0) if device == "cuda" else "CPU"
    else:
        import tensorflow as tf

        a = tf.random.normal((n, n))
        run, where = (lambda: tf.matmul(a, a).numpy()), "TensorFlow's default device"
    run()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return 2 * n ** 3 / statistics.median(times), where


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
              overrides: dict[str, Any], backend: str, device: str) -> tuple[float, float, Any]:
    import nndsl
    from nndsl.perf import training_plan

    import keras

    overrides = dict(overrides)
    # precision=mixed_bfloat16 (a measurement, not yet a plan setting): Keras' global dtype
    # policy while nndsl builds, trains and evaluates the model; float32 again afterwards.
    precision = overrides.pop("precision", None)
    plan = training_plan(ir_model, len(x), {"batch_size": batch_size, **overrides}, backend=backend, device=device)
    if precision:
        keras.config.set_dtype_policy(precision)
    try:
        model = nndsl.build(ir_model, registry=registry, **plan.compile_options)
        t = time.perf_counter()
        model.fit(**plan.fit_arguments(x, y), epochs=epochs, verbose=0)
        seconds = time.perf_counter() - t
        accuracy = float(model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"])
    finally:
        keras.config.set_dtype_policy("float32")
    if precision:
        plan = dataclasses.replace(plan, notes=plan.notes + (f"dtype policy {precision} (given)",))
    return seconds, accuracy, plan


def measure(args, chosen: list[str], peak: float) -> list[dict[str, Any]]:
    """Train every chosen model both ways on the current Keras backend; one result dict per model."""
    import keras

    import nndsl
    from nndsl.plugins import default_registry

    registry = default_registry()
    known = cases()
    overrides = parse_plan(args.plan)
    backend = keras.backend.backend()
    from nndsl.run.device import detect

    device = detect(backend).kind  # the plan's row: "default for jax on GPU", as nndsl run says
    if args.device_peak:
        peak, where = backend_peak_flops(backend)
        print(f"Keras {keras.__version__} on {backend}; peak ({backend} float32 matmul on {where}): "
              f"{peak / 1e9:,.0f} GFLOP/s")
    else:
        print(f"Keras {keras.__version__} on {backend}, {os.cpu_count()} CPUs; "
              f"peak (NumPy float32 matmul): {peak / 1e9:.1f} GFLOP/s")
    print(f"epochs {args.epochs}, repeats {args.repeats}, batch {args.batch_size}, "
          f"nndsl plan overrides: {overrides or 'none'}")
    results = []
    for name in chosen:
        case = known[name]
        ir_model = nndsl.check(case.spec, registry=registry)
        rows = args.rows or case.default_rows
        x, y, x_test, y_test = prepare_data(ir_model, registry, rows)
        samples = rows * args.epochs
        flops_per_sample = 6 * macs_per_sample(ir_model)
        times: dict[str, list[float]] = {"keras": [], "nndsl": []}
        accs: dict[str, list[float]] = {"keras": [], "nndsl": []}
        plan = None
        for r in range(args.repeats):
            # Alternate which goes first, so slow spells of the shared machine hit both.
            order = ("keras", "nndsl") if r % 2 == 0 else ("nndsl", "keras")
            for way in order:
                keras.backend.clear_session()
                gc.collect()
                if way == "keras":
                    seconds, acc = run_keras(case, x, y, x_test, y_test, args.epochs, args.batch_size)
                else:
                    seconds, acc, plan = run_nndsl(ir_model, registry, x, y, x_test, y_test, args.epochs,
                                                    args.batch_size, overrides, backend, device)
                times[way].append(seconds)
                accs[way].append(acc)
        print(f"\n{case.name}: {rows:,} rows x {args.epochs} epochs, "
              f"{flops_per_sample / 1e6:.2f} MFLOP per training sample; nndsl plan: {'; '.join(plan.notes)}")
        options = plan.compile_options
        short = ", ".join([f"steps_per_execution {options['steps_per_execution']}", plan.pipeline]
                          + ([f"jit_compile {options['jit_compile']}"] if "jit_compile" in options else []))
        result: dict[str, Any] = {"backend": backend, "model": case.name, "plan": short, "peak": peak}
        for way in ("keras", "nndsl"):
            rate = samples / statistics.median(times[way])
            flops = rate * flops_per_sample
            result[way] = {"samples_per_s": rate, "accuracy": statistics.median(accs[way]),
                           "percent_of_peak": 100 * flops / peak, "runs_s": times[way]}
            print(f"  {way:6s} {rate:>10,.0f} samples/s  test accuracy {statistics.median(accs[way]):.4f}  "
                  f"{flops / 1e9:6.2f} GFLOP/s = {100 * flops / peak:5.1f}% of peak  "
                  f"(runs: {', '.join(f'{t:.2f}s' for t in times[way])})")
        print(f"  ratio nndsl/keras: {result['nndsl']['samples_per_s'] / result['keras']['samples_per_s']:.2f}x  "
              f"(accuracy difference {result['nndsl']['accuracy'] - result['keras']['accuracy']:+.4f})")
        sys.stdout.flush()
        results.append(result)
    return results


def side_by_side(args, argv: list[str], backends: list[str], peak: float) -> int:
    """Each Keras backend in its own process (Keras fixes the backend at import), then one table."""
    import json
    import subprocess
    import tempfile

    passed = []
    skip = False
    for item in argv:  # everything but --backends goes to the child
        if skip:
            skip = False
            continue
        if item == "--backends":
            skip = True
            continue
        if not item.startswith("--backends="):
            passed.append(item)
    results: list[dict[str, Any]] = []
    failed = []
    for backend in backends:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            env = {**os.environ, "KERAS_BACKEND": backend}
            print(f"\n=== KERAS_BACKEND={backend} ===", flush=True)
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), *passed, "--peak", str(peak),
                                   "--json-out", out.name], env=env)
            if proc.returncode != 0:
                failed.append(backend)
                continue
            with open(out.name, encoding="utf-8") as fh:
                results += json.load(fh)
    peaks = sorted({f"{r['backend']} {r['peak'] / 1e9:,.0f}" for r in results}) if args.device_peak else []
    print(f"\nKeras backends side by side ({os.cpu_count()} CPUs, peak "
          + (f"GFLOP/s per backend: {', '.join(peaks)}" if peaks else f"{peak / 1e9:.1f} GFLOP/s")
          + "; "
          f"{args.epochs} epochs, median of {args.repeats}; keras = a tutorial's fit, nndsl = nndsl's plan):\n")
    print("| model | backend | keras samples/s | nndsl samples/s | % of peak keras / nndsl | test acc nndsl "
          "| nndsl plan |")
    print("|---|---|---:|---:|---:|---:|---|")
    for r in results:
        print(f"| {r['model']} | {r['backend']} | {r['keras']['samples_per_s']:,.0f} | "
              f"{r['nndsl']['samples_per_s']:,.0f} | {r['keras']['percent_of_peak']:.1f}% / "
              f"{r['nndsl']['percent_of_peak']:.1f}% | {r['nndsl']['accuracy']:.3f} | {r['plan']} |")
    models = list(dict.fromkeys(r["model"] for r in results))
    for model in models:
        rows = [r for r in results if r["model"] == model]
        best = max(rows, key=lambda r: r["nndsl"]["samples_per_s"])
        others = ", ".join(f"{r['backend']} {r['nndsl']['samples_per_s'] / best['nndsl']['samples_per_s']:.2f}x"
                           for r in rows if r is not best)
        print(f"fastest for {model}: {best['backend']}" + (f" (others: {others})" if others else ""))
    if failed:
        print(f"failed: {', '.join(failed)} (see the output above)")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mlp,convnet,wide,resnet,transformer", help="comma-separated: mlp, convnet, wide, resnet, transformer")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=None,
                        help="training rows (default: 60,000 for the MLPs, 12,000 for the convnet, "
                             "6,000 for the transformer, 3,000 for the resnet)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--plan", action="append", default=[], metavar="KEY=VALUE",
                        help="override nndsl's training plan, e.g. steps_per_execution=1, pipeline=tfdata, "
                             "jit_compile=true; precision=mixed_bfloat16 sets Keras' dtype policy for nndsl's side")
    parser.add_argument("--backends", default=None, metavar="B1,B2",
                        help="Keras backends to compare side by side, e.g. tensorflow,jax,torch "
                             "(default: only the current one, KERAS_BACKEND)")
    parser.add_argument("--device-peak", action="store_true",
                        help="measure the peak as a matmul on the backend's own device (GPUs) instead of NumPy's")
    parser.add_argument("--peak", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--json-out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    known = cases()
    chosen = [m.strip() for m in args.models.split(",") if m.strip()]
    for name in chosen:
        if name not in known:
            parser.error(f"unknown model {name!r} (choose from {', '.join(known)})")
    peak = args.peak or (0.0 if args.device_peak else peak_flops())
    if args.backends:
        backends = [b.strip() for b in args.backends.split(",") if b.strip()]
        for b in backends:
            if b not in ("tensorflow", "jax", "torch"):
                parser.error(f"unknown Keras backend {b!r} (choose from tensorflow, jax, torch)")
        return side_by_side(args, argv, backends, peak)
    results = measure(args, chosen, peak)
    if args.json_out:
        import json

        with open(args.json_out, "w", encoding="utf-8") as fh:
            json.dump(results, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())

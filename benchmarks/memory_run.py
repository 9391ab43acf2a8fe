"""Peak resident memory of ``nndsl run`` against the same training written by hand in Keras.

Both train the seed model (784-32-10) for ``--epochs`` on the same file: the bundled digits
repeated to ``--rows`` rows, saved as ``digits.npz`` (uint8 ``x`` of shape (rows, 28, 28)
and ``y``) in a temporary directory. Each runs in a fresh process; its peak resident set
size comes from ``os.wait4`` (the child's own ``ru_maxrss``). An idle
``python -c "import tensorflow, keras"`` is measured too, so the data's share is visible.

The hand-written script does what a tutorial does: ``np.load``, reshape, ``astype("float32")
/ 255`` (two float32 temporaries), ``keras.utils.to_categorical``, slice off a test split,
``fit`` on the arrays, ``evaluate``, ``save``.

Copies of the training array at peak, in ``nndsl run``: (1) the uint8 array ``np.load``
reads; (2) the float32 training array ``prepare`` makes (it scales in place on that one
array, takes the shuffled split with one fancy-index gather and drops the unsplit array).
During ``fit`` Keras' array adapter converts the arrays to tensors; whether that is a copy
is printed (``--explain``: measured with tracemalloc and by checking array ownership).
The float32 array is 4x the uint8 one, so it dominates.

Run: ``python benchmarks/memory_run.py`` (``--rows 2000 --epochs 1`` for a quick look).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLED = os.path.join(ROOT, "nndsl", "data", "mnist_5k.npz")

SPEC = """input 784
dense 32 relu
dense 10 softmax
rmsprop 0.001
loss mse
metrics accuracy
fit epochs={epochs} batch_size=128 test_split=0.1 seed=0{pipeline}
data "digits.npz"
"""

HAND_WRITTEN = """
import numpy as np
import keras
from keras import layers

data = np.load("digits.npz")
x = data["x"].reshape(-1, 784).astype("float32") / 255
y = keras.utils.to_categorical(data["y"], 10)
n_test = len(x) // 10
x_train, y_train, x_test, y_test = x[n_test:], y[n_test:], x[:n_test], y[:n_test]

model = keras.Sequential([keras.Input((784,)), layers.Dense(32, activation="relu"),
                          layers.Dense(10, activation="softmax")])
model.compile(optimizer=keras.optimizers.RMSprop(0.001), loss="mse", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=128, epochs={epochs}, verbose=0)
print(model.evaluate(x_test, y_test, verbose=0))
model.save("hand.keras")
"""

IDLE = "import tensorflow, keras"


def write_data(folder: str, rows: int) -> str:
    with np.load(BUNDLED) as npz:
        x, y = npz["x"], npz["y"]
    reps = -(-rows // len(x))
    path = os.path.join(folder, "digits.npz")
    np.savez(path, x=np.tile(x, (reps, 1, 1))[:rows], y=np.tile(y, reps)[:rows])
    return path


def peak_rss_mib(cmd: list[str], cwd: str) -> tuple[float, int, str]:
    """Run ``cmd``; return its own peak RSS (MiB, from wait4), exit status and output tail."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        tail = log.read().decode(errors="replace")[-2000:]
    return usage.ru_maxrss / 1024, proc.returncode, tail


EXPLAIN = """
import os, tracemalloc
import numpy as np
import nndsl
from nndsl.datasets import load_file
from nndsl.prepare import prepare
from nndsl.plugins import default_registry
registry = default_registry()
model = nndsl.load("model.nn", registry)
tracemalloc.start()
raw = load_file("digits.npz")
after_load = tracemalloc.get_traced_memory()[0]
prepared = prepare(raw, model, registry, seed=0, test_split=0.1)
now, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
x = prepared.x_train
mib = 1 / 2**20
print(f"uint8 x as loaded: {raw.x_train.nbytes * mib:.1f} MiB; float32 x_train {x.shape}: {x.nbytes * mib:.1f} MiB "
      f"(owns its data: {x.base is None or x.base.base is None})")
print(f"tracemalloc: {after_load * mib:.1f} MiB after load, {now * mib:.1f} MiB held after prepare, "
      f"{peak * mib:.1f} MiB peak during prepare")
import tensorflow as tf
t = tf.convert_to_tensor(x)
print(f"tf.convert_to_tensor(x_train) shares the NumPy buffer: {t.numpy().ctypes.data == x.ctypes.data}")
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--pipeline", choices=("numpy", "tfdata"), help="fit pipeline=... in the spec "
                        "(default: nndsl's default)")
    parser.add_argument("--no-explain", action="store_true", help="skip the array-copy accounting")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        write_data(folder, args.rows)
        with open(os.path.join(folder, "model.nn"), "w", encoding="utf-8") as fh:
            fh.write(SPEC.format(epochs=args.epochs, pipeline=f" pipeline={args.pipeline}" if args.pipeline else ""))
        with open(os.path.join(folder, "hand.py"), "w", encoding="utf-8") as fh:
            fh.write(textwrap.dedent(HAND_WRITTEN.format(epochs=args.epochs)))
        f32 = args.rows * 784 * 4 / 2**20
        print(f"{args.rows:,} rows x {args.epochs} epochs; float32 training array of all rows: {f32:.1f} MiB")
        runs = {
            "idle (import tensorflow, keras)": [sys.executable, "-c", IDLE],
            "hand-written Keras": [sys.executable, "hand.py"],
            "nndsl run": [sys.executable, "-m", "nndsl.cli", "run", "model.nn", "--out", "run", "--quiet"],
        }
        peaks = {}
        for name, cmd in runs.items():
            peak, code, tail = peak_rss_mib(cmd, folder)
            if code != 0:
                print(f"{name}: exited {code}\n{tail}")
                return 1
            peaks[name] = peak
            print(f"  {name:32s} peak RSS {peak:8.1f} MiB")
        ratio = peaks["nndsl run"] / peaks["hand-written Keras"]
        idle = peaks["idle (import tensorflow, keras)"]
        print(f"  ratio nndsl/hand-written: {ratio:.2f}x; above idle: nndsl {peaks['nndsl run'] - idle:.1f} MiB, "
              f"hand-written {peaks['hand-written Keras'] - idle:.1f} MiB")
        if not args.no_explain:
            print("array copies in nndsl's data path:")
            with open(os.path.join(folder, "explain.py"), "w", encoding="utf-8") as fh:
                fh.write(EXPLAIN)
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
            out = subprocess.run([sys.executable, "explain.py"], cwd=folder, env=env, capture_output=True, text=True)
            lines = [ln for ln in (out.stdout + out.stderr).splitlines() if not ln.startswith(("I0000", "E0000", "W0000", "WARNING"))]
            print("  " + "\n  ".join(lines[-6:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

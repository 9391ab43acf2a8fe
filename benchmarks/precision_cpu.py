"""Mixed precision on a CPU: seconds per epoch of a small convnet under each Keras dtype policy.

``nndsl run --precision mixed_float16|mixed_bfloat16`` on a CPU warns that it is usually slower
(nndsl/run/runner.py, PRECISION_ON_CPU); this measures it. Each policy trains in its own process
(the policy is process-wide), the same model and data (2,048 random 28x28x1 images, 10 classes,
batch 128), one warm-up epoch on 256 rows, then ``--repeats`` timed epochs; it prints the median
and the ratio to float32 measured in the same run. Timings are printed, never asserted.

Run: ``python benchmarks/precision_cpu.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")


def one(policy: str, repeats: int) -> float:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import keras

    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((2048, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, 2048)
    model = keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.Flatten(), keras.layers.Dense(10),
        keras.layers.Activation("softmax", dtype="float32")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x[:256], y[:256], epochs=1, batch_size=128, verbose=0)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(x, y, epochs=1, batch_size=128, verbose=0)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--policy", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.policy:
        print(json.dumps(one(args.policy, args.repeats)))
        return
    seconds = {}
    for policy in POLICIES:
        done = subprocess.run([sys.executable, __file__, "--policy", policy, "--repeats", str(args.repeats)],
                              capture_output=True, text=True, check=True)
        seconds[policy] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{'policy':<16} {'s/epoch (median)':>17} {'vs float32':>11}")
    for policy, s in seconds.items():
        print(f"{policy:<16} {s:17.3f} {s / seconds['float32']:10.2f}x")


if __name__ == "__main__":
    main()

"""nndsl's training fast path: how ``nndsl run`` (and ``benchmarks/train.py``) call ``fit``.

A Keras tutorial compiles with the defaults and passes NumPy arrays to ``fit``. For the small
models a spec usually describes, most of each step is then fixed overhead (one Python call and
one tf.function dispatch per batch), not arithmetic. The defaults here remove what measurably
helps and leave the rest to Keras. Each one is overridable, from the spec's ``fit`` statement
or from the CLI (``overrides``), which win in that order: CLI, spec, default.

What was measured (``benchmarks/train.py``, 784-32-10 seed model, 60,000 rows, batch 128,
2 shared AMD EPYC cores, TensorFlow 2.21 / Keras 3.15; full table in benchmarks/README.md):

* ``steps_per_execution``: default ``min(64, steps per epoch)``. Running 64 batches per
  compiled call took the seed model from ~45-50k to ~65-90k samples/s; 16 gained less, and a
  whole epoch per call (469) was slower than 64. Metrics and callbacks still see every epoch;
  per-batch callbacks fire every 64 batches.
* ``jit_compile``: not set (Keras' ``"auto"``: XLA on GPU, off on CPU). Forcing XLA on CPU made
  the seed model 2-3x *slower*; on a GPU Keras already turns it on.
* Thread pools (``tf.config.threading``): left at TensorFlow's defaults. inter/intra 1/1,
  1/2 and 2/1 gave no consistent gain over the defaults on 2 cores and would starve a convnet.
* ``pipeline``: ``numpy`` (Keras' own array adapter) or ``tfdata`` (see :func:`batch_dataset`);
  the default is :data:`DEFAULT_PIPELINE`, chosen by measurement, see its comment.

The bullets above are TensorFlow's. Each Keras backend (and kind of device) has its own row in
:data:`BACKEND_DEFAULTS`, measured side by side with ``benchmarks/train.py --backends
tensorflow,jax,torch``; a setting a backend cannot honour never reaches Keras (PyTorch runs
one batch per call), and ``pipeline tfdata`` is never a default where it would import
TensorFlow next to another backend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from . import ir
from .diagnostics import UsageError

PIPELINES = ("numpy", "tfdata")
DEFAULT_STEPS_PER_EXECUTION = 64
_JIT = {"true": True, "false": False, "auto": "auto", True: True, False: False}


@dataclass(frozen=True)
class BackendDefaults:
    """What one Keras backend on one kind of device can do, and nndsl's default there.

    ``multi_step``: Keras accepts ``steps_per_execution`` > 1 (not on PyTorch);
    ``steps_per_execution``: the default cap (``min(cap, steps per epoch)``);
    ``pipeline``: the default way batches reach ``fit``; ``measured``: where the numbers are.
    """

    multi_step: bool
    steps_per_execution: int
    pipeline: str
    measured: str


_CPU_TABLE = "benchmarks/README.md, Keras backends"
# Chosen from `python benchmarks/train.py --backends tensorflow,jax,torch` (2 CPU cores); the
# table and the runs behind each choice are in benchmarks/README.md ("Keras backends").
BACKEND_DEFAULTS: dict[tuple[str, str], BackendDefaults] = {
    # tfdata: the seed model went from ~67k (numpy, steps_per_execution 64) to ~116k samples/s,
    # 2.5x a tutorial's 46k, at the same test accuracy (0.924 vs 0.926); see batch_dataset.
    ("tensorflow", "CPU"): BackendDefaults(True, DEFAULT_STEPS_PER_EXECUTION, "tfdata", _CPU_TABLE),
    # JAX: tf.data made the seed model 5x slower (31k vs 165k samples/s: it imports and runs
    # TensorFlow beside JAX); several steps per call gained nothing measurable (seed model,
    # 3 repeats: 92.6k samples/s with 1, 80.7k with 16, 49.0k with 64), so Keras' 1 stays.
    ("jax", "CPU"): BackendDefaults(True, 1, "numpy", _CPU_TABLE),
    # PyTorch: Keras runs one batch per call; tf.data was 2-3x slower than NumPy input.
    ("torch", "CPU"): BackendDefaults(False, 1, "numpy", _CPU_TABLE),
}
# GPUs: not measured on this machine; the CPU choices apply until benchmarks/gpu_backends.sh
# (and benchmarks/train.py on a TensorFlow GPU machine) give numbers.
_GENERIC = BackendDefaults(False, 1, "numpy", "no measurements: Keras' own defaults")


def backend_defaults(backend: str, device: str = "CPU") -> BackendDefaults:
    """The table entry for ``backend`` on ``device`` ("CPU" or "GPU"); GPUs fall back to the CPU row."""
    return BACKEND_DEFAULTS.get((backend, device)) or BACKEND_DEFAULTS.get((backend, "CPU")) or _GENERIC


# The default under TensorFlow on CPU (the default Keras backend).
DEFAULT_PIPELINE = BACKEND_DEFAULTS[("tensorflow", "CPU")].pipeline


@dataclass(frozen=True)
class TrainingPlan:
    """How to compile and feed one model.

    ``compile_options`` go to :func:`nndsl.build` (``steps_per_execution``, ``jit_compile``);
    :meth:`fit_arguments` gives the data keyword arguments of ``keras.Model.fit``;
    ``notes`` says in words what was chosen and why (printed by ``run``); ``warnings``, which
    settings of the spec the backend could not honour.
    """

    compile_options: Mapping[str, Any]
    pipeline: str
    batch_size: int
    shuffle: bool
    seed: int | None
    notes: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())

    def fit_arguments(self, x, y) -> dict[str, Any]:
        """``x``/``y`` (and ``batch_size``/``shuffle`` for arrays) for ``model.fit(**...)``."""
        if self.pipeline == "tfdata":
            # shuffle=False: the dataset shuffles itself (Keras would warn that it ignores True).
            return {"x": batch_dataset(x, y, self.batch_size, shuffle=self.shuffle, seed=self.seed),
                    "shuffle": False}
        return {"x": x, "y": y, "batch_size": self.batch_size, "shuffle": self.shuffle}


def rows(data) -> int:
    """Samples in one array or a dict of arrays (one per input)."""
    return len(next(iter(data.values()))) if isinstance(data, Mapping) else len(data)


def training_plan(model: ir.Model, n_train: int, overrides: Mapping[str, Any] | None = None, *,
                  backend: str = "tensorflow", device: str = "CPU") -> TrainingPlan:
    """The plan for ``model`` on ``n_train`` rows: CLI ``overrides``, then the spec's ``fit``, then defaults.

    Keys read: ``batch_size``, ``shuffle``, ``seed``, ``steps_per_execution``, ``jit_compile``
    (``true``/``false``/``auto``) and ``pipeline`` (``numpy``/``tfdata``); ``None`` values
    in ``overrides`` mean "not given". Defaults come from :data:`BACKEND_DEFAULTS` for the
    Keras ``backend`` and the ``device`` kind. A spec setting the backend cannot honour
    (``steps_per_execution`` > 1 on PyTorch) is replaced and said in ``warnings``.

    Raises:
        UsageError: an unknown pipeline, a non-positive steps_per_execution, a command-line
        setting the backend cannot honour, or ``pipeline tfdata`` without TensorFlow installed.
    """
    given = {k: v for k, v in dict(overrides or {}).items() if v is not None}
    spec = model.training.fit_options
    table = backend_defaults(backend, device)
    where = f"{backend} on {device}"

    def setting(name: str, default: Any) -> tuple[Any, str]:
        if name in given:
            return given[name], "given"
        if spec.get(name) is not None:
            return spec[name], "spec"
        return default, f"default for {where}"

    warnings: list[str] = []
    batch_size, _ = setting("batch_size", 32)
    shuffle, _ = setting("shuffle", True)
    seed, _ = setting("seed", None)
    steps_per_epoch = max(1, math.ceil(n_train / batch_size))
    spe, spe_from = setting("steps_per_execution", min(table.steps_per_execution, steps_per_epoch))
    if not isinstance(spe, int) or isinstance(spe, bool) or spe < 1:
        raise UsageError(f"steps_per_execution must be a positive integer, got {spe!r}")
    if spe > 1 and not table.multi_step:
        why = f"Keras on {backend} runs one batch per call (steps_per_execution must be 1)"
        if spe_from == "given":
            raise UsageError(f"--steps-per-execution {spe}: {why}; drop the flag, or train with "
                             "KERAS_BACKEND=tensorflow or jax")
        warnings.append(f"the spec's steps_per_execution={spe} is ignored: {why}")
        spe, spe_from = 1, f"{backend} runs one batch per call"
    jit, jit_from = setting("jit_compile", None)
    if jit is not None and jit not in _JIT:
        raise UsageError(f"jit_compile must be true, false or auto, got {jit!r}")
    pipeline, pipe_from = setting("pipeline", table.pipeline)
    if pipeline not in PIPELINES:
        raise UsageError(f"unknown pipeline {pipeline!r} (choose from {', '.join(PIPELINES)})")
    if pipeline == "tfdata":
        from .kerasenv import installed

        if not installed("tensorflow"):
            raise UsageError("pipeline tfdata builds a tf.data pipeline and needs TensorFlow, which is not "
                             "installed: install tensorflow, or use pipeline numpy (--pipeline numpy)")

    compile_options: dict[str, Any] = {"steps_per_execution": spe}
    notes = [f"steps_per_execution {spe} ({spe_from}; {steps_per_epoch} steps per epoch)"]
    if jit is not None:
        compile_options["jit_compile"] = _JIT[jit]
        notes.append(f"jit_compile {jit} ({jit_from})")
    notes.append(f"pipeline {pipeline} ({pipe_from})")
    return TrainingPlan(compile_options, pipeline, batch_size, bool(shuffle), seed, tuple(notes),
                        tuple(warnings))


def _tree_map(fn: Callable, data):
    if isinstance(data, Mapping):
        return {k: fn(v) for k, v in data.items()}
    return fn(data)


def batch_dataset(x, y, batch_size: int, *, shuffle: bool = True, seed: int | None = None):
    """A ``tf.data`` pipeline whose elements are whole batches, cut from one tensor.

    The arrays are reshaped (a view, no copy) to ``(batches, batch_size, ...)`` and sliced
    by ``from_tensor_slices``, so each step takes one slice instead of gathering
    ``batch_size`` rows; the last partial batch is appended as its own element. With
    ``shuffle`` the order of the batches changes every epoch, but each batch keeps its rows
    (the data was shuffled once when it was prepared), then ``prefetch`` overlaps the next
    batch with the current step.
    """
    from .kerasenv import require_tensorflow

    tf = require_tensorflow("pipeline tfdata")
    n = rows(x)
    full = n // batch_size

    def head(a):
        return a[: full * batch_size].reshape((full, batch_size) + a.shape[1:])

    def tail(a):
        return a[full * batch_size:]

    parts = []
    if full:
        parts.append(tf.data.Dataset.from_tensor_slices((_tree_map(head, x), _tree_map(head, y))))
    if n % batch_size:
        parts.append(tf.data.Dataset.from_tensors((_tree_map(tail, x), _tree_map(tail, y))))
    ds = parts[0]
    for more in parts[1:]:
        ds = ds.concatenate(more)
    if shuffle:
        ds = ds.shuffle(len(parts) - 1 + full, seed=seed, reshuffle_each_iteration=True)
    return ds.prefetch(tf.data.AUTOTUNE)

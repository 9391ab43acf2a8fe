"""Which accelerator trains, and which ``tf.distribute`` strategy spreads the work.

``auto`` picks ``MirroredStrategy`` when the TensorFlow backend sees several GPUs, else the
default (one device). ``mirrored`` forces ``MirroredStrategy`` over the GPUs, or over the
logical CPU devices when there are no GPUs (how it is tested without GPUs).
``multiworker`` is ``MultiWorkerMirroredStrategy`` configured from ``TF_CONFIG`` (or from
``--workers`` and ``--task-index``, which write ``TF_CONFIG``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Sequence

from ..diagnostics import UsageError

STRATEGIES = ("auto", "none", "mirrored", "multiworker")


@dataclass(frozen=True)
class Device:
    """What trains: ``kind`` is "GPU" or "CPU"; ``names`` one entry per device used."""

    kind: str
    names: tuple[str, ...]
    backend: str

    def describe(self) -> str:
        if self.kind == "GPU":
            listed = "; ".join(f"{i}: {n}" for i, n in enumerate(self.names))
            return f"{len(self.names)} GPU{'s' if len(self.names) > 1 else ''} ({listed})"
        return f"CPU ({os.cpu_count() or '?'} cores)"

    def to_json(self) -> dict:
        return {"kind": self.kind, "names": list(self.names), "backend": self.backend,
                "description": self.describe()}


@dataclass
class Placement:
    """The device and the strategy (None: Keras' default, one device)."""

    device: Device
    strategy: Any
    strategy_name: str
    replicas: int
    task: str = ""          # "worker 1" under multiworker
    is_chief: bool = True   # the worker that writes the run directory

    def scope(self):
        import contextlib

        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()


def detect(backend: str) -> Device:
    """The accelerators the Keras backend can see."""
    if backend == "tensorflow":
        import tensorflow as tf

        from .quiet import native_stderr_filtered

        with native_stderr_filtered():
            gpus = tf.config.list_physical_devices("GPU")
        names = []
        for gpu in gpus:
            try:
                details = tf.config.experimental.get_device_details(gpu)
            except Exception:  # noqa: BLE001 - details are cosmetic
                details = {}
            names.append(details.get("device_name") or gpu.name)
        if names:
            return Device("GPU", tuple(names), backend)
        return Device("CPU", ("CPU",), backend)
    if backend == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform in ("gpu", "cuda", "rocm")]
        if gpus:
            return Device("GPU", tuple(getattr(d, "device_kind", str(d)) for d in gpus), backend)
        return Device("CPU", ("CPU",), backend)
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            return Device("GPU", tuple(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())),
                          backend)
        return Device("CPU", ("CPU",), backend)
    return Device("CPU", ("CPU",), backend)


def tf_config_from(workers: Sequence[str], task_index: int) -> str:
    """``TF_CONFIG`` for ``--workers host:port,...`` and ``--task-index N``."""
    if not 0 <= task_index < len(workers):
        raise UsageError(f"--task-index {task_index} is out of range for {len(workers)} workers "
                         f"(0..{len(workers) - 1})")
    for w in workers:
        host, _, port = w.rpartition(":")
        if not host or not port.isdigit():
            raise UsageError(f"--workers: {w!r} is not host:port")
    return json.dumps({"cluster": {"worker": list(workers)}, "task": {"type": "worker", "index": task_index}})


def place(backend: str, strategy: str = "auto", *, workers: Sequence[str] | None = None,
          task_index: int | None = None) -> Placement:
    """Detect devices and make the strategy. Must run before any model is built."""
    if strategy not in STRATEGIES:
        raise UsageError(f"unknown --strategy {strategy!r} (choose from {', '.join(STRATEGIES)})")
    if workers and strategy != "multiworker":
        raise UsageError("--workers needs --strategy multiworker")
    if strategy in ("mirrored", "multiworker") and backend != "tensorflow":
        raise UsageError(f"--strategy {strategy} needs the TensorFlow backend (KERAS_BACKEND=tensorflow); "
                         f"this is Keras on {backend}")
    if strategy == "multiworker":
        return _multiworker(backend, workers, task_index)
    device = detect(backend)
    if strategy == "none" or backend != "tensorflow":
        return Placement(device, None, "default", 1)
    import tensorflow as tf

    if strategy == "auto" and not (device.kind == "GPU" and len(device.names) > 1):
        return Placement(device, None, "default", 1)
    if device.kind == "GPU":
        names = [d.name for d in tf.config.list_logical_devices("GPU")]
    else:
        names = [d.name for d in tf.config.list_logical_devices("CPU")]
        device = Device("CPU", tuple(names), backend)
    mirrored = tf.distribute.MirroredStrategy(devices=names)
    return Placement(device, mirrored, "mirrored", mirrored.num_replicas_in_sync)


def _multiworker(backend: str, workers: Sequence[str] | None, task_index: int | None) -> Placement:
    if workers:
        if task_index is None:
            raise UsageError("--workers needs --task-index (this worker's position in the list)")
        os.environ["TF_CONFIG"] = tf_config_from(workers, task_index)
    elif task_index is not None:
        raise UsageError("--task-index needs --workers (or set TF_CONFIG instead of both)")
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise UsageError("--strategy multiworker needs TF_CONFIG, or --workers host:port,... and --task-index N")
    try:
        config = json.loads(raw)
        cluster = config["cluster"]
        task = config["task"]
        n_workers = len(cluster.get("worker", ())) + len(cluster.get("chief", ()))
        index = int(task.get("index", 0))
        kind = task.get("type", "worker")
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise UsageError(f"TF_CONFIG is not valid: {e}") from None
    import tensorflow as tf

    device = detect(backend)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    chief = kind == "chief" or (kind == "worker" and index == 0 and "chief" not in cluster)
    return Placement(device, strategy, "multiworker", strategy.num_replicas_in_sync,
                     task=f"{kind} {index} of {n_workers}", is_chief=chief)

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
    """What trains: ``kind`` is "GPU", "TPU" or "CPU"; ``names`` one entry per device used.

    ``backend`` is the Keras backend and ``software`` its version string ("jax 0.10.2"),
    ``platform`` the accelerator stack it drives ("CUDA 12.8", "ROCm", "Metal"; "" on CPU).
    """

    kind: str
    names: tuple[str, ...]
    backend: str
    software: str = ""
    platform: str = ""
    # what drives the backend, for describe(): "Keras" (on jax, torch, ...); "" when the
    # software is the framework itself (the torch plugin's "PyTorch 2.13.0")
    driver: str = "Keras"

    def hardware(self) -> str:
        if self.kind != "CPU":
            listed = "; ".join(f"{i}: {n}" for i, n in enumerate(self.names))
            via = f" via {self.platform}" if self.platform else ""
            return f"{len(self.names)} {self.kind}{'s' if len(self.names) > 1 else ''} ({listed}){via}"
        return f"CPU ({os.cpu_count() or '?'} cores)"

    def describe(self) -> str:
        """One line: the hardware, then the software that drives it (Keras and its backend)."""
        return f"{self.hardware()}, " + (f"{self.driver} on " if self.driver else "") + (self.software or self.backend)

    def to_json(self) -> dict:
        return {"kind": self.kind, "names": list(self.names), "backend": self.backend,
                "software": self.software, "platform": self.platform, "description": self.describe()}


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
    """The accelerators the Keras backend will train on (what Keras itself would pick)."""
    probe = {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}.get(backend)
    if probe is None:
        return Device("CPU", ("CPU",), backend, backend)
    return probe()


def _tensorflow() -> Device:
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
    software = f"tensorflow {tf.__version__}"
    if names:
        build = tf.sysconfig.get_build_info()
        platform = (f"CUDA {build['cuda_version']}" if build.get("is_cuda_build") and build.get("cuda_version")
                    else "ROCm" if build.get("is_rocm_build") else "")
        return Device("GPU", tuple(names), "tensorflow", software, platform)
    return Device("CPU", ("CPU",), "tensorflow", software)


def _jax() -> Device:
    import jax

    software = f"jax {jax.__version__}"
    devices = jax.devices()  # the default platform's devices: the ones Keras' JAX backend uses
    gpus = [d for d in devices if d.platform in ("gpu", "cuda", "rocm")]
    if gpus:
        try:
            stack = str(gpus[0].client.platform_version).lower()
        except Exception:  # noqa: BLE001 - cosmetic
            stack = gpus[0].platform
        platform = "ROCm" if "rocm" in stack or gpus[0].platform == "rocm" else "CUDA"
        return Device("GPU", tuple(getattr(d, "device_kind", str(d)) for d in gpus), "jax", software, platform)
    if devices and devices[0].platform == "tpu":
        return Device("TPU", tuple(getattr(d, "device_kind", str(d)) for d in devices), "jax", software)
    return Device("CPU", ("CPU",), "jax", software)


def _torch() -> Device:
    import torch

    software = f"torch {torch.__version__}"
    # Keras' torch backend prefers CUDA (also ROCm builds), then Apple's MPS, then the CPU.
    if torch.cuda.is_available():
        names = tuple(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        platform = f"CUDA {torch.version.cuda}" if torch.version.cuda else "ROCm"
        return Device("GPU", names, "torch", software, platform)
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return Device("GPU", ("Apple GPU",), "torch", software, "Metal (MPS)")
    return Device("CPU", ("CPU",), "torch", software)


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
        from ..kerasenv import installed

        need = ("the TensorFlow backend (KERAS_BACKEND=tensorflow)" if installed("tensorflow")
                else "TensorFlow, which is not installed: install tensorflow and set KERAS_BACKEND=tensorflow")
        raise UsageError(f"--strategy {strategy} uses tf.distribute and needs {need}; this is Keras on {backend}")
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
        device = Device("CPU", tuple(names), backend, device.software)
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

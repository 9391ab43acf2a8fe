"""Will the model's weights and optimizer state fit this machine's memory? (W011, E730)

A spec can ask for a model no machine holds (``input 784; dense 1000000; dense 1000000`` is a
trillion parameters): ``nndsl check`` warns (W011) and ``nndsl run`` refuses it (E730) before
loading data or importing a framework, instead of letting the process die out of memory.

The estimate is a lower bound: float32 weights (4 bytes a parameter, trainable or not) plus the
optimizer's per-weight slots for the trainable ones (Adam keeps two moments: 3x the weights in
all; SGD without momentum none: 1x). Gradients, activations, the data and the framework itself
come on top, so a model that passes may still not fit; one that fails surely does not.

The machine's memory is the smaller of its physical RAM (``os.sysconf``, else
``/proc/meminfo``) and a cgroup v2 limit (``/sys/fs/cgroup/memory.max``: containers).
``NNDSL_MEMORY_BYTES`` overrides it (tests, or to check for a smaller machine than this one).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

from . import ir

BYTES_PER_PARAM = 4  # float32
MEMORY_ENV = "NNDSL_MEMORY_BYTES"
DEFAULT_OPTIMIZER = "rmsprop"  # what the Keras lowering uses when a spec names none


def machine_memory() -> int | None:
    """Bytes of memory this process may use (None: cannot tell, so nothing is refused)."""
    override = os.environ.get(MEMORY_ENV)
    if override:
        try:
            return int(float(override))
        except ValueError:
            return None
    total = None
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        try:
            with open("/proc/meminfo", encoding="ascii", errors="replace") as fh:
                for line in fh:
                    if line.startswith("MemTotal:"):
                        total = int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError, IndexError):
            pass
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as fh:
            limit = fh.read().strip()
        if limit.isdigit():
            total = min(total, int(limit)) if total else int(limit)
    except OSError:
        pass
    return total if total and total > 0 else None


def optimizer_slots(optimizer: ir.Optimizer | None) -> tuple[int, str]:
    """(per-weight copies the optimizer keeps, its name as the estimate explains it)."""
    name = optimizer.name if optimizer is not None else DEFAULT_OPTIMIZER
    attr = optimizer.attr if optimizer is not None else {}
    if name == "sgd":
        slots = 1 if attr.get("momentum") else 0
    elif name == "rmsprop":
        slots = 1 + bool(attr.get("momentum")) + bool(attr.get("centered"))
    elif name in ("adam", "adamw"):
        slots = 2 + bool(attr.get("amsgrad"))
    elif name in ("adamax", "nadam", "adadelta", "ftrl"):
        slots = 2
    elif name in ("adagrad", "lion"):
        slots = 1
    else:
        slots = 2  # a plugin's optimizer: assume Adam's two moments
    return slots, name


@dataclass(frozen=True)
class MemoryEstimate:
    params: int
    trainable: int
    slots: int
    optimizer: str

    @property
    def bytes(self) -> int:
        return BYTES_PER_PARAM * (self.params + self.slots * self.trainable)

    def describe(self) -> str:
        return (f"{self.params:,} parameters in float32 plus {self.optimizer}'s state "
                f"({self.slots} cop{'y' if self.slots == 1 else 'ies'} of the trainable weights) "
                f"need at least {human_bytes(self.bytes)}")


def estimate(nodes: Sequence[ir.Node], optimizer: ir.Optimizer | None) -> MemoryEstimate:
    slots, name = optimizer_slots(optimizer)
    trainable = sum(n.params.trainable for n in nodes)
    return MemoryEstimate(trainable + sum(n.params.non_trainable for n in nodes), trainable, slots, name)


def too_large(nodes: Sequence[ir.Node], optimizer: ir.Optimizer | None,
              memory: int | None = None) -> tuple[MemoryEstimate, int] | None:
    """(estimate, memory) when the weights and optimizer state exceed ``memory`` (default: this
    machine's, :func:`machine_memory`); None when they fit or the memory is unknown."""
    memory = machine_memory() if memory is None else memory
    if not memory:
        return None
    est = estimate(nodes, optimizer)
    return (est, memory) if est.bytes > memory else None


def largest_node(nodes: Sequence[ir.Node]) -> ir.Node | None:
    """The layer holding the most parameters: where a diagnostic points."""
    return max(nodes, key=lambda n: n.params.total, default=None)


def message(est: MemoryEstimate, memory: int) -> str:
    return f"the model will not fit this machine's memory: {est.describe()}, and it has {human_bytes(memory)}"


HINT = ("make the largest layers smaller (fewer units, or a pooling/strided layer before a dense one), "
        "or train on a machine with more memory; an optimizer with less state (sgd) needs less")


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n} PiB"  # pragma: no cover

"""``nndsl run``: a checked spec to a trained, evaluated, saved model.

One concern per module: :mod:`.outputs` (the run directory, its lock and atomic writes),
:mod:`.device` (which accelerator, which ``tf.distribute`` strategy), :mod:`.runner` (the
orchestration: data, build, fit, evaluate, save, resume), :mod:`.distributed` (the
multi-worker train step), :mod:`.use` (``evaluate`` and ``predict`` on a saved run).
Nothing here imports TensorFlow or Keras at import time.
"""

from __future__ import annotations

from .outputs import RunDirError
from .runner import RunOptions, RunResult, resume, run

__all__ = ["RunOptions", "RunResult", "RunDirError", "run", "resume"]

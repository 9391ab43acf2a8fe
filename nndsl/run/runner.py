"""``nndsl run``: check the spec, load and prepare its data, build, fit, evaluate, save.

The spec's training section is the plan (optimizer, losses, metrics, ``fit`` settings,
callbacks, ``data``); :class:`RunOptions` holds what the command line overrides. Every step
says what it did (the data source, each preparation, the device). The run directory is
described in :mod:`.outputs`; ``run.json`` records the resolved settings so ``--resume``
continues with exactly the same data split, batch size and seed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping, TextIO

from .. import ir
from ..errors import NndslError, RunError, UsageError  # noqa: F401 - RunError re-exported
from ..statements import FIT_PARAMS
from ..tools.diagram import render as render_diagram
from . import outputs
from .outputs import RunDir, RunDirError
from .trainer import trainer_for

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
# Measured by benchmarks/precision_cpu.py (a small convnet; 2 shared AMD EPYC cores with
# AVX512_BF16; TensorFlow 2.21 / Keras 3.15): mixed_float16 took 4.8-6.9x the time of float32;
# mixed_bfloat16 0.55-0.6x, on this CPU's bfloat16 instructions (CPUs without them emulate it).
PRECISION_ON_CPU = {
    "mixed_float16": "CPUs convert float16 rather than compute in it (about 5-7x slower than float32 in "
                     "benchmarks/precision_cpu.py)",
    "mixed_bfloat16": "this CPU has no bfloat16 instructions (AVX512_BF16 or AMX), so it is emulated",
}


def _cpu_has_bfloat16() -> bool | None:
    """Whether the CPU computes bfloat16 natively (Linux: /proc/cpuinfo flags; None: cannot tell)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            flags = fh.read()
    except OSError:
        return None
    return "avx512_bf16" in flags or "amx_bf16" in flags


def precision_warning(precision: str, device_kind: str) -> str | None:
    """A warning for a mixed-precision policy on a CPU, where it usually slows training down."""
    if not precision.startswith("mixed") or device_kind != "CPU":
        return None
    if precision == "mixed_bfloat16" and _cpu_has_bfloat16():
        return None  # measured faster than float32 on such a CPU
    return (f"{precision} on a CPU is usually slower than float32, not faster: {PRECISION_ON_CPU[precision]}; "
            "it pays off on GPUs and TPUs")


@dataclass(frozen=True)
class RunOptions:
    """Command-line overrides of the spec's ``fit`` and ``data`` statements (None: the spec's)."""

    epochs: int | None = None
    batch_size: int | None = None
    data: str | None = None
    backend: str | None = None
    seed: int | None = None
    out: str | None = None
    precision: str | None = None
    strategy: str = "auto"
    workers: tuple[str, ...] = ()
    task_index: int | None = None
    quiet: bool = False
    silent: bool = False
    json: bool = False
    # Training fast-path choices (nndsl/perf.py); None: the spec's fit statement, then defaults.
    steps_per_execution: int | None = None
    jit_compile: str | None = None
    pipeline: str | None = None
    tensorboard: bool = False  # --tensorboard: TensorBoard logs in RUN/tensorboard/ (Keras trainers)


# Where `nndsl run --tensorboard` writes its logs, relative to the run directory.
TENSORBOARD_DIR = "tensorboard"


@dataclass
class RunResult:
    run_dir: str
    metrics: dict
    interrupted: bool = False
    stopped: str | None = None  # why an on_epoch hook ended training early (StopTraining), if it did


class StopTraining(Exception):
    """Raised by a run's ``on_epoch`` hook to end training after this epoch (a pruned tune trial).

    The run then finishes like one that ran out of epochs (model, history and metrics saved,
    ``metrics["stopped"]`` says why), without evaluating on the test rows.
    """


class Reporter:
    """Human lines (stdout, or stderr under ``--json``), JSON event lines, only the result
    (``--quiet``: the final test line), or nothing at all (``--silent``)."""

    def __init__(self, quiet: bool = False, as_json: bool = False, stream: TextIO | None = None,
                 silent: bool = False):
        self.quiet = quiet or silent
        self.silent = silent
        self.as_json = as_json
        self.stream = stream or sys.stdout

    def info(self, line: str) -> None:
        if not self.quiet:
            print(line, file=sys.stderr if self.as_json else self.stream, flush=True)

    def result(self, line: str) -> None:
        """The line a run ends with (its test metrics): shown by ``--quiet`` too."""
        if not self.silent:
            print(line, file=sys.stderr if self.as_json else self.stream, flush=True)

    def event(self, kind: str, **data: Any) -> None:
        if self.as_json:
            print(json.dumps({"event": kind, **data}, default=outputs._jsonable), file=self.stream, flush=True)

    @property
    def keras_verbose(self) -> int:
        if self.quiet or self.as_json:
            return 0
        return 1 if getattr(self.stream, "isatty", lambda: False)() else 2


_FIT_DEFAULTS = {p.name: p.default for p in FIT_PARAMS}


def fit_setting(model: ir.Model, name: str) -> Any:
    return model.training.fit_options.get(name, _FIT_DEFAULTS[name])


def data_reference(model: ir.Model, override: str | None, registry, spec_dir: str) -> tuple[dict, str]:
    """The data to train on, as a JSON-able dict (for run.json), and a description."""
    if override:
        if override in registry.datasets and not os.path.exists(override):
            return {"kind": "dataset", "value": override, "options": [], "base_dir": os.getcwd()}, override
        return {"kind": "path", "value": override, "options": [], "base_dir": os.getcwd()}, override
    ref = model.training.data
    if ref is None:
        raise UsageError("the spec has no data statement; add one (data mnist, data \"file.npz\") or pass --data")
    return ({"kind": ref.kind, "value": ref.value, "options": [list(o) for o in ref.options],
             "base_dir": spec_dir}, ref.value)


def load_data(settings: Mapping[str, Any], model: ir.Model, registry, reporter: Reporter, *,
              test_split: float | None = None, validation_split: float | None = None):
    from ..data import prepare_data

    d = settings["data"]
    ref = ir.DataRef(d["kind"], d["value"], tuple(tuple(o) for o in d["options"]))
    prepared = prepare_data(
        ref, model, registry, base_dir=d["base_dir"], seed=settings["data_seed"],
        validation_split=settings["validation_split"] if validation_split is None else validation_split,
        test_split=settings["test_split"] if test_split is None else test_split)
    reporter.info(f"data: {prepared.source}")
    for note in prepared.notes:
        reporter.info(f"  - {note}")
    for warning in prepared.warnings:
        reporter.info(f"warning: {warning}")
    return prepared


def default_run_dir(model_name: str) -> str:
    return outputs.fresh_dir("runs", model_name)


def _self_contained(checked, source, overrides, registry) -> str:
    """The spec text a run directory keeps: as written, or flat when it reads --set values or includes."""
    if not overrides and not checked.sources:
        return source.text
    from ..flat import render_flat

    return render_flat(checked, registry)


def _require_lowerable(checked, options: RunOptions, registry) -> None:
    """Before any data is read: every construct the run's backend cannot lower, all at once
    (E700/E701 at their lines), after the plugins' lowering warnings for that backend."""
    from ..backends.base import choose_backend, get_backend, require_lowerable

    model = checked.model
    if options.backend is not None:
        backend = get_backend(registry, options.backend)
    else:
        backend = choose_backend(model, registry)
    if not options.silent:
        for w in backend.lowerings(registry).warnings:
            print(f"nndsl: warning: {w}", file=sys.stderr)
    require_lowerable(backend, model, registry, source=checked.source, sources=checked.sources)


def run(spec_path: str, options: RunOptions, registry, reporter: Reporter | None = None,
        on_checked: Callable[[Any], None] | None = None, overrides: dict | None = None, *,
        source: Any = None, on_epoch: Callable[[int, Mapping[str, float]], None] | None = None) -> RunResult:
    """Train a spec file end to end; returns the run directory and its metrics.

    ``source``: the spec text to train instead of the file's (a tune trial's, with its values
    written in); ``spec_path`` still places relative data paths. ``on_epoch(epoch, logs)`` is
    called after each epoch is recorded; it may raise :class:`StopTraining`.

    Raises:
        SpecError, DataError, RunDirError, UsageError, RunError; KeyboardInterrupt after
        saving what was trained (the CLI maps it to exit code 130).
    """
    from ..check import check_source, read_source

    started = time.perf_counter()
    reporter = reporter or Reporter(options.quiet, options.json, silent=options.silent)
    source = source if source is not None else read_source(spec_path)
    checked = check_source(source, registry, overrides)
    _refuse_too_large(checked.model, source)  # before its W011 would be shown as a mere warning
    if on_checked is not None:
        on_checked(checked)
    model = checked.model
    if not model.training.losses:
        from .. import codes
        from ..diagnostics import Diagnostic, Span, SpecError

        last = max((i for i, line in enumerate(source.lines, 1) if line.strip()), default=1)
        raise SpecError([Diagnostic(codes.MISSING_LOSS, "nndsl run needs a loss, and the spec has none",
                                    Span.point(last, len(source.line(last)) + 1),
                                    "add a loss statement, e.g. 'loss sparse_categorical_crossentropy' for "
                                    "integer class labels or 'loss mse'")], source)
    _require_lowerable(checked, options, registry)
    if options.precision is not None and options.precision not in PRECISIONS:
        raise UsageError(f"unknown --precision {options.precision!r} (choose from {', '.join(PRECISIONS)})")
    spec_dir = os.path.dirname(os.path.abspath(spec_path)) if spec_path != "-" else os.getcwd()
    data, _ = data_reference(model, options.data, registry, spec_dir)
    seed = options.seed if options.seed is not None else fit_setting(model, "seed")
    settings = {
        "spec": os.path.abspath(spec_path) if spec_path != "-" else "-",
        "model": model.name,
        "data": data,
        "epochs": options.epochs or fit_setting(model, "epochs"),
        "batch_size": options.batch_size or fit_setting(model, "batch_size"),
        "validation_split": fit_setting(model, "validation_split"),
        "test_split": fit_setting(model, "test_split"),
        "shuffle": fit_setting(model, "shuffle"),
        # the command line's fast-path choices only: the trainer's plan reads the spec's and
        # picks its backend's defaults itself (nndsl/perf.py)
        "steps_per_execution": options.steps_per_execution,
        "jit_compile": options.jit_compile,
        "pipeline": options.pipeline,
        "seed": seed,
        "data_seed": seed if seed is not None else 0,
        "backend": options.backend,
        "precision": options.precision,
        "strategy": options.strategy,
        "tensorboard": TENSORBOARD_DIR if options.tensorboard else None,
    }
    trainer = trainer_for(model, settings, registry)
    _require_tensorboard(settings, trainer)
    placement = trainer.place(settings, workers=options.workers, task_index=options.task_index)
    trainer.seed(settings)
    prepared = load_data(settings, model, registry, reporter)
    _check_streams(prepared, trainer)
    out = options.out or default_run_dir(model.name)
    if not placement.is_chief:
        out = os.path.join(out, "worker-" + placement.task.split()[1])
    created = not os.path.exists(out)
    with RunDir(out).prepare(new=True) as run_dir:
        try:
            outputs.write_text(run_dir.file(outputs.SPEC), _self_contained(checked, source, overrides, registry))
            outputs.write_text(run_dir.file(outputs.DIAGRAM), render_diagram(model, "svg"))
            outputs.write_json(run_dir.file(outputs.RUN), {**settings, **_environment(trainer),
                                                           "started": datetime.now().isoformat(timespec="seconds")})
            return _train(model, settings, run_dir, trainer, reporter, placement, prepared, started, state=None,
                          on_epoch=on_epoch)
        except BaseException:  # an interrupt while building too (one during fit saves the model first)
            if not run_dir.exists(outputs.STATE) and not run_dir.exists(trainer.model_file):
                run_dir.discard(remove_directory=created)  # nothing trained: leave nothing behind
            raise


def _refuse_too_large(model: ir.Model, source) -> None:
    """E730 before any data is read or framework imported: weights and optimizer state that
    this machine's memory cannot hold (the estimate in nndsl/memory.py) would only end in the
    process being killed, after the data had loaded."""
    from .. import codes, memory
    from ..diagnostics import Diagnostic
    from ..errors import TooLargeError

    found = memory.too_large(model.nodes, model.training.optimizer)
    if found is None:
        return
    largest = memory.largest_node(model.nodes)
    raise TooLargeError([Diagnostic(
        codes.RUN_TOO_LARGE_FOR_MEMORY, "nndsl run stops before loading data: " + memory.message(*found),
        largest.span if largest is not None else None,
        memory.HINT + f"; {memory.MEMORY_ENV}=BYTES sets the memory figure")], source)


def resume(directory: str, options: RunOptions, registry, reporter: Reporter | None = None) -> RunResult:
    """Continue a run from its last checkpoint; ``--epochs`` may extend it."""
    from ..check import check_source, read_source

    started = time.perf_counter()
    reporter = reporter or Reporter(options.quiet, options.json, silent=options.silent)
    for flag, value in (("--data", options.data), ("--batch-size", options.batch_size), ("--seed", options.seed),
                        ("--backend", options.backend), ("--out", options.out)):
        if value is not None:
            raise UsageError(f"{flag} cannot change a resumed run (it continues with the settings in "
                             f"{os.path.join(directory, outputs.RUN)})")
    run_file = os.path.join(directory, outputs.RUN)
    if not os.path.isfile(run_file):
        raise RunDirError(f"{directory} is not an nndsl run directory (no {outputs.RUN})")
    with RunDir(directory).prepare(new=False) as run_dir:
        settings = outputs.read_json(run_file)
        if options.epochs:
            settings["epochs"] = options.epochs
        for name in ("precision", "strategy"):
            if getattr(options, name) not in (None, "auto"):
                settings[name] = getattr(options, name)
        outputs.write_json(run_file, settings)
        if options.tensorboard:
            settings["tensorboard"] = TENSORBOARD_DIR
        checked = check_source(read_source(run_dir.file(outputs.SPEC)), registry)
        state = run_dir.state()
        done = state["epoch"] if state else 0
        trainer = trainer_for(checked.model, settings, registry)
        _require_tensorboard(settings, trainer)
        if done >= settings["epochs"] and run_dir.exists(trainer.model_file):
            raise RunDirError(f"{directory} already finished {done} of {settings['epochs']} epochs; "
                              "pass --epochs N (more) to train further")
        placement = trainer.place(settings, workers=options.workers, task_index=options.task_index)
        trainer.seed(settings)
        prepared = load_data(settings, checked.model, registry, reporter)
        _check_streams(prepared, trainer)
        reporter.info(f"resuming {directory} at epoch {done + 1} of {settings['epochs']}" if state
                      else f"resuming {directory} from the start (no checkpoint was saved)")
        return _train(checked.model, settings, run_dir, trainer, reporter, placement, prepared, started, state)


def _require_tensorboard(settings: Mapping[str, Any], trainer) -> None:
    """``--tensorboard`` (or a run.json that asked for it) stops before any data is read or
    anything written: on a trainer without TensorBoard logs, or without the tensorboard package
    (the spec's ``callback tensorboard`` says the same when training starts)."""
    if not settings.get("tensorboard"):
        return
    if not trainer.tensorboard:
        raise UsageError(f"--tensorboard writes Keras' TensorBoard logs; {trainer.framework or 'this'} runs "
                         "do not write them (drop --tensorboard, or use --backend keras-functional)")
    from ..backends.keras.training import missing_package

    problem = missing_package("callback", "tensorboard")
    if problem:
        raise RunError(problem.replace("callback tensorboard", "--tensorboard", 1))


def _check_streams(prepared, trainer) -> None:
    """Data read from disk while training (folders, large tables) needs a trainer that takes tf.data."""
    from ..data.stream import is_stream

    if is_stream(prepared.x_train) and not trainer.streams:
        raise UsageError(f"{prepared.source} is read from disk while training (tf.data), which the "
                         f"{trainer.framework or type(trainer).__name__} trainer does not take; train it with a "
                         "Keras backend (--backend keras-functional)")


def _environment(trainer) -> dict:
    """What run.json records about the framework; Keras runs have always recorded keras_backend."""
    env = trainer.environment()
    return {k: v for k, v in env.items() if k != "keras_version"}


def _train(model: ir.Model, settings: dict, run_dir: RunDir, trainer, reporter: Reporter, placement,
           prepared, started: float, state: Mapping[str, Any] | None,
           on_epoch: Callable[[int, Mapping[str, float]], None] | None = None) -> RunResult:
    reporter.info(f"device: {placement.device.describe()}"
                  + (f", strategy {placement.strategy_name} ({placement.replicas} replicas)"
                     if placement.strategy is not None else "")
                  + (f", {placement.task}" if placement.task else "")
                  + (f", {settings['precision']}" if settings.get("precision") else ""))
    reporter.event("start", run_dir=run_dir.path, device=placement.device.to_json(),
                   strategy=placement.strategy_name, data=prepared.source, epochs=settings["epochs"])
    history: list[dict] = list(state["history"]) if state else []
    initial_epoch = state["epoch"] if state else 0
    n_train = _rows(prepared.x_train)
    notes = trainer.plan(model, settings, n_train)
    if notes:
        reporter.info("training: " + "; ".join(notes))
    for warning in trainer.plan_warnings:
        reporter.info(f"warning: {warning}")
    slow = precision_warning(settings.get("precision") or "float32", placement.device.kind)
    if slow:
        reporter.info(f"warning: {slow}")
    if state:
        trainer.restore(model, settings, run_dir.file(state["checkpoint"]))
    else:
        from .hints import scale_hints

        for hint in scale_hints(model, prepared.x_train):
            reporter.info(hint)
        trainer.build(model, settings)
        _adapt(model, trainer, prepared, settings, reporter)

    epochs = settings["epochs"]

    def on_epoch_end(epoch: int, logs: Mapping[str, float]) -> None:
        """Append the finished epoch to the history and checkpoint it (atomically)."""
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in logs.items()}}
        history.append(row)
        if placement.is_chief:
            run_dir.save_checkpoint(trainer.save_checkpoint, epoch + 1, history, trainer.checkpoint_suffix)
        reporter.event("epoch", epochs=epochs, **row)
        if on_epoch is not None:
            on_epoch(epoch, row)

    interrupted = False
    stopped: str | None = None
    fit_start = time.perf_counter()
    try:
        trainer.fit(prepared, {**settings, "run_dir": run_dir.path}, initial_epoch=initial_epoch,
                    on_epoch_end=on_epoch_end, reporter=reporter)
    except KeyboardInterrupt:
        interrupted = True
        reporter.info("interrupted: saving what was trained")
    except StopTraining as stop:
        stopped = str(stop) or "stopped"
        reporter.info(f"stopped: {stopped}")
    except Exception as e:  # noqa: BLE001 - the framework's own errors (tf.errors.OpError, ...) too
        if isinstance(e, NndslError) or not (isinstance(e, (ValueError, TypeError, RuntimeError))
                                             or _from_framework(e)):
            raise
        raise RunError(f"training failed: {type(e).__name__}: {e}") from e
    fit_time = time.perf_counter() - fit_start
    epochs_now = len(history) - (state["epoch"] if state else 0)

    test: dict[str, float] = {}
    if prepared.x_test is not None and not interrupted and not stopped:
        try:
            test = trainer.evaluate(prepared.x_test, prepared.y_test, settings["batch_size"])
        except KeyboardInterrupt:
            interrupted = True
    last = history[-1] if history else {}
    metrics = {
        "model": model.name,
        "interrupted": interrupted,
        "epochs": len(history),
        "epochs_planned": epochs,
        "train": {k: v for k, v in last.items() if k != "epoch" and not k.startswith("val_")},
        "validation": {k[4:]: v for k, v in last.items() if k.startswith("val_")},
        "test": test,
        "samples": {"train": n_train, "validation": _rows(prepared.x_val), "test": _rows(prepared.x_test)},
        "wall_time_s": round(time.perf_counter() - started, 3),
        "fit_time_s": round(fit_time, 3),
        "samples_per_second": round(n_train * epochs_now / fit_time, 1) if fit_time > 0 and epochs_now else None,
        "batch_size": settings["batch_size"],
        "seed": settings["seed"],
        "device": placement.device.to_json(),
        "strategy": placement.strategy_name,
        "replicas": placement.replicas,
        "precision": settings.get("precision") or "float32",
        **trainer.environment(),
        "data": prepared.source,
    }
    if stopped:
        metrics["stopped"] = stopped
    outputs.save_with(run_dir.file(trainer.model_file), trainer.save)
    outputs.write_text(run_dir.file(outputs.HISTORY), outputs.history_csv(history))
    outputs.write_json(run_dir.file(outputs.METRICS), metrics)
    if placement.is_chief and history:
        from .curves import draw_run_curves

        note = draw_run_curves(run_dir.path)
        if note:
            reporter.info(note)
    _report_end(reporter, run_dir.path, metrics)
    if interrupted:
        raise KeyboardInterrupt
    return RunResult(run_dir.path, metrics, interrupted, stopped)


def _adapt(model: ir.Model, trainer, prepared, settings: Mapping[str, Any], reporter: Reporter) -> None:
    """Adapt the model's preprocessing layers on the training rows only, and say so.

    Never on a resumed run: its checkpoint holds the state adapted when it started.
    """
    from ..builtins.layers_preprocessing import adapt_plan

    layers = adapt_plan(model)
    if not layers:
        return
    n = _rows(prepared.x_train)
    lines = trainer.adapt(layers, prepared.x_train, settings)
    reporter.info(f"preprocessing: adapted {len(layers)} layer{'s' * (len(layers) != 1)} on the training split "
                  f"only ({n:,} samples; validation and test rows unused)")
    for line in lines:
        reporter.info(f"  - {line}")
    reporter.event("adapted", samples=n, layers=list(lines))


def _from_framework(error: BaseException) -> bool:
    """An error raised by TensorFlow, JAX, Keras or torch themselves (InvalidArgumentError, ...)."""
    module = type(error).__module__ or ""
    return module.split(".")[0] in ("tensorflow", "jax", "jaxlib", "keras", "torch")


def _rows(data) -> int:
    if data is None:
        return 0
    return len(next(iter(data.values()))) if isinstance(data, dict) else len(data)


def _fmt(values: Mapping[str, float]) -> str:
    return ", ".join(f"{k} {v:.4f}" for k, v in values.items())


def _report_end(reporter: Reporter, path: str, m: Mapping[str, Any]) -> None:
    reporter.event("end", run_dir=path, **{k: m[k] for k in ("interrupted", "epochs", "train", "validation", "test",
                                                            "wall_time_s", "samples_per_second")})
    if m["test"]:
        reporter.result(f"test: {_fmt(m['test'])}")
    sps = m["samples_per_second"]
    reporter.info(f"{m['epochs']} epochs in {m['fit_time_s']:.1f} s"
                  + (f" ({sps:,.0f} samples/s)" if sps else "") + f"; wall time {m['wall_time_s']:.1f} s")
    reporter.info(f"saved: {path}")

"""``nndsl tune``: search a spec's search spaces with Optuna, one ordinary run per trial.

A tune directory (``tunes/<model>-<timestamp>/`` unless ``--out``) holds::

    tune.json        how the tune was started: the spec (its text as tuned), the objective,
                     the sampler, the seed, the trial budget; what ``--resume`` reads
    study.db         the Optuna study (SQLite), unless ``--storage URL`` names another database
    trials/NNNN/     each trial's run directory, exactly as ``nndsl run`` writes one
    trials.csv       one row per trial: values chosen, objective, validation metrics, state, time
    best.nn          the spec with the best trial's values written in: a plain spec that checks
                     and runs (relative data and include paths rewritten for its new folder)

Each trial writes the values it drew into the spec's text (:func:`nndsl.spaces.substitute`),
checks it, and trains it with :func:`nndsl.run.runner.run`; its per-epoch validation metric is
reported to Optuna, whose pruner may stop it early (``StopTraining``). A value set the checker
rejects (a width that breaks a reshape) is a failed trial, recorded with the first diagnostic.

``trials.csv`` and ``best.nn`` are rewritten after every trial, so a tune killed at any point
leaves them whole; ``--resume DIR`` continues the same study: trials left running by a dead
process on this host are marked failed and queued again with the same values. Several
processes (``--jobs``, or other machines given the same ``--storage`` database URL) share one
study; Optuna hands each a different trial.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from ..diagnostics import Source, SpecError
from ..errors import DataError, NndslError, RunError, UsageError
from ..spaces import Space, format_value, substitute
from . import outputs

TUNE = "tune.json"
STUDY_DB = "study.db"
TRIALS_CSV = "trials.csv"
BEST = "best.nn"
TRIALS = "trials"
SAMPLERS = ("tpe", "random", "grid")
DEFAULT_TRIALS = 20  # without --trials or --timeout (grid: every point of the grid)
# metric names whose larger values are better; every other objective is minimized
_MAXIMIZE = ("acc", "auc", "precision", "recall", "f1", "iou", "r2")


@dataclass(frozen=True)
class TuneOptions:
    """What ``nndsl tune`` was asked for (None: the default, or on --resume what tune.json says)."""

    trials: int | None = None
    timeout: float | None = None
    jobs: int = 1
    out: str | None = None
    sampler: str | None = None
    objective: str | None = None
    direction: str | None = None
    seed: int | None = None
    storage: str | None = None
    prune: bool = True
    epochs: int | None = None
    batch_size: int | None = None
    data: str | None = None
    backend: str | None = None
    json: bool = False
    quiet: bool = False
    worker: bool = False  # a process started by --jobs: runs trials, writes no summary


@dataclass(frozen=True)
class TuneResult:
    directory: str
    best: Mapping[str, Any] | None
    counts: Mapping[str, int]
    wall_time_s: float


class _TrialFailed(Exception):
    """A trial that could not be scored (its spec does not check, training failed)."""


def _optuna():
    try:
        import optuna
    except ImportError:
        raise UsageError("nndsl tune needs Optuna, which is not installed: pip install 'nndsl[tune]' "
                         "(or pip install optuna)") from None
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # our own lines say what happened
    return optuna


def default_direction(objective: str) -> str:
    """maximize for accuracy-like metrics (accuracy, auc, precision, recall, f1, iou, r2), else minimize."""
    name = objective.removeprefix("val_")
    return "maximize" if any(word in name for word in _MAXIMIZE) and "loss" not in name else "minimize"


def default_objective(model) -> str:
    """The spec's first metric on validation data, or the validation loss when it has none."""
    metrics = model.training.metrics
    return "val_" + metrics[0][1] if metrics else "val_loss"


def objective_key(objective: str, logs: Mapping[str, float]) -> str | None:
    """The log entry an objective names: itself, or an output's (`val_out_accuracy` for `val_accuracy`)."""
    if objective in logs:
        return objective
    if objective.startswith("val_"):
        tail = "_" + objective[4:]
        found = [k for k in logs if k.startswith("val_") and k.endswith(tail)]
        if found:
            return found[0]
    return None


# Sampling ------------------------------------------------------------------------------------

def suggest(trial, space: Space) -> str:
    """Draw a value for one space from an Optuna trial; the value as spec text."""
    if space.kind == "choice":
        return trial.suggest_categorical(space.name, list(space.options))
    if space.kind == "int":
        return str(trial.suggest_int(space.name, int(space.low), int(space.high), step=int(space.step or 1)))
    value = trial.suggest_float(space.name, float(space.low), float(space.high),
                                step=float(space.step) if space.step else None, log=space.kind == "loguniform")
    return format_value(space, value)


def grid_of(spaces: tuple[Space, ...]) -> dict[str, list]:
    """Every value of every space, for the grid sampler; continuous ranges need a step."""
    grid: dict[str, list] = {}
    for s in spaces:
        if s.kind == "choice":
            grid[s.name] = list(s.options)
        elif s.kind == "int":
            grid[s.name] = list(range(int(s.low), int(s.high) + 1, int(s.step or 1)))
        elif s.step:
            n = round((float(s.high) - float(s.low)) / float(s.step))
            grid[s.name] = [float(s.low) + i * float(s.step) for i in range(n + 1)]
        else:
            raise UsageError(f"--sampler grid needs spaces with finitely many values; {s.name} is {s.text} "
                             f"(line {s.span.line}): give it a step (uniform(..., step=0.1)) or make it a choice")
    return grid


def _sampler(optuna, name: str, seed: int | None, spaces: tuple[Space, ...]):
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler(grid_of(spaces), seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


# The tune ------------------------------------------------------------------------------------

def default_tune_dir(model_name: str) -> str:
    return outputs.fresh_dir("tunes", model_name)


def _storage_url(directory: str, storage: str | None) -> str:
    return storage or "sqlite:///" + os.path.abspath(os.path.join(directory, STUDY_DB))


def _storage(optuna, url: str):
    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)


def tune(spec_path: str, options: TuneOptions, registry, overrides: dict | None = None,
         set_texts: tuple[str, ...] = ()) -> TuneResult:
    """Start a tune of a spec file; returns the tune directory, the best trial and counts.

    ``set_texts`` are the ``--set`` flags as written (kept in tune.json for ``--resume``).
    """
    from ..check import read_source
    from ..spacecheck import SpaceCheck, check_spaces

    optuna = _optuna()
    source = read_source(spec_path)
    checked = check_spaces(source, registry, overrides, data_files=True)
    if not isinstance(checked, SpaceCheck):
        raise UsageError(f"{spec_path} has no search spaces, so there is nothing to tune; write one where a "
                         "value goes (dense choice(32, 64), dropout uniform(0.1, 0.5)) or use nndsl run")
    model = checked.result.model
    if not model.training.losses:
        raise UsageError("nndsl tune trains every trial, and the spec has no loss: add one (loss mse, ...)")
    if not model.training.fit_options.get("validation_split"):
        raise UsageError("nndsl tune scores each trial on validation data, and the spec holds none out: "
                         "add fit validation_split=0.2 (or another share)")
    sampler = options.sampler or "tpe"
    if sampler not in SAMPLERS:
        raise UsageError(f"unknown --sampler {sampler!r} (choose from {', '.join(SAMPLERS)})")
    if sampler == "grid":
        grid_of(checked.spaces)  # fails early when a space has no grid
    objective = options.objective or default_objective(model)
    direction = options.direction or default_direction(objective)
    if direction not in ("minimize", "maximize"):
        raise UsageError(f"--direction is minimize or maximize, not {direction!r}")
    directory = options.out or default_tune_dir(model.name)
    if os.path.exists(os.path.join(directory, TUNE)):
        raise UsageError(f"{directory} already holds a tune; continue it with nndsl tune --resume {directory}, "
                         "or pass another --out")
    os.makedirs(os.path.join(directory, TRIALS), exist_ok=True)
    settings = {
        "spec": os.path.abspath(spec_path) if spec_path != "-" else "-",
        "spec_text": source.text,
        "set": list(set_texts),
        "model": model.name,
        "spaces": [{"name": s.name, "kind": s.kind, "text": s.text, "line": s.span.line} for s in checked.spaces],
        "objective": objective,
        "direction": direction,
        "sampler": sampler,
        "seed": options.seed,
        "trials": options.trials,
        "timeout": options.timeout,
        "prune": options.prune,
        "epochs": options.epochs,
        "batch_size": options.batch_size,
        "data": options.data,
        "backend": options.backend,
        "storage": _storage_url(directory, options.storage),
        "study": model.name,
        "started": datetime.now().isoformat(timespec="seconds"),
    }
    optuna.create_study(study_name=settings["study"], storage=_storage(optuna, settings["storage"]),
                        direction=direction, load_if_exists=True)
    outputs.write_json(os.path.join(directory, TUNE), settings)
    return _go(directory, settings, options, registry, overrides, resumed=False)


def resume_tune(directory: str, options: TuneOptions, registry) -> TuneResult:
    """Continue a tune from its directory: the same study, spec text, objective and sampler."""
    path = os.path.join(directory, TUNE)
    if not os.path.isfile(path):
        raise UsageError(f"{directory} is not an nndsl tune directory (no {TUNE})")
    settings = outputs.read_json(path)
    for flag, value in (("--objective", options.objective), ("--direction", options.direction),
                        ("--sampler", options.sampler), ("--out", options.out), ("--storage", options.storage),
                        ("--data", options.data), ("--backend", options.backend),
                        ("--epochs", options.epochs), ("--batch-size", options.batch_size)):
        if value is not None:
            raise UsageError(f"{flag} cannot change a resumed tune (it continues with the settings in {path})")
    changed = {k: v for k, v in (("trials", options.trials), ("timeout", options.timeout)) if v is not None}
    if options.seed is not None:
        changed["seed"] = options.seed
    if changed and not options.worker:
        settings.update(changed)
        outputs.write_json(path, settings)
    from ..overrides import parse_set

    overrides = parse_set(settings.get("set") or ())
    return _go(directory, settings, options, registry, overrides, resumed=True)


def _go(directory: str, settings: dict, options: TuneOptions, registry, overrides, resumed: bool) -> TuneResult:
    from ..parser import parse_recovering
    from ..spaces import find_spaces

    optuna = _optuna()
    started = time.perf_counter()
    source = Source(settings["spec_text"], settings["spec"])
    module, _ = parse_recovering(source)
    spaces, _ = find_spaces(module, source, overrides)
    storage = _storage(optuna, settings["storage"])
    if resumed and not options.worker:
        _requeue_dead(optuna, storage, settings["study"])
    study = optuna.load_study(study_name=settings["study"], storage=storage)
    done = _finished(optuna, study)
    seed = settings.get("seed")
    # a resumed seeded sampler starts further on, so it does not draw the first trials' values again
    sampler_seed = None if seed is None else seed + len(study.trials)
    study.sampler = _sampler(optuna, settings["sampler"], sampler_seed, spaces)
    if settings["prune"]:
        study.pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    else:
        study.pruner = optuna.pruners.NopPruner()
    total = settings.get("trials")
    if total is None and settings["sampler"] == "grid":
        total = 1
        for values in grid_of(spaces).values():
            total *= len(values)
    elif total is None and settings.get("timeout") is None:
        total = DEFAULT_TRIALS
    progress = _Progress(directory, settings, spaces, options, total, optuna)
    workers = []
    jobs = max(1, options.jobs)
    if jobs > 1 and not options.worker:
        workers = [_spawn_worker(directory, options, i) for i in range(jobs - 1)]
    objective = _Objective(directory, settings, spaces, source, registry, overrides, optuna, options)
    progress.before = done
    remaining = None if total is None else total - done
    try:
        if remaining is None or remaining > 0:
            callbacks = [progress]
            if total is not None:
                callbacks.append(_Budget(total, optuna))
            study.optimize(objective, n_trials=remaining, timeout=settings.get("timeout"), callbacks=callbacks,
                           catch=(_TrialFailed,), gc_after_trial=False)
    finally:
        for w in workers:
            try:
                w.wait()
            except KeyboardInterrupt:
                w.terminate()
                raise
    if any(w.returncode not in (0, None) for w in workers):
        progress.info(f"warning: {sum(w.returncode != 0 for w in workers)} worker process(es) failed")
    study = optuna.load_study(study_name=settings["study"], storage=storage)
    best = write_outputs(directory, settings, spaces, source, study, optuna, registry)
    counts = _counts(study, optuna)
    result = TuneResult(directory, best, counts, round(time.perf_counter() - started, 3))
    if not options.worker:
        progress.summary(result, len(study.trials))
    return result


_DIED = "its process died; queued again"


def _finished(optuna, study) -> int:
    """Trials that count against the budget: finished, except those whose process died (queued again)."""
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)
    return sum(t.state in finished and t.user_attrs.get("error") != _DIED for t in study.get_trials(deepcopy=False))


class _Budget:
    """Stops the study once ``total`` trials have finished, whichever process ran them."""

    def __init__(self, total: int, optuna):
        self.total = total
        self.optuna = optuna

    def __call__(self, study, trial) -> None:
        if _finished(self.optuna, study) >= self.total:
            study.stop()


def _counts(study, optuna) -> dict[str, int]:
    counts = {"complete": 0, "pruned": 0, "failed": 0, "running": 0, "requeued": 0}
    names = {optuna.trial.TrialState.COMPLETE: "complete", optuna.trial.TrialState.PRUNED: "pruned",
             optuna.trial.TrialState.FAIL: "failed", optuna.trial.TrialState.RUNNING: "running"}
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get("error") == _DIED:
            counts["requeued"] += 1
        elif t.state in names:
            counts[names[t.state]] += 1
    return counts


def _requeue_dead(optuna, storage, study_name: str) -> None:
    """Trials a killed process on this host left running: mark them failed, queue their values again."""
    study = optuna.load_study(study_name=study_name, storage=storage)
    host = socket.gethostname()
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        owner = t.user_attrs.get("host"), t.user_attrs.get("pid")
        if owner[0] == host and isinstance(owner[1], int) and not outputs.pid_alive(owner[1]):
            storage.set_trial_user_attr(t._trial_id, "error", _DIED)
            storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
            if t.params:
                study.enqueue_trial(t.params, user_attrs={"requeued_from": t.number})


def _spawn_worker(directory: str, options: TuneOptions, index: int):
    command = [sys.executable, "-m", "nndsl.cli", "tune", "--resume", directory, "--worker"]
    if options.json:
        command.append("--json")
    return subprocess.Popen(command, env={**os.environ, "NNDSL_TUNE_WORKER": str(index + 1)})


class _Objective:
    """One trial: draw values, write them in, check, train, report each epoch, return the score."""

    def __init__(self, directory, settings, spaces, source, registry, overrides, optuna, options):
        self.directory = directory
        self.settings = settings
        self.spaces = spaces
        self.source = source
        self.registry = registry
        self.overrides = overrides
        self.optuna = optuna
        self.options = options

    def __call__(self, trial) -> float:
        from ..check import check_source
        from .runner import Reporter, RunOptions, run

        _fresh_framework_state()
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getpid())
        values = {s.name: suggest(trial, s) for s in self.spaces}
        trial.set_user_attr("values", values)
        variant = Source(substitute(self.source, self.spaces, values), self.source.filename)
        try:
            checked = check_source(variant, self.registry, self.overrides)
        except SpecError as e:
            first = next(d for d in e.diagnostics if d.is_error)
            where = f"line {first.span.line}: " if first.span else ""
            trial.set_user_attr("error", f"{where}{first.message} [{first.code}]")
            raise _TrialFailed(first.message) from None
        run_dir = os.path.join(self.directory, TRIALS, f"{trial.number:04d}")
        trial.set_user_attr("run_dir", os.path.relpath(run_dir, self.directory))
        s = self.settings
        seen: dict[str, str] = {}
        from .runner import fit_setting

        epochs = s.get("epochs") or fit_setting(checked.model, "epochs")

        def on_epoch(epoch: int, logs: Mapping[str, float]) -> None:
            from .runner import StopTraining

            key = seen.get("key") or objective_key(s["objective"], logs)
            if key is None:
                raise UsageError(f"the objective {s['objective']} is not among what the trials log "
                                 f"({', '.join(k for k in logs if k != 'epoch')}); pass --objective NAME")
            seen["key"] = key
            trial.report(float(logs[key]), epoch)
            if epoch + 1 < epochs and trial.should_prune():  # after the last epoch there is nothing to save
                raise StopTraining(f"pruned by Optuna after epoch {epoch + 1}")

        options = RunOptions(epochs=s.get("epochs"), batch_size=s.get("batch_size"), data=s.get("data"),
                             backend=s.get("backend"), seed=s.get("seed"), out=run_dir, silent=True)
        began = time.perf_counter()
        try:
            result = run(s["spec"], options, self.registry, Reporter(silent=True), overrides=self.overrides,
                         source=variant, on_epoch=on_epoch)
        except (RunError, SpecError) as e:
            trial.set_user_attr("error", str(e).splitlines()[0] if str(e) else type(e).__name__)
            raise _TrialFailed(str(e)) from None
        except (UsageError, DataError):
            raise
        except NndslError as e:
            trial.set_user_attr("error", str(e))
            raise _TrialFailed(str(e)) from None
        trial.set_user_attr("seconds", round(time.perf_counter() - began, 3))
        trial.set_user_attr("epochs", result.metrics.get("epochs"))
        trial.set_user_attr("validation", result.metrics.get("validation", {}))
        if result.stopped:
            raise self.optuna.TrialPruned(result.stopped)
        key = seen.get("key")
        history_value = result.metrics.get("validation", {}).get(key[4:] if key and key.startswith("val_") else "")
        if history_value is None:
            raise _TrialFailed("no objective value was logged")
        return float(history_value)


def _fresh_framework_state() -> None:
    """Forget the previous trial's Keras graphs (memory, and TensorFlow's retracing warnings)."""
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.backend.clear_session()
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        tf.get_logger().setLevel("ERROR")


# Outputs -------------------------------------------------------------------------------------

def _state_name(state, optuna) -> str:
    return {optuna.trial.TrialState.COMPLETE: "complete", optuna.trial.TrialState.PRUNED: "pruned",
            optuna.trial.TrialState.FAIL: "failed", optuna.trial.TrialState.RUNNING: "running",
            optuna.trial.TrialState.WAITING: "waiting"}.get(state, str(state))


def trials_table(settings: Mapping[str, Any], spaces: tuple[Space, ...], study, optuna) -> str:
    """trials.csv: one row per trial, in trial order."""
    trials = [t for t in study.get_trials(deepcopy=False) if t.state != optuna.trial.TrialState.WAITING]
    metric_names: list[str] = []
    for t in trials:
        for k in (t.user_attrs.get("validation") or {}):
            if "val_" + k not in metric_names and "val_" + k != settings["objective"]:
                metric_names.append("val_" + k)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["trial", "state", settings["objective"], *[s.name for s in spaces], *metric_names,
                     "epochs", "seconds", "run_dir", "error"])
    for t in trials:
        values = t.user_attrs.get("values") or {}
        validation = t.user_attrs.get("validation") or {}
        objective = t.value if t.state == optuna.trial.TrialState.COMPLETE else (
            validation.get(settings["objective"][4:]) if settings["objective"].startswith("val_") else None)
        writer.writerow([t.number, _state_name(t.state, optuna), "" if objective is None else objective,
                         *[values.get(s.name, "") for s in spaces],
                         *[validation.get(k[4:], "") for k in metric_names],
                         t.user_attrs.get("epochs", ""), t.user_attrs.get("seconds", ""),
                         t.user_attrs.get("run_dir", ""), t.user_attrs.get("error", "")])
    return buf.getvalue()


def _best(study, optuna):
    try:
        return study.best_trial
    except ValueError:  # no complete trial yet
        return None


def best_spec(settings: Mapping[str, Any], spaces: tuple[Space, ...], source: Source, trial,
              directory: str) -> str:
    """The spec with the best trial's values written in, its relative paths valid from ``directory``."""
    values = trial.user_attrs.get("values") or {}
    text = substitute(source, spaces, values)
    text = relocate(Source(text, source.filename), directory)
    chosen = ", ".join(f"{k}={v}" for k, v in values.items())
    header = (f"# best.nn: trial {trial.number} of nndsl tune {os.path.basename(os.path.abspath(directory))}, "
              f"{settings['objective']} {trial.value:.6g}\n# from {settings['spec']} with {chosen}\n")
    return header + text


def relocate(source: Source, directory: str) -> str:
    """Rewrite relative ``include "..."`` and ``data "..."`` paths so they resolve from ``directory``."""
    from .. import ast
    from ..parser import parse_recovering

    if source.filename in ("-", "<stdin>") or source.filename.startswith("<"):
        return source.text
    base = os.path.dirname(os.path.abspath(source.filename))
    module, _ = parse_recovering(source)
    strings: list[tuple] = []
    for st in module.statements if module is not None else ():
        if isinstance(st, ast.Include) and not st.standard:
            strings.append((st.span, st.path, "include"))
        elif isinstance(st, ast.Statement) and st.chain is not None and len(st.chain.steps) == 1:
            call = st.chain.steps[0]
            if isinstance(call, ast.Call) and call.name == "data" and call.args \
                    and isinstance(call.args[0], ast.String):
                strings.append((call.args[0].span, call.args[0].value, "data"))
    lines = list(source.lines)
    for span, path, kind in sorted(strings, key=lambda x: (x[0].line, x[0].column), reverse=True):
        if os.path.isabs(os.path.expanduser(path)) or span.line != span.end_line:
            continue
        target = os.path.join(base, path)
        if kind == "data" and not os.path.exists(target):
            continue  # a data set name written as a string, or a file that is not there: leave it
        new = os.path.relpath(target, os.path.abspath(directory))
        line = lines[span.line - 1]
        if kind == "include":
            start = line.index("include", span.column - 1) + len("include")
            old = line[start:span.end_column - 1]
            lines[span.line - 1] = line[:start] + " " + json.dumps(new) + line[span.end_column - 1:] \
                if old.strip().startswith(('"', "'")) else line
        else:
            lines[span.line - 1] = line[:span.column - 1] + json.dumps(new) + line[span.end_column - 1:]
    return "\n".join(lines)


def write_outputs(directory: str, settings, spaces, source, study, optuna, registry) -> dict | None:
    """Rewrite trials.csv and best.nn from the study (atomically); the best trial as a dict."""
    outputs.write_text(os.path.join(directory, TRIALS_CSV), trials_table(settings, spaces, study, optuna))
    best = _best(study, optuna)
    if best is None:
        return None
    outputs.write_text(os.path.join(directory, BEST), best_spec(settings, spaces, source, best, directory))
    return {"trial": best.number, "value": best.value, "values": best.user_attrs.get("values") or {},
            "run_dir": os.path.join(directory, best.user_attrs.get("run_dir", "")),
            "validation": best.user_attrs.get("validation") or {}}


class _Progress:
    """A line per finished trial (or a JSON object with --json); trials.csv and best.nn kept current."""

    def __init__(self, directory, settings, spaces, options: TuneOptions, total, optuna):
        self.directory = directory
        self.settings = settings
        self.spaces = spaces
        self.options = options
        self.total = total
        self.optuna = optuna
        self.source = Source(settings["spec_text"], settings["spec"])
        self.before = 0  # trials finished before this process started
        self.prefix = f"[worker {os.environ['NNDSL_TUNE_WORKER']}] " if options.worker and \
            os.environ.get("NNDSL_TUNE_WORKER") else ""

    def info(self, line: str) -> None:
        if not self.options.quiet:
            print(line, file=sys.stderr if self.options.json else sys.stdout, flush=True)

    def __call__(self, study, trial) -> None:
        best = write_outputs(self.directory, self.settings, self.spaces, self.source, study, self.optuna, None)
        state = _state_name(trial.state, self.optuna)
        values = trial.user_attrs.get("values") or {}
        if self.options.json:
            print(json.dumps({"event": "trial", "trial": trial.number, "state": state, "value": trial.value,
                              "objective": self.settings["objective"], "values": values,
                              "seconds": trial.user_attrs.get("seconds"), "error": trial.user_attrs.get("error"),
                              "best": best and {"trial": best["trial"], "value": best["value"]}}),
                  flush=True)
            return
        done = _finished(self.optuna, study)
        score = f"{self.settings['objective']} {trial.value:.4f}" if trial.value is not None else state
        if state == "pruned":
            score = f"pruned after {trial.user_attrs.get('epochs', '?')} epoch(s)"
        elif state == "failed":
            score = f"failed: {trial.user_attrs.get('error', '?')}"
        best_text = f" (best {best['value']:.4f}, trial {best['trial']})" if best else ""
        seconds = trial.user_attrs.get("seconds")
        self.info(f"{self.prefix}trial {trial.number} [{done}/{self.total or '?'}] {score}{best_text}"
                  + (f" {seconds:.1f} s" if seconds else "") + ": "
                  + " ".join(f"{k}={v}" for k, v in values.items()))

    def summary(self, result: TuneResult, trials: int) -> None:
        counts = result.counts
        minutes = result.wall_time_s / 60
        new = counts["complete"] + counts["pruned"] + counts["failed"] - self.before
        rate = new / minutes if minutes > 0 else 0.0
        if self.options.json:
            print(json.dumps({"event": "end", "directory": result.directory, "objective": self.settings["objective"],
                              "direction": self.settings["direction"], "best": result.best, "counts": counts,
                              "wall_time_s": result.wall_time_s, "trials_per_minute": round(rate, 2)},
                             default=outputs._jsonable), flush=True)
            return
        self.info(f"{trials} trials: {counts['complete']} complete, {counts['pruned']} pruned, "
                  f"{counts['failed']} failed"
                  + (f" ({counts['requeued']} cut short by a dead process, run again)" if counts["requeued"] else "")
                  + f"; {new} in {result.wall_time_s:.1f} s ({rate:.1f} trials/min)")
        if result.best is None:
            self.info("no trial completed, so there is no best.nn; see trials.csv for why")
        else:
            b = result.best
            self.info(f"best: trial {b['trial']}, {self.settings['objective']} {b['value']:.4f} "
                      f"({self.settings['direction']}d) with "
                      + ", ".join(f"{k}={v}" for k, v in b["values"].items()))
            self.info(f"  its run: {b['run_dir']}")
            self.info(f"  the spec with these values: {os.path.join(result.directory, BEST)}")
        self.info(f"saved: {os.path.join(result.directory, TRIALS_CSV)}")


__all__ = ["TuneOptions", "TuneResult", "tune", "resume_tune", "default_direction", "default_objective",
           "suggest", "grid_of", "relocate", "trials_table"]

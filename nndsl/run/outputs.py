"""The run directory: its lock, atomic writes, history, and the per-epoch checkpoint state.

Layout of ``runs/<model>-<timestamp>/``::

    model.keras        the trained model (plain ``keras.models.load_model`` loads it); other
                       backends name theirs (``Trainer.model_file``: ``model.safetensors``)
    history.csv        one row per finished epoch
    metrics.json       final train / validation / test metrics, wall time, device
    spec.nn            a copy of the spec that was trained
    run.json           how the run was started (what ``--resume`` needs)
    state.json         the last finished epoch and its checkpoint file
    model.svg          a picture of the model (nndsl diagram)
    curves.svg         loss and every metric per epoch, training and validation (with nndsl[plot])
    ckpt-NNNN.keras    that checkpoint (model + optimizer state; ``Trainer.checkpoint_suffix``)

Every file is written to a temporary name in the same directory and renamed over the real
one (``os.replace``), so a run killed at any moment leaves each file whole: the old version
or the new one. ``state.json`` is written after its checkpoint and names it, so the pair is
always consistent. A ``.lock`` file (created with ``O_EXCL``) keeps two runs out of one
directory; a lock left by a killed process on this host is taken over.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import tempfile
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, Sequence

from ..errors import NndslError, RunDirError  # noqa: F401 - re-exported

LOCK = ".lock"
MODEL = "model.keras"
HISTORY = "history.csv"
METRICS = "metrics.json"
SPEC = "spec.nn"
DIAGRAM = "model.svg"  # nndsl diagram's picture of the model (blocks folded)
CURVES = "curves.svg"  # loss and metrics per epoch (nndsl[plot]; drawn when a run ends)
RUN = "run.json"
STATE = "state.json"
RUN_FILES = (MODEL, HISTORY, METRICS, RUN, STATE)
MODEL_STEM = "model."  # every backend's trained model is model.<extension>


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


@contextmanager
def temp_path(final: str, suffix: str = ".tmp") -> Iterator[str]:
    """A fresh temporary path beside ``final``; renamed over it when the block succeeds."""
    directory = os.path.dirname(os.path.abspath(final))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-" + os.path.basename(final) + "-", suffix=suffix, dir=directory)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str, text: str) -> None:
    """Write ``text`` atomically (temporary file, fsync, rename)."""
    with temp_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())


def write_json(path: str, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=False, default=_jsonable) + "\n")


def read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _jsonable(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def save_with(path: str, save: Callable[[str], None]) -> None:
    """Atomically write a file another library writes (``model.save``, ``np.save``)."""
    suffix = os.path.splitext(path)[1]
    with temp_path(path, suffix=suffix) as tmp:
        save(tmp)


def history_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """``epoch,<metrics...>`` with one row per finished epoch (metrics in first-seen order)."""
    keys: list[str] = []
    for row in rows:
        for key in row:
            if key != "epoch" and key not in keys:
                keys.append(key)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["epoch"] + keys)
    for row in rows:
        writer.writerow([row["epoch"]] + [_cell(row.get(k)) for k in keys])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return repr(float(value)) if isinstance(value, float) else str(value)


def read_history(path: str) -> list[dict[str, Any]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [{k: (int(v) if k == "epoch" else float(v) if v != "" else None) for k, v in row.items()}
                for row in csv.DictReader(fh)]


def fresh_dir(parent: str, model_name: str) -> str:
    """``parent/MODEL-YYYYmmdd-HHMMSS`` (``-2``, ``-3``, ... when taken): a new run's or tune's folder."""
    from datetime import datetime

    base = os.path.join(parent, f"{model_name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}")
    path, n = base, 1
    while os.path.exists(path):
        n += 1
        path = f"{base}-{n}"
    return path


def pid_alive(pid: int) -> bool:
    """Is process ``pid`` (on this host) still running? A stale lock's owner is not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunDir:
    """A locked run directory. Use as a context manager: the lock goes when the block ends."""

    def __init__(self, path: str):
        self.path = path
        self._locked = False

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def exists(self, name: str) -> bool:
        return os.path.exists(self.file(name))

    def prepare(self, *, new: bool) -> "RunDir":
        """Create (``new``) or reopen the directory and take its lock; fail before any training.

        A new run refuses a directory that already holds a run, so an earlier run is never
        overwritten; ``--resume`` reopens one that does.
        """
        shown = self.path
        if new:
            if os.path.exists(self.path) and not os.path.isdir(self.path):
                raise RunDirError(f"--out {shown}: exists and is not a directory")
            if os.path.isdir(self.path):
                held = [n for n in RUN_FILES if self.exists(n)]
                held += sorted(n for n in os.listdir(self.path) if n.startswith(MODEL_STEM) and n not in held)
                if held:
                    raise RunDirError(
                        f"--out {shown} already holds a run ({', '.join(held)}); "
                        f"continue it with `nndsl run --resume {shown}` or choose another --out")
                if self.exists(SPEC):  # a user's own spec.nn (--out .): the run would overwrite it
                    raise RunDirError(f"--out {shown} holds a {SPEC} that the run would overwrite with its "
                                      "copy of the spec; choose another --out")
            try:
                os.makedirs(self.path, exist_ok=True)
            except OSError as e:
                raise RunDirError(f"--out {shown}: cannot create the run directory: {_why(e)}") from None
        elif not os.path.isdir(self.path):
            raise RunDirError(f"{shown}: no such run directory")
        self._lock()
        try:
            probe = self.file(".write-test")
            write_text(probe, "")
            os.unlink(probe)
        except OSError as e:
            self.release()
            raise RunDirError(f"{shown}: cannot write to the run directory: {_why(e)}") from None
        return self

    def _lock(self) -> None:
        lock = self.file(LOCK)
        me = f"{os.getpid()} {socket.gethostname()}\n"
        for _attempt in range(2):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if self._stale(lock):
                    try:
                        os.unlink(lock)
                    except FileNotFoundError:
                        pass
                    continue
                holder = self._holder(lock)
                raise RunDirError(f"{self.path} is in use by another run ({holder}); "
                                  "wait for it to finish or choose another --out") from None
            except OSError as e:
                raise RunDirError(f"{self.path}: cannot write to the run directory: {_why(e)}") from None
            with os.fdopen(fd, "w") as fh:
                fh.write(me)
            self._locked = True
            return
        raise RunDirError(f"{self.path}: could not take the lock {lock}")

    @staticmethod
    def _holder(lock: str) -> str:
        try:
            with open(lock, encoding="utf-8") as fh:
                pid, _, host = fh.read().strip().partition(" ")
            return f"process {pid} on {host}"
        except OSError:
            return "unknown process"

    @staticmethod
    def _stale(lock: str) -> bool:
        """A lock whose process, on this host, is gone (killed runs leave one behind)."""
        try:
            with open(lock, encoding="utf-8") as fh:
                pid, _, host = fh.read().strip().partition(" ")
            return host == socket.gethostname() and pid.isdigit() and not pid_alive(int(pid))
        except (OSError, ValueError):
            return False

    def release(self) -> None:
        if self._locked:
            self._locked = False
            try:
                os.unlink(self.file(LOCK))
            except OSError:
                pass

    def discard(self, *, remove_directory: bool) -> None:
        """Delete what a run that never finished an epoch wrote, so it blocks no later ``--out``.

        Only the run's own files go; the directory too when this run created it and it is
        then empty (anything else a user or callback put there stays).
        """
        for name in RUN_FILES + (SPEC, DIAGRAM, CURVES):
            try:
                os.unlink(self.file(name))
            except OSError:
                pass
        self.release()
        if remove_directory:
            try:
                os.rmdir(self.path)
            except OSError:
                pass

    def __enter__(self) -> "RunDir":
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    # Checkpoints -------------------------------------------------------------------------

    def save_checkpoint(self, save: Callable[[str], None], epoch: int, history: Sequence[Mapping[str, Any]],
                        suffix: str = ".keras") -> None:
        """Checkpoint file first (``save(path)`` writes it), then ``state.json`` naming it, then
        drop older checkpoints."""
        name = f"ckpt-{epoch:04d}{suffix}"
        save_with(self.file(name), save)
        write_json(self.file(STATE), {"epoch": epoch, "checkpoint": name, "history": list(history)})
        write_text(self.file(HISTORY), history_csv(history))
        for old in os.listdir(self.path):
            if old.startswith("ckpt-") and old.endswith(suffix) and old != name:
                try:
                    os.unlink(self.file(old))
                except OSError:
                    pass

    def state(self) -> dict | None:
        return read_json(self.file(STATE)) if self.exists(STATE) else None

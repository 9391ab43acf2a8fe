"""Keep TensorFlow's native start-up chatter off the user's terminal.

TensorFlow 2.21 logs through absl before its log level is read, so ``TF_CPP_MIN_LOG_LEVEL``
does not silence lines such as "oneDNN custom operations are on" or "failed call to cuInit".
While TensorFlow loads and probes devices, the process's stderr (file descriptor 2) goes to a
temporary file; afterwards every line that is not known start-up noise is replayed, so real
warnings and errors still reach the user. ``NNDSL_TF_LOGS=1`` turns the filter off.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from typing import Iterator

_NOISE = (
    re.compile(r"^I\d{4} [\d:.]+\s+\d+ \S+:\d+\] "),                        # absl INFO lines
    re.compile(r"^WARNING: All log messages before absl::InitializeLog\(\)"),
    re.compile(r"^E\d{4} .*cuda_(platform|driver)\.cc:\d+\] failed call to cuInit"),  # no GPU driver
    re.compile(r"^(To enable the following instructions|rebuild TensorFlow with)"),
    re.compile(r"^\S*cpu_feature_guard\.cc"),
    re.compile(r"^INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.$"),  # LiteRT's interpreter
)


def is_noise(line: str) -> bool:
    return any(p.search(line) for p in _NOISE)


@contextlib.contextmanager
def native_stderr_filtered() -> Iterator[None]:
    """Route fd 2 through a filter for the duration of the block (no-op if it can't)."""
    if os.environ.get("NNDSL_TF_LOGS"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        capture = tempfile.TemporaryFile(mode="w+b")
        os.dup2(capture.fileno(), 2)
    except (OSError, ValueError):  # no real fd 2 (embedded, some test runners): leave it alone
        yield
        return
    try:
        yield
    finally:
        try:
            sys.stderr.flush()
        except Exception:  # noqa: BLE001
            pass
        os.dup2(saved, 2)
        os.close(saved)
        capture.seek(0)
        text = capture.read().decode("utf-8", "replace")
        capture.close()
        kept = [line for line in text.splitlines() if line.strip() and not is_noise(line)]
        if kept:
            sys.stderr.write("\n".join(kept) + "\n")
            sys.stderr.flush()

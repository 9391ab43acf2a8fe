"""TensorFlow's native start-up lines are filtered from stderr; everything else still shows."""

from __future__ import annotations

import subprocess
import sys

from nndsl.run.quiet import is_noise

SCRIPT = r"""
import os
from nndsl.run.quiet import native_stderr_filtered
with native_stderr_filtered():
    os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
    os.write(2, b"I0000 00:00:1795962752.343233   26363 cudart_stub.cc:31] Could not find cuda drivers\n")
    os.write(2, b"E0000 00:00:1795961069.193940    9686 cuda_platform.cc:52] failed call to cuInit: UNKNOWN\n")
    os.write(2, b"E0000 00:00:1795961069.193940    9686 something.cc:1] a real error\n")
    os.write(2, b"plain python warning\n")
os.write(2, b"after\n")
"""


def test_noise_patterns():
    assert is_noise("I0000 00:00:1795962752.343233   26363 port.cc:153] oneDNN custom operations are on.")
    assert is_noise("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR")
    assert not is_noise("E0000 00:00:1.0   1 foo.cc:1] out of memory")
    assert not is_noise("Traceback (most recent call last):")


def test_filter_keeps_real_messages_in_order(monkeypatch):
    monkeypatch.delenv("NNDSL_TF_LOGS", raising=False)
    err = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stderr
    assert err.splitlines() == [
        "E0000 00:00:1795961069.193940    9686 something.cc:1] a real error",
        "plain python warning",
        "after",
    ]


def test_filter_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("NNDSL_TF_LOGS", "1")
    err = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stderr
    assert "cudart_stub" in err

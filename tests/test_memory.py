"""W011/E730 (issue 14): a model whose weights and optimizer state cannot fit this machine's
memory is a warning for check and a refusal for run, before data or a framework is loaded.
The memory figure is injected (small fake limits), not tested with giant models."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nndsl import memory
from nndsl.check import check
from nndsl.cli import main
from nndsl.diagnostics import Source
from nndsl.spacecheck import check_spaces

# 784*100+100 + 100*10+10 = 79,510 parameters: 318,040 bytes of float32 weights
SPEC = "input 784\ndense 100 relu\ndense 10 softmax\n{opt}loss sparse_categorical_crossentropy\ndata \"x.npz\"\n"
WEIGHTS = 79_510 * 4


def warnings(text, registry):
    return [d for d in check_spaces(Source(text), registry).warnings if d.code == "W011"]


@pytest.mark.parametrize("opt, copies", [
    ("sgd\n", 1), ("sgd momentum=0.9\n", 2), ("adam\n", 3), ("adam amsgrad=true\n", 4), ("", 2),  # rmsprop
    ("rmsprop momentum=0.9 centered=true\n", 4), ("adagrad\n", 2), ("lion\n", 2), ("nadam\n", 3),
])
def test_the_estimate_counts_the_optimizers_copies(opt, copies, registry):
    model = check(SPEC.format(opt=opt), registry=registry)
    est = memory.estimate(model.nodes, model.training.optimizer)
    assert est.params == model.params.total == 79_510
    assert est.bytes == copies * WEIGHTS


def test_check_warns_only_when_the_machine_is_too_small(registry, monkeypatch):
    text = SPEC.format(opt="adam\n")
    monkeypatch.setenv(memory.MEMORY_ENV, str(3 * WEIGHTS))
    assert warnings(text, registry) == []
    monkeypatch.setenv(memory.MEMORY_ENV, str(3 * WEIGHTS - 1))
    (w,) = warnings(text, registry)
    assert "adam's state (2 copies of the trainable weights)" in w.message
    assert w.span.line == 2  # the largest layer
    # sgd without momentum keeps no state: the same machine holds it
    assert warnings(SPEC.format(opt="sgd\n"), registry) == []


def test_a_trillion_parameters_warn_on_this_machine(registry):
    assert memory.machine_memory() is not None
    (w,) = warnings("input 784; dense 1000000; dense 1000000", registry)
    assert "1,000,786,000,000 parameters" in w.message


def test_machine_memory_reads_ram_and_an_override(monkeypatch):
    monkeypatch.delenv(memory.MEMORY_ENV, raising=False)
    with open("/proc/meminfo") as fh:
        total = int(next(line for line in fh if line.startswith("MemTotal:")).split()[1]) * 1024
    assert 0 < memory.machine_memory() <= total * 1.01
    monkeypatch.setenv(memory.MEMORY_ENV, "12345")
    assert memory.machine_memory() == 12345


def test_run_refuses_before_reading_data_or_importing_a_framework(tmp_path):
    spec = tmp_path / "m.nn"
    spec.write_text(SPEC.format(opt="adam\n"))  # x.npz does not exist: reading data would fail with exit 3
    code = ("import sys; from nndsl.cli import main; rc = main(['run', sys.argv[1], '--out', sys.argv[2]]); "
            "print(rc, sorted(m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules))")
    env = {**os.environ, memory.MEMORY_ENV: str(WEIGHTS * 2)}
    done = subprocess.run([sys.executable, "-c", code, str(spec), str(tmp_path / "run")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.stdout.strip() == "4 []", done.stderr
    assert "error[E730]" in done.stderr and "m.nn:2:1" in done.stderr
    assert "need at least 931.8 KiB, and it has 621.2 KiB" in done.stderr
    assert "W011" not in done.stderr  # one diagnostic, the refusal
    assert not (tmp_path / "run").exists()


def test_run_with_enough_memory_goes_on_to_the_data(tmp_path, monkeypatch, capsys):
    spec = tmp_path / "m.nn"
    spec.write_text(SPEC.format(opt="adam\n"))
    monkeypatch.setenv(memory.MEMORY_ENV, str(WEIGHTS * 3))
    assert main(["run", str(spec), "--out", str(tmp_path / "run")]) == 3  # the missing data file
    assert "E730" not in capsys.readouterr().err

"""`nndsl emit` from the command line, and the emitted script as the run in Python (issue 15.2):
flags and exit codes, callbacks, the seed, data paths relative to the script, MNIST offline."""

from __future__ import annotations

import ast as pyast
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from nndsl.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SPEC = """\
input 8
dense 16 relu
dropout 0.2
dense 3 softmax
adam 0.01
loss sparse_categorical_crossentropy
metrics accuracy
fit epochs={epochs} batch_size=32 validation_split=0.2{seed}
callback early_stopping monitor=val_loss patience=2 restore_best_weights=true
callback reduce_lr_on_plateau factor=0.5 patience=1
data "d.npz"
"""


def write_data(path, n=600):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5).astype("int64")
    np.savez(path, x=x, y=y)


@pytest.fixture
def spec(tmp_path):
    folder = tmp_path / "specs"
    folder.mkdir()
    write_data(folder / "d.npz")
    path = folder / "m.nn"
    path.write_text(SPEC.format(epochs=3, seed=""))
    return path


def emit(*args, capsys):
    code = main(["emit", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


# Flags and exit codes ---------------------------------------------------------------------

def test_python_is_the_default_and_parses(spec, capsys):
    code, out, _ = emit(spec, capsys=capsys)
    assert code == 0
    pyast.parse(out)
    code, explicit, _ = emit("--python", spec, capsys=capsys)
    assert code == 0 and explicit == out


def test_ir_is_json_of_the_checked_model(spec, capsys):
    code, out, _ = emit("--ir", spec, capsys=capsys)
    assert code == 0
    data = json.loads(out)
    assert data["schema"] == "nndsl.ir" and [n["op"] for n in data["nodes"]] == ["dense", "dropout", "dense"]


def test_output_file_is_written_whole_and_nothing_else(spec, tmp_path, capsys):
    out = tmp_path / "train.py"
    code, printed, _ = emit(spec, "-o", out, capsys=capsys)
    assert code == 0 and printed == ""
    pyast.parse(out.read_text())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".nndsl-")]


@pytest.mark.parametrize("args, code, message", [
    (["--format", "nope"], 2, "does not emit 'nope'"),
    (["--backend", "keras-seq"], 2, "unknown backend 'keras-seq'"),
    (["--ir", "--seed", "1"], 2, "--seed applies to the Python script"),
])
def test_bad_flags_are_usage_errors(spec, args, code, message, capsys):
    got, out, err = emit(*args, spec, capsys=capsys)
    assert got == code and message in err and out == ""


def test_argument_errors_exit_2(spec, capsys):
    for args in (["--seed", "-1", str(spec)], ["--python", "--ir", str(spec)], []):
        with pytest.raises(SystemExit) as e:
            main(["emit", *args])
        assert e.value.code == 2
    capsys.readouterr()


def test_missing_file_and_spec_errors(tmp_path, capsys):
    code, _, err = emit(tmp_path / "none.nn", capsys=capsys)
    assert code == 2 and "cannot read" in err
    bad = tmp_path / "bad.nn"
    bad.write_text("input 4\ndens 3\n")
    code, out, err = emit(bad, capsys=capsys)
    assert code == 1 and "error[E200]" in err and out == ""
    code, _, _ = emit(bad, "-o", tmp_path / "x.py", capsys=capsys)
    assert code == 1 and not (tmp_path / "x.py").exists()


def test_sequential_backend_refuses_a_dag(tmp_path, capsys):
    dag = tmp_path / "dag.nn"
    dag.write_text("input a 4\ninput b 4\nh = concat(a, b) -> dense 2\noutput h\n")
    code, _, err = emit("--backend", "keras-sequential", dag, capsys=capsys)
    assert code == 2 and "keras-functional" in err


def test_emit_never_imports_keras(spec):
    code = ("import sys; from nndsl.cli import main; rc = main(['emit', sys.argv[1]]); "
            "assert not [m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow', 'jax', 'torch')]; "
            "sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code, str(spec)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


# What the script holds --------------------------------------------------------------------

def test_seed_from_fit_and_from_the_flag(spec, capsys):
    _, out, _ = emit(spec, capsys=capsys)
    assert re.search(r"^SEED = None\b", out, re.M)
    spec.write_text(SPEC.format(epochs=3, seed=" seed=7"))
    _, out, _ = emit(spec, capsys=capsys)
    assert re.search(r"^SEED = 7\b", out, re.M) and "keras.utils.set_random_seed(SEED)" in out
    _, out, _ = emit(spec, "--seed", "3", capsys=capsys)
    assert re.search(r"^SEED = 3\b", out, re.M)


@pytest.mark.keras
def test_callbacks_are_the_ones_run_makes(spec, registry, capsys):
    from nndsl.backends.keras import KerasLowering
    from nndsl.backends.keras.build import instantiate
    from nndsl.backends.keras.training import callback_call
    from nndsl.check import check

    _, out, _ = emit(spec, capsys=capsys)
    tree = pyast.parse(out)
    (assign,) = [n for n in pyast.walk(tree) if isinstance(n, pyast.Assign)
                 and any(getattr(t, "id", None) == "callbacks" for t in n.targets)]
    emitted = [pyast.unparse(c) for c in assign.value.elts]
    model = check(spec.read_text(), registry=registry)
    made = [instantiate(callback_call(cb, KerasLowering(registry))) for cb in model.training.callbacks]
    assert [e.split("(")[0] for e in emitted] == [f"keras.callbacks.{type(m).__name__}" for m in made]
    assert "patience=2" in emitted[0] and "restore_best_weights=True" in emitted[0]
    assert made[0].patience == 2 and made[0].restore_best_weights is True
    fit = [n for n in pyast.walk(tree) if isinstance(n, pyast.Call) and pyast.unparse(n.func) == "model.fit"]
    assert [k.arg for k in fit[0].keywords] == ["validation_data", "epochs", "batch_size", "shuffle", "callbacks"]


def test_fit_defaults_are_nndsl_run_s_not_keras(tmp_path, capsys):
    path = tmp_path / "m.nn"
    path.write_text('input 8; dense 3 softmax; loss sparse_categorical_crossentropy; data "d.npz"')
    _, out, _ = emit(path, capsys=capsys)
    assert "epochs=10, batch_size=32, shuffle=True" in out  # Keras' own default is 1 epoch


def test_data_paths_are_relative_to_the_script(spec, tmp_path, capsys):
    _, out, _ = emit(spec, capsys=capsys)
    assert 'np.load(data_path("d.npz")' in out  # on stdout: saved beside the spec
    elsewhere = tmp_path / "scripts" / "deep"
    elsewhere.mkdir(parents=True)
    emit(spec, "-o", elsewhere / "train.py", capsys=capsys)
    assert 'np.load(data_path("../../specs/d.npz")' in (elsewhere / "train.py").read_text()
    absolute = tmp_path / "abs.nn"
    absolute.write_text(SPEC.format(epochs=1, seed="").replace('"d.npz"', f'"{tmp_path}/specs/d.npz"'))
    emit(absolute, "-o", elsewhere / "abs.py", capsys=capsys)
    assert f'np.load(data_path("{tmp_path}/specs/d.npz")' in (elsewhere / "abs.py").read_text()


@pytest.mark.keras
def test_a_script_elsewhere_finds_the_data_from_any_working_directory(spec, tmp_path, monkeypatch, capsys):
    script = tmp_path / "scripts" / "train.py"
    script.parent.mkdir()
    emit(spec, "-o", script, capsys=capsys)
    namespace = {"__name__": "emitted", "__file__": str(script)}
    monkeypatch.chdir(tmp_path.parent)  # neither the spec's folder nor the script's
    exec(script.read_text(), namespace)  # noqa: S102 - generated code under test
    (x, y), validation, test = namespace["load_data"]()
    assert len(x) + len(validation[0]) + len(test[0]) == 600


@pytest.mark.keras
def test_mnist_offline_uses_the_bundled_digits(tmp_path, monkeypatch, capsys):
    path = tmp_path / "m.nn"
    path.write_text("input 28 28 1\nflatten\ndense 10 softmax\nloss sparse_categorical_crossentropy\n"
                    "fit validation_split=0.1\ndata mnist\n")
    _, out, _ = emit(path, capsys=capsys)
    monkeypatch.setenv("NNDSL_OFFLINE", "1")
    namespace = {"__name__": "emitted", "__file__": str(tmp_path / "train.py")}
    exec(out, namespace)  # noqa: S102 - generated code under test
    (x, y), validation, test = namespace["load_data"]()
    assert x.shape[1:] == (28, 28, 1) and len(x) + len(validation[0]) + len(test[0]) == 5000
    assert x.dtype == np.float32 and x.max() <= 1.0


@pytest.mark.keras
def test_mnist_falls_back_when_keras_cannot_load_it(tmp_path, monkeypatch, capsys):
    import keras

    def no_network():
        raise OSError("Name or service not known")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_network)
    monkeypatch.delenv("NNDSL_OFFLINE", raising=False)
    path = tmp_path / "m.nn"
    path.write_text("input 784\ndense 10 softmax\nloss sparse_categorical_crossentropy\ndata mnist\n")
    _, out, _ = emit(path, capsys=capsys)
    namespace = {"__name__": "emitted", "__file__": str(tmp_path / "train.py")}
    exec(out, namespace)  # noqa: S102 - generated code under test
    x, y, x_test, y_test = namespace["load_arrays"]()
    assert "using the digits bundled with nndsl" in capsys.readouterr().out
    assert len(next(iter(x.values()))) == 5000 and x_test is None


# The script is the run (slow: four trainings) ----------------------------------------------

def _script_test_line(script, cwd) -> dict[str, float]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [ln for ln in done.stdout.splitlines() if ln.startswith("test: ")]
    words = line.split()[1:]
    return {words[i]: float(words[i + 1]) for i in range(0, len(words), 2)}


def _run_test_metrics(spec, out, *flags) -> dict[str, float]:
    assert main(["run", str(spec), "--out", str(out), "--quiet", *flags]) == 0
    return json.loads((out / "metrics.json").read_text())["test"]


@pytest.mark.keras
@pytest.mark.slow
def test_the_seeded_script_is_reproducible_and_matches_run(spec, tmp_path, capsys):
    spec.write_text(SPEC.format(epochs=6, seed=""))
    script = tmp_path / "train.py"
    assert main(["emit", str(spec), "--seed", "5", "-o", str(script)]) == 0
    first = _script_test_line(script, tmp_path)
    second = _script_test_line(script, tmp_path)
    assert first == second  # same seed: same weights, data order, dropout (to the printed 6 digits)
    # `nndsl run` with Keras' own array feeding trains exactly what the script trains: the same
    # weights, batches, dropout masks and callbacks, so the metrics agree to float rounding.
    same_feed = _run_test_metrics(spec, tmp_path / "numpy", "--seed", "5", "--pipeline", "numpy")
    for name, value in first.items():
        assert same_feed[name] == pytest.approx(value, abs=1e-5), name
    # `run`'s default feed (whole batches through tf.data, in a seeded order of its own) sees
    # the same rows in different batches: the same model trained differently. On this
    # learnable 3-class task (~0.9 accuracy after 6 epochs, 60 test rows) the test accuracy
    # may differ by a few rows: within 0.1 (6 of 60), the loss within 0.15.
    default_feed = _run_test_metrics(spec, tmp_path / "tfdata", "--seed", "5")
    assert default_feed["accuracy"] == pytest.approx(first["accuracy"], abs=0.1)
    assert default_feed["loss"] == pytest.approx(first["loss"], abs=0.15)

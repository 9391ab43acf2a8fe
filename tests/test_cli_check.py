"""`nndsl check` and `nndsl summary` from the outside: exit codes, streams, formats, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nndsl import cli, ir

ROOT = Path(__file__).resolve().parent.parent
SEED = "input 784; dense 32 relu; dense 10 softmax; rmsprop 0.001; loss mse\n"
FUNCTIONAL = """input a 4
input b 3
h = a -> dense 8 relu
output y = h -> dense 2 softmax
output z = b -> dense 1
loss y=sparse_categorical_crossentropy z=mse
"""


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nndsl.cli", *args], input=stdin, capture_output=True,
                          cwd=ROOT, timeout=120, env=_env())


def _env() -> dict:
    import os

    env = dict(os.environ)
    env.pop("FORCE_COLOR", None)
    env["NNDSL_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


@pytest.fixture
def spec(tmp_path):
    def write(content: str | bytes, name: str = "model.nn") -> str:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return str(path)
    return write


def main(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    return code, out, err


# Exit codes and streams (subprocess: the real entry point) --------------------------------

def test_ok_exits_0_with_a_one_line_report(spec):
    p = run("check", spec(SEED))
    assert (p.returncode, p.stdout.decode(), p.stderr.decode()) == (0, "ok: 2 layers, 25,450 params\n", "")


def test_spec_error_exits_1_with_rendered_diagnostics_on_stderr(spec):
    path = spec("input 784\ndense 32 relux\n")
    p = run("check", path)
    assert p.returncode == 1 and p.stdout == b""
    assert p.stderr.decode().splitlines() == [
        f"{path}:2:10: error[E204]: dense: 'activation': unknown activation 'relux'",
        "2 | dense 32 relux",
        "  |          ^^^^^",
        "  = hint: did you mean 'relu', 'relu6' or 'elu'?",
        "1 error",
    ]


@pytest.mark.parametrize("args", [("check", "does/not/exist.nn"), ("check", "."), (), ("check",),
                                  ("check", "--format", "xml", "x.nn"), ("frobnicate",)])
def test_usage_errors_exit_2(args):
    p = run(*args)
    assert p.returncode == 2
    assert b"Traceback" not in p.stderr


def test_missing_file_message():
    p = run("check", "does/not/exist.nn")
    assert p.stderr.decode().strip() == "nndsl: error: does/not/exist.nn: cannot read: No such file or directory"


def test_stdin(spec):
    p = run("check", "-", stdin=SEED.encode())
    assert (p.returncode, p.stdout) == (0, b"ok: 2 layers, 25,450 params\n")
    p = run("check", "-", stdin=b"input 3\ndens 2\n")
    assert p.returncode == 1 and p.stderr.decode().startswith("<stdin>:2:1: error[E200]")


def test_check_and_summary_do_not_import_tensorflow(spec):
    path = spec(FUNCTIONAL)
    code = ("import sys; from nndsl import cli; "
            f"assert cli.main(['check', {path!r}]) == 0; assert cli.main(['summary', {path!r}]) == 0; "
            f"assert cli.main(['check', '--format', 'json', '--ir', {path!r}]) == 0; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')); "
            "assert not bad, bad")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, timeout=120, env=_env())
    assert p.returncode == 0, p.stderr.decode()


# Formats ------------------------------------------------------------------------------------

def test_json_format_ok(capsys, spec):
    code, out, _ = main(capsys, "check", "--format", "json", spec(SEED))
    report = json.loads(out)
    assert code == 0
    assert (report["ok"], report["layers"], report["params"], report["diagnostics"]) == (True, 2, 25450, [])


def test_json_format_errors(capsys, spec):
    path = spec("input 784\ndens 32\nloss mae2\n")
    code, out, err = main(capsys, "check", "--format", "json", path)
    report = json.loads(out)
    assert code == 1 and err == ""
    assert report["ok"] is False
    assert [(d["code"], d["span"]["line"], d["span"]["column"], d["severity"]) for d in report["diagnostics"]] == [
        ("E200", 2, 1, "error"), ("E202", 3, 6, "error")]
    assert report["diagnostics"][0]["hint"] == "did you mean 'dense'?"
    assert report["diagnostics"][0]["file"] == path


def test_json_format_several_files_is_a_list(capsys, spec):
    code, out, _ = main(capsys, "check", "--format", "json", spec(SEED, "a.nn"), spec("input 3\n", "b.nn"))
    report = json.loads(out)
    assert code == 1 and [r["ok"] for r in report] == [True, False]


def test_several_files_prefix_each_ok(capsys, spec):
    a, b = spec(SEED, "a.nn"), spec("input 3\ndense 1\n", "b.nn")
    code, out, _ = main(capsys, "check", a, b)
    assert code == 0 and out.splitlines() == [f"{a}: ok: 2 layers, 25,450 params", f"{b}: ok: 1 layer, 4 params"]


def test_a_missing_file_does_not_stop_the_others(capsys, spec):
    a = spec(SEED, "a.nn")
    code, out, err = main(capsys, "check", "/nonexistent/x.nn", a)
    assert code == 2
    assert f"{a}: ok: 2 layers" in out
    assert "/nonexistent/x.nn: cannot read" in err


def test_ir_with_json_format_is_one_document(capsys, spec):
    code, out, _ = main(capsys, "check", "--format", "json", "--ir", spec(SEED))
    data = json.loads(out)
    assert code == 0 and data["ok"] and data["ir"]["schema"] == "nndsl.ir"


def test_ir_is_versioned_json_that_round_trips(capsys, spec):
    code, out, _ = main(capsys, "check", "--ir", spec(FUNCTIONAL))
    data = json.loads(out)
    assert code == 0
    assert data["schema"] == "nndsl.ir" and data["schema_version"] == ir.SCHEMA_VERSION
    model = ir.from_json(data)
    assert ir.to_json(model) == data
    assert [i.name for i in model.inputs] == ["a", "b"] and model.outputs == ("y", "z")
    assert model.node("h").shape == (8,) and model.params.total == data["params"]["total"]
    assert model.training.losses == (("y", "sparse_categorical_crossentropy"), ("z", "mse"))


def test_warnings_go_to_stderr_and_still_exit_0(capsys, spec):
    code, out, err = main(capsys, "check", spec("input a 3\ninput b 3\noutput y = a -> dense 2\n"))
    assert code == 0 and out.startswith("ok:")
    assert "warning[W001]: input 'b' is not used by any output" in err


def test_no_color_when_not_a_terminal(capsys, spec):
    _, _, err = main(capsys, "check", spec("input 3\ndens 2\n"))
    assert "\x1b[" not in err


# summary ------------------------------------------------------------------------------------

def test_summary_of_a_dag_has_connections(capsys, spec):
    code, out, _ = main(capsys, "summary", spec(FUNCTIONAL, "fn.nn"))
    lines = out.splitlines()
    assert code == 0 and lines[0] == 'Model: "fn"'
    assert lines[1].split() == ["Layer", "(type)", "Output", "Shape", "Param", "#", "MACs", "Connected", "to"]
    assert any(line.startswith("h (Dense)") and line.endswith("a") for line in lines)
    assert "Total params: 62" in lines  # (4*8+8) + (8*2+2) + (3+1)


def test_summary_errors_exit_1(capsys, spec):
    code, out, err = main(capsys, "summary", spec("input 3\ndense 0\n"))
    assert code == 1 and out == "" and "error[E302]" in err


# Hostile input: a clear message or a correct answer, never a traceback ------------------------

@pytest.mark.parametrize("content, code", [
    (b"", "E005"),
    (b"   \n\n# only a comment\n", "E005"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x03\x00>\x00", "E002"),
    (b"input 3\ndense 2 \xff\xfe\n", "E003"),
    (b"input 3\r\ndense 2 relux\r\n", "E204"),
    (b"\xef\xbb\xbfinput 3\ndens 2\n", "E200"),
])
def test_hostile_files(capsys, spec, content, code):
    status, out, err = main(capsys, "check", spec(content))
    assert status == 1 and out == ""
    assert f"error[{code}]" in err


def test_not_utf8_points_at_the_byte(capsys, spec):
    path = spec(b"input 3\ndense 2 \xff relu\n")
    _, _, err = main(capsys, "check", path)
    assert err.startswith(f"{path}:2:9: error[E003]: byte 0xff is not valid UTF-8")


def test_ten_megabyte_file_is_too_large(capsys, spec):
    path = spec(b"input 3\ndense 2\n" + b"# padding\n" * 1_000_000)
    status, out, err = main(capsys, "check", path)
    assert status == 1 and "error[E001]" in err and len(err) < 2000


def test_ten_thousand_layers_check_correctly(capsys, spec):
    """A correct answer, not a timeout or a recursion error (no timing assert: CI machines vary)."""
    text = "input x 8\n" + "".join(f"h{i} = {'x' if i == 0 else f'h{i - 1}'} -> dense 8\n" for i in range(5000))
    text += "y = h4999 -> dense 8 relu\n" + "dense 8 relu\n" * 4999
    status, out, err = main(capsys, "check", spec(text))
    assert status == 0, err[:2000]
    assert out == f"ok: 10000 layers, {10000 * 72:,} params\n"


def test_ten_thousand_errors_are_all_reported(capsys, spec):
    status, _, err = main(capsys, "check", spec("input 8\n" + "dense 8 relux\n" * 10000))
    assert status == 1 and err.splitlines()[-1] == "10000 errors"

"""Nothing written in a spec can become code in an emitted script.

An adversarial corpus (quotes, newlines, backslashes, ``__import__``, f-string braces, triple
quotes, unicode that NFKC-normalizes to keywords or builtins, very long names, ``..`` paths):
each spec is either rejected with a diagnostic or emitted as Python whose syntax tree holds
only what the backend emits: imports of numpy and keras, calls into ``keras``/``layers``/``np``/
``model`` and the script's own functions, and spec strings as string constants only.
"""

from __future__ import annotations

import ast as pyast
import subprocess
import sys

import pytest

import nndsl
from nndsl.check import check_source
from nndsl.diagnostics import Source, SpecError, render

PAYLOADS = [
    "__import__('os').system('touch PWNED')",
    '"); __import__("os").system("touch PWNED"); ("',
    "'); __import__('os').system('touch PWNED'); ('",
    '""" + __import__("os").getcwd() + """',
    "{__import__('os').system('touch PWNED')}",
    "f'{exec(1)}'",
    "\\\\'); open('PWNED', 'w'); #",
    "../../etc/passwd",
    "..\\..\\windows\\system32",
    "a\nimport os\nos.system('touch PWNED')\n",
    "\u2028exec('1')\u2029",
    "\x00\x1b[31m",
    "\ufb01le",  # NFKC: "file"
    "\uff45\uff58\uff45\uff43",  # fullwidth "exec"
    "\U0001d5f2\U0001d605\U0001d5f2\U0001d5f0",  # math sans-serif "exec"
    "x" * 5000,
]


def spec_string(text: str) -> str:
    """``text`` as a double-quoted spec string (with the language's escapes)."""
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\r", "\\r").replace("\0", "\\0"))
    return f'"{escaped}"'


def _corpus() -> list[str]:
    specs = []
    head = "input 4\ndense 3 softmax\nadam 0.01\nloss categorical_crossentropy\n"
    for p in PAYLOADS:
        specs.append(head + f"data {spec_string(p + '.npz')}\n")
        specs.append(head + f"data {spec_string(p)}\n")
        specs.append(head + f"data {spec_string(p + '.csv')} label=y\n")
        specs.append(f"input 4\ndense 3 activation={spec_string(p)}\n")
        specs.append(f"input 4\ndense 3\nloss {spec_string(p)}\n")
        specs.append(f"input 4\ndense 3\nmetrics {spec_string(p)}\n")
    names = ["exec", "eval", "__import__", "open", "os", "print", "keras", "layers", "np", "model", "inputs",
             "build_model", "load_data", "None", "True", "class", "import", "lambda", "match", "_", "__x__",
             "__builtins__", "sys", "x" * 3000, "ﬁle", "ｅｘｅｃ", "ех", "e\u200dx"]
    for n in names:
        specs.append(f"input {n} 4\n{n}_1 = {n} -> dense 3\nout = {n}_1 -> dense 2\noutput out\n")
        specs.append(f"input a 4\n{n} = a -> dense 3\noutput {n}\n")
        specs.append(f"input a 4; input b 4\nx = a -> dense 2\n{n} = add(x, b -> dense 2)\noutput {n}\n")
        specs.append(f"input 4\ndense 3 activation={n}\n")
        specs.append(f"input 4\n{n} 3\n")
        specs.append(f"input 4\ndense 3; fit {n}=1\n")
        specs.append(f"input 4\ndense 3; callback early_stopping monitor={n}\n")
    specs += ['input 4; dense 3 kernel_initializer="__import__(\'os\')"',
              "input 4; dense 3 kernel_initializer=__import__",
              "input 4; dense {}; loss mse", "input 4; dense 3; loss mse; data \"\"\"",
              "input 4; dense 3\n# \"\"\"; import os\n", "input 4; dense 3 name=\"x\\\"); exec(\\\"1\"",
              "input 4 dtype=\"float32\\\"); exec(1); (\\\"\"; dense 3"]
    return specs


CORPUS = _corpus()

SAFE_IMPORTS = {"numpy", "keras", "os", "importlib.util", "tensorflow", "pyarrow.parquet"}
# The only uses of os and importlib a script may make: path arithmetic for its data files,
# reading NNDSL_OFFLINE, finding the installed nndsl's bundled digits, and listing a data folder.
SAFE_SYSTEM_CALLS = {"os.path.join", "os.path.dirname", "os.path.abspath", "os.path.expanduser", "os.environ.get",
                     "importlib.util.find_spec", "os.listdir", "os.walk", "os.path.isdir", "os.path.relpath",
                     "os.path.getsize"}
# Names a generated script may read without defining them itself.
SAFE_BUILTINS = {"len", "int", "float", "str", "bool", "tuple", "print", "range", "min", "max", "round", "all",
                 "any", "zip", "next", "iter", "repr", "FileNotFoundError", "Exception", "SystemExit",
                 "sorted", "enumerate", "list", "sum", "isinstance", "format", "ValueError", "UnicodeDecodeError"}
SAFE_GLOBALS = {"keras", "layers", "np", "tf", "pq", "os", "importlib", "__name__", "__file__"} | SAFE_BUILTINS
# Roots of attribute calls: the libraries; objects the script itself made are added per script.
SAFE_CALL_ROOTS = {"keras", "layers", "np", "tf", "pq"}
FORBIDDEN = {"exec", "eval", "__import__", "open", "os", "subprocess", "getattr", "setattr", "compile",
             "globals", "locals", "vars", "system", "importlib", "builtins", "sys", "input", "breakpoint"}


def _root(node: pyast.AST) -> pyast.AST:
    while isinstance(node, (pyast.Attribute, pyast.Subscript, pyast.Call)):
        node = node.func if isinstance(node, pyast.Call) else node.value
    return node


def assert_only_expected_code(source: str, plugin_modules: frozenset[str] = frozenset()) -> None:
    tree = pyast.parse(source)
    defined = {n.id for n in pyast.walk(tree) if isinstance(n, pyast.Name) and isinstance(n.ctx, pyast.Store)}
    defined |= {n.name for n in pyast.walk(tree) if isinstance(n, pyast.FunctionDef)}
    defined |= {a.arg for n in pyast.walk(tree) if isinstance(n, pyast.FunctionDef) for a in n.args.args}
    functions = {n.name for n in tree.body if isinstance(n, pyast.FunctionDef)}
    for node in pyast.walk(tree):
        assert not isinstance(node, (pyast.JoinedStr, pyast.Lambda, pyast.Global, pyast.Nonlocal,
                                     pyast.ClassDef, pyast.AsyncFunctionDef, pyast.Await, pyast.Delete)), \
            pyast.dump(node)[:200]
        if isinstance(node, pyast.Import):
            assert {a.name for a in node.names} <= SAFE_IMPORTS | plugin_modules, pyast.dump(node)
        elif isinstance(node, pyast.ImportFrom):
            assert node.module == "keras" and [a.name for a in node.names] == ["layers"], pyast.dump(node)
        elif isinstance(node, pyast.Name) and node.id in ("os", "importlib"):
            pass  # each use is checked below, as an attribute chain
        elif isinstance(node, pyast.Name):
            assert node.id not in FORBIDDEN, node.id
            assert node.id in defined or node.id in SAFE_GLOBALS or node.id in plugin_modules, node.id
        elif isinstance(node, pyast.Attribute) and isinstance(_root(node), pyast.Name) \
                and _root(node).id in ("os", "importlib"):
            chain = pyast.unparse(node)
            assert any(allowed == chain or allowed.startswith(chain + ".") for allowed in SAFE_SYSTEM_CALLS), chain
        elif isinstance(node, pyast.Attribute):
            assert not node.attr.startswith("__") and node.attr not in FORBIDDEN - {"compile"}, node.attr
        elif isinstance(node, pyast.Call):
            func = node.func
            if isinstance(func, pyast.Call):  # layers.Dense(...)(x): calling a layer the script built
                continue
            if isinstance(func, pyast.Name):
                assert func.id in functions | SAFE_BUILTINS, func.id
            else:
                root = _root(func)
                if isinstance(root, pyast.Name) and root.id in ("os", "importlib"):
                    assert pyast.unparse(func) in SAFE_SYSTEM_CALLS, pyast.unparse(func)
                    continue
                assert isinstance(root, pyast.Name) and root.id in SAFE_CALL_ROOTS | plugin_modules | defined | SAFE_BUILTINS, \
                    pyast.unparse(func)
                assert root.id not in FORBIDDEN, root.id
    # Spec text survives only inside string constants: blank them and no payload remains.
    for node in pyast.walk(tree):
        if isinstance(node, pyast.Constant) and isinstance(node.value, str):
            node.value = ""
    code = pyast.unparse(tree)
    for marker in ("PWNED", "__import__", "passwd", "system32", "exec(", "open("):
        assert marker not in code, marker


def emit_or_reject(text: str, registry) -> str | None:
    try:
        model = check_source(Source(text, "evil.nn"), registry).model
    except SpecError as err:
        for d in err.diagnostics:
            render(d, err.source)
        return None
    return nndsl.emit(model, registry=registry)


@pytest.mark.parametrize("text", CORPUS, ids=range(len(CORPUS)))
def test_corpus_is_rejected_or_emitted_safely(text, registry):
    source = emit_or_reject(text, registry)
    if source is not None:
        assert_only_expected_code(source)


def test_corpus_reaches_the_emitter():
    """Not everything is rejected: data paths and odd tensor names do get emitted."""
    from nndsl.plugins import build_registry, get_plugin_manager

    registry = build_registry(get_plugin_manager(load_entrypoints=False))
    emitted = [t for t in CORPUS if emit_or_reject(t, registry) is not None]
    assert len(emitted) >= len(PAYLOADS) + 20
    assert any("PWNED" in t and ".npz" in t for t in emitted)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_data_path_is_one_exact_string_constant(payload, registry):
    path = payload.replace("\0", "") + ".npz"
    source = emit_or_reject(f"input 4\ndense 3 softmax\nadam 0.01\nloss mse\ndata {spec_string(path)}\n",
                            registry)
    assert source is not None
    loads = [n for n in pyast.walk(pyast.parse(source))
             if isinstance(n, pyast.Call) and pyast.unparse(n.func) == "np.load"]
    (load,) = loads
    where = load.args[0]  # data_path("..."): the path, one exact constant, relative to the script
    assert isinstance(where, pyast.Call) and pyast.unparse(where.func) == "data_path"
    assert isinstance(where.args[0], pyast.Constant) and where.args[0].value == path


def test_source_file_name_stays_inside_the_docstring(registry):
    from nndsl.backends.base import choose_backend

    model = check_source(Source("input 4; dense 2", "m.nn"), registry).model
    evil = 'x"""\nimport os; os.system("touch PWNED")\n"""\\.nn'
    source = choose_backend(model, registry).emit(model, registry, "python", source_name=evil)
    tree = pyast.parse(source)
    assert pyast.get_docstring(tree) is not None and "PWNED" in pyast.get_docstring(tree)
    assert_only_expected_code(source)


def test_tensor_names_that_shadow_script_names_are_renamed(registry):
    text = "input keras 4\nlayers = keras -> dense 3\nnp = keras -> dense 3\nmodel = concat(layers, np)\noutput model\n"
    source = emit_or_reject(text, registry)
    assert source is not None
    assert_only_expected_code(source)
    assert "keras_ = keras.Input" in source and "model = keras.Model(keras_, model_" in source


@pytest.mark.keras
def test_running_an_emitted_script_executes_nothing_from_the_spec(tmp_path, registry):
    payload = "x'); open('PWNED', 'w').close(); ('\"); open(\"PWNED\", \"w\").close(); (\"{open('PWNED','w')}.npz"
    text = f"input 4\ndense 3 softmax\nadam 0.01\nloss mse\nfit epochs=1\ndata {spec_string(payload)}\n"
    source = emit_or_reject(text, registry)
    assert source is not None
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    script = work / "evil.py"
    script.write_text(source)
    proc = subprocess.run([sys.executable, str(script)], cwd=work, capture_output=True, text=True,
                          timeout=300, env={"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3",
                                            "PATH": "/usr/bin:/bin", "HOME": str(home)})
    assert not list(tmp_path.rglob("PWNED*"))
    # The script got as far as loading the data, and looked for the path verbatim.
    assert proc.returncode != 0 and "FileNotFoundError" in proc.stderr, proc.stderr[-2000:]
    assert list(work.iterdir()) == [script]

"""`nndsl lsp` as an editor uses it: a subprocess speaking JSON-RPC over its stdin and stdout.

Each test talks to the real entry point (``python -m nndsl.cli lsp``); the numbers a hover
shows are checked against the checked IR of the same spec, never typed in.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("pygls")
pytest.importorskip("lsprotocol")

from lsp_client import ROOT, Client  # noqa: E402 - tests/lsp_client.py

from nndsl.check import check_source, read_source  # noqa: E402
from nndsl.infer import format_shape  # noqa: E402
from nndsl.plugins import default_registry  # noqa: E402

ZOO = ROOT / "spec" / "examples" / "zoo"


@pytest.fixture(scope="module")
def client():
    c = Client()
    c.initialize()
    yield c
    c.close()


def _uri(path: Path) -> str:
    return path.resolve().as_uri()


def _hover(client: Client, uri: str, line: int, character: int) -> str:
    response = client.at("textDocument/hover", uri, line, character)
    assert "error" not in response, response
    assert response["result"] is not None, f"no hover at {line}:{character}"
    return response["result"]["contents"]["value"]


def _labels(response: dict) -> list[str]:
    result = response["result"]
    items = result["items"] if isinstance(result, dict) else result
    return [i["label"] for i in items]


def _completion(client: Client, uri: str, line: int, character: int) -> dict:
    response = client.at("textDocument/completion", uri, line, character)
    assert "error" not in response, response
    result = response["result"]
    return {i["label"]: i for i in (result["items"] if isinstance(result, dict) else result)}


def _apply(text: str, edits: list[dict]) -> str:
    """Apply LSP text edits (ASCII text: characters are UTF-16 units)."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def at(pos):
        return offsets[pos["line"]] + pos["character"]

    for e in sorted(edits, key=lambda e: at(e["range"]["start"]), reverse=True):
        text = text[:at(e["range"]["start"])] + e["newText"] + text[at(e["range"]["end"]):]
    return text


# The conversation --------------------------------------------------------------------------

def test_initialize_announces_every_feature(client):
    c = Client()
    try:
        caps = c.initialize()["capabilities"]
    finally:
        assert c.close() == 0
    for name in ("hoverProvider", "completionProvider", "definitionProvider", "referencesProvider",
                 "documentSymbolProvider", "documentFormattingProvider", "codeActionProvider"):
        assert caps.get(name), name
    assert caps["textDocumentSync"]["openClose"]


def test_a_clean_zoo_spec_has_no_diagnostics(client):
    path = ZOO / "densenet121.nn"
    published = client.open(_uri(path), path.read_text())
    assert published["diagnostics"] == []


def test_a_tunable_spec_opens_clean_and_a_bad_choice_is_reported_at_its_space(client):
    # Before: analyze() reported E606 on every search space, so a valid tunable spec showed errors.
    text = "input 784\ndense choice(32, 64) relu\ndropout uniform(0.1, 0.5)\ndense 10 softmax\nadam\nloss mse\n"
    assert client.open("untitled:tunable.nn", text)["diagnostics"] == []
    bad = "input 28 28\nflatten\ndense choice(96, 100) relu\nreshape (10, 10)\ndense 10\nadam\nloss mse\n"
    diags = client.open("untitled:bad_space.nn", bad)["diagnostics"]
    assert [(d["code"], d["range"]["start"]["line"]) for d in diags] == [("E609", 2)]
    assert "96" in diags[0]["message"]


def test_hover_on_a_layer_shows_its_output_shape_params_and_macs(client):
    path = ZOO / "unet.nn"
    text = path.read_text()
    uri = _uri(path)
    client.open(uri, text)
    model = check_source(read_source(str(path)), default_registry()).model
    node = next(n for n in model.nodes if n.op == "conv2d" and not n.block_path)
    line = node.span.line - 1
    value = _hover(client, uri, line, node.span.column)
    assert "**conv2d** (layer)" in value
    assert format_shape(node.shape) in value
    assert f"{node.params.total:,} params" in value
    assert "MACs" in value and node.macs > 0


def test_hover_on_a_block_call_shows_its_signature_and_totals(client):
    path = ZOO / "unet.nn"
    text = path.read_text()
    uri = _uri(path)
    client.open(uri, text)
    model = check_source(read_source(str(path)), default_registry()).model
    line = next(i for i, l in enumerate(text.splitlines()) if l.startswith("unet_down 64"))
    value = _hover(client, uri, line, 2)
    assert "block unet_down(x, filters)" in value
    mine = [n for n in model.nodes if n.block_path[:1] == ("unet_down:unet_down",)]
    assert mine
    assert f"this call: {len(mine)} layers · {sum(n.params.total for n in mine):,} params" in value


def test_hover_on_a_tensor_shows_its_shape_and_where_it_is_defined(client):
    path = ROOT / "spec" / "examples" / "residual.nn"
    text = path.read_text()
    uri = _uri(path)
    client.open(uri, text)
    model = check_source(read_source(str(path)), default_registry()).model
    lines = text.splitlines()
    use = next(i for i, l in enumerate(lines) if l.startswith("main = b1"))
    value = _hover(client, uri, use, len("main = b"))
    b1 = next(i for i, l in enumerate(lines) if l.startswith("b1 = stem"))
    assert f"line {b1 + 1}" in value
    add = next(n for n in model.nodes if n.op == "activation" and n.span.line == b1 + 5)
    assert format_shape(add.shape) in value


def test_hover_on_a_keyword_shows_its_type_and_default(client):
    uri = "untitled:keyword.nn"
    client.open(uri, "input 28 28 1\nconv2d 8 3 padding=same\n")
    value = _hover(client, uri, 1, 13)
    assert "padding" in value and "valid" in value and "same" in value


# Diagnostics and quick fixes -------------------------------------------------------------------

def test_change_reports_every_problem_with_code_and_hint_and_a_quick_fix_applies(client):
    uri = "untitled:typo.nn"
    text = "input 28 28 1\nconv2d 8 3 relu\nflatten\ndense 10 softmax\nadam\nloss sparse_categorical_crossentropy\n"
    assert client.open(uri, text)["diagnostics"] == []
    # an incremental change: `flatten` -> `flaten`, `dense` -> `densee`
    published = client.change(uri, 2, [
        {"range": {"start": {"line": 2, "character": 3}, "end": {"line": 2, "character": 4}}, "text": ""},
        {"range": {"start": {"line": 3, "character": 5}, "end": {"line": 3, "character": 5}}, "text": "e"},
    ])
    diags = published["diagnostics"]
    assert [(d["code"], d["range"]["start"]["line"]) for d in diags] == [("E200", 2), ("E200", 3)]
    assert all(d["source"] == "nndsl" and d["severity"] == 1 for d in diags)
    assert "hint: did you mean 'flatten'?" in diags[0]["message"]
    new_text = text.replace("flatten", "flaten").replace("dense", "densee")
    actions = client.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": diags[0]["range"],
        "context": {"diagnostics": [diags[0]], "only": ["quickfix"]}})["result"]
    fix = next(a for a in actions if a["title"] == "Replace 'flaten' with 'flatten'")
    assert fix["kind"] == "quickfix" and fix["isPreferred"]
    fixed = _apply(new_text, fix["edit"]["changes"][uri])
    assert fixed == text.replace("dense", "densee")


def test_a_problem_in_a_block_points_at_its_call_site(client):
    uri = "untitled:block.nn"
    text = textwrap.dedent("""\
        block stem(x, f):
            output x -> conv2d f 3 -> dense f 7
        input 28 28 1
        stem 8
        flatten -> dense 10 softmax
        """)
    diags = client.open(uri, text)["diagnostics"]
    assert diags, "a dense with a stray positional argument is an error"
    d = diags[0]
    assert d["range"]["start"]["line"] == 1
    related = d["relatedInformation"]
    assert any(r["location"]["uri"] == uri and r["location"]["range"]["start"]["line"] == 3
               and "called from here" in r["message"] for r in related)


@pytest.fixture(scope="module")
def included(tmp_path_factory):
    folder = tmp_path_factory.mktemp("specs")
    (folder / "blocks.nn").write_text(textwrap.dedent("""\
        # a block in another file
        block twice(x, units):
            y = x -> dense units relu
            output y -> dense units relu
        """))
    main = folder / "main.nn"
    main.write_text(textwrap.dedent("""\
        include "blocks.nn"
        input features 16
        h = features -> twice 32
        out = h -> twice 8
        output out
        adam
        loss mse
        """))
    return folder


def test_definition_and_references_reach_across_includes(client, included):
    main = included / "main.nn"
    uri = _uri(main)
    text = main.read_text()
    assert client.open(uri, text)["diagnostics"] == []
    definition = client.at("textDocument/definition", uri, 2, 16)["result"]
    assert definition["uri"] == _uri(included / "blocks.nn")
    assert definition["range"]["start"] == {"line": 1, "character": 6}
    refs = client.at("textDocument/references", uri, 2, 16, context={"includeDeclaration": True})["result"]
    assert sorted((r["uri"] == uri, r["range"]["start"]["line"]) for r in refs) == [(False, 1), (True, 2), (True, 3)]
    # a tensor: its definition, then its uses
    definition = client.at("textDocument/definition", uri, 3, 6)["result"]
    assert definition["uri"] == uri and definition["range"]["start"] == {"line": 2, "character": 0}
    refs = client.at("textDocument/references", uri, 2, 0, context={"includeDeclaration": False})["result"]
    assert [(r["range"]["start"]["line"], r["range"]["start"]["character"]) for r in refs] == [(3, 6)]


def test_a_problem_in_an_included_file_shows_at_the_include_with_the_real_place_related(client, tmp_path):
    (tmp_path / "bad.nn").write_text("block b(x):\n    output x -> densee 4\n")
    main = tmp_path / "main.nn"
    text = 'include "bad.nn"\ninput 8\nb\n'
    main.write_text(text)
    diags = client.open(_uri(main), text)["diagnostics"]
    d = next(d for d in diags if d["code"] == "E200")
    assert d["range"]["start"]["line"] == 2  # the call of the block
    assert any(r["location"]["uri"] == _uri(tmp_path / "bad.nn") and r["location"]["range"]["start"]["line"] == 1
               for r in d["relatedInformation"])


# Completion --------------------------------------------------------------------------------

def test_completion_offers_every_registered_layer_and_the_spec_s_tensors_and_blocks(client, included):
    registry = default_registry()
    uri = _uri(included / "main.nn")
    text = (included / "main.nn").read_text() + "z = out -> \n"
    client.change(uri, 2, [{"text": text}])
    after_arrow = _completion(client, uri, 7, len("z = out -> "))
    assert set(registry.canonical("layers")) <= set(after_arrow)
    assert "twice" in after_arrow and after_arrow["twice"]["detail"] == "block twice(x, units)"
    start = _completion(client, uri, 7, 0)
    assert {"features", "h", "out", "twice", "input", "loss", "adam"} <= set(start)
    if "scale" in registry.layers and registry.owner("layers", "scale") != "nndsl":
        assert "plugin" in after_arrow["scale"]["detail"]  # a plugin's layer is offered as such


def test_completion_of_a_layer_s_options_activations_and_values(client):
    uri = "untitled:complete.nn"
    text = "input 28 28 1\nconv2d 8 3 \nconv2d 8 3 padding=\nloss \nmetrics \n"
    client.open(uri, text)
    options = _completion(client, uri, 1, len("conv2d 8 3 "))
    assert options["strides="]["detail"].endswith("default 1")
    assert "relu" in options  # the positional activation
    assert _labels(client.at("textDocument/completion", uri, 2, len("conv2d 8 3 padding=")))[:2] == ["valid", "same"]
    registry = default_registry()
    assert set(registry.canonical("losses")) <= set(_completion(client, uri, 3, len("loss ")))
    assert set(registry.canonical("metrics")) <= set(_completion(client, uri, 4, len("metrics ")))


# Symbols and formatting ---------------------------------------------------------------------

def test_document_symbols_list_inputs_tensors_outputs_and_blocks(client, included):
    uri = _uri(included / "main.nn")
    client.change(uri, 3, [{"text": (included / "main.nn").read_text()}])
    result = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})["result"]
    assert [s["name"] for s in result] == ["features", "h", "out"]
    uri = "untitled:symbols.nn"
    client.open(uri, "block b(x):\n    y = x -> dense 4\n    output y\ninput i 3\noutput o = i -> b\n")
    result = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})["result"]
    assert [s["name"] for s in result] == ["b", "i", "o"]
    assert [c["name"] for c in result[0]["children"]] == ["x", "y"]


def test_formatting_returns_the_formatter_s_layout(client):
    fmt = pytest.importorskip("nndsl.fmt")
    uri = "untitled:format.nn"
    text = "input 784;dense 32 relu->dense 10 softmax\n"
    client.open(uri, text)
    edits = client.request("textDocument/formatting", {"textDocument": {"uri": uri},
                                                       "options": {"tabSize": 4, "insertSpaces": True}})["result"]
    assert _apply(text, edits) == fmt.format_source(text)


# Robustness -----------------------------------------------------------------------------------

def test_malformed_messages_and_bad_requests_do_not_stop_the_server():
    c = Client()
    try:
        c.initialize()
        c.send_raw(b"{ this is not json")
        c.send_raw(b'"a string, not a message"')
        c.send({"id": 99, "method": "textDocument/hover", "params": {"nonsense": True}})
        unknown = c.request("nndsl/noSuchMethod", {})
        assert "error" in unknown
        unopened = c.at("textDocument/hover", "untitled:never-opened.nn", 0, 0)
        assert "error" not in unopened
        uri = "untitled:after.nn"
        c.open(uri, "input 4\ndense 2\n")
        assert "dense" in _hover(c, uri, 1, 1)
    finally:
        assert c.close() == 0


_FAILING = """
import sys
import nndsl.tools.lsp as lsp

real = lsp.analyze_document
def analyze(text, *args):
    if "boom" in text:
        raise RuntimeError("analysis exploded")
    return real(text, *args)
def hover_text(*args):
    raise ValueError("hover exploded")
lsp.analyze_document = analyze
lsp.hover_text = hover_text
import atexit
atexit.register(lambda: print("HEAVY", sorted(m for m in sys.modules
                                              if m.split(".")[0] in ("tensorflow", "keras", "torch", "jax")),
                              file=sys.stderr, flush=True))
from nndsl.cli import main
sys.exit(main(["lsp"]))
"""


def test_an_exception_inside_a_handler_is_logged_and_the_server_keeps_serving():
    c = Client(sys.executable, "-c", _FAILING)
    try:
        c.initialize()
        uri = "untitled:fail.nn"
        c.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "nndsl", "version": 1,
                                                           "text": "input 4\n# boom\n"}})
        logged = c.wait_for("window/logMessage", lambda p: "analysis exploded" in p["message"])
        assert logged["type"] == 1
        assert c.at("textDocument/hover", uri, 0, 1)["result"] is None  # hover raised: no answer, no crash
        published = c.change(uri, 2, [{"text": "input 4\ndensee 2\n"}])
        assert [d["code"] for d in published["diagnostics"]] == ["E200"]
        completion = c.at("textDocument/completion", uri, 1, 0)
        assert "dense" in _labels(completion)
    finally:
        status = c.close()
    assert status == 0
    assert "HEAVY []" in c.stderr.decode(), "nndsl lsp imported a framework: " + c.stderr.decode()[-2000:]


def test_exit_without_shutdown_is_status_1():
    c = Client()
    c.initialize()
    c.notify("exit")
    c.proc.stdin.close()
    assert c.proc.wait(timeout=20) == 1


def test_without_pygls_the_command_says_what_to_install():
    import subprocess

    code = "import sys; sys.modules['pygls'] = None\nfrom nndsl.cli import main\nsys.exit(main(['lsp']))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "pip install 'nndsl[lsp]'" in proc.stderr
    assert "Traceback" not in proc.stderr


# Pieces -------------------------------------------------------------------------------------

@pytest.mark.parametrize("candidates,name", [(["dense"], "densee"), (["relu", "relu6", "elu"], "reluu"),
                                             (["flatten", "dense"], "fltten")])
def test_a_did_you_mean_hint_gives_back_its_suggestions(candidates, name):
    import difflib

    from nndsl.diagnostics import did_you_mean, suggestions_in

    expected = tuple(difflib.get_close_matches(name, sorted(candidates), n=3, cutoff=0.6))
    assert expected and suggestions_in(did_you_mean(name, candidates)) == expected
    assert suggestions_in("use a layer") == ()
    assert suggestions_in(None) == ()


def test_positions_count_utf16_units_as_editors_do(client):
    from nndsl.tools.lsp import to_character, to_column

    line = 'x = "😀" -> dense'  # the emoji is one character, two UTF-16 units
    assert to_character(line, line.index("dense") + 1) == line.index("dense") + 1
    assert to_column(line, line.index("dense") + 1) == line.index("dense") + 1
    text = 'input 4\ndense 2 name="😀"\n'  # E301: not a legal layer name; the span is the string
    diags = client.open("untitled:emoji.nn", text)["diagnostics"]
    start = text.split("\n")[1].index('"')
    assert diags[0]["range"] == {"start": {"line": 1, "character": start},
                                 "end": {"line": 1, "character": start + 4}}  # ", two units, "


def test_the_benchmark_runs():
    import subprocess

    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "lsp.py"), "--repeats", "1",
                           str(ZOO / "vgg16.nn")], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "vgg16.nn" in proc.stdout and "change→diags" in proc.stdout


def test_positions_follow_the_encoding_the_client_prefers():
    c = Client()
    try:
        result = c.request("initialize", {"processId": None, "rootUri": None, "capabilities": {
            "general": {"positionEncodings": ["utf-8", "utf-16"]}}})["result"]
        c.notify("initialized")
        assert result["capabilities"]["positionEncoding"] == "utf-8"
        text = 'input 4\ndense 2 name="😀"\n'
        diags = c.open("untitled:utf8.nn", text)["diagnostics"]
        start = text.split("\n")[1].index('"')
        assert diags[0]["range"]["end"] == {"line": 1, "character": start + 6}  # ", four bytes, "
        from nndsl.tools.lsp import to_column
        assert to_column('x = "😀" -> dense', len('x = "😀" -> '.encode()), "utf-8") == len('x = "😀" -> ') + 1
    finally:
        assert c.close() == 0


def test_hover_anywhere_on_a_layer_s_arguments_shows_that_layer(client):
    uri = "untitled:anywhere.nn"
    client.open(uri, "input 28 28 1\nconv2d 8 3 strides=2\n")
    value = _hover(client, uri, 1, len("conv2d 8 "))  # on the kernel size
    assert "**conv2d** (layer)" in value and "(None, 13, 13, 8)" in value


def test_saving_an_included_file_updates_the_specs_that_include_it(client, tmp_path):
    lib = tmp_path / "lib.nn"
    lib.write_text("block b(x):\n    output x -> dense 4\n")
    main = tmp_path / "main.nn"
    text = 'include "lib.nn"\ninput 8\nb\n'
    main.write_text(text)
    assert client.open(_uri(main), text)["diagnostics"] == []
    broken = "block b(x):\n    output x -> densee 4\n"
    lib.write_text(broken)
    client.open(_uri(lib), broken)
    client.notify("textDocument/didSave", {"textDocument": {"uri": _uri(lib)}})
    published = client.wait_for("textDocument/publishDiagnostics",
                                lambda p: p["uri"] == _uri(main) and p["diagnostics"])
    assert [d["code"] for d in published["diagnostics"]] == ["E200"]

"""``nndsl diagram``: valid, self-contained SVG (and Mermaid, DOT, ASCII) with no overlapping nodes.

The zoo's largest models (ResNet50, DenseNet121) are laid out with every layer expanded and
the geometry checked: every node inside the picture, no two nodes overlapping, every edge
running from its source's bottom to its target's top.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import nndsl
from nndsl.tools.diagram import diagram_graph, render
from nndsl.tools.layout import layered_layout

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO = os.path.join(ROOT, "spec", "examples", "zoo")
SVG = "{http://www.w3.org/2000/svg}"
MODELS = sorted(glob.glob(os.path.join(ROOT, "spec", "examples", "*.nn")) + glob.glob(os.path.join(ZOO, "*.nn")))


def overlapping(boxes) -> list:
    """Pairs of boxes that overlap (sweep over x so thousands of boxes stay cheap)."""
    items = sorted(boxes.items(), key=lambda kv: kv[1].x)
    found = []
    active: list = []
    for name, b in items:
        active = [(n, a) for n, a in active if a.x + a.width > b.x]
        for n, a in active:
            if a.y < b.y + b.height and b.y < a.y + a.height:
                found.append((n, name))
        active.append((name, b))
    return found


@pytest.fixture(scope="module")
def models():
    return {os.path.basename(p)[:-3]: nndsl.load(p) for p in MODELS}


@pytest.mark.parametrize("name", ["resnet50", "densenet121", "efficientnet_b0", "mobilenet_v2", "unet",
                                  "residual", "multi_io"])
@pytest.mark.parametrize("depth", [1, 2, None])
def test_layout_geometry(models, name, depth):
    model = models[name]
    nodes, edges = diagram_graph(model, depth)
    from nndsl.tools.diagram import _size

    layout = layered_layout({n.id: _size(n) for n in nodes}, edges)
    assert set(layout.nodes) == {n.id for n in nodes}
    assert overlapping(layout.nodes) == []
    for b in layout.nodes.values():
        assert 0 <= b.x and b.x + b.width <= layout.width and 0 <= b.y and b.y + b.height <= layout.height
    for (a, b, pts), edge in zip(layout.edges, edges):
        assert (a, b) == edge
        assert pts[0] == (layout.nodes[a].center_x, layout.nodes[a].bottom)
        assert pts[-1] == (layout.nodes[b].center_x, layout.nodes[b].y)
        assert all(y1 <= y2 for (_, y1), (_, y2) in zip(pts, pts[1:])), "edges run downwards"
    # Inputs on the first rank, the outputs on the last.
    ranks = {k: v.rank for k, v in layout.nodes.items()}
    assert all(ranks[i.name] == 0 for i in model.inputs)
    last = max(ranks.values())
    out_ids = {n.id for n in nodes if n.is_output}
    assert out_ids and all(ranks[o] == last for o in out_ids)


def test_every_layer_is_drawn_when_expanded(models):
    model = models["densenet121"]
    nodes, edges = diagram_graph(model, None)
    assert len(nodes) == len(model.nodes) + len(model.inputs)
    assert len(edges) == len({(s, n.name) for n in model.nodes for s in n.inputs})


def test_blocks_fold_into_one_node_with_their_totals(models):
    model = models["resnet50"]
    nodes, edges = diagram_graph(model, 1)
    blocks = [n for n in nodes if n.is_block]
    assert [n.kind for n in blocks] == ["bottleneck_stage"] * 4
    assert sum(n.params for n in nodes) == model.params.total
    assert sum(n.layers for n in blocks) == sum(1 for n in model.nodes if n.block_path)
    # A level deeper: the 16 bottleneck blocks.
    nodes2, _ = diagram_graph(model, 2)
    assert [n.kind for n in nodes2 if n.is_block] == ["bottleneck"] * 16
    assert sum(n.params for n in nodes2) == model.params.total


@pytest.mark.parametrize("path", MODELS, ids=os.path.basename)
def test_svg_is_well_formed_and_names_every_node(models, path):
    model = models[os.path.basename(path)[:-3]]
    svg = render(model, "svg", None)
    root = ET.fromstring(svg.encode())
    assert root.tag == SVG + "svg"
    texts = {t.text for t in root.iter(SVG + "text")}
    for n in model.nodes:
        assert any(t and t.startswith(n.name) for t in texts), n.name
    rects = [g for g in root.iter(SVG + "g") if g.get("class") in ("node", "node block")]
    assert len(rects) == len(model.nodes) + len(model.inputs)
    paths = [p for p in root.iter(SVG + "path") if p.get("class") == "edge"]
    assert len(paths) == len({(s, n.name) for n in model.nodes for s in n.inputs})
    # Self-contained: nothing fetched, nothing run.
    assert "<script" not in svg and "href" not in svg and "@import" not in svg


def test_names_are_escaped():
    model = dataclasses.replace(nndsl.check("input x 4\noutput y = x -> dense 2"), name='a<b&"c')
    svg = render(model, "svg")
    ET.fromstring(svg.encode())
    assert 'a&lt;b&amp;"c' in svg


def test_text_formats(models):
    model = models["residual"]
    mermaid = render(model, "mermaid", None)
    assert mermaid.startswith("flowchart TD\n")
    assert "n_stem --> n_add" in mermaid
    dot = render(model, "dot", None)
    assert dot.startswith('digraph "residual" {') and '"stem" -> "add";' in dot and dot.rstrip().endswith("}")
    ascii_ = render(model, "ascii", None)
    assert "◀ batch_normalization_2, stem" in ascii_ and "→ output" in ascii_
    folded = render(models["resnet50"], "ascii")
    assert "╔" in folded and "bottleneck_stage" in folded


def nndsl_cli(*args):
    return subprocess.run([sys.executable, "-m", "nndsl.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def test_cli_diagram(tmp_path):
    out = tmp_path / "m.svg"
    r = nndsl_cli("diagram", os.path.join(ZOO, "resnet50.nn"), "-o", str(out))
    assert r.returncode == 0, r.stderr
    ET.parse(out)
    r = nndsl_cli("diagram", os.path.join(ROOT, "spec", "examples", "residual.nn"), "--format", "mermaid")
    assert r.returncode == 0 and r.stdout.startswith("flowchart TD")
    md = tmp_path / "m.md"
    assert nndsl_cli("diagram", os.path.join(ROOT, "spec", "examples", "residual.nn"), "-o", str(md)).returncode == 0
    assert md.read_text().startswith("```mermaid\nflowchart TD")
    bad = tmp_path / "bad.nn"
    bad.write_text("input 3\ndens 2\n")
    r = nndsl_cli("diagram", str(bad), "-o", str(tmp_path / "bad.svg"))
    assert r.returncode == 1 and "error[E200]" in r.stderr and not (tmp_path / "bad.svg").exists()


def test_diagram_does_not_import_tensorflow():
    path = os.path.join(ZOO, "densenet121.nn")
    code = ("import sys, io, contextlib; from nndsl import cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    assert cli.main(['diagram', '--expand', {path!r}]) == 0\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'torch'))\n"
            "assert not bad, bad")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert p.returncode == 0, p.stderr


def test_benchmark_runs():
    p = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "diagram.py"), "--repeats", "1"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert p.returncode == 0, p.stderr[-2000:]
    assert "densenet121" in p.stdout and "expanded" in p.stdout

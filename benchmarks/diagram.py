"""Diagram benchmark: how long ``nndsl diagram`` takes to lay out and draw the zoo's models.

For each zoo model, with block instances folded (``depth 1``, the default) and with every layer
expanded, prints the nodes drawn, the dummy-free edge count, and the median time of
``--repeats`` runs of the layout alone and of the whole SVG rendering (checking the spec is
not timed). The issue's target: ResNet50 and DenseNet121 expanded in under a second.

Run: ``python benchmarks/diagram.py`` (``--repeats 1`` for a quick look). Timings are printed,
never asserted.
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import nndsl  # noqa: E402
from nndsl.tools.diagram import _size, diagram_graph, render_svg  # noqa: E402
from nndsl.tools.layout import layered_layout  # noqa: E402


def _median(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"{'model':<18} {'fold':>8} {'nodes':>6} {'edges':>6} {'layout ms':>10} {'svg ms':>8}")
    for path in sorted(glob.glob(os.path.join(ROOT, "spec", "examples", "zoo", "*.nn"))):
        model = nndsl.load(path)
        for depth in (1, None):
            nodes, edges = diagram_graph(model, depth)
            sizes = {n.id: _size(n) for n in nodes}
            lay = _median(lambda: layered_layout(sizes, edges), args.repeats)
            svg = _median(lambda: render_svg(model, depth), args.repeats)
            name = os.path.basename(path)[:-3]
            fold = "blocks" if depth else "expanded"
            print(f"{name:<18} {fold:>8} {len(nodes):>6} {len(edges):>6} {lay * 1e3:>10.1f} {svg * 1e3:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

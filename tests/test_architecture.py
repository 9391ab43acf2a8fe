"""The package's shape: no import cycles, and heavy frameworks imported only where they belong.

Every ``import`` statement counts, those inside functions too: a lazy import still ties two
modules together. Keras, TensorFlow and torch may be imported at module level only under
``nndsl/backends/`` and ``nndsl/run/`` (everything else imports them inside functions).
"""

from __future__ import annotations

import ast
import os

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "nndsl")
HEAVY = ("keras", "tensorflow", "torch")


def _modules() -> dict[str, str]:
    out = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3].replace(os.sep, ".")
                out[rel[:-len(".__init__")] if rel.endswith(".__init__") else rel] = path
    return out


MODULES = _modules()


def _targets(module: str, path: str, node) -> list[str]:
    """The nndsl modules an import statement names."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = module if path.endswith("__init__.py") else module.rsplit(".", 1)[0]
        if node.level:
            parts = base.split(".")
            base = ".".join(parts[:len(parts) - node.level + 1])
            full = base + ("." + node.module if node.module else "")
        else:
            full = node.module or ""
        names = [f"{full}.{a.name}" if f"{full}.{a.name}" in MODULES else full for a in node.names]
    out = []
    for name in names:
        while name not in MODULES and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in MODULES and name != module:
            out.append(name)
    return out


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(open(path, encoding="utf-8").read(), path)
        graph[module] = {t for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                         for t in _targets(module, path, n)}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_package_has_no_import_cycle():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _module_level_imports(tree) -> list[str]:
    out = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.append(node.module)
    return out


@pytest.mark.parametrize("module", sorted(MODULES))
def test_heavy_frameworks_are_imported_at_module_level_only_in_backends_and_run(module):
    if module.startswith(("nndsl.backends", "nndsl.run")):
        return
    tree = ast.parse(open(MODULES[module], encoding="utf-8").read())
    heavy = [name for name in _module_level_imports(tree) if name.split(".")[0] in HEAVY]
    assert heavy == [], f"{module} imports {heavy} at module level; import it inside the function that needs it"


def test_readme_exit_codes_are_the_exit_code_enum():
    """README's table lists exactly nndsl.errors.ExitCode's values, and every error class maps into it."""
    import inspect
    import re

    from nndsl import errors

    readme = open(os.path.join(os.path.dirname(PACKAGE), "README.md"), encoding="utf-8").read()
    table = readme[readme.index("### Exit codes"):].split("\n\n")[1]
    assert {int(m) for m in re.findall(r"^\| (\d+) \|", table, re.M)} == {int(c) for c in errors.ExitCode}
    for _, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, errors.NndslError):
            assert isinstance(cls.exit_code, errors.ExitCode), cls

"""The core is method-neutral and the code has no import circles.

The import graph is read statically from every ``.py`` of ``asgl/``, ``baselines/`` and ``pipelines/``: an
edge ``a → b`` for every ``import b`` / ``from b import …`` in ``a`` (inside functions too: a deferred import
is still a dependency), where ``from p import m`` names the submodule ``p.m`` when there is one. An import of
a module's own package (``asgl.data.raw`` → ``asgl.data``) is how a package's parts reach its public names
and is not counted. A circle is a strongly connected component of more than one module.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("asgl", "baselines", "pipelines")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """``{module: {modules of this project it imports}}`` over :data:`PACKAGES`."""
    files = {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets.update(f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names)
        graph[name] = {t for t in targets if t in files and t != name and not name.startswith(t + ".")}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

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


def test_the_checker_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_the_executors_form_no_circle():
    graph = import_graph()
    assert "pipelines.lib.executor_base" in graph["pipelines.lib.executors"]
    executors = {"pipelines.lib.executors", "pipelines.lib.executors_ray", "pipelines.lib.ddp_launch"}
    assert not [c for c in circles(graph) if executors & set(c)]


def test_the_layers_point_one_way():
    """``pipelines → baselines → asgl``: the core imports neither, the baselines do not import the pipelines."""
    graph = import_graph()
    upward = [(a, b) for a, targets in graph.items() for b in targets
              if (a.startswith("asgl") and b.startswith(("baselines", "pipelines")))
              or (a.startswith("baselines") and b.startswith("pipelines"))]
    assert upward == []


def test_no_import_circle_anywhere():
    assert circles(import_graph()) == []


def test_importing_the_trainer_registers_no_method():
    code = ("import sys, asgl.training, asgl.training.callbacks, asgl.registry as r; "
            "assert 'asgl.methods' not in sys.modules, 'asgl.methods was imported'; "
            "assert r.registered_methods() == (), r.registered_methods()")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

"""The data registry reads no files at import time and ``raw``, ``registry`` and ``shipped`` form no circle.

Each module is imported alone in a fresh interpreter; the registry's content is dumped once from the checkout
and once from a copy of the package with no ``datasets/`` folder beside it (no shipped archive): both dumps
must be equal.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = ("asgl.data.shipped", "asgl.data.registry", "asgl.data.raw")
DUMP = ("import json, dataclasses; from asgl.data import registry as r; "
        "print(json.dumps({'specs': {k: repr(v) for k, v in r.REGISTRY.items()}, "
        "'embedded': list(r.EMBEDDED_IDS), 'real': list(r.REAL_IDS)}))")


def _run(code: str, path: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(path)}
    done = subprocess.run([sys.executable, "-c", code], cwd=path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_alone(module):
    _run(f"import {module}", ROOT)


def _imported(module: str) -> set[str]:
    """Every ``asgl.data.*`` module named by an import anywhere in ``module``'s file (functions included)."""
    tree = ast.parse((ROOT / (module.replace(".", "/") + ".py")).read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return {n for n in names if n in MODULES}


def test_no_circle_among_raw_registry_shipped():
    assert _imported("asgl.data.shipped") == set()
    assert _imported("asgl.data.registry") == set()
    assert _imported("asgl.data.raw") == {"asgl.data.registry", "asgl.data.shipped"}


def test_registry_content_does_not_depend_on_the_checkout(tmp_path):
    shutil.copytree(ROOT / "asgl", tmp_path / "asgl", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    assert not (tmp_path / "datasets").exists()
    here, bare = json.loads(_run(DUMP, ROOT)), json.loads(_run(DUMP, tmp_path))
    assert here == bare
    assert {"fsdd", "nmnist-small"} <= set(bare["embedded"])

"""``fetch`` runs without importing torch, and the lazily loaded public names of ``asgl`` and ``asgl.data`` are
the same objects as before.

``fetch`` only verifies and unpacks archives or writes a small JSON, once per dataset: importing torch made it
cost seconds instead of a fraction of one. Each check runs in a fresh interpreter, where nothing has imported
torch yet.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FETCH = """
import sys
from pipelines.stages import fetch
status = fetch.main([{dataset!r}, "--data-root", {root!r}])
heavy = sorted(m for m in ("torch", "numpy") if m in sys.modules)
assert status == 0, status
assert not heavy, f"fetch imported {{heavy}}"
"""

PUBLIC_NAMES = """
import importlib, sys
import asgl, asgl.data
assert "torch" not in sys.modules, "importing asgl or asgl.data imported torch"
for package in (asgl, asgl.data):
    for name in package.__all__:
        value = getattr(package, name)
        home = getattr(value, "__module__", None)
        if home is not None and home.startswith("asgl"):
            assert getattr(importlib.import_module(home), name) is value, (package.__name__, name)
        assert name in dir(package), (package.__name__, name)
    try:
        package.no_such_name
    except AttributeError:
        pass
    else:
        raise AssertionError(f"{package.__name__}.no_such_name did not raise AttributeError")
from asgl import LIF, ASGLSpike, FixedSurrogateSpike, FusedSpec, SpikeFunction, functional
from asgl.data import fetch_dataset, load_prepared, prepare_dataset, PreparedData, registry
"""


def _run(code: str) -> None:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("dataset", ["digits", "nmnist-small"])  # generated (a note), shipped (an archive)
def test_fetch_does_not_import_torch(dataset, tmp_path):
    _run(FETCH.format(dataset=dataset, root=str(tmp_path)))
    assert (tmp_path / "raw" / dataset).is_dir()


def test_the_public_names_load_on_first_use():
    _run(PUBLIC_NAMES)

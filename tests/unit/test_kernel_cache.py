"""The numba LIF kernels compiled by one process are loaded, not recompiled, by the next (asgl.kernels.cache).

Each test process gets its own empty cache folder (``NUMBA_CACHE_DIR``), so the evidence is numba's own
per-kernel counters (``dispatcher.stats.cache_hits`` / ``cache_misses``) and the folder's file list, never
a timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from asgl.kernels.cache import all_flag_sets

REPO_ROOT = Path(__file__).resolve().parents[2]

# One LIF forward + backward on the numba backend, then the kernels' cache counters as one JSON line.
_CHILD = """
import json, sys, torch
from asgl import LIF, ASGLSpike
from asgl.functional import PRIMITIVES
from asgl.kernels import lif_numba
primitive, p = sys.argv[1], float(sys.argv[2])
lif = LIF(ASGLSpike(width=1.0, p=p, primitive=primitive), backend="numba")
x = torch.randn(3, 2, 16, requires_grad=True)
lif(x).sum().backward()
pair = lif_numba.kernels(PRIMITIVES[primitive].kernel_code, False, False, p > 0)
print(json.dumps({"hits": sum(sum(k.stats.cache_hits.values()) for k in pair),
                  "misses": sum(sum(k.stats.cache_misses.values()) for k in pair)}))
"""


def _run_child(cache: Path, *args: str, code: str = _CHILD) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPO_ROOT), env.get("PYTHONPATH"))))
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _files(folder: Path) -> list[str]:
    return sorted(str(f.relative_to(folder)) for f in folder.rglob("*") if f.is_file())


def test_a_second_process_loads_the_kernels_and_writes_nothing(tmp_path: Path) -> None:
    cold = _run_child(tmp_path, "rectangle", "0.0")
    assert cold == {"hits": 0, "misses": 2}  # forward and backward compiled, then saved
    saved = _files(tmp_path)
    assert any(name.endswith(".nbi") for name in saved) and any(name.endswith(".nbc") for name in saved)

    warm = _run_child(tmp_path, "rectangle", "0.0")
    assert warm == {"hits": 2, "misses": 0}
    assert _files(tmp_path) == saved


@pytest.mark.slow
def test_warm_cache_fills_every_flag_set_for_later_processes(tmp_path: Path) -> None:
    code = "import json; from asgl.kernels import warm_cache; print(json.dumps(warm_cache()))"
    kernels = 2 * len(all_flag_sets())  # a forward and a backward per flag set
    first = _run_child(tmp_path, code=code)
    assert first == {"loaded": 0, "compiled": kernels}
    saved = _files(tmp_path)
    assert _run_child(tmp_path, code=code) == {"loaded": kernels, "compiled": 0}
    for primitive, p in (("sigmoid", "0.0"), ("sigmoid", "0.3"), ("rectangle", "1.0")):
        assert _run_child(tmp_path, primitive, p) == {"hits": 2, "misses": 0}
    assert _files(tmp_path) == saved


def test_warm_cache_rejects_a_primitive_without_a_kernel() -> None:
    from asgl.kernels import warm_cache

    with pytest.raises(ValueError, match="no fused kernel for primitive 'tanh'"):
        warm_cache([("tanh", "soft", False, False)])


def test_flag_sets_of_lists_what_each_neuron_runs_on_the_cpu() -> None:
    from torch import nn

    from asgl import LIF, ASGLSpike, FixedSurrogateSpike
    from asgl.kernels.cache import flag_sets_of
    from baselines.sharpen import SharpenSpike

    asgl = LIF(ASGLSpike(width=1.0, p=0.2), reset="soft")
    assert flag_sets_of(asgl) == [("sigmoid", "soft", False, True), ("sigmoid", "soft", False, False)]
    always_smooth = LIF(ASGLSpike(width=1.0, p=1.0, primitive="rectangle"), scale_output=True)
    assert flag_sets_of(always_smooth) == [("rectangle", "soft", True, True), ("rectangle", "soft", True, False)]
    sg = LIF(FixedSurrogateSpike(width=1.0, primitive="rectangle"), reset="hard")
    assert flag_sets_of(nn.Sequential(nn.Linear(2, 2), sg, nn.ReLU())) == [("rectangle", "hard", False, False)]
    sharpen = LIF(SharpenSpike(width=1.0, primitive="rectangle"), reset="hard")
    assert flag_sets_of(sharpen) == [("rectangle", "hard", False, True), ("step", "hard", False, False)]
    assert flag_sets_of(LIF(ASGLSpike(width=1.0, p=0.2), backend="autograd")) == []
    assert flag_sets_of(nn.Sequential(nn.Linear(2, 2), nn.ReLU())) == []


def test_flag_sets_of_restores_each_layers_mode() -> None:
    from torch import nn

    from asgl import LIF, ASGLSpike
    from asgl.kernels.cache import flag_sets_of

    model = nn.Sequential(LIF(ASGLSpike(p=0.2)), LIF(ASGLSpike(p=0.2)))
    model.eval()
    flag_sets_of(model)
    assert not any(m.training for m in model.modules())
    model.train()
    flag_sets_of(model)
    assert all(m.training for m in model.modules())

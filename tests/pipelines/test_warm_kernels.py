"""``asgl-bench warm-kernels`` compiles what the runs of a params file will use, so their processes compile nothing.

The evidence is numba's cache folder (``NUMBA_CACHE_DIR``, one per test) and its per-kernel counters, never a
timing: after the command, a process that trains an ASGL neuron through its whole p schedule (mixture, then
``p = 0``) and evaluates it finds every kernel in the cache and writes no new file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.commands.warm_kernels import benchmark_flag_sets, warm

REPO_ROOT = Path(__file__).resolve().parents[2]


def _params(methods: dict[str, dict], device: str = "cpu") -> dict:
    sources = {"asgl": "asgl/methods.py", "sg": "asgl/methods.py", "sharpen": "baselines/sharpen.py",
               "relu-ann": "baselines/ann_relu.py"}
    return {"run": {"methods": {name: sources[name] for name in methods}, "datasets": ["a", "b"], "device": device},
            "datasets": {"a": {}, "b": {"method_overrides": {"sg": {"primitive": "rectangle"}}}},
            "methods": methods}


def test_the_flag_sets_follow_the_methods_order_with_each_datasets_overrides() -> None:
    params = _params({"asgl": {"primitive": "sigmoid"}, "sg": {"primitive": "sigmoid"}, "relu-ann": {},
                      "sharpen": {"primitive": "rectangle"}})
    assert benchmark_flag_sets(params) == [
        ("sigmoid", "hard", False, True), ("sigmoid", "hard", False, False),  # ASGL: mixture, then p = 0
        ("rectangle", "hard", False, False),  # SG on dataset b only (its override); sigmoid is already listed
        ("rectangle", "hard", False, True), ("step", "hard", False, False)]  # sharpening: smooth, then step


def test_cuda_runs_need_no_cpu_kernels() -> None:
    assert "not needed" in warm(_params({"asgl": {}}, device="cuda"))


_CHILD = """
import json, sys, torch
from pipelines.commands.warm_kernels import warm
from pipelines.lib.identity import load_method
from pipelines.lib.runs import resolved_method_params
params = json.loads(sys.argv[1])
if sys.argv[2] == "warm":
    print(json.dumps(warm(params)))
    sys.exit()
from asgl.kernels import lif_numba
spec = load_method("asgl", params["run"]["methods"]["asgl"])
neuron = spec.make_neuron(resolved_method_params(params, "a", "asgl"))
x = torch.randn(3, 2, 16, requires_grad=True)
neuron(x).sum().backward()  # the mixture (p > 0)
neuron.spike.set_noise_rate(0.0)  # where the schedule ends
neuron(x).sum().backward()
with torch.no_grad():
    neuron.eval()(x)  # pure spikes
pairs = [lif_numba.kernels(lif_numba.RECTANGLE, True, False, noisy) for noisy in (True, False)]
kernels = [k for pair in pairs for k in pair]
print(json.dumps({"hits": sum(sum(k.stats.cache_hits.values()) for k in kernels),
                  "misses": sum(sum(k.stats.cache_misses.values()) for k in kernels)}))
"""


def _child(cache: Path, params: dict, what: str) -> object:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPO_ROOT), env.get("PYTHONPATH"))))
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(params), what], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.timeout(300)
def test_after_the_command_a_run_compiles_nothing(tmp_path: Path) -> None:
    params = _params({"asgl": {"primitive": "rectangle"}})
    summary = _child(tmp_path, params, "warm")
    assert "2 flag sets ready (4 kernels compiled, 0 loaded" in summary
    saved = sorted(f.name for f in tmp_path.rglob("*") if f.is_file())
    assert _child(tmp_path, params, "train") == {"hits": 4, "misses": 0}
    assert sorted(f.name for f in tmp_path.rglob("*") if f.is_file()) == saved

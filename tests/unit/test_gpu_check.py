"""scripts/gpu_check.py on the CPU: its plumbing, with the parts' processes replaced by canned results.

On a GPU host ``make gpu-check`` runs the real parts; here a fake runner answers each command as the real
tools do (pytest's summary line, bench_gpu.py's JSON, pipelines.commands.plan's ``ok`` lines), so what is tested is
how the check runs, times, judges and reports the parts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu_check.py"

sys.path.insert(0, str(ROOT / "scripts"))
import gpu_check  # noqa: E402

sys.path.pop(0)


def _bench_rows(fp32_ms: float = 0.30, parity: float = 1e-6) -> list[dict]:
    floor = 0.25  # ms
    return [{"method": "triton-kernel", "dtype": dtype, "median_ms": ms, "floor_ms": floor,
             "pct_of_peak": 100 * floor / ms,
             "parity_vs_autograd": {"y_mismatch_frac": 0.0, "grad_x_max_rel": parity, "grad_width_max_rel": parity}}
            for dtype, ms in (("float32", fp32_ms), ("bfloat16", 0.2))] + [
        {"method": "autograd", "dtype": "float32", "median_ms": 9.0, "floor_ms": floor, "pct_of_peak": 3.0}]


class FakeTools:
    """Answers the three parts' commands like the real tools; ``overrides[name]`` replaces one answer."""

    def __init__(self, **overrides):
        self.overrides = overrides
        self.calls: list[list[str]] = []

    def __call__(self, command: list[str], timeout: float) -> subprocess.CompletedProcess:
        self.calls.append(command)
        name = "tests" if "pytest" in command else "kernel" if "scripts/bench_gpu.py" in command else "training"
        answer = self.overrides.get(name)
        if isinstance(answer, BaseException):
            raise answer
        if name == "kernel":
            out = Path(command[command.index("--out") + 1])
            out.write_text(json.dumps({"rows": answer if answer is not None else _bench_rows()}), encoding="utf-8")
            return subprocess.CompletedProcess(command, 0, "table\n", "")
        if answer is not None:
            return answer
        if name == "tests":
            return subprocess.CompletedProcess(command, 0, "...\n3 passed, 1500 deselected in 41.2s\n", "")
        return subprocess.CompletedProcess(command, 0, "report\n", "ok  cifar10 × asgl: 0.081 s/step\n"
                                                                   "ok  shd × sg: 0.004 s/step\n")


def _check(tmp_path, capsys, tools, *extra):
    code = gpu_check.main(["--work-dir", str(tmp_path), "--out", str(tmp_path / "out.json"), *extra],
                          runner=tools, preflight=lambda: (True, "driver 580.65.06 (>= 580), 1 GPU(s): H200"))
    return code, capsys.readouterr().out.splitlines(), json.loads((tmp_path / "out.json").read_text())


def test_all_parts_pass_with_their_figures(tmp_path, capsys):
    code, lines, record = _check(tmp_path, capsys, FakeTools())
    assert code == 0 and lines[-1].startswith("gpu-check: PASS (3/3 parts passed")
    assert "PASS  3 passed" in lines[1]
    assert "float32 0.300 ms = 1.20× floor (83% of 4800 GB/s)" in lines[2] and "float32 parity 1.0e-06" in lines[2]
    assert "2 pairs ran, slowest cifar10 × asgl 0.081 s/step" in lines[3]
    assert [p["status"] for p in record["parts"]] == ["PASS"] * 3 and record["verdict"] == "PASS"


@pytest.mark.parametrize(
    ("overrides", "part", "figures"),
    [({"tests": subprocess.CompletedProcess([], 0, "5 skipped, 1500 deselected in 30s\n", "")}, "tests",
      "no gpu test ran"),
     ({"tests": subprocess.CompletedProcess([], 1, "1 failed, 2 passed in 30s\n", "")}, "tests", "1 failed"),
     ({"kernel": _bench_rows(fp32_ms=0.75)}, "kernel", "3.00× floor"),
     ({"kernel": _bench_rows(parity=0.05)}, "kernel", "float32 parity 5.0e-02"),
     ({"training": subprocess.CompletedProcess([], 2, "", "ok  shd × sg: 0.004 s/step\n"
                                                         "error: 1 of 2 pairs failed (listed above)\n")},
      "training", "1 pairs ran, slowest shd × sg 0.004 s/step, 1 of 2 failed"),
     ({"training": subprocess.TimeoutExpired(["plan"], 216)}, "training", "timed out after")],
    ids=["tests-none-ran", "tests-failed", "kernel-slow", "kernel-parity", "training-pair-failed", "training-timeout"],
)
def test_a_failing_part_fails_the_verdict(tmp_path, capsys, overrides, part, figures):
    code, lines, record = _check(tmp_path, capsys, FakeTools(**overrides))
    assert code == 1 and lines[-1].startswith("gpu-check: FAIL (2/3 parts passed")
    outcome = next(p for p in record["parts"] if p["name"] == part)
    assert outcome["status"] == "FAIL" and figures in outcome["figures"]
    assert sum(p["status"] == "PASS" for p in record["parts"]) == 2


def test_the_budget_bounds_every_part(tmp_path, capsys, monkeypatch):
    timeouts = []

    def slow(command, timeout):
        timeouts.append(timeout)
        clock[0] += 200.0  # each part takes 200 s of a 480 s budget
        return FakeTools()(command, timeout)

    clock = [1000.0]
    monkeypatch.setattr(gpu_check.time, "monotonic", lambda: clock[0])
    code, _, record = _check(tmp_path, capsys, slow)
    assert timeouts == pytest.approx([0.30 * 480, 0.25 * 480, 480 - 400])
    assert code == 0 and record["verdict"] == "PASS"
    clock[0] = 1000.0
    code, _, record = _check(tmp_path, capsys, slow, "--budget", "300")
    assert record["parts"][-1]["figures"] == "not run: the time budget is spent" and code == 1


def test_dry_run_names_the_real_commands(capsys):
    assert gpu_check.main(["--dry-run", "--plan-steps", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" ")[0] for line in lines] == ["tests", "kernel", "training"]
    assert "-m pytest -m gpu" in lines[0] and "scripts/bench_gpu.py --peak-gbps 4800.0" in lines[1]
    assert "-m pipelines.commands.plan --profile paper --device cuda --steps 3 --methods asgl,sg" in lines[2]


def test_without_a_gpu_it_says_so_in_one_line():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    env = {**os.environ, "ASGL_NVIDIA_PROC_VERSION": "/nonexistent"}
    result = subprocess.run([sys.executable, str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 1
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu-check: FAIL:") and "driver >= 580" in lines[0]


@pytest.mark.slow
def test_the_training_command_runs_against_pipelines_plan_on_the_cpu(tmp_path):
    """The training part's command line is the one pipelines.commands.plan accepts (here on the CPU, one pair)."""
    if not (ROOT / "pipelines" / "commands" / "plan.py").exists():
        pytest.skip("pipelines/commands/plan.py is not in this checkout")
    args = gpu_check.parse_args(["--plan-steps", "1", "--plan-methods", "sg"])
    part = next(p for p in gpu_check.plan_parts(args, tmp_path) if p.name == "training")
    command = [arg if arg != "cuda" else "cpu" for arg in part.command] + ["--datasets", "shd"]
    outcome = gpu_check.run_part(gpu_check.Part(part.name, part.title, command, 300), float("inf"), args, tmp_path,
                                 gpu_check.run_subprocess)
    assert outcome.status == "PASS", outcome.tail
    assert outcome.figures.startswith("1 pairs ran, slowest shd × sg")

"""GPU acceptance check (``make gpu-check``): is this GPU host ready for the paper profile?

Three parts, each a separate process with its own time limit, all within ``--budget`` seconds (default 480):

1. ``tests``: the gpu-marked tests (``pytest -m gpu``); PASS when they pass and at least one ran.
2. ``kernel``: scripts/bench_gpu.py, the fused Triton LIF's forward + backward against the HBM floor
   ``floor = 6 · itemsize · T · N / peak_bandwidth``; PASS when, for every dtype, the kernel's median time is
   at most ``--max-floor-ratio`` × floor (default 2: at least half the peak bandwidth) and, in float32, its
   outputs and gradients agree with the autograd reference (spike mismatch fraction and max relative gradient
   error at most ``--max-parity``).
3. ``training``: ``python -m pipelines.commands.plan --profile paper --device cuda``: a few training steps of each
   paper dataset (``--plan-methods``, default ``asgl,sg``) with the real models on synthetic data of the real
   shapes; PASS when every pair ran. Skipped (and the verdict FAIL) when pipelines/commands/plan.py is absent.

Before them, docker/gpu_preflight.py checks the driver and that torch can use the GPU; on a machine without
one the check stops there with one line and exit status 1. Output: one PASS/FAIL line per part with its
figures, the tail of the output of a part that failed, and a verdict line; exit status 0 only when every part
passed. ``--out FILE`` writes the same as JSON, ``--dry-run`` prints the commands without running anything.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARITY_KEYS = ("y_mismatch_frac", "grad_x_max_rel", "grad_width_max_rel", "grad_decay_max_rel",
               "grad_threshold_max_rel")
Runner = Callable[[list[str], float], subprocess.CompletedProcess]


@dataclass(frozen=True)
class Part:
    """One part of the check: ``command`` run from the repository root within ``timeout_s`` seconds."""

    name: str
    title: str
    command: list[str]
    timeout_s: float


@dataclass(frozen=True)
class Outcome:
    name: str
    status: str  # PASS | FAIL
    figures: str
    seconds: float
    tail: str = ""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=480.0, help="seconds for all parts (default 480)")
    parser.add_argument("--peak-gbps", type=float, default=4800.0, help="HBM peak in GB/s (default 4800, H200)")
    parser.add_argument("--max-floor-ratio", type=float, default=2.0, help="kernel time / HBM floor (default 2)")
    parser.add_argument("--max-parity", type=float, default=1e-3, help="float32 parity tolerance (default 1e-3)")
    parser.add_argument("--plan-steps", type=int, default=5, help="timed training steps per pair (default 5)")
    parser.add_argument("--plan-methods", default="asgl,sg", help="methods tried per dataset (default asgl,sg)")
    parser.add_argument("--work-dir", type=Path, default=None, help="where the parts' logs go (default: temp)")
    parser.add_argument("--out", type=Path, default=None, help="write the outcomes as JSON to this file")
    parser.add_argument("--dry-run", action="store_true", help="print the parts' commands, run nothing")
    args = parser.parse_args(argv)
    if min(args.budget, args.peak_gbps, args.max_floor_ratio, args.max_parity, args.plan_steps) <= 0:
        parser.error("--budget, --peak-gbps, --max-floor-ratio, --max-parity and --plan-steps must be > 0")
    return args


def plan_parts(args: argparse.Namespace, work: Path, python: str = sys.executable) -> list[Part]:
    """The three parts, with per-part limits that add up to the budget (tests 30 %, kernel 25 %, training 45 %)."""
    b = args.budget
    return [
        Part("tests", "gpu-marked tests", [python, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider",
                                           "tests"], 0.30 * b),
        Part("kernel", "kernel vs HBM floor", [python, "scripts/bench_gpu.py", "--peak-gbps", str(args.peak_gbps),
                                               "--out", str(work / "bench_gpu.json")], 0.25 * b),
        Part("training", "paper training steps", [python, "-m", "pipelines.commands.plan", "--profile", "paper",
                                                  "--device", "cuda", "--steps", str(args.plan_steps), "--methods",
                                                  args.plan_methods, "--keep-going"], 0.45 * b),
    ]


def judge_tests(result: subprocess.CompletedProcess, work: Path, args: argparse.Namespace) -> tuple[bool, str]:
    """pytest's summary line: PASS when the run succeeded and at least one test passed."""
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|failed|errors?|skipped|deselected)",
                                                        result.stdout)}
    figures = ", ".join(f"{n} {kind}" for kind, n in counts.items() if kind != "deselected") or "no summary"
    if result.returncode == 0 and counts.get("passed", 0) == 0:
        return False, f"{figures}: no gpu test ran"
    return result.returncode == 0, figures


def judge_kernel(result: subprocess.CompletedProcess, work: Path, args: argparse.Namespace) -> tuple[bool, str]:
    """bench_gpu.py's JSON: the ``triton-kernel`` row per dtype against the floor, float32 parity."""
    path = work / "bench_gpu.json"
    if result.returncode != 0 or not path.exists():
        return False, f"bench_gpu.py exited with {result.returncode}"
    rows = [r for r in json.loads(path.read_text(encoding="utf-8"))["rows"] if r.get("method") == "triton-kernel"]
    if not rows:
        return False, "no triton-kernel row in bench_gpu.json"
    ok, parts = True, []
    for row in rows:
        ratio = row["median_ms"] / row["floor_ms"]
        ok &= ratio <= args.max_floor_ratio
        parts.append(f"{row['dtype']} {row['median_ms']:.3f} ms = {ratio:.2f}× floor "
                     f"({row['pct_of_peak']:.0f}% of {args.peak_gbps:.0f} GB/s)")
    parity = next((r.get("parity_vs_autograd") for r in rows if r["dtype"] == "float32"), None)
    if parity:
        worst = max(parity.get(key, 0.0) for key in PARITY_KEYS)
        ok &= worst <= args.max_parity
        parts.append(f"float32 parity {worst:.1e}")
    return ok, "; ".join(parts) + f" (limit {args.max_floor_ratio:g}× floor)"


def judge_training(result: subprocess.CompletedProcess, work: Path, args: argparse.Namespace) -> tuple[bool, str]:
    """pipelines.commands.plan's ``ok  <dataset> × <method>: <s> s/step`` lines and its exit status."""
    steps = [(m.group(1), float(m.group(2))) for m in re.finditer(r"^ok\s+(.+?): ([\d.]+) s/step", result.stderr,
                                                                   re.M)]
    failed = re.search(r"error: (\d+) of (\d+) pairs failed", result.stderr)
    figures = f"{len(steps)} pairs ran"
    if steps:
        name, slowest = max(steps, key=lambda s: s[1])
        figures += f", slowest {name} {slowest:.3f} s/step"
    if failed:
        figures += f", {failed.group(1)} of {failed.group(2)} failed"
    return result.returncode == 0 and bool(steps), figures


JUDGES = {"tests": judge_tests, "kernel": judge_kernel, "training": judge_training}


def run_subprocess(command: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)


def _tail(result: subprocess.CompletedProcess, lines: int = 15) -> str:
    text = ((result.stdout or "") + (result.stderr or "")).strip().splitlines()
    return "\n".join("    " + line for line in text[-lines:])


def run_part(part: Part, deadline: float, args: argparse.Namespace, work: Path, runner: Runner) -> Outcome:
    """Run one part within its limit and what is left of the budget; never raises for the part's failures."""
    if part.name == "training" and not (ROOT / "pipelines" / "commands" / "plan.py").exists():
        return Outcome(part.name, "FAIL", "pipelines/commands/plan.py is missing: no training check", 0.0)
    timeout = min(part.timeout_s, deadline - time.monotonic())
    if timeout <= 1:
        return Outcome(part.name, "FAIL", "not run: the time budget is spent", 0.0)
    start = time.monotonic()
    try:
        result = runner(part.command, timeout)
    except subprocess.TimeoutExpired:
        return Outcome(part.name, "FAIL", f"timed out after {timeout:.0f} s", time.monotonic() - start)
    seconds = time.monotonic() - start
    (work / f"{part.name}.log").write_text((result.stdout or "") + (result.stderr or ""), encoding="utf-8")
    ok, figures = JUDGES[part.name](result, work, args)
    return Outcome(part.name, "PASS" if ok else "FAIL", figures, seconds, "" if ok else _tail(result))


def default_preflight() -> tuple[bool, str]:
    sys.path.insert(0, str(ROOT / "docker"))
    try:
        import gpu_preflight
    finally:
        sys.path.pop(0)
    return gpu_preflight.check()


def main(argv: list[str] | None = None, runner: Runner = run_subprocess,
         preflight: Callable[[], tuple[bool, str]] = default_preflight) -> int:
    args = parse_args(argv)
    if args.dry_run:
        for part in plan_parts(args, args.work_dir or Path("<work-dir>")):
            print(f"{part.name} (<= {part.timeout_s:.0f} s): {' '.join(part.command)}")
        return 0
    ok, message = preflight()
    if not ok:
        print(f"gpu-check: FAIL: {message}")
        return 1
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="asgl-gpu-check-"))
    work.mkdir(parents=True, exist_ok=True)
    parts = plan_parts(args, work)
    print(f"gpu-check: {message}; logs in {work}", flush=True)
    start = time.monotonic()
    deadline = start + args.budget
    outcomes = []
    for i, part in enumerate(parts, start=1):
        outcome = run_part(part, deadline, args, work, runner)
        outcomes.append(outcome)
        print(f"[{i}/{len(parts)}] {part.title:<22} {outcome.status}  {outcome.figures} ({outcome.seconds:.0f} s)",
              flush=True)
        if outcome.tail:
            print(outcome.tail, flush=True)
    passed = sum(o.status == "PASS" for o in outcomes)
    verdict = "PASS" if passed == len(outcomes) else "FAIL"
    print(f"gpu-check: {verdict} ({passed}/{len(outcomes)} parts passed, {time.monotonic() - start:.0f} s)")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"verdict": verdict, "preflight": message,
                                        "parts": [asdict(o) for o in outcomes]}, indent=2), encoding="utf-8")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())

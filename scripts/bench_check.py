"""Regression check of the performance suite: base against head on this machine, in alternating processes.

``make bench-check`` runs this script. It answers "is the tree under test slower than the code it started
from?" with both measured here and now, so no figure from another machine or another hour enters the answer:

1. **Trees.** Base is ``git merge-base HEAD <--base>`` (default ``--base HEAD``: the last commit), checked out
   in a temporary ``git worktree``. Head is the working tree as it is (uncommitted changes included), or a
   ref in a second worktree (``--head REF``). Worktrees live under ``.benchmarks/trees`` while the check runs
   and are removed afterwards; their numba kernels are cached in ``.benchmarks/numba-cache`` (each file's
   time stamp is set to its commit's time, so a later check of the same commit loads them instead of
   compiling).
2. **Processes.** The suite (``tests/bench``, marker ``bench``, pytest selection ``--select``) runs
   ``2 × --pairs`` times, each in a fresh process, alternating in ABBA / BAAB order: pair ``i`` runs base
   first for even ``i`` and head first for odd ``i``, so neither side always meets the machine's state first.
3. **Statistic.** For benchmark ``b`` and pair ``i``, ``r_i = t_head / t_base``, ``t`` being the median round
   time of ``b`` in that process. At threshold ``τ`` (``--threshold``, default 0.10):

   * ``fail``: ``median(r) > 1 + τ`` and every ``r_i > 1`` (head slower in every pair);
   * ``pass``: ``median(r) ≤ 1 + τ``;
   * ``inconclusive``: ``median(r) > 1 + τ`` while some pair found head no slower.

   The check fails (exit 1) when a benchmark fails, is inconclusive (exit 3) when one is and none fails,
   passes (exit 0) otherwise; bad input exits 2. Benchmarks present on one side only are listed and skipped.
4. **Report.** ``--out`` (JSON): both commits, a SHA-256 of each tree's Python sources (``asgl``,
   ``baselines``, ``scripts``, ``tests/bench``), the process order, every process's raw round times per
   benchmark, the pair ratios and the verdicts.

``--inject-lif-slowdown F`` (with ``--head REF``) makes the head worktree's fused LIF sleep ``F`` times its
own duration after its forward and after its backward (a few lines appended to that copy of
``asgl/kernels/fused.py``): the demonstration that a slower LIF fails the check. The library has no hook.

Usage::

    python scripts/bench_check.py                       # working tree against HEAD, 2 pairs, τ = 10 %
    python scripts/bench_check.py --base origin/main --pairs 3 --threshold 0.05
    python scripts/bench_check.py --head HEAD --inject-lif-slowdown 0.2 --select "neuron_method or lif_backend"
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SELECT = "not prepare"
DEFAULT_THRESHOLD = 0.10
SOURCE_DIRS = ("asgl", "baselines", "scripts", "tests/bench")
PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
EXIT = {PASS: 0, FAIL: 1, INCONCLUSIVE: 3}

SLOWDOWN_PATCH = '''

# Injected by scripts/bench_check.py --inject-lif-slowdown (a benchmark worktree only).
def _bench_slowed(fn, factor={factor!r}):
    import time as _time

    def slowed(*args, **kwargs):
        start = _time.perf_counter()
        out = fn(*args, **kwargs)
        _time.sleep(factor * (_time.perf_counter() - start))
        return out

    return slowed


fused_lif = _bench_slowed(fused_lif)
FusedLIF.backward = staticmethod(_bench_slowed(FusedLIF.backward))
'''


class BenchInputError(ValueError):
    """A ref, tree or benchmark file the check cannot use."""


@dataclass(frozen=True)
class Verdict:
    """One benchmark: its pair ratios ``t_head / t_base``, their median and the verdict at the threshold."""

    name: str
    ratios: tuple[float, ...]
    median: float
    verdict: str


def process_order(pairs: int) -> list[str]:
    """``["base", "head", "head", "base", …]``: ABBA / BAAB pairs, base first in even pairs."""
    if pairs < 1:
        raise BenchInputError(f"--pairs must be at least 1, got {pairs}")
    return [side for i in range(pairs) for side in (("base", "head") if i % 2 == 0 else ("head", "base"))]


def decide(ratios: Sequence[float], threshold: float) -> str:
    """``fail`` / ``pass`` / ``inconclusive`` for one benchmark's pair ratios (module docstring, step 3)."""
    med = statistics.median(ratios)
    if med <= 1.0 + threshold:
        return PASS
    return FAIL if min(ratios) > 1.0 else INCONCLUSIVE


def compare(base_runs: Sequence[Mapping[str, float]], head_runs: Sequence[Mapping[str, float]],
            threshold: float = DEFAULT_THRESHOLD) -> tuple[list[Verdict], list[str]]:
    """Verdicts for the benchmarks every run has, and the names some run lacks (sorted).

    ``base_runs[i]`` and ``head_runs[i]`` are pair ``i``'s ``{name: median seconds}``.
    """
    if threshold < 0:
        raise BenchInputError(f"--threshold must be >= 0, got {threshold!r}")
    if len(base_runs) != len(head_runs) or not base_runs:
        raise BenchInputError(f"need as many base as head runs, at least one: {len(base_runs)} vs {len(head_runs)}")
    runs = [*base_runs, *head_runs]
    common = set.intersection(*(set(r) for r in runs))
    lacking = sorted(set.union(*(set(r) for r in runs)) - common)
    verdicts = []
    for name in sorted(common):
        ratios = tuple(h[name] / b[name] for b, h in zip(base_runs, head_runs, strict=True))
        verdicts.append(Verdict(name, ratios, statistics.median(ratios), decide(ratios, threshold)))
    return verdicts, lacking


def overall(verdicts: Iterable[Verdict]) -> str:
    """``fail`` if any benchmark fails, else ``inconclusive`` if any is, else ``pass``."""
    seen = {v.verdict for v in verdicts}
    return FAIL if FAIL in seen else INCONCLUSIVE if INCONCLUSIVE in seen else PASS


def load_run(path: str | Path) -> dict[str, dict[str, Any]]:
    """``{name: {"median": s, "data": [s, …], "asgl_root": …}}`` from a pytest-benchmark JSON file."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise BenchInputError(f"cannot read benchmark results {path}: {exc}") from exc
    benchmarks = data.get("benchmarks") if isinstance(data, dict) else None
    if not isinstance(benchmarks, list):
        raise BenchInputError(f"{path} is not pytest-benchmark JSON (no 'benchmarks' list)")
    out: dict[str, dict[str, Any]] = {}
    for bench in benchmarks:
        name, stats = bench.get("name"), bench.get("stats") or {}
        if "median" not in stats:
            raise BenchInputError(f"benchmark {name!r} in {path} has no stats.median (run with --benchmark-enable)")
        if name in out:
            raise BenchInputError(f"benchmark name {name!r} appears twice in {path}")
        out[name] = {"median": float(stats["median"]), "data": list(stats.get("data") or []),
                     "asgl_root": (bench.get("extra_info") or {}).get("asgl_root")}
    return out


def source_hash(tree: Path) -> str:
    """SHA-256 over the relative path and bytes of every ``*.py`` file under :data:`SOURCE_DIRS` of ``tree``."""
    digest = hashlib.sha256()
    for folder in SOURCE_DIRS:
        for path in sorted((tree / folder).rglob("*.py")):
            digest.update(path.relative_to(tree).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _git(*args: str, cwd: Path = REPO_ROOT) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchInputError(f"git {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def add_worktree(ref: str, role: str, trees: Path) -> tuple[Path, str]:
    """Check ``ref`` out (detached) at ``trees/<role>-<sha12>``; file times set to the commit's time."""
    sha = _git("rev-parse", "--verify", f"{ref}^{{commit}}")
    path = trees / f"{role}-{sha[:12]}"
    if path.exists():
        remove_worktree(path)
    trees.mkdir(parents=True, exist_ok=True)
    _git("worktree", "add", "--detach", str(path), sha)
    stamp = int(_git("show", "-s", "--format=%ct", sha))
    for root, _, files in os.walk(path):
        for name in files:
            os.utime(Path(root) / name, (stamp, stamp), follow_symlinks=False)
    return path, sha


def remove_worktree(path: Path) -> None:
    """Remove a worktree made by :func:`add_worktree` (and git's record of it)."""
    subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=REPO_ROOT, capture_output=True)
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run(["git", "worktree", "prune"], cwd=REPO_ROOT, capture_output=True)


def inject_slowdown(tree: Path, factor: float) -> None:
    """Append :data:`SLOWDOWN_PATCH` to ``tree/asgl/kernels/fused.py`` (a worktree, never the working tree)."""
    if not factor > 0:
        raise BenchInputError(f"--inject-lif-slowdown must be > 0, got {factor!r}")
    target = tree / "asgl" / "kernels" / "fused.py"
    target.write_text(target.read_text() + SLOWDOWN_PATCH.format(factor=float(factor)))


def run_suite(tree: Path, out: Path, select: str, threads: int, numba_cache: Path | None) -> float:
    """One process of the suite in ``tree``; writes pytest-benchmark JSON to ``out``; returns its wall seconds."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")])),
               ASGL_BENCH_THREADS=str(threads))
    if numba_cache is not None:
        env["NUMBA_CACHE_DIR"] = str(numba_cache)
    cmd = [sys.executable, "-m", "pytest", "tests/bench", "-m", "bench", "-k", select, "-q", "-p", "no:cacheprovider",
           "--benchmark-enable", "--benchmark-save-data", f"--benchmark-json={out}"]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchInputError(f"the suite failed in {tree} (exit {done.returncode}):\n{done.stdout[-3000:]}"
                              f"{done.stderr[-2000:]}")
    return time.perf_counter() - start


def _check_imported(run: Mapping[str, Mapping[str, Any]], tree: Path, side: str) -> None:
    roots = {r["asgl_root"] for r in run.values() if r.get("asgl_root")}
    if roots and roots != {str(tree.resolve())}:
        raise BenchInputError(f"the {side} process imported asgl from {sorted(roots)}, not from {tree}; "
                              "is asgl installed non-editable in this environment?")


def format_table(verdicts: Sequence[Verdict], threshold: float) -> str:
    width = max([len("benchmark")] + [len(v.name) for v in verdicts])
    lines = [f"{'benchmark':<{width}}  {'head/base':>9}  {'pair ratios':<24}  verdict (τ = {threshold:.0%})",
             f"{'-' * width}  {'-' * 9}  {'-' * 24}  {'-' * 12}"]
    for v in verdicts:
        pairs = " ".join(f"{r:.3f}" for r in v.ratios)
        lines.append(f"{v.name:<{width}}  {v.median:>9.3f}  {pairs:<24}  {v.verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD", help="base = git merge-base HEAD BASE (default HEAD)")
    parser.add_argument("--head", default=None, help="a ref to check out as head (default: the working tree)")
    parser.add_argument("--pairs", type=int, default=2, help="ABBA pairs of processes (default 2)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="τ (default 0.10)")
    parser.add_argument("--select", default=DEFAULT_SELECT, help=f"pytest -k expression (default {DEFAULT_SELECT!r})")
    parser.add_argument("--threads", type=int, default=2, help="torch and numba threads per process (default 2)")
    parser.add_argument("--inject-lif-slowdown", type=float, default=None, metavar="F",
                        help="head's fused LIF sleeps F times its duration per call (needs --head)")
    parser.add_argument("--out", default=".benchmarks/bench-check.json", help="JSON report")
    args = parser.parse_args(argv)
    work = REPO_ROOT / ".benchmarks"
    made: list[Path] = []
    try:
        if args.inject_lif_slowdown is not None and args.head is None:
            raise BenchInputError("--inject-lif-slowdown changes the head tree: give --head REF (a worktree), "
                                  "the working tree is never modified")
        if args.threads < 1:
            raise BenchInputError(f"--threads must be at least 1, got {args.threads}")
        order = process_order(args.pairs)
        base_sha = _git("merge-base", "HEAD", args.base)
        base_tree, _ = add_worktree(base_sha, "base", work / "trees")
        made.append(base_tree)
        if args.head is None:
            head_tree, head_sha = REPO_ROOT, _git("rev-parse", "HEAD") + ("+dirty" if _git("status", "--porcelain")
                                                                          else "")
        else:
            head_tree, head_sha = add_worktree(args.head, "head", work / "trees")
            made.append(head_tree)
        if args.inject_lif_slowdown is not None:
            inject_slowdown(head_tree, args.inject_lif_slowdown)
        trees = {"base": base_tree, "head": head_tree}
        caches = {side: (work / "numba-cache" if tree in made else None) for side, tree in trees.items()}
        runs: dict[str, list[dict[str, dict[str, Any]]]] = {"base": [], "head": []}
        walls = []
        for k, side in enumerate(order):
            out = work / "check" / f"{k:02d}-{side}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            walls.append(run_suite(trees[side], out, args.select, args.threads, caches[side]))
            runs[side].append(load_run(out))
            _check_imported(runs[side][-1], trees[side], side)
            print(f"process {k + 1}/{len(order)}: {side} ({walls[-1]:.0f} s)", file=sys.stderr, flush=True)
        medians = {side: [{n: r["median"] for n, r in run.items()} for run in runs[side]] for side in runs}
        verdicts, lacking = compare(medians["base"], medians["head"], args.threshold)
        hashes = {side: source_hash(tree) for side, tree in trees.items()}
    except BenchInputError as exc:
        print(f"bench_check: {exc}", file=sys.stderr)
        return 2
    finally:
        for tree in made:
            remove_worktree(tree)
    answer = overall(verdicts)
    print(f"base {base_sha[:12]} (merge-base of HEAD and {args.base}) against head {head_sha[:12]}"
          f"{'' if args.inject_lif_slowdown is None else f' with the LIF slowed by {args.inject_lif_slowdown:.0%}'}; "
          f"{args.pairs} pairs in order {''.join(s[0].upper() for s in order)}, {args.threads} threads")
    print(format_table(verdicts, args.threshold))
    if lacking:
        print(f"on one side only (skipped): {', '.join(lacking)}")
    counts = {v: sum(x.verdict == v for x in verdicts) for v in (PASS, FAIL, INCONCLUSIVE)}
    print(f"{answer.upper()}: {counts[PASS]} pass, {counts[FAIL]} fail, {counts[INCONCLUSIVE]} inconclusive "
          f"({sum(walls):.0f} s in {len(order)} processes)")
    report = {
        "command": "python scripts/bench_check.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "answer": answer, "threshold": args.threshold,
        "base": {"ref": args.base, "commit": base_sha, "source_sha256": hashes["base"]},
        "head": {"ref": args.head or "working tree", "commit": head_sha, "source_sha256": hashes["head"],
                 "injected_lif_slowdown": args.inject_lif_slowdown},
        "order": order, "select": args.select, "threads": args.threads, "process_wall_s": walls,
        "verdicts": [asdict(v) for v in verdicts], "one_side_only": lacking,
        "samples": {side: [{n: r["data"] for n, r in run.items()} for run in runs[side]] for side in runs},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    return EXIT[answer]


if __name__ == "__main__":
    sys.exit(main())

"""Regression check of the performance suite: base against head on this machine, call by call.

``make bench-check`` runs this script. It answers "is the tree under test slower than the code it started
from?" with both measured here and now, so no figure from another machine or another hour enters the answer:

1. **Trees.** Base is ``git merge-base HEAD <--base>`` (default ``--base HEAD``: the last commit), checked out
   in a temporary ``git worktree``. Head is the working tree as it is (uncommitted changes included), or a
   ref in a second worktree (``--head REF``). Worktrees live at ``.benchmarks/trees/{base,head}`` while the
   check runs and are removed afterwards (so two checks of one checkout must not run at once); their numba
   kernels are cached in ``.benchmarks/numba-cache``, and a later check loads them instead of compiling until
   the kernel sources change (:func:`add_worktree`).
2. **Processes.** ``--processes`` times, a fresh worker process is started in each tree
   (``scripts/bench_worker.py``; ``asgl`` and ``tests/bench/cases.py`` come from the tree). For every case
   (the suite's benchmarks, ``--select`` a regular expression on their names) both workers build it, then
   time ``--pairs`` pairs of samples in alternating order: ABBA within a process (pair ``i`` samples base
   first for even ``i``), and BAAB in the next process. A sample is ``k`` consecutive calls, ``k`` chosen per
   case and process so that it lasts about ``--sample-ms`` (a 10 ms call is easily hit by one time slice of
   another process). While one worker runs, the other waits on its input. *Spinning threads:* an OpenMP
   thread pool keeps spinning for a while after its last parallel region, so on 2 cores the worker that just
   finished stole CPU from the one timed next: with 2 threads the second sample of every pair was about 1.45×
   slower, the ratios of a case alternated between about 0.7 and 1.45 and their median fell anywhere in that
   gap. Workers therefore run with ``OMP_WAIT_POLICY=PASSIVE`` (idle threads sleep at once; unless the
   environment sets it), which removed the alternation, and a sample of short calls starts with one untimed
   call so both sides are timed after their threads are awake.
3. **Statistic.** For a case and pair ``i``, ``r_i = t_head / t_base``, two samples taken back to back. Over all
   pairs of all processes, ``m = median(r)`` and its distribution-free 95 % bounds ``[lo, hi]`` (binomial order
   statistics, :func:`median_bounds`). At threshold ``τ`` (``--threshold``, default 0.10):

   * ``fail``: ``m > 1 + τ`` and ``lo > 1`` (head measurably slower, by more than ``τ`` as estimated);
   * ``pass``: ``m ≤ 1 + τ`` and ``hi ≤ 1 + 2τ`` (estimated within ``τ``, and a slowdown of ``2τ`` or more is
     excluded at 97.5 %: a 20 % regression never passes at the default);
   * ``inconclusive``: otherwise (too noisy to tell).

   Cases still inconclusive get up to ``--follow-up`` more rounds of ``--processes`` fresh worker pairs each,
   for those cases only, until they are decided; the verdict uses every pair. The check fails (exit 1) when a
   case fails, is inconclusive (exit 3) when one is and none fails, passes (exit 0) otherwise; bad input exits
   2. Cases present on one side only are listed and skipped.
4. **Report.** ``--out`` (JSON): both commits, a SHA-256 of each tree's Python sources (``asgl``,
   ``baselines``, ``scripts``, ``tests/bench``), the settings, every raw call time and every sample's time per
   call, per side and case in call order, the pair ratios and the verdicts.

``--inject-lif-slowdown F`` (with ``--head REF``) makes the head worktree's fused LIF sleep ``F`` times its
own duration after its forward and after its backward (a few lines appended to that copy of
``asgl/kernels/fused.py``): the demonstration that a slower LIF fails the check. The library has no hook.

Usage::

    python scripts/bench_check.py                       # working tree against HEAD
    python scripts/bench_check.py --base origin/main --pairs 15 --threshold 0.05
    python scripts/bench_check.py --head HEAD --inject-lif-slowdown 0.2 --select "neuron_method|lif_backend"
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SELECT = ""
DEFAULT_THRESHOLD = 0.10
SOURCE_DIRS = ("asgl", "baselines", "scripts", "tests/bench")
SIDES = ("base", "head")
PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
ALPHA = 0.05
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
    """A ref, tree, case or worker the check cannot use."""


@dataclass(frozen=True)
class Verdict:
    """One case: its pair ratios ``t_head / t_base`` (call order), their median, the distribution-free
    confidence bounds of that median (:func:`median_bounds`) and the verdict."""

    name: str
    ratios: tuple[float, ...]
    median: float
    low: float
    high: float
    verdict: str


def pair_order(pair: int, process: int) -> tuple[str, str]:
    """Which side is called first: ABBA within a process (base first in even pairs), BAAB in the next one."""
    return SIDES if (pair + process) % 2 == 0 else SIDES[::-1]


def median_bounds(values: Sequence[float], alpha: float = ALPHA) -> tuple[float, float]:
    """Order-statistic bounds ``(x_(k), x_(n+1-k))`` of the median of ``n`` values: the largest ``k`` with
    ``P(Binomial(n, ½) < k) ≤ α/2``, so the true median lies between them with probability ``≥ 1 − α`` whatever
    the distribution (each bound one-sided at ``α/2``). Fewer than 6 values give the minimum and maximum."""
    ordered = sorted(values)
    n = len(ordered)
    k, tail = 0, 0.0
    while k < n // 2 and tail + math.comb(n, k) / 2 ** n <= alpha / 2:
        tail += math.comb(n, k) / 2 ** n
        k += 1
    k = max(k, 1)
    return ordered[k - 1], ordered[n - k]


def decide(ratios: Sequence[float], threshold: float) -> str:
    """``fail`` / ``pass`` / ``inconclusive`` for one case's pair ratios (module docstring, step 3)."""
    if threshold < 0:
        raise BenchInputError(f"--threshold must be >= 0, got {threshold!r}")
    low, high = median_bounds(ratios)
    median = statistics.median(ratios)
    if median > 1.0 + threshold and low > 1.0:
        return FAIL
    if median <= 1.0 + threshold and high <= 1.0 + 2 * threshold:
        return PASS
    return INCONCLUSIVE


def verdict(name: str, base_times: Sequence[float], head_times: Sequence[float], threshold: float) -> Verdict:
    """The :class:`Verdict` of one case from its paired call times (``base_times[i]`` beside ``head_times[i]``)."""
    if len(base_times) != len(head_times) or not base_times:
        raise BenchInputError(f"{name}: need as many base as head times, at least one "
                              f"({len(base_times)} vs {len(head_times)})")
    ratios = tuple(h / b for b, h in zip(base_times, head_times, strict=True))
    low, high = median_bounds(ratios)
    return Verdict(name, ratios, statistics.median(ratios), low, high, decide(ratios, threshold))


def overall(verdicts: Iterable[Verdict]) -> str:
    """``fail`` if any case fails, else ``inconclusive`` if any is, else ``pass``."""
    seen = {v.verdict for v in verdicts}
    return FAIL if FAIL in seen else INCONCLUSIVE if INCONCLUSIVE in seen else PASS


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
    """Check ``ref`` out (detached) at ``trees/<role>``, with stable file times for numba's cache.

    numba keys a cached kernel on its source file's path, time stamp and size. The path is fixed per role and
    every file under ``asgl/kernels`` gets the time of the last commit that changed it, so a later check
    loads the kernels compiled by an earlier one until the kernel sources change.
    """
    sha = _git("rev-parse", "--verify", f"{ref}^{{commit}}")
    path = trees / role
    if path.exists():
        remove_worktree(path)
    trees.mkdir(parents=True, exist_ok=True)
    _git("worktree", "add", "--detach", str(path), sha)
    for source in sorted((path / "asgl" / "kernels").glob("*.py")):
        stamp = int(_git("log", "-1", "--format=%ct", sha, "--", source.relative_to(path).as_posix()))
        os.utime(source, (stamp, stamp))
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


class Worker:
    """A ``scripts/bench_worker.py`` process in one tree (see its docstring for the protocol)."""

    def __init__(self, side: str, tree: Path, threads: int, numba_cache: Path | None) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")])))
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # module docstring, "Spinning threads"
        if numba_cache is not None:
            env["NUMBA_CACHE_DIR"] = str(numba_cache)
        self.side, self.tree = side, tree
        self.proc = subprocess.Popen([sys.executable, str(REPO_ROOT / "scripts" / "bench_worker.py"), "--threads",
                                      str(threads)], cwd=tree, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        hello = self._read()
        if Path(hello["asgl_root"]) != tree.resolve():
            raise BenchInputError(f"the {side} worker imported asgl from {hello['asgl_root']}, not from {tree}; "
                                  "is asgl installed non-editable in this environment?")
        self.cases: list[str] = hello["cases"]

    def _read(self) -> dict[str, Any]:
        line = self.proc.stdout.readline()
        if not line:
            raise BenchInputError(f"the {self.side} worker in {self.tree} stopped (exit {self.proc.wait()})")
        message = json.loads(line)
        if "error" in message:
            raise BenchInputError(f"the {self.side} worker in {self.tree}: {message['error']}")
        return message

    def ask(self, **request: Any) -> dict[str, Any]:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()


def calls_per_sample(seconds_per_call: float, sample_s: float) -> int:
    """Calls per timed sample so that a sample lasts about ``sample_s`` (at least one call)."""
    return max(1, math.ceil(sample_s / max(seconds_per_call, 1e-9)))


Times = dict[str, dict[str, list[float]]]  # {side: {case: [seconds, …]}}


def measure(trees: dict[str, Path], caches: dict[str, Path | None], select: str, processes: int, pairs: int,
            threads: int, sample_s: float, times: Times, raw: Times, first_process: int = 0,
            only: Sequence[str] | None = None) -> tuple[list[str], list[str]]:
    """Add paired samples to ``times`` (``{side: {case: [s per call, …]}}``) and every raw call time to ``raw``
    (same layout) over ``processes`` worker pairs numbered from ``first_process`` (which sets the ABBA/BAAB
    order); ``only``: time just these cases. Returns the cases timed and the cases on one side only."""
    chosen: list[str] = []
    lacking: list[str] = []
    for process in range(first_process, first_process + processes):
        workers: dict[str, Worker] = {}
        try:
            for side in SIDES:
                workers[side] = Worker(side, trees[side], threads, caches[side])
            both = [c for c in workers["head"].cases if c in workers["base"].cases]
            lacking = sorted(set(workers["head"].cases) ^ set(workers["base"].cases))
            chosen = [c for c in both if re.search(select, c) and (only is None or c in only)]
            if not chosen:
                raise BenchInputError(f"no case matches --select {select!r}; cases: {', '.join(both)}")
            for name in chosen:
                for side in SIDES:
                    workers[side].ask(op="build", name=name)
                calls = calls_per_sample(workers["base"].ask(op="time", calls=1)["times"][0], sample_s)
                warmup = 1 if calls > 1 else 0  # module docstring, "Spinning threads"
                for pair in range(pairs):
                    for side in pair_order(pair, process):
                        sample = workers[side].ask(op="time", calls=calls, warmup=warmup)["times"]
                        raw[side].setdefault(name, []).extend(sample)
                        times[side].setdefault(name, []).append(sum(sample) / calls)
                print(f"process {process + 1}: {name}", file=sys.stderr, flush=True)
        finally:
            for worker in workers.values():
                worker.close()
    return chosen, lacking


def judge(times: Times, chosen: Sequence[str], threshold: float) -> list[Verdict]:
    """The :class:`Verdict` of every case in ``chosen`` from all its samples so far."""
    return [verdict(name, times["base"][name], times["head"][name], threshold) for name in chosen]


def format_table(verdicts: Sequence[Verdict], threshold: float) -> str:
    width = max([len("case")] + [len(v.name) for v in verdicts])
    lines = [f"{'case':<{width}}  {'pairs':>5}  {'median':>7}  {'95 % bounds':>11}  {'head/base range':>15}  "
             f"verdict (τ = {threshold:.0%})",
             f"{'-' * width}  {'-' * 5}  {'-' * 7}  {'-' * 11}  {'-' * 15}  {'-' * 12}"]
    for v in verdicts:
        spread = f"{min(v.ratios):.2f}–{max(v.ratios):.2f}"
        bounds = f"{v.low:.2f}–{v.high:.2f}"
        lines.append(f"{v.name:<{width}}  {len(v.ratios):>5}  {v.median:>7.3f}  {bounds:>11}  {spread:>15}  "
                     f"{v.verdict}")
    return "\n".join(lines)


def _terminate(signum, frame) -> None:
    raise SystemExit(128 + signum)  # runs the clean-up (worktrees, workers) that a plain SIGTERM would skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD", help="base = git merge-base HEAD BASE (default HEAD)")
    parser.add_argument("--head", default=None, help="a ref to check out as head (default: the working tree)")
    parser.add_argument("--processes", type=int, default=4, help="worker processes per side, in turn (default 4)")
    parser.add_argument("--pairs", type=int, default=5, help="pairs of samples per case and process (default 5)")
    parser.add_argument("--sample-ms", type=float, default=50.0,
                        help="a timed sample repeats a case's call to last about this long (default 50)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="τ (default 0.10)")
    parser.add_argument("--select", default=DEFAULT_SELECT, help="regular expression on case names (default all)")
    parser.add_argument("--threads", type=int, default=2, help="torch and numba threads per worker (default 2)")
    parser.add_argument("--follow-up", type=int, default=2,
                        help="rounds of --processes more processes for the cases still inconclusive (default 2)")
    parser.add_argument("--inject-lif-slowdown", type=float, default=None, metavar="F",
                        help="head's fused LIF sleeps F times its duration per call (needs --head)")
    parser.add_argument("--out", default=".benchmarks/bench-check.json", help="JSON report")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    work = REPO_ROOT / ".benchmarks"
    made: list[Path] = []
    start = time.perf_counter()
    try:
        if args.inject_lif_slowdown is not None and args.head is None:
            raise BenchInputError("--inject-lif-slowdown changes the head tree: give --head REF (a worktree), "
                                  "the working tree is never modified")
        if args.follow_up < 0:
            raise BenchInputError(f"--follow-up must be at least 0, got {args.follow_up}")
        for option, value in (("--threads", args.threads), ("--processes", args.processes), ("--pairs", args.pairs)):
            if value < 1:
                raise BenchInputError(f"{option} must be at least 1, got {value}")
        if args.threshold < 0 or args.sample_ms <= 0:
            raise BenchInputError(f"--threshold must be >= 0 and --sample-ms > 0, got {args.threshold!r} and "
                                  f"{args.sample_ms!r}")
        base_sha = _git("merge-base", "HEAD", args.base)
        base_tree, _ = add_worktree(base_sha, "base", work / "trees")
        made.append(base_tree)
        if args.head is None:
            dirty = "+uncommitted" if _git("status", "--porcelain", "--untracked-files=no") else ""
            head_tree, head_sha = REPO_ROOT, _git("rev-parse", "HEAD") + dirty
        else:
            head_tree, head_sha = add_worktree(args.head, "head", work / "trees")
            made.append(head_tree)
        if args.inject_lif_slowdown is not None:
            inject_slowdown(head_tree, args.inject_lif_slowdown)
        trees = {"base": base_tree, "head": head_tree}
        caches = {side: (work / "numba-cache" if tree in made else None) for side, tree in trees.items()}
        hashes = {side: source_hash(tree) for side, tree in trees.items()}
        times: Times = {side: {} for side in SIDES}
        raw: Times = {side: {} for side in SIDES}
        chosen, lacking = measure(trees, caches, args.select, args.processes, args.pairs, args.threads,
                                  args.sample_ms / 1e3, times, raw)
        verdicts = judge(times, chosen, args.threshold)
        rounds = args.processes
        for _ in range(args.follow_up):
            undecided = [v.name for v in verdicts if v.verdict == INCONCLUSIVE]
            if not undecided:
                break
            print(f"follow-up: {len(undecided)} inconclusive, {args.processes} more processes each",
                  file=sys.stderr, flush=True)
            measure(trees, caches, args.select, args.processes, args.pairs, args.threads, args.sample_ms / 1e3,
                    times, raw, first_process=rounds, only=undecided)
            rounds += args.processes
            verdicts = judge(times, chosen, args.threshold)
    except BenchInputError as exc:
        print(f"bench_check: {exc}", file=sys.stderr)
        return 2
    finally:
        for tree in made:
            remove_worktree(tree)
    answer = overall(verdicts)
    injected = "" if args.inject_lif_slowdown is None else f", LIF slowed by {args.inject_lif_slowdown:.0%}"
    print(f"base {base_sha[:12]} (merge-base of HEAD and {args.base}) against head {head_sha[:12]}{injected}; "
          f"{args.processes} processes × {args.pairs} pairs per case (up to {args.follow_up} follow-up rounds of "
          f"{args.processes} for inconclusive cases; {rounds} processes in all), {args.threads} threads")
    print(format_table(verdicts, args.threshold))
    if lacking:
        print(f"on one side only (skipped): {', '.join(lacking)}")
    counts = {v: sum(x.verdict == v for x in verdicts) for v in (PASS, FAIL, INCONCLUSIVE)}
    print(f"{answer.upper()}: {counts[PASS]} pass, {counts[FAIL]} fail, {counts[INCONCLUSIVE]} inconclusive "
          f"({time.perf_counter() - start:.0f} s)")
    report = {
        "command": "python scripts/bench_check.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "answer": answer, "threshold": args.threshold,
        "base": {"ref": args.base, "commit": base_sha, "source_sha256": hashes["base"]},
        "head": {"ref": args.head or "working tree", "commit": head_sha, "source_sha256": hashes["head"],
                 "injected_lif_slowdown": args.inject_lif_slowdown},
        "processes": args.processes, "processes_run": rounds, "follow_up": args.follow_up, "pairs": args.pairs,
        "sample_ms": args.sample_ms, "select": args.select,
        "threads": args.threads, "verdicts": [asdict(v) for v in verdicts], "one_side_only": lacking,
        "sample_s_per_call": times, "raw_call_s": raw,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    return EXIT[answer]


if __name__ == "__main__":
    sys.exit(main())

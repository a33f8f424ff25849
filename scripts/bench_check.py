"""Compare a pytest-benchmark JSON run against the stored baseline of ratios to ``x.clone()``.

Each benchmark of ``tests/bench`` records ``extra_info["ratio_to_clone"]`` (its median time over the median
time of ``x.clone()`` of a fixed reference tensor measured in the same run; ``ratio_to_clone_min`` uses the
fastest times instead). This script reads those ratios from ``--benchmark-json`` output and compares them
with the baseline file (default ``tests/bench/baseline/cpu-2threads.json``). A benchmark *regresses* when
``current > baseline × (1 + margin)``; the default margin is 25%.

Verdicts: ``ok``; ``improved`` (faster by more than the margin: consider ``--update``); ``REGRESSED``;
``MISSING`` (in the baseline, absent from the run: fails unless ``--allow-missing``); ``new`` (no baseline
yet; passes). Exit status: 0 when nothing failed, 1 on a regression or a missing benchmark, 2 on bad input.

Usage::

    python scripts/bench_check.py .benchmarks/current.json [--margin 0.25] [--stat median|min]
    python scripts/bench_check.py run1.json run2.json run3.json   # per-benchmark median of several runs
    python scripts/bench_check.py .benchmarks/current.json --update     # rewrite the baseline from this run
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_BASELINE = "tests/bench/baseline/cpu-2threads.json"
DEFAULT_MARGIN = 0.25
DEFAULT_COMMAND = "make bench-check BENCH_CHECK_ARGS=--update"
STAT_KEYS = {"median": "ratio_to_clone", "min": "ratio_to_clone_min"}

OK, IMPROVED, REGRESSED, MISSING, NEW = "ok", "improved", "REGRESSED", "MISSING", "new"


class BenchInputError(ValueError):
    """A benchmark or baseline file is unreadable or lacks the ratios."""


@dataclass(frozen=True)
class Row:
    """One line of the comparison: ``change`` is ``current / baseline − 1`` (``None`` when one is absent)."""

    name: str
    baseline: float | None
    current: float | None
    change: float | None
    verdict: str


def load_current(path: str | Path) -> dict[str, dict[str, float]]:
    """``{name: {"ratio_to_clone": …, "ratio_to_clone_min": …}}`` from a pytest-benchmark JSON file."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise BenchInputError(f"cannot read benchmark results {path}: {exc}") from exc
    benchmarks = data.get("benchmarks") if isinstance(data, dict) else None
    if not isinstance(benchmarks, list):
        raise BenchInputError(f"{path} is not pytest-benchmark JSON (no 'benchmarks' list)")
    out: dict[str, dict[str, float]] = {}
    for bench in benchmarks:
        name = bench.get("name")
        extra = bench.get("extra_info") or {}
        ratios = {key: float(extra[key]) for key in STAT_KEYS.values() if key in extra}
        if STAT_KEYS["median"] not in ratios:
            raise BenchInputError(f"benchmark {name!r} in {path} has no extra_info['ratio_to_clone'] "
                                  "(was it run with --benchmark-enable through the bench_ratio fixture?)")
        if name in out:
            raise BenchInputError(f"benchmark name {name!r} appears twice in {path}")
        out[name] = ratios
    return out


def merge_runs(runs: Iterable[Mapping[str, Mapping[str, float]]]) -> dict[str, dict[str, float]]:
    """Per benchmark and ratio key, the median over the runs that have it (a steadier estimate on a loaded
    machine than any single run)."""
    values: dict[str, dict[str, list[float]]] = {}
    for run in runs:
        for name, ratios in run.items():
            for key, value in ratios.items():
                values.setdefault(name, {}).setdefault(key, []).append(value)
    return {name: {key: statistics.median(v) for key, v in keys.items()} for name, keys in values.items()}


def load_baseline(path: str | Path) -> dict[str, Any]:
    """The baseline document: ``{"command", "date", "margin", "benchmarks": {name: {ratio keys}}, …}``."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise BenchInputError(f"cannot read baseline {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), dict):
        raise BenchInputError(f"{path} is not a baseline file (no 'benchmarks' mapping)")
    return data


def ratios_of(entries: Mapping[str, Mapping[str, float]], stat: str = "median") -> dict[str, float]:
    """``{name: ratio}`` for one statistic (``median`` or ``min``); entries without it are left out."""
    key = STAT_KEYS[stat]
    return {name: float(e[key]) for name, e in entries.items() if key in e}


def compare(baseline: Mapping[str, float], current: Mapping[str, float], margin: float = DEFAULT_MARGIN) -> list[Row]:
    """One :class:`Row` per benchmark in either mapping, baseline order first, then new ones (sorted)."""
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin!r}")
    rows = []
    for name, base in baseline.items():
        if name not in current:
            rows.append(Row(name, base, None, None, MISSING))
            continue
        cur = current[name]
        change = cur / base - 1.0 if base > 0 else float("inf")
        verdict = REGRESSED if change > margin else (IMPROVED if change < -margin else OK)
        rows.append(Row(name, base, cur, change, verdict))
    rows.extend(Row(name, None, current[name], None, NEW) for name in sorted(set(current) - set(baseline)))
    return rows


def failures(rows: Iterable[Row], allow_missing: bool = False) -> list[Row]:
    """Rows that make the check fail: regressions, and missing benchmarks unless allowed."""
    bad = {REGRESSED} if allow_missing else {REGRESSED, MISSING}
    return [r for r in rows if r.verdict in bad]


def format_table(rows: Iterable[Row]) -> str:
    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}"

    rows = list(rows)
    width = max([len("benchmark")] + [len(r.name) for r in rows])
    lines = [f"{'benchmark':<{width}}  {'baseline':>9}  {'current':>9}  {'change':>8}  verdict",
             f"{'-' * width}  {'-' * 9}  {'-' * 9}  {'-' * 8}  {'-' * 9}"]
    for r in rows:
        change = "-" if r.change is None else f"{r.change:+.1%}"
        lines.append(f"{r.name:<{width}}  {num(r.baseline):>9}  {num(r.current):>9}  {change:>8}  {r.verdict}")
    return "\n".join(lines)


def make_baseline(current: Mapping[str, Mapping[str, float]], command: str, date: str,
                  extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A baseline document from this run's ratios (sorted by name)."""
    return {
        "description": "Ratios to the copy of a fixed 32 MiB float32 tensor (x.clone() into a kept buffer), per "
                       "benchmark of tests/bench "
                       "(scripts/bench_check.py compares runs against them).",
        "command": command,
        "date": date,
        **dict(extra or {}),
        "benchmarks": {name: {k: round(v, 4) for k, v in sorted(current[name].items())} for name in sorted(current)},
    }


def _run_info(path: str | Path) -> dict[str, Any]:
    data = json.loads(Path(path).read_text())
    machine = data.get("machine_info") or {}
    cpu = machine.get("cpu") or {}
    return {"date": data.get("datetime") or datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpu": cpu.get("brand_raw"), "cores": cpu.get("count"),
                        "python": machine.get("python_version"), "system": machine.get("system")},
            "commit": (data.get("commit_info") or {}).get("id")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("current", nargs="+",
                        help="pytest-benchmark JSON written with --benchmark-json; several files: per-benchmark "
                             "median")
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help=f"baseline file (default {DEFAULT_BASELINE})")
    parser.add_argument("--margin", type=float, default=DEFAULT_MARGIN,
                        help="allowed relative increase of a ratio before it counts as a regression (default 0.25)")
    parser.add_argument("--stat", choices=sorted(STAT_KEYS), default="median",
                        help="compare the median-based ratio (default) or the min-based one")
    parser.add_argument("--allow-missing", action="store_true", help="do not fail on benchmarks absent from the run")
    parser.add_argument("--update", action="store_true", help="rewrite the baseline from this run and exit 0")
    parser.add_argument("--command", default=DEFAULT_COMMAND, help="command recorded in the baseline by --update")
    args = parser.parse_args(argv)
    try:
        current = merge_runs(load_current(path) for path in args.current)
        if args.update:
            info = _run_info(args.current[-1])
            info["runs"] = len(args.current)
            doc = make_baseline(current, args.command, info.pop("date"), info)
            Path(args.baseline).parent.mkdir(parents=True, exist_ok=True)
            Path(args.baseline).write_text(json.dumps(doc, indent=2) + "\n")
            print(f"baseline {args.baseline} rewritten with {len(current)} benchmarks")
            return 0
        baseline = load_baseline(args.baseline)
    except BenchInputError as exc:
        print(f"bench_check: {exc}", file=sys.stderr)
        return 2
    rows = compare(ratios_of(baseline["benchmarks"], args.stat), ratios_of(current, args.stat), args.margin)
    print(f"baseline: {args.baseline} ({baseline.get('date', '?')}; {baseline.get('command', '?')})")
    print(f"statistic: ratio to x.clone() ({args.stat}); margin {args.margin:.0%}")
    print(format_table(rows))
    bad = failures(rows, args.allow_missing)
    if bad:
        print(f"FAIL: {len(bad)} benchmark(s): " + ", ".join(f"{r.name} ({r.verdict})" for r in bad))
        return 1
    print(f"PASS: {len(rows)} benchmark(s) within {args.margin:.0%} of the baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Time the README's main job on a fresh clone: ``make venv``, then ``make benchmark``, each output line stamped.

    python scripts/time_fresh_clone.py                 # clones HEAD into a temporary folder, times, prints
    python scripts/time_fresh_clone.py --log run.log   # also keeps the stamped log
    python scripts/time_fresh_clone.py --parse run.log # the table of a log written before, nothing is run

What it reports (docs/pipeline.md, "Time budget of `make benchmark`"): the wall time of ``make venv`` and of
every DVC stage (from its ``Running stage`` line to the next), and for each train stage where its time went:

* ``start``: from the stage's start to its first epoch's start (process start, imports, the job list);
* ``busy``: the epochs of all its runs, in worker-seconds, divided by the workers (``--workers``, default 2);
* ``idle``: the stage's wall time less ``busy``: starts, the gaps between runs (final evaluation, checkpoints),
  the last run's tail and DVC's own bookkeeping.

An epoch's start is its end stamp less the duration the trainer prints. Run it on a quiet machine: anything
else on the cores shows up in every figure. ``--drop-caches`` (root only) empties the page cache first, as on
a machine that has just started.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

STAMPED = re.compile(r"^\s*(?P<t>\d+(?:\.\d+)?) (?P<text>.*)$")
STAGE = re.compile(r"^Running stage '(?P<name>[^']+)':")
EPOCH = re.compile(r"^\[(?P<run>[^\]]+)\] epoch \d+/\d+\s.*?\s(?P<dur>\d+(?:\.\d+)?) s(?:\s|$)")
MARK = re.compile(r"^=== (?P<name>.+?) (?P<what>start|end)(?: rc=(?P<rc>-?\d+))?$")


@dataclass
class Stage:
    """One DVC stage of a stamped log: when it started and ended, and its runs' epochs."""

    name: str
    start: float
    end: float = 0.0
    runs: dict[str, list[float]] = field(default_factory=dict)  # run folder → [first start, last end, busy s]

    @property
    def wall(self) -> float:
        return self.end - self.start

    @property
    def epoch_seconds(self) -> float:
        """The durations of all its runs' epochs, added up (worker-seconds)."""
        return sum(run[2] for run in self.runs.values())


def stamped(lines: Iterable[str]) -> Iterator[tuple[float, str]]:
    """``(seconds, text)`` of every stamped line (``"  12.3 text"``); other lines are skipped."""
    for line in lines:
        match = STAMPED.match(line.rstrip("\n"))
        if match:
            yield float(match["t"]), match["text"]


def parse(lines: Iterable[str]) -> tuple[dict[str, tuple[float, float, int | None]], list[Stage]]:
    """The marked parts (``=== name start`` / ``=== name end rc=N``: ``{name: (start, end, rc)}``) and the DVC
    stages of a stamped log; a stage ends where the next one starts, or where its part ends."""
    parts: dict[str, tuple[float, float, int | None]] = {}
    stages: list[Stage] = []
    last = 0.0
    for t, text in stamped(lines):
        last = t
        if match := MARK.match(text):
            if match["what"] == "start":
                parts[match["name"]] = (t, t, None)
            else:
                begin = parts.get(match["name"], (t, t, None))[0]
                parts[match["name"]] = (begin, t, None if match["rc"] is None else int(match["rc"]))
                if stages and not stages[-1].end:
                    stages[-1].end = t
        elif match := STAGE.match(text):
            if stages and not stages[-1].end:
                stages[-1].end = t
            stages.append(Stage(match["name"], t))
        elif (match := EPOCH.match(text)) and stages:
            duration = float(match["dur"])
            run = stages[-1].runs.setdefault(match["run"], [t - duration, t, 0.0])
            run[1] = t
            run[2] += duration
    if stages and not stages[-1].end:
        stages[-1].end = last
    return parts, stages


def report(parts: dict[str, tuple[float, float, int | None]], stages: list[Stage], workers: int = 2) -> str:
    """The table of :func:`parse`'s result, as text (seconds)."""
    rows = [f"{'part':34s} {'wall':>7s} {'start':>6s} {'busy':>7s} {'idle':>6s}"]
    for name, (begin, end, rc) in parts.items():
        status = "" if rc in (None, 0) else f"  (exit status {rc})"
        rows.append(f"{name:34s} {end - begin:7.1f}{status}")
    for stage in stages:
        row = f"  {stage.name:32s} {stage.wall:7.1f}"
        if stage.runs:
            first = min(r[0] for r in stage.runs.values())
            busy = stage.epoch_seconds / workers
            row += f" {first - stage.start:6.1f} {busy:7.1f} {stage.wall - busy:6.1f}"
        rows.append(row)
    trains = [s for s in stages if s.runs]
    if trains:
        wall = sum(s.wall for s in trains)
        busy = sum(s.epoch_seconds for s in trains) / workers
        rows.append(f"  {'train stages':32s} {wall:7.1f} {'':6s} {busy:7.1f} {wall - busy:6.1f}")
    return "\n".join(rows)


def run_stamped(command: list[str], cwd: Path, name: str, t0: float, log) -> int:
    """Run ``command`` in ``cwd``, writing each output line to ``log`` stamped with seconds since ``t0``,
    between ``=== name start`` and ``=== name end rc=N`` lines; returns its exit status."""
    log.write(f"{time.monotonic() - t0:8.1f} === {name} start\n")
    with subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          bufsize=1) as process:
        for line in process.stdout:
            log.write(f"{time.monotonic() - t0:8.1f} {line}")
            log.flush()
    log.write(f"{time.monotonic() - t0:8.1f} === {name} end rc={process.returncode}\n")
    log.flush()
    return process.returncode


def time_fresh_clone(repo: Path, log_path: Path, drop_caches: bool) -> int:
    """Clone ``repo``'s HEAD into a temporary folder, run ``make venv`` and ``make benchmark`` there with the
    stamped output in ``log_path``; returns the first non-zero exit status (0 when both succeed)."""
    with tempfile.TemporaryDirectory(prefix="asgl-fresh-") as folder:
        clone = Path(folder) / "clone"
        subprocess.run(["git", "clone", "--quiet", str(repo), str(clone)], check=True)
        if drop_caches:
            subprocess.run(["sync"], check=True)
            Path("/proc/sys/vm/drop_caches").write_text("3\n", encoding="ascii")
        t0 = time.monotonic()
        with log_path.open("w", encoding="utf-8") as log:
            log.write(f"{0.0:8.1f} === total start\n")
            status = run_stamped(["make", "venv"], clone, "make venv", t0, log)
            if status == 0:
                status = run_stamped(["make", "benchmark"], clone, "make benchmark", t0, log)
            log.write(f"{time.monotonic() - t0:8.1f} === total end rc={status}\n")
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, help="keep the stamped log here (default: a temporary file)")
    parser.add_argument("--parse", type=Path, metavar="LOG", help="report on a log written before; run nothing")
    parser.add_argument("--workers", type=int, default=2, help="run.workers of the profile (default 2)")
    parser.add_argument("--drop-caches", action="store_true", help="empty the page cache first (root only)")
    args = parser.parse_args(argv)
    if args.parse is not None:
        if not args.parse.is_file():
            print(f"{args.parse}: no such log", file=sys.stderr)
            return 2
        log_path, status = args.parse, 0
    else:
        repo = Path(__file__).resolve().parents[1]
        log_path = args.log or Path(tempfile.mkstemp(prefix="asgl-fresh-", suffix=".log")[1])
        status = time_fresh_clone(repo, log_path, args.drop_caches)
        print(f"log: {log_path}")
    with log_path.open(encoding="utf-8") as lines:
        print(report(*parse(lines), workers=args.workers))
    return status


if __name__ == "__main__":
    sys.exit(main())

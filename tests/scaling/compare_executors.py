"""Local pool against Ray on the same small stage, on this machine: wall time and equality of the results.

    python -m tests.scaling.compare_executors [--seeds 2] [--epochs 3]

Runs ``asgl`` and ``sg`` × ``--seeds`` seeds of :mod:`tests.scaling.stage` twice, in fresh result folders:
with the local spawn pool (2 single-threaded workers) and as Ray tasks on a Ray instance started here
(2 CPUs, loopback, 1 CPU per run). The pool's time includes starting its workers; Ray's start is timed
apart from its runs (the runs' time includes starting Ray's workers). Prints one line per figure and whether
every record (timings aside) and every final weight tensor is equal.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from tests.scaling.stage import comparable, same_weights, stage_jobs

LOCAL_POOL = {"executor": "local", "workers": 2, "threads_per_worker": 1, "device": "cpu"}
RAY = {"executor": "ray", "threads_per_worker": 1, "device": "cpu", "ray": {"cpus_per_run": 1}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # loopback only (read when ray is imported)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    from pipelines.executors import run_jobs
    from pipelines.train import run_one

    runs = [(method, seed) for method in ("asgl", "sg") for seed in range(args.seeds)]
    with tempfile.TemporaryDirectory(prefix="asgl-executors-") as tmp:
        root = Path(tmp)
        jobs = stage_jobs(root / "data", root / "unused", runs, args.epochs)
        start = time.perf_counter()
        local = run_jobs(run_one, [{**j, "results": str(root / "local")} for j in jobs], LOCAL_POOL)
        local_s = time.perf_counter() - start
        start = time.perf_counter()
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
        ray_start_s = time.perf_counter() - start
        try:
            start = time.perf_counter()
            remote = run_jobs(run_one, [{**j, "results": str(root / "ray")} for j in jobs], RAY)
            ray_s = time.perf_counter() - start
        finally:
            ray.shutdown()
        equal = all(comparable(a) == comparable(b) and same_weights(a, b) for a, b in zip(local, remote, strict=True))
    print(f"stage: {len(jobs)} runs x {args.epochs} epochs (resnet_tiny on digits), {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"local pool (2 workers):            {local_s:6.1f} s")
    print(f"ray (2 CPUs, 1 per run): start      {ray_start_s:6.1f} s, runs {ray_s:6.1f} s, "
          f"total {ray_start_s + ray_s:6.1f} s")
    print(f"records and weights equal:         {equal}")
    return 0 if equal else 1


if __name__ == "__main__":
    raise SystemExit(main())

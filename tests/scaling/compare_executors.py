"""Local pool against Ray on the same small stage, on this machine: wall time and equality of the results.

    python -m tests.scaling.compare_executors [--seeds 2] [--epochs 3] [--ray-first]

Runs ``asgl`` and ``sg`` × ``--seeds`` seeds of :mod:`tests.scaling.stage` twice, in fresh result folders:
with the local spawn pool (2 single-threaded workers) and as Ray tasks on a Ray instance started here
(2 CPUs, loopback, 1 CPU per run), in that order or, with ``--ray-first``, the other. The pool's time
includes starting its workers; Ray's start is timed apart from its runs (the runs' time includes starting
Ray's workers), and the stage is then run once more on the same instance, whose workers are warm. Prints one
line per figure and whether every record (timings aside) and every final weight tensor is equal.
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
    parser.add_argument("--ray-first", action="store_true", help="run the Ray stage before the local pool")
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # loopback only (read when ray is imported)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    from pipelines.lib.executors import run_jobs
    from pipelines.lib.runs import run_one

    runs = [(method, seed) for method in ("asgl", "sg") for seed in range(args.seeds)]
    with tempfile.TemporaryDirectory(prefix="asgl-executors-") as tmp:
        root = Path(tmp)
        jobs = stage_jobs(root / "data", root / "unused", runs, args.epochs)
        times: dict[str, float] = {}

        def pool() -> list:
            start = time.perf_counter()
            records = run_jobs(run_one, [{**j, "results": str(root / "local")} for j in jobs], LOCAL_POOL)
            times["local"] = time.perf_counter() - start
            return records

        def on_ray() -> list:
            start = time.perf_counter()
            ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
            times["ray_start"] = time.perf_counter() - start
            try:
                start = time.perf_counter()
                records = run_jobs(run_one, [{**j, "results": str(root / "ray")} for j in jobs], RAY)
                times["ray"] = time.perf_counter() - start
                start = time.perf_counter()  # the same stage again, into a fresh folder: workers already warm
                again = run_jobs(run_one, [{**j, "results": str(root / "ray-again")} for j in jobs], RAY)
                times["ray_again"] = time.perf_counter() - start
                records = records if all(map(_equal, records, again)) else []
            finally:
                ray.shutdown()
            return records

        if args.ray_first:
            remote, local = on_ray(), pool()
        else:
            local, remote = pool(), on_ray()
        equal = len(local) == len(remote) and all(map(_equal, local, remote))
    print(f"stage: {len(jobs)} runs x {args.epochs} epochs (resnet_tiny on digits), {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"local pool (2 workers):            {times['local']:6.1f} s")
    print(f"ray (2 CPUs, 1 per run): start      {times['ray_start']:6.1f} s, runs {times['ray']:6.1f} s, "
          f"total {times['ray_start'] + times['ray']:6.1f} s")
    print(f"ray, the same stage again on that instance (warm workers): {times['ray_again']:6.1f} s")
    print(f"order:                             {'ray, local pool' if args.ray_first else 'local pool, ray'}")
    print(f"records and weights equal:         {equal}")
    return 0 if equal else 1


def _equal(a: dict, b: dict) -> bool:
    return comparable(a) == comparable(b) and same_weights(a, b)


if __name__ == "__main__":
    raise SystemExit(main())

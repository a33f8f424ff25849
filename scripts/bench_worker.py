"""One side of the regression check: builds the benchmark cases of one tree and times single calls on request.

``scripts/bench_check.py`` starts one worker in the base tree and one in the head tree (working directory and
``PYTHONPATH`` set to the tree, so ``asgl`` and ``tests/bench/cases.py`` come from it) and alternates calls
between them. While one worker times a call the other waits on its input, so they never compete for the CPU.

Protocol, one JSON object per line. The worker first writes ``{"asgl_root": …, "cases": [names]}``. Then for
each request on stdin it writes one reply:

* ``{"op": "build", "name": N}`` → ``{"built": N}``: build case ``N`` (dropping the previous one) and call it
  twice untimed (numba kernels loaded or compiled, buffers warm);
* ``{"op": "time", "calls": k, "warmup": w}`` → ``{"times": [s, …]}``: ``w`` untimed calls (default 0), then
  ``k`` timed calls of the built case, in seconds;
* ``{"op": "quit"}``: exit.

An error is written as ``{"error": message}`` and the worker exits with status 1.

Usage (by the check)::

    python scripts/bench_worker.py --threads 2
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path


def set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    try:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    except (ImportError, ValueError):
        pass


def reply(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def serve(threads: int) -> int:
    set_threads(threads)
    try:
        from tests.bench import cases
    except ImportError as exc:
        reply({"error": f"this tree has no tests/bench/cases.py ({exc}); the check needs a base that has it"})
        return 1
    builders = cases.all_cases()
    root = str(Path(importlib.util.find_spec("asgl").origin).resolve().parents[1])
    reply({"asgl_root": root, "cases": list(builders)})
    fn = None
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "quit":
            return 0
        try:
            if request["op"] == "build":
                fn = None
                fn = builders[request["name"]]()
                fn()
                fn()
                reply({"built": request["name"]})
            elif request["op"] == "time":
                for _ in range(int(request.get("warmup", 0))):
                    fn()
                times = []
                for _ in range(int(request["calls"])):
                    start = time.perf_counter()
                    fn()
                    times.append(time.perf_counter() - start)
                reply({"times": times})
            else:
                raise ValueError(f"unknown op {request['op']!r}")
        except Exception as exc:  # any failure is reported to the check, which stops
            reply({"error": f"{type(exc).__name__}: {exc}"})
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    return serve(args.threads)


if __name__ == "__main__":
    sys.exit(main())

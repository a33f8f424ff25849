"""Where the runs of a stage execute: in this process, in a local pool of worker processes, or on a Ray
cluster. The executor decides only *where*; what a run is and whether it is reused is decided by
:mod:`pipelines.lib.runs` and recorded by DVC (docs/scaling.md).

``run_jobs(fn, jobs, run)`` calls ``fn(job)`` for every job and returns the results in job order. ``run`` is
the ``run`` block of ``params.yaml`` (checked by :func:`check_run_block`):

* ``executor``: ``local`` (default) or ``ray`` (:mod:`pipelines.lib.executors_ray`, settings in ``run.ray``);
* ``workers``: local worker processes (1 = in this process), or ``auto``: one per visible GPU when runs use
  CUDA, else ``cores // threads_per_worker``;
* ``threads_per_worker``: torch and numba threads per run;
* ``device``: ``cpu``, ``cuda`` or ``auto``; unless it is ``cpu``, pool worker ``i`` of a host with ``G``
  visible GPUs sees only GPU ``i mod G`` (its ``CUDA_VISIBLE_DEVICES``), so every GPU is used.

A job whose ``settings.train.ddp`` is ``N > 1`` is one data-parallel run on ``N`` processes under torchrun
(:mod:`pipelines.lib.ddp_launch`); locally those run one after another in this process's turn, after the pool.

Every job is attempted; a failure is raised after the others have ended (their finished runs are kept and
reused next time), the first in job order, with the run named in its message.

The local pool uses ``spawn`` workers that live for the whole stage, so each pays the imports and the kernel
cache load once, not once per run: on 2 cores, two single-threaded small runs finish sooner than one run on
two threads. (``fork`` and ``forkserver`` made epochs 3–30× slower here: forked workers inherit thread-pool
state.)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, TypeVar

from pipelines.lib.executor_base import attempt, collect, set_threads
from pipelines.lib.executor_config import RunBlockError, check_run_block, ddp_size

T = TypeVar("T")
__all__ = ["check_run_block", "gpu_count", "gpu_plan", "run_jobs", "run_local", "set_threads", "visible_gpus",
           "workers_for"]


def gpu_count() -> int:
    """CUDA devices visible to this process (0 without CUDA)."""
    import torch

    return torch.cuda.device_count()


def visible_gpus(count: int) -> list[str]:
    """The ``count`` GPU ids a worker may name in ``CUDA_VISIBLE_DEVICES``: this process's own list when it
    has one (``"2,3"`` → ``["2", "3"]``), else ``["0", …, str(count - 1)]``."""
    own = [g.strip() for g in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip()]
    return own[:count] if own else [str(i) for i in range(count)]


def gpu_plan(workers: int, gpus: Sequence[str]) -> list[str]:
    """``CUDA_VISIBLE_DEVICES`` of pool workers ``0 … workers-1``: worker ``i`` gets ``gpus[i mod len(gpus)]``."""
    return [gpus[i % len(gpus)] for i in range(workers)]


def workers_for(run: Mapping[str, Any], gpus: int) -> int:
    """``run.workers`` as a number; ``auto`` is ``gpus`` when runs may use CUDA and a GPU is visible, else
    ``cores // threads_per_worker`` (at least 1). ``auto`` with ``device: cuda`` and no GPU is an error."""
    workers = run.get("workers", 1)
    if workers != "auto":
        return int(workers)
    device = run.get("device", "auto")
    if device == "cuda" and gpus == 0:
        raise RunBlockError("run.workers: auto with run.device: cuda found no visible GPU; use a GPU host, "
                            "or set run.device: cpu")
    if device != "cpu" and gpus > 0:
        return gpus
    return max(1, len(os.sched_getaffinity(0)) // int(run.get("threads_per_worker", 1)))


def run_jobs(fn: Callable[[Any], T], jobs: Sequence[Any], run: Mapping[str, Any]) -> list[T]:
    """``[fn(job) for job in jobs]`` on the executor ``run.executor`` (see the module docstring)."""
    check_run_block(run)
    if not jobs:
        return []
    if run.get("executor", "local") == "ray":
        from pipelines.lib.executors_ray import run_ray

        return run_ray(fn, jobs, run)
    return run_local(fn, jobs, run)


def run_local(fn: Callable[[Any], T], jobs: Sequence[Any], run: Mapping[str, Any],
              gpus: int | None = None) -> list[T]:
    """The local executor; ``gpus`` overrides the number of visible GPUs (default :func:`gpu_count`)."""
    threads = int(run.get("threads_per_worker", 1))
    on_gpu = run.get("device", "auto") != "cpu"
    gpus = (gpu_count() if on_gpu else 0) if gpus is None else gpus
    single = [i for i, job in enumerate(jobs) if ddp_size(job) == 1]
    workers = min(workers_for(run, gpus), len(single))
    outcomes: dict[int, tuple[bool, Any]] = {}
    if workers <= 1:
        set_threads(threads)
        for i in single:
            outcomes[i] = attempt(fn, jobs[i])
    else:
        context = get_context("spawn")
        queue = None
        if on_gpu and gpus > 0:
            queue = context.Queue()
            for gpu in gpu_plan(workers, visible_gpus(gpus)):
                queue.put(gpu)
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                 initargs=(threads, queue)) as pool:
            futures = {i: pool.submit(fn, jobs[i]) for i in single}
            for i, future in futures.items():
                error = future.exception()
                outcomes[i] = (True, future.result()) if error is None else (False, error)
    if len(single) < len(jobs):
        from pipelines.lib.ddp_launch import run_ddp

        for i, job in enumerate(jobs):
            if i not in outcomes:
                outcomes[i] = attempt(run_ddp, fn, job, ddp_size(job), threads)
    return collect([outcomes[i] for i in range(len(jobs))], jobs)


def _start_worker(threads: int, gpu_queue: Any) -> None:
    """Pool initializer: take this worker's GPU (before CUDA initialises) and set its thread count."""
    if gpu_queue is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu_queue.get(timeout=60)
    set_threads(threads)

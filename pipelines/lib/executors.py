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

A stage can start those workers before it knows its jobs (:class:`StageExecutor`): the train stage starts them
first thing, so that their imports (torch and numba for the thread count, 2.6 s on 2 cores, then what a run
imports on its first call) overlap the stage's own work before its first job (checking ``params.yaml``, which
imports torch: 1.8 s; listing the jobs), instead of following it. So this module, and what it imports at the
top, must not import torch (``asgl`` loads it on first use).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, TypeVar

from pipelines.lib.executor_base import attempt, collect, set_threads
from pipelines.lib.executor_config import RunBlockError, check_run_block, ddp_size, is_int

T = TypeVar("T")
__all__ = ["StageExecutor", "check_run_block", "exit_without_teardown", "gpu_count", "gpu_plan", "run_jobs",
           "run_local", "set_threads", "visible_gpus", "workers_for"]


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
    return StageExecutor().run_jobs(fn, jobs, run)


def run_local(fn: Callable[[Any], T], jobs: Sequence[Any], run: Mapping[str, Any],
              gpus: int | None = None) -> list[T]:
    """The local executor; ``gpus`` overrides the number of visible GPUs (default :func:`gpu_count`)."""
    return StageExecutor(gpus=gpus).run_local(fn, jobs, run)


class StageExecutor:
    """The executor of one stage, made before its jobs are known, so that the pool's workers can start first.

    :meth:`start` starts the local pool's workers for a ``run`` block that has not been checked yet, each
    importing ``warm_up`` (and torch and numba, for its thread count) while this process does its own imports
    and lists the jobs; :meth:`run_jobs` then gives the jobs to those workers when ``run`` asks for the same pool,
    and ends the pool when its jobs have ended. Without :meth:`start`, :meth:`run_jobs` is :func:`run_jobs`.
    As a context manager it ends a pool that :meth:`run_jobs` never used (the stage failed before its jobs).
    ``gpus`` overrides the number of visible GPUs (default :func:`gpu_count`).
    """

    def __init__(self, *, warm_up: Sequence[str] = (), gpus: int | None = None) -> None:
        self._warm_up = tuple(warm_up)
        self._gpus = gpus
        self._pool: ProcessPoolExecutor | None = None
        self._shape: tuple[Any, ...] | None = None

    def __enter__(self) -> StageExecutor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self, run: Any) -> None:
        """Start the pool's workers now for ``run`` (read but not checked): only for a local pool on CPU whose
        keys are plainly valid (:func:`_early_workers`); anything else starts in :meth:`run_jobs` as before."""
        workers = _early_workers(run)
        if self._pool is None and workers > 1:
            self._open(run, workers)
            for _ in range(workers):  # a spawn pool starts one worker per submitted call (CPython 3.11)
                self._pool.submit(os.getpid)

    def run_jobs(self, fn: Callable[[Any], T], jobs: Sequence[Any], run: Mapping[str, Any]) -> list[T]:
        """``[fn(job) for job in jobs]`` on the executor ``run.executor`` (see the module docstring)."""
        check_run_block(run)
        if not jobs:
            self.close()
            return []
        if run.get("executor", "local") == "ray":
            from pipelines.lib.executors_ray import run_ray

            self.close()
            return run_ray(fn, jobs, run)
        return self.run_local(fn, jobs, run)

    def run_local(self, fn: Callable[[Any], T], jobs: Sequence[Any], run: Mapping[str, Any]) -> list[T]:
        """The local executor: single-process jobs in the pool (or in this process for one worker), then the
        DDP runs one after another."""
        single = [i for i, job in enumerate(jobs) if ddp_size(job) == 1]
        outcomes: dict[int, tuple[bool, Any]] = {}
        try:
            pool = self._pool_for(run, len(single))
            if pool is None:
                set_threads(int(run.get("threads_per_worker", 1)))
                for i in single:
                    outcomes[i] = attempt(fn, jobs[i])
            else:
                futures = {i: pool.submit(fn, jobs[i]) for i in single}
                outcomes.update({i: _outcome(future) for i, future in futures.items()})
        finally:
            self.close()
        if len(single) < len(jobs):
            outcomes.update(_ddp_outcomes(fn, jobs, outcomes, int(run.get("threads_per_worker", 1))))
        return collect([outcomes[i] for i in range(len(jobs))], jobs)

    def close(self) -> None:
        """End the pool, if any: wait for its calls, then for its workers to exit."""
        if self._pool is not None:
            pool, self._pool, self._shape = self._pool, None, None
            pool.shutdown(wait=True)

    def _pool_for(self, run: Mapping[str, Any], jobs: int) -> ProcessPoolExecutor | None:
        """The pool for ``jobs`` single-process jobs: the one :meth:`start` opened when it has ``run``'s shape,
        else a new one of ``min(workers, jobs)`` workers; None for one worker (the jobs run in this process)."""
        if self._pool is not None and self._shape == _shape(run):
            return self._pool
        self.close()
        on_gpu = run.get("device", "auto") != "cpu"
        gpus = (gpu_count() if on_gpu else 0) if self._gpus is None else self._gpus
        workers = min(workers_for(run, gpus), jobs)
        if workers <= 1:
            return None
        self._open(run, workers, gpus if on_gpu else 0)
        return self._pool

    def _open(self, run: Mapping[str, Any], workers: int, gpus: int = 0) -> None:
        """A pool of ``workers`` spawn workers; with ``gpus`` > 0 each takes its GPU from a queue."""
        context = get_context("spawn")
        queue = None
        if gpus > 0:
            queue = context.Queue()
            for gpu in gpu_plan(workers, visible_gpus(gpus)):
                queue.put(gpu)
        threads = int(run.get("threads_per_worker", 1))
        self._pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                         initargs=(threads, queue, self._warm_up))
        self._shape = _shape(run)


def _shape(run: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a local pool is made of: its ``run`` keys, with their defaults."""
    return run.get("workers", 1), run.get("threads_per_worker", 1), run.get("device", "auto")


def _early_workers(run: Any) -> int:
    """The workers :meth:`StageExecutor.start` may start for ``run`` before it is checked: those of a local
    pool with ``device: cpu`` and plainly valid ``workers`` and ``threads_per_worker``, whose number needs
    neither the checks nor torch (the checks import torch; so does counting GPUs); else 0."""
    if not isinstance(run, Mapping) or run.get("executor", "local") != "local" or run.get("device") != "cpu":
        return 0
    workers, threads = run.get("workers", 1), run.get("threads_per_worker", 1)
    if not is_int(threads, 1) or not (workers == "auto" or is_int(workers, 1)):
        return 0
    return workers_for(run, 0)


def _outcome(future: Future) -> tuple[bool, Any]:
    """``(True, value)`` or ``(False, exception)`` of a finished pool call (waits for it)."""
    error = future.exception()
    return (True, future.result()) if error is None else (False, error)


def _ddp_outcomes(fn: Callable[[Any], Any], jobs: Sequence[Any], done: Mapping[int, Any],
                  threads: int) -> dict[int, tuple[bool, Any]]:
    """The outcomes of the jobs not in ``done`` (the DDP runs), one after another under torchrun."""
    from pipelines.lib.ddp_launch import run_ddp

    return {i: attempt(run_ddp, fn, job, ddp_size(job), threads) for i, job in enumerate(jobs) if i not in done}


def _start_worker(threads: int, gpu_queue: Any, warm_up: Sequence[str]) -> None:
    """Pool initializer: arrange the worker's quick exit (:func:`_exit_worker`), take its GPU (before
    CUDA initialises), set its thread count, and import ``warm_up``. A module that fails to import here is left
    to the job that needs it, which fails on it."""
    atexit.register(_exit_worker)  # first of this worker's exit handlers, so it runs last
    if gpu_queue is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu_queue.get(timeout=60)
    set_threads(threads)
    for module in warm_up:
        with contextlib.suppress(Exception):
            importlib.import_module(module)


def _exit_worker() -> None:
    """End a pool worker once it has nothing left to send, without the interpreter's teardown, on which the stage
    waits when its pool ends (:func:`exit_without_teardown`).

    Nothing is lost (CPython 3.11): a worker sends each result, and after the pool's stop signal its pid, with
    ``SimpleQueue.put`` (``concurrent/futures/process.py``), which writes to the pipe before the worker reads its
    next call; then ``BaseProcess._bootstrap`` runs multiprocessing's finalizers (queue feeder threads are
    flushed), joins the worker's threads and flushes stdout and stderr, and ``spawn_main`` calls ``sys.exit``,
    which runs the exit handlers, last registered first. This one, registered before any job ran, comes after
    every handler a job registered. Of the two registered before it, multiprocessing's has already run and
    logging's is done by :func:`exit_without_teardown`. A worker that dies during a job still breaks the pool
    as before: the pool notices a worker exiting without a result by its process sentinel, and it reads no
    worker's exit status (so 0 here hides nothing from it).
    """
    exit_without_teardown(0)


def exit_without_teardown(status: int) -> None:
    """End this process with ``status`` after flushing stdout, stderr and logging's handlers, without the
    interpreter's teardown: freeing every module of torch and numba took 0.6–1 s a process here. For a process
    whose work is done and written: a pool worker (:func:`_exit_worker`), the train stage after its records."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    os._exit(status)

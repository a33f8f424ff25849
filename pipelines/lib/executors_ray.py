"""Ray as the engine for many runs: each run is one Ray task that calls the same ``fn(job)`` as the local pool.

A task asks for ``run.ray.cpus_per_run`` CPUs and ``run.ray.gpus_per_run`` GPUs (times ``N`` for a run of
``N`` DDP processes, which the task starts under torchrun on its node); Ray places it and sets its
``CUDA_VISIBLE_DEVICES`` (empty when it asked for none, so that no run uses a GPU it was not given). A task
whose worker process or node dies is run again, up to ``run.ray.max_retries`` times; since a run folder keeps
its per-epoch checkpoints, the new attempt resumes where the last checkpoint left off and ends with the
weights of an uninterrupted run. Ordinary exceptions are not retried (``retry_exceptions=False``): they come
back as the run's own exception type, naming the run.

Connection: when this process is already connected (``ray.is_initialized()``), that connection is used and
left open; otherwise ``run.ray.address`` says where to go — ``null`` starts a new Ray instance on this machine
for the stage (``ray.init(address="local")``), ``auto`` or ``host:port`` joins a running cluster — and the
connection closes at the end.

Every task runs in this process's working directory, which must exist on every node with the same code and
data (a shared file system): results are written where DVC expects them. Ray puts that directory on the
workers' ``sys.path``, so ``fn`` is imported there by name (docs/scaling.md).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from pipelines.lib.executor_config import ddp_size, job_name, ray_settings

T = TypeVar("T")


def run_ray(fn: Callable[[Any], T], jobs: Sequence[Any], run: Mapping[str, Any]) -> list[T]:
    """``[fn(job) for job in jobs]`` as Ray tasks, results in job order (see the module docstring)."""
    import ray

    from pipelines.lib.executor_base import collect

    settings = ray_settings(run)
    threads = int(run.get("threads_per_worker", 1))
    connect = not ray.is_initialized()
    if connect:
        if settings["address"] is None:  # "local": a new instance even when this node runs a cluster
            ray.init(address="local", include_dashboard=False)
        else:
            ray.init(address=settings["address"])
    try:
        task = ray.remote(_run_task)
        refs = []
        for i, job in enumerate(jobs):
            size = ddp_size(job)
            options = task.options(num_cpus=settings["cpus_per_run"] * size,
                                   num_gpus=settings["gpus_per_run"] * size,
                                   max_retries=settings["max_retries"], retry_exceptions=False,
                                   name=job_name(job, i))
            refs.append(options.remote(fn, job, threads, os.getcwd(), settings["gpus_per_run"] == 0))
        outcomes = [_outcome(ray, ref, settings["max_retries"]) for ref in refs]
    finally:
        if connect:
            ray.shutdown()
    return collect(outcomes, jobs)


def _outcome(ray: Any, ref: Any, retries: int) -> tuple[bool, Any]:
    """``(True, value)`` or ``(False, exception)``: the task's own exception, or a ``RuntimeError`` saying
    that Ray gave up (worker or node lost more often than ``max_retries`` allows)."""
    try:
        return True, ray.get(ref)
    except ray.exceptions.RayTaskError as err:
        cause = err.cause if isinstance(err.cause, BaseException) else RuntimeError(str(err))
        return False, cause
    except ray.exceptions.RayError as err:
        first = (str(err).strip().splitlines() or [""])[0]
        return False, RuntimeError(f"Ray lost the task after {retries} retr{'y' if retries == 1 else 'ies'} "
                                   f"(run.ray.max_retries): {type(err).__name__}: {first}")


def _run_task(fn: Callable[[Any], T], job: Any, threads: int, cwd: str, hide_gpus: bool) -> T:
    """The body of one Ray task: the stage's working directory, the thread count, then the run. A task given
    no GPU sees none (Ray leaves ``CUDA_VISIBLE_DEVICES`` alone then, so it would see every GPU of its node)."""
    from pipelines.lib.executor_base import set_threads

    if hide_gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    if not os.path.isdir(cwd):
        raise FileNotFoundError(f"{cwd}: the stage's working directory is missing on node {socket.gethostname()}; "
                                "Ray runs need the repository and data at the same path on every node "
                                "(a shared file system, docs/scaling.md)")
    os.chdir(cwd)
    set_threads(threads)
    size = ddp_size(job)
    if size > 1:
        from pipelines.lib.ddp_launch import run_ddp

        return run_ddp(fn, job, size, threads)
    return fn(job)

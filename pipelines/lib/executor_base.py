"""What every executor shares: a worker process's thread count and the results of a stage's jobs.

The executors (:mod:`pipelines.lib.executors` locally, :mod:`pipelines.lib.executors_ray` on a cluster, and
:mod:`pipelines.lib.ddp_launch` for a run on several processes) each import this module and none imports
another's internals, so they form no import circle. A job's *outcome* is ``(True, value)`` or
``(False, exception)``; :func:`collect` turns the outcomes of ``jobs`` into their values in job order, or
raises the first failure, named after its run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pipelines.lib.executor_config import job_name, named_error

T = TypeVar("T")


def set_threads(threads: int) -> None:
    """Use ``threads`` threads for torch and numba in this process."""
    import torch

    torch.set_num_threads(threads)
    try:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass


def attempt(fn: Callable[..., T], *args: Any) -> tuple[bool, Any]:
    """The outcome of ``fn(*args)``: ``(True, value)``, or ``(False, exception)`` for any ``Exception``."""
    try:
        return True, fn(*args)
    except Exception as exc:  # every run is attempted; collect() raises the first failure
        return False, exc


def collect(outcomes: Sequence[tuple[bool, Any]], jobs: Sequence[Any]) -> list[Any]:
    """The values of ``[(ok, value or exception)]``, or the first exception in job order, naming its run."""
    for i, (ok, value) in enumerate(outcomes):
        if not ok:
            raise named_error(value, job_name(jobs[i], i))
    return [value for _, value in outcomes]

"""Job functions for the local pool's tests (:mod:`tests.scaling.test_local_executor`), importable by name in
spawn workers."""

from __future__ import annotations

import os
import signal
import time
from typing import Any


def job(value: int, sleep: float = 0.0, fail: bool = False) -> dict[str, Any]:
    """A job named like a train run (``run m/d/w1-s<value>``) that sleeps ``sleep`` s, then returns or fails."""
    return {"settings": {"method": "m", "dataset": "d", "width": 1.0, "seed": value}, "value": value,
            "sleep": sleep, "fail": fail}


def value_after_sleep(job: dict[str, Any]) -> dict[str, Any]:
    """``{"value", "pid"}`` after ``job["sleep"]`` seconds; a ``ValueError`` naming the value when ``fail``."""
    time.sleep(job["sleep"])
    if job["fail"]:
        raise ValueError(f"bad value {job['value']}")
    return {"value": job["value"], "pid": os.getpid()}


def kill_own_worker(job: dict[str, Any]) -> None:
    """End this worker the way the kernel's OOM killer would, before any result is sent."""
    os.kill(os.getpid(), signal.SIGKILL)

"""Job functions for the local pool's tests (:mod:`tests.scaling.test_local_executor`), importable by name in
spawn workers."""

from __future__ import annotations

import atexit
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


def print_at_exit(job: dict[str, Any]) -> int:
    """Leave ``job["text"]`` to be printed by an exit handler of this worker, that is after its last job."""
    atexit.register(print, job["text"])
    return os.getpid()


class _NoteWhenFreed:
    """Writes its file when freed: at the latest in the interpreter's teardown, which frees every module."""

    def __init__(self, path: str) -> None:
        # what __del__ needs, kept here: in the teardown, module globals such as os may already be gone
        self.path, self.open, self.write, self.flags = path, os.open, os.write, os.O_WRONLY | os.O_CREAT

    def __del__(self) -> None:
        self.write(self.open(self.path, self.flags), b"freed\n")


_KEPT: list[_NoteWhenFreed] = []


def keep_until_teardown(job: dict[str, Any]) -> int:
    """Keep an object that writes ``job["path"]`` when freed for as long as this worker's modules live."""
    _KEPT.append(_NoteWhenFreed(job["path"]))
    return os.getpid()

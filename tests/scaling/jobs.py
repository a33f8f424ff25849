"""Job functions for the executor tests, importable by name in pool workers, Ray workers and torchrun ranks."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any


def environment(job: dict[str, Any]) -> dict[str, Any]:
    """What the worker sees: its pid and ``CUDA_VISIBLE_DEVICES``. Waits at ``job["barrier"]`` (when given) so
    that every worker of the pool is busy at once and each one reports."""
    if job.get("barrier") is not None:
        job["barrier"].wait(timeout=120)
    return {"pid": os.getpid(), "cuda": os.environ.get("CUDA_VISIBLE_DEVICES")}


def run_one_noting_pid(job: dict[str, Any]) -> dict[str, Any]:
    """``pipelines.lib.runs.run_one`` after appending ``"<pid> <epochs in the run's checkpoint>"`` to
    ``job["pid_file"]``: each attempt of a run leaves one line, and says where it started from.

    The first attempt freezes its own process (SIGSTOP) as soon as the run's first checkpoint exists, so that
    a test can kill it mid-run however fast the remaining epochs would be."""
    from asgl.training.checkpoint import load_checkpoint
    from pipelines.lib.records import run_dir
    from pipelines.lib.runs import run_one

    s = job["settings"]
    folder = run_dir(Path(job["results"]), s["method"], s["dataset"], s["width"], s["seed"])
    first = not attempts(job["pid_file"])
    saved = load_checkpoint(folder)
    with open(job["pid_file"], "a", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()} {0 if saved is None else saved['epoch']}\n")
    if first:
        threading.Thread(target=_freeze_at, args=(folder / "checkpoint.pt",), daemon=True).start()
    return run_one(job)


def _freeze_at(path: Path) -> None:
    while not path.exists():
        time.sleep(0.002)
    os.kill(os.getpid(), signal.SIGSTOP)


def stopped(pid: int) -> bool:
    """Whether process ``pid`` is stopped (state ``T`` in ``/proc/<pid>/stat``)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "T"


def fail(job: dict[str, Any]) -> None:
    """Note one attempt in ``job["pid_file"]``, then raise an ordinary error."""
    with open(job["pid_file"], "a", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()}\n")
    raise ValueError(f"bad value {job['value']!r}")


def attempts(pid_file: str | Path) -> list[list[int]]:
    """The lines of a pid file, as integers."""
    path = Path(pid_file)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return [[int(x) for x in line.split()] for line in text.splitlines() if line.strip()]

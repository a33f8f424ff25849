"""One run on ``N`` data-parallel processes: ``fn(job)`` under torchrun (``train.ddp: N``).

:func:`run_ddp` writes the job to a temporary folder and runs::

    python -m torch.distributed.run --standalone --nproc-per-node N -m pipelines.lib.ddp_launch FN JOB OUT THREADS

``--standalone`` rendezvouses on this machine (a free local port), so several such runs can share a node.
Every rank calls ``fn(job)``; the trainer reads torchrun's ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``
(:class:`asgl.training.DistContext`) and each rank takes ``cuda:LOCAL_RANK`` of the GPUs this process sees
(all of them locally, the task's under Ray), or the CPU with gloo. Rank 0's return value — or its
exception, raised again here — is the run's result; ``fn`` must therefore be written for every rank (only
rank 0 writes and returns the record). ``FN`` is ``module:qualname`` of a module-level function.
"""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
REPO_ROOT = Path(__file__).resolve().parents[2]
DIST_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                  "GROUP_RANK", "ROLE_RANK", "TORCHELASTIC_RUN_ID")


def function_ref(fn: Callable[..., Any]) -> str:
    """``module:qualname`` of a module-level function (what the ranks import)."""
    module, name = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if not module or module == "__main__" or "<" in name:
        raise ValueError(f"train.ddp needs a module-level function importable by name, got {fn!r}")
    return f"{module}:{name}"


def resolve(ref: str) -> Callable[..., Any]:
    """The function named by :func:`function_ref`."""
    module, _, name = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def torchrun_command(nproc: int, fn_ref: str, job_file: Path, out_file: Path, threads: int) -> list[str]:
    """The torchrun command line of one DDP run (see the module docstring)."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc),
            "-m", "pipelines.lib.ddp_launch", fn_ref, str(job_file), str(out_file), str(threads)]


def run_ddp(fn: Callable[[Any], T], job: Any, nproc: int, threads: int = 1) -> T:
    """Rank 0's ``fn(job)`` from ``nproc`` processes under torchrun; its exception is raised here."""
    ref = function_ref(fn)
    with tempfile.TemporaryDirectory(prefix="asgl-ddp-") as tmp:
        job_file, out_file = Path(tmp) / "job.pkl", Path(tmp) / "result.pkl"
        job_file.write_bytes(pickle.dumps(job))
        env = {k: v for k, v in os.environ.items() if k not in DIST_VARIABLES}
        paths = [os.getcwd(), str(REPO_ROOT), env.get("PYTHONPATH", "")]
        env.update(OMP_NUM_THREADS=str(threads), PYTHONPATH=os.pathsep.join(p for p in paths if p))
        proc = subprocess.run(torchrun_command(nproc, ref, job_file, out_file, threads), env=env, check=False)
        if out_file.exists():
            ok, value = pickle.loads(out_file.read_bytes())
            if not ok:
                raise value
            if proc.returncode == 0:
                return value
        raise RuntimeError(f"torchrun with {nproc} processes exited with status {proc.returncode} before rank 0 "
                           "returned; its output above says why")


def main(argv: list[str]) -> None:
    """Entry point of every rank: ``FN JOB OUT THREADS``."""
    from pipelines.lib.executor_base import set_threads

    ref, job_file, out_file, threads = argv
    set_threads(int(threads))
    rank = int(os.environ.get("RANK", "0"))
    job = pickle.loads(Path(job_file).read_bytes())
    try:
        value = resolve(ref)(job)
    except Exception as exc:
        if rank == 0:
            _write(Path(out_file), (False, exc))
        raise
    if rank == 0:
        _write(Path(out_file), (True, value))


def _write(path: Path, outcome: tuple[bool, Any]) -> None:
    try:
        data = pickle.dumps(outcome)
    except Exception as exc:  # an exception or value that does not pickle: say what it was
        data = pickle.dumps((False, RuntimeError(f"rank 0 result could not be pickled ({exc}): {outcome[1]!r}")))
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


if __name__ == "__main__":
    main(sys.argv[1:])

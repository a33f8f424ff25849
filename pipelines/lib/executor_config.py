"""The executor keys of the ``run`` block, checked with one-line errors, and small helpers on jobs.

Schema (defaults in brackets)::

    run:
      executor: local | ray          [local]
      workers: <int >= 1> | auto     [1]    local executor only
      threads_per_worker: <int >= 1> [1]
      device: auto | cpu | cuda      [auto]
      ray:                                  ray executor only
        address: null | auto | "host:port" | "ray://host:port"   [null: start a Ray instance on this machine]
        cpus_per_run: <number > 0>   [threads_per_worker]
        gpus_per_run: <number >= 0>  [1 when device is cuda, else 0]
        max_retries: <int >= 0>      [3]    retries of a run whose worker or node died

A run of ``N`` DDP processes (``train.ddp: N``) asks for ``N`` times ``cpus_per_run`` and ``gpus_per_run``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from asgl.errors import UserError

EXECUTORS = ("local", "ray")
DEVICES = ("auto", "cpu", "cuda")
RAY_KEYS = ("address", "cpus_per_run", "gpus_per_run", "max_retries")
_ADDRESS = re.compile(r"^(ray://)?[^\s:/]+(:[^\s:/]+)*:\d{1,5}$")


def is_int(value: Any, low: int) -> bool:
    """``value`` is an ``int`` (not a ``bool``) of at least ``low``."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _is_number(value: Any, low: float, strict: bool) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    return value > low if strict else value >= low


class RunBlockError(ValueError, UserError):
    """A bad executor setting — the ``run`` block of ``params.yaml`` or a run's ``train.ddp``; the message names
    the key (``run.workers``, ``run.ray.address``, ``train.ddp`` …)."""


def check_run_block(run: Mapping[str, Any]) -> None:
    """Raise :class:`RunBlockError` naming the key (``run.workers``, ``run.ray.address``, …) for a bad value."""
    executor = run.get("executor", "local")
    if executor not in EXECUTORS:
        raise RunBlockError(f"run.executor must be one of {list(EXECUTORS)}, got {executor!r}")
    workers = run.get("workers", 1)
    if workers != "auto" and not is_int(workers, 1):
        raise RunBlockError(f"run.workers must be an integer >= 1 or 'auto', got {workers!r}")
    threads = run.get("threads_per_worker", 1)
    if not is_int(threads, 1):
        raise RunBlockError(f"run.threads_per_worker must be an integer >= 1, got {threads!r}")
    device = run.get("device", "auto")
    if device not in DEVICES:
        raise RunBlockError(f"run.device must be one of {list(DEVICES)}, got {device!r}")
    ray = run.get("ray")
    if ray is None:
        return
    if not isinstance(ray, Mapping):
        raise RunBlockError(f"run.ray must be a mapping with keys {list(RAY_KEYS)}, got {ray!r}")
    unknown = sorted(set(ray) - set(RAY_KEYS))
    if unknown:
        raise RunBlockError(f"run.ray: unknown key(s) {unknown}; allowed: {list(RAY_KEYS)}")
    address = ray.get("address")
    if address is not None and address != "auto" and not (isinstance(address, str) and _ADDRESS.match(address)):
        raise RunBlockError(f"run.ray.address must be null (start Ray here), 'auto' (the cluster this node "
                             f"joined) or 'host:port' / 'ray://host:port', got {address!r}")
    if "cpus_per_run" in ray and not _is_number(ray["cpus_per_run"], 0, strict=True):
        raise RunBlockError(f"run.ray.cpus_per_run must be a number > 0, got {ray['cpus_per_run']!r}")
    if "gpus_per_run" in ray and not _is_number(ray["gpus_per_run"], 0, strict=False):
        raise RunBlockError(f"run.ray.gpus_per_run must be a number >= 0, got {ray['gpus_per_run']!r}")
    if "max_retries" in ray and not is_int(ray["max_retries"], 0):
        raise RunBlockError(f"run.ray.max_retries must be an integer >= 0, got {ray['max_retries']!r}")
    if executor == "ray" and device == "cuda" and ray_settings(run)["gpus_per_run"] == 0:
        raise RunBlockError("run.ray.gpus_per_run is 0 but run.device is cuda: Ray would give the runs no GPU; "
                             "set gpus_per_run > 0 (fractions share a GPU)")


def ray_settings(run: Mapping[str, Any]) -> dict[str, Any]:
    """``run.ray`` with its defaults filled in (see the module docstring)."""
    ray = dict(run.get("ray") or {})
    return {"address": ray.get("address"),
            "cpus_per_run": ray.get("cpus_per_run", int(run.get("threads_per_worker", 1))),
            "gpus_per_run": ray.get("gpus_per_run", 1 if run.get("device") == "cuda" else 0),
            "max_retries": ray.get("max_retries", 3)}


def ddp_size(job: Any) -> int:
    """Processes of one run: ``job["settings"]["train"]["ddp"]`` when present (read defensively), else 1."""
    if not isinstance(job, Mapping):
        return 1
    settings = job.get("settings")
    train = settings.get("train") if isinstance(settings, Mapping) else None
    size = train.get("ddp", 1) if isinstance(train, Mapping) else 1
    if not is_int(size, 1):
        raise RunBlockError(f"train.ddp must be an integer >= 1 (processes of one run), got {size!r}")
    return size


def job_name(job: Any, index: int) -> str:
    """``run <method>/<dataset>/w<width>-s<seed>`` for a train job, else ``job <index>``."""
    settings = job.get("settings") if isinstance(job, Mapping) else None
    if isinstance(settings, Mapping) and {"method", "dataset", "width", "seed"} <= set(settings):
        return f"run {settings['method']}/{settings['dataset']}/w{settings['width']:g}-s{settings['seed']}"
    return f"job {index}"


def named_error(exc: BaseException, name: str) -> BaseException:
    """``exc`` with ``name`` in front of its message, same type (caught where the original would be), caused
    by ``exc``; an exception that cannot be rebuilt from one message keeps its own and gets a note."""
    message = f"{name}: {exc}"
    try:
        renamed = type(exc)(message)
    except Exception:
        renamed = None
    if renamed is None or str(renamed) != message:
        exc.add_note(f"in {name}")
        return exc
    renamed.__cause__ = exc
    return renamed

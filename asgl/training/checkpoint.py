"""Per-epoch checkpoints: written atomically, read with ``torch.load(weights_only=True)``.

``run_dir/checkpoint.pt`` holds a dict of tensors and plain Python values only::

    {"format": 1, "epoch": e,                  # epochs completed
     "model": state_dict, "optim": {"optimizers": {...}, "schedulers": {...}},
     "scaler": state_dict | {}, "rng": {"torch": [uint8 tensor per rank], "cuda": [...]},
     "history": [{column: number}, …], "config": {field: value}}

RNG states are stored as tensors (one per rank) so that ``weights_only`` loading accepts them. The file is
replaced only after a complete epoch, so a failure (e.g. a non-finite loss) leaves the last good one.

Format 2 adds ``"sha256"``: a digest of every other entry (tensor bytes included), checked on loading, because
``torch.load`` accepts a bit flip inside tensor data silently. A file that cannot be read, fails that check
or holds anything but tensors and plain data raises :class:`CheckpointError` (one line, naming the file).
Format-1 files (no digest) still load.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

from asgl.errors import UserError
from asgl.io import atomic_save

CHECKPOINT_NAME = "checkpoint.pt"
FORMAT = 2
LEGACY_FORMATS = (1,)  # loaded without a digest check


class CheckpointError(ValueError, UserError):
    """A checkpoint that is truncated, corrupted or unsafe; the message names the file and what to do."""


def _update(h: Any, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        h.update(f"D{len(value)}".encode())
        for key, item in value.items():
            h.update(repr(key).encode())
            _update(h, item)
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}{len(value)}".encode())
        for item in value:
            _update(h, item)
    else:
        h.update(f"{type(value).__name__}:{value!r};".encode())


def payload_digest(payload: dict[str, Any]) -> str:
    """sha256 over every entry of ``payload`` except ``"sha256"`` (tensor dtypes, shapes and bytes included)."""
    h = hashlib.sha256()
    _update(h, {k: v for k, v in payload.items() if k != "sha256"})
    return h.hexdigest()


def rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    """This process's torch RNG states: CPU generator, and the current CUDA device's when on CUDA."""
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, torch.Tensor], device: torch.device) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"].cpu())
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


def checkpoint_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / CHECKPOINT_NAME


def save_checkpoint(run_dir: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (see the module docstring) atomically; returns the path."""
    path = checkpoint_path(run_dir)
    body = {"format": FORMAT, **payload}
    body["sha256"] = payload_digest(body)
    atomic_save(path, lambda handle: torch.save(body, handle))
    return path


def load_checkpoint(run_dir: str | Path) -> dict[str, Any] | None:
    """The checkpoint of ``run_dir`` (tensors on CPU), or ``None`` when there is none.

    Raises :class:`CheckpointError` for a truncated, corrupted or unsafe file.
    """
    path = checkpoint_path(run_dir)
    if not path.exists():
        return None
    advice = "delete it to restart the run from scratch (or put back an intact copy)"
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (PermissionError, IsADirectoryError, FileNotFoundError):
        raise
    except Exception as exc:  # a damaged file can fail in any of the unpickler's steps (a seek: OSError EINVAL)
        raise CheckpointError(f"{path}: checkpoint unreadable or unsafe ({_reason(exc)}); {advice}") from None
    fmt = payload.get("format") if isinstance(payload, dict) else None
    if fmt not in (FORMAT, *LEGACY_FORMATS):
        raise CheckpointError(f"{path}: checkpoint format {fmt!r}, expected {FORMAT}; {advice}")
    if fmt == FORMAT and payload.get("sha256") != payload_digest(payload):
        raise CheckpointError(f"{path}: checkpoint corrupted (its content does not match its sha256); {advice}")
    payload.pop("sha256", None)
    return payload


def _reason(exc: BaseException) -> str:
    """One line: the exception type and the most telling line of its message."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    telling = next((line for line in lines if "Unsupported global" in line), lines[0] if lines else "")
    return f"{type(exc).__name__}: {telling[:200]}"

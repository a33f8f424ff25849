"""Per-epoch checkpoints: written atomically, read with ``torch.load(weights_only=True)``.

``run_dir/checkpoint.pt`` holds a dict of tensors and plain Python values only::

    {"format": 1, "epoch": e,                  # epochs completed
     "model": state_dict, "optim": {"optimizers": {...}, "schedulers": {...}},
     "scaler": state_dict | {}, "rng": {"torch": [uint8 tensor per rank], "cuda": [...]},
     "history": [{column: number}, …], "config": {field: value}}

RNG states are stored as tensors (one per rank) so that ``weights_only`` loading accepts them. The file is
replaced only after a complete epoch, so a failure (e.g. a non-finite loss) leaves the last good one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from asgl.io import atomic_save

CHECKPOINT_NAME = "checkpoint.pt"
FORMAT = 1


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
    atomic_save(path, lambda handle: torch.save({"format": FORMAT, **payload}, handle))
    return path


def load_checkpoint(run_dir: str | Path) -> dict[str, Any] | None:
    """The checkpoint of ``run_dir`` (tensors on CPU), or ``None`` when there is none."""
    path = checkpoint_path(run_dir)
    if not path.exists():
        return None
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("format") != FORMAT:
        raise ValueError(f"{path}: checkpoint format {payload.get('format')!r}, expected {FORMAT}")
    return payload

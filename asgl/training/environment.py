"""Where a run ran: git commit, package versions, device, threads (written to ``run_dir/environment.json``).

The git commit is read from the repository holding this package (``git rev-parse HEAD`` there), with a
``dirty`` flag when tracked files differ from it; both are ``None`` outside a git checkout.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

PACKAGES = ("torch", "numpy", "numba", "snntorch", "neurobench", "triton", "tonic", "dvc")


def _git(*args: str) -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10,
                             check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_state() -> dict[str, Any]:
    """``{"git_sha": str | None, "git_dirty": bool | None}``."""
    sha = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no") if sha else None
    return {"git_sha": sha, "git_dirty": None if status is None else bool(status)}


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution, ``None`` when absent."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def device_info(device: torch.device) -> dict[str, Any]:
    """Device type and name (the GPU model on CUDA, the processor otherwise)."""
    info: dict[str, Any] = {"device": str(device)}
    if device.type == "cuda":
        info["device_name"] = torch.cuda.get_device_name(device)
        info["cuda_version"] = torch.version.cuda
    else:
        info["device_name"] = platform.processor() or platform.machine()
    return info


def environment(device: torch.device, world_size: int = 1) -> dict[str, Any]:
    """Everything above plus Python, platform, torch threads and world size."""
    return {
        **git_state(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        **device_info(device),
        "torch_threads": torch.get_num_threads(),
        "world_size": world_size,
    }

"""Where a run ran: code, environment, image, device (written to ``run_dir/environment.json``).

What identifies the code and the installed packages:

* ``git_sha``, ``git_dirty``, ``git_source``: the commit of the repository holding this package
  (``git rev-parse HEAD`` there) with a flag for uncommitted changes to tracked files, ``git_source = "git"``.
  Where git or ``.git`` is absent (the Docker image) the commit baked into the image at build time
  (``ASGL_IMAGE_REVISION``) stands in, ``git_source = "image"``, ``git_dirty = None``; with neither, all
  three are ``None``.
* ``image``: ``{"name", "version", "revision", "base"}`` from the image's ``ASGL_IMAGE``,
  ``ASGL_IMAGE_VERSION``, ``ASGL_IMAGE_REVISION``, ``ASGL_IMAGE_BASE`` (docker/Dockerfile), ``None``
  outside an image. A revision of ``unknown`` (the build argument was not given) is recorded as ``None``.
* ``lock``: ``{"file", "sha256", "drift"}``: the SHA-256 of ``requirements.lock`` (the environment's
  pins, every package with its hashes) and, for each package of :data:`PACKAGES` whose installed version
  differs from its pin, ``"name": "locked X, installed Y"`` (empty when the environment follows the lock).
  ``None`` when the lock file is absent.

This module reads the process environment and the repository by design: recording them is its purpose. The
readers take an ``env`` mapping and a ``root`` folder so that tests can pass their own.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import subprocess
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

PACKAGES = ("torch", "numpy", "numba", "snntorch", "neurobench", "triton", "tonic", "dvc", "ray")
ROOT = Path(__file__).resolve().parents[2]
LOCK_NAME = "requirements.lock"
IMAGE_VARIABLES = {"name": "ASGL_IMAGE", "version": "ASGL_IMAGE_VERSION", "revision": "ASGL_IMAGE_REVISION",
                   "base": "ASGL_IMAGE_BASE"}
UNKNOWN = "unknown"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10,
                             check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def image_info(env: Mapping[str, str] | None = None) -> dict[str, str | None] | None:
    """The image's identity from its ``ASGL_IMAGE*`` variables; ``None`` when ``ASGL_IMAGE`` is unset."""
    env = os.environ if env is None else env
    if not env.get(IMAGE_VARIABLES["name"]):
        return None
    info = {key: env.get(variable) or None for key, variable in IMAGE_VARIABLES.items()}
    if info["revision"] == UNKNOWN:
        info["revision"] = None
    return info


def git_state(root: Path = ROOT, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``{"git_sha": str | None, "git_dirty": bool | None, "git_source": "git" | "image" | None}``."""
    sha = _git(root, "rev-parse", "HEAD")
    if sha:
        status = _git(root, "status", "--porcelain", "--untracked-files=no")
        return {"git_sha": sha, "git_dirty": None if status is None else bool(status), "git_source": "git"}
    image = image_info(env)
    if image is not None and image["revision"]:
        return {"git_sha": image["revision"], "git_dirty": None, "git_source": "image"}
    return {"git_sha": None, "git_dirty": None, "git_source": None}


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution, ``None`` when absent."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def lock_state(root: Path = ROOT, installed: Mapping[str, str | None] | None = None) -> dict[str, Any] | None:
    """``{"file", "sha256", "drift"}`` of ``root/requirements.lock``, ``None`` without one.

    ``drift`` compares ``installed`` (name → version; default: :func:`package_versions`) with the lock's
    ``name==version`` pins, ignoring a local version label (``2.14.1+cu130`` follows ``2.14.1``).
    """
    path = root / LOCK_NAME
    try:
        data = path.read_bytes()
    except OSError:
        return None
    pins = {_canonical(name): version for name, version in _PIN.findall(data.decode("utf-8", "replace"))}
    installed = package_versions() if installed is None else installed
    drift = {}
    for name, version in installed.items():
        locked = pins.get(_canonical(name))
        if locked is not None and (version or "").split("+")[0] != locked:
            drift[name] = f"locked {locked}, installed {version or 'nothing'}"
    return {"file": LOCK_NAME, "sha256": hashlib.sha256(data).hexdigest(), "drift": drift}


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
    packages = package_versions()
    return {
        **git_state(),
        "image": image_info(),
        "lock": lock_state(installed=packages),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": packages,
        **device_info(device),
        "torch_threads": torch.get_num_threads(),
        "world_size": world_size,
    }

#!/usr/bin/env python3
"""GPU preflight: can this container train on a GPU?  One line on stderr either way; exit 0 = yes, 1 = no.

Run by docker/entrypoint.sh before ``dvc repro`` of a profile that trains on CUDA, so that a missing GPU or
an old driver stops the run at once instead of after the datasets (~11 GB for the paper profile) have been
downloaded and prepared. Also usable by hand (``python docker/gpu_preflight.py --require``) and by
scripts/gpu_check.py.

Checks, in order (the first two without importing torch):

1. an NVIDIA driver is present: ``nvidia-smi --query-gpu=driver_version``, else the kernel module's
   ``/proc/driver/nvidia/version`` (path overridable by ``ASGL_NVIDIA_PROC_VERSION``);
2. it is recent enough for the CUDA major of the installed torch build (the ``nvidia-cuda-runtime`` wheel):
   CUDA 13 needs driver >= 580, CUDA 12 >= 525 (NVIDIA's minimum drivers for minor-version compatibility);
3. torch sees a CUDA device and can allocate on it.

``--profile FILE``: do nothing (exit 0, silent) unless the profile trains on CUDA (``run.device`` or any
``datasets.<id>.train.device`` starting with ``cuda``). ``--require``: always check.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

MIN_DRIVER = {13: 580, 12: 525}
PROC_VERSION = "/proc/driver/nvidia/version"
PREFIX = "gpu-preflight"
HINT = ("run the GPU service on a host with the NVIDIA driver and the NVIDIA Container Toolkit "
        "(docs/docker.md, Prerequisites), or use the CPU service benchmark-cpu")


def profile_needs_gpu(path: Path) -> bool:
    """Whether the profile at ``path`` trains any dataset on CUDA."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise SystemExit(f"{PREFIX}: cannot read the profile {path}: {exc.strerror}") from exc
    devices = [str((data.get("run") or {}).get("device", ""))]
    for entry in (data.get("datasets") or {}).values():
        devices.append(str(((entry or {}).get("train") or {}).get("device", "")))
    return any(device.startswith("cuda") for device in devices)


def driver_version() -> str | None:
    """The NVIDIA driver version (``"580.65.06"``), or ``None`` when no driver is visible."""
    smi = shutil.which("nvidia-smi")
    if smi is not None:
        try:
            out = subprocess.run([smi, "--query-gpu=driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError):
            out = None
        if out is not None and out.returncode == 0:
            match = re.search(r"\d+\.\d+(?:\.\d+)?", out.stdout)
            if match:
                return match.group(0)
    try:
        text = Path(os.environ.get("ASGL_NVIDIA_PROC_VERSION", PROC_VERSION)).read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"Kernel Module(?:\s+for\s+\S+)?\s+(\d+\.\d+(?:\.\d+)?)", text)
    return match.group(1) if match else None


def cuda_major() -> int:
    """CUDA major version of the installed torch build, read from its CUDA runtime wheel (default 13)."""
    for name in ("nvidia-cuda-runtime", "nvidia-cuda-runtime-cu13", "nvidia-cuda-runtime-cu12"):
        try:
            return int(metadata.version(name).split(".")[0])
        except (metadata.PackageNotFoundError, ValueError):
            continue
    return 13


def torch_version() -> str:
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "(not installed)"


def check() -> tuple[bool, str]:
    """``(ok, one-line message)`` of the three checks."""
    cuda = cuda_major()
    need = MIN_DRIVER.get(cuda, max(MIN_DRIVER.values()))
    requirement = f"torch {torch_version()} is the CUDA {cuda} build and needs an NVIDIA driver >= {need}"
    found = driver_version()
    if found is None:
        return False, f"no NVIDIA GPU driver visible in this container; {requirement}: {HINT}"
    if int(found.split(".")[0]) < need:
        return False, f"NVIDIA driver {found} is too old: {requirement}; update the host's driver"
    import torch

    try:
        available = torch.cuda.is_available()
        if available:
            torch.zeros(1, device="cuda")
    except RuntimeError as exc:
        return False, f"NVIDIA driver {found}, but torch cannot use the GPU: {str(exc).splitlines()[0]}"
    if not available:
        return False, f"NVIDIA driver {found}, but torch sees no CUDA device; {HINT}"
    names = sorted({torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())})
    return True, (f"driver {found} (>= {need}), {torch.cuda.device_count()} GPU(s): {', '.join(names)}; "
                  f"torch {torch.__version__}, CUDA {torch.version.cuda}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--profile", type=Path, help="check only if this profile trains on CUDA")
    group.add_argument("--require", action="store_true", help="check unconditionally")
    args = parser.parse_args(argv)
    if args.profile is not None and not profile_needs_gpu(args.profile):
        return 0
    ok, message = check()
    print(f"{PREFIX}: {'ok' if ok else 'error'}: {message}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

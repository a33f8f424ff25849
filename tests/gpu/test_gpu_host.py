"""On a GPU host (marker ``gpu``, run by ``make gpu-check``): the container's preflight accepts it, and a run's
environment record names the device."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from asgl.training.environment import environment

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def test_preflight_accepts_this_host():
    sys.path.insert(0, str(ROOT / "docker"))
    try:
        import gpu_preflight
    finally:
        sys.path.pop(0)
    ok, message = gpu_preflight.check()
    assert ok, message
    assert f"CUDA {torch.version.cuda}" in message


def test_environment_names_the_gpu():
    record = environment(torch.device("cuda", 0))
    assert record["device"] == "cuda:0"
    assert record["device_name"] == torch.cuda.get_device_name(0)
    assert record["cuda_version"] == torch.version.cuda

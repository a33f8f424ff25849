"""Throughput in samples per second, after warm-up, with CUDA work synchronised.

``throughput = Σ_{i ≥ w} n_i / (t_end − t_w)``: the samples of the batches after the first ``w`` (warm-up:
allocator, autotuning, numba compilation) divided by the wall time from the end of batch ``w − 1`` to the end
of the last batch, with ``torch.cuda.synchronize`` at both ends on CUDA. Train throughput counts forward,
backward and optimiser steps (measured inside the trainer, last epoch); inference throughput counts
``eval()`` forward passes under ``torch.no_grad``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import torch


def synchronize(device: torch.device | str) -> None:
    """Wait for queued CUDA work on ``device`` (no-op on CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class ThroughputMeter:
    """Count samples and time after ``warmup`` calls of :meth:`step`."""

    def __init__(self, device: torch.device | str, warmup: int = 2) -> None:
        if warmup < 1:
            raise ValueError(f"warmup must be >= 1 (the clock starts at the end of a batch), got {warmup!r}")
        self.device = torch.device(device)
        self.warmup = warmup
        self.calls = 0
        self.samples = 0
        self._start: float | None = None

    def step(self, samples: int) -> None:
        """Call after each batch with its number of samples."""
        self.calls += 1
        if self.calls == self.warmup:
            synchronize(self.device)
            self._start = time.perf_counter()
        elif self.calls > self.warmup:
            self.samples += samples

    def samples_per_second(self) -> float | None:
        """Throughput so far, or ``None`` when no batch after the warm-up was timed."""
        if self._start is None or self.samples == 0:
            return None
        synchronize(self.device)
        return self.samples / (time.perf_counter() - self._start)


def measure_throughput(run: Callable[[Any], Any], batches: Iterable[tuple[Any, int]],
                       device: torch.device | str, warmup: int = 2) -> float | None:
    """Samples/s of ``run(batch)`` over ``(batch, n_samples)`` pairs, after ``warmup`` batches."""
    meter = ThroughputMeter(device, max(1, warmup))
    for batch, n in batches:
        run(batch)
        meter.step(n)
    return meter.samples_per_second()


def inference_throughput(model: torch.nn.Module, batches: Iterable[tuple[torch.Tensor, int]],
                         device: torch.device | str, warmup: int = 2) -> float | None:
    """``eval()`` forward throughput of ``model`` (restores its training flag)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return measure_throughput(model, batches, device, warmup)
    finally:
        model.train(was_training)

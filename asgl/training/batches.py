"""Seeded index batching of in-memory tensors and the sample-major → time-major conversion.

Data come as tensors ``(x, y)`` with samples first: ``x[N, T, ...]`` for temporal data, ``x[N, C, H, W]``
for static images (repeated over time inside the model), ``y[N]`` integer labels. Each epoch ``e`` draws the
permutation ``π_e = randperm(N)`` from a generator seeded with ``(seed, e)`` alone, so the order of any
epoch is known without replaying earlier ones (what makes resuming exact), and is the same on every rank.
A model-ready batch is ``x[idx]`` for static data and ``x[idx].transpose(0, 1)`` → ``[T, B, ...]`` when
``time_major_input`` is set.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

_EPOCH_STRIDE = 1_000_003


def check_data(name: str, data: tuple[torch.Tensor, torch.Tensor], time_major_input: bool) -> None:
    """Validate ``(x, y)``: same length, integer labels, at least 3 dims for temporal data."""
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise TypeError(f"{name} must be a pair of tensors (x, y)")
    x, y = data
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
        raise TypeError(f"{name}: x and y must be tensors, got {type(x).__name__}, {type(y).__name__}")
    if x.shape[0] != y.shape[0] or y.dim() != 1:
        raise ValueError(f"{name}: x {tuple(x.shape)} and y {tuple(y.shape)} must both have N samples first "
                         "and y must be 1-D")
    if y.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise TypeError(f"{name}: labels must be integers, got {y.dtype}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if time_major_input and x.dim() < 3:
        raise ValueError(f"{name}: time_major_input expects x[N, T, ...] with >= 3 dims, got {tuple(x.shape)}")


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """``π_e``: a permutation of ``range(n)`` determined by ``(seed, epoch)`` only."""
    generator = torch.Generator().manual_seed(seed * _EPOCH_STRIDE + epoch)
    return torch.randperm(n, generator=generator)


def global_batches(n: int, batch_size: int, seed: int, epoch: int, min_size: int = 1) -> list[torch.Tensor]:
    """Consecutive slices of ``π_e`` of ``batch_size`` indices; a last batch below ``min_size`` is dropped."""
    perm = epoch_permutation(n, seed, epoch)
    batches = list(torch.split(perm, batch_size))
    if batches and batches[-1].numel() < min_size:
        batches.pop()
    return batches


def model_input(x: torch.Tensor, time_major_input: bool) -> torch.Tensor:
    """``[B, T, ...] → [T, B, ...]`` (contiguous) when ``time_major_input``; otherwise ``x`` as it is.

    Compact storage dtypes (uint8 event counts and spike rasters, float16 features) become float32 here,
    batch by batch, so prepared caches stay small in memory.
    """
    if not x.is_floating_point() or x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    return x.transpose(0, 1).contiguous() if time_major_input else x


def eval_batches(data: tuple[torch.Tensor, torch.Tensor], batch_size: int, time_major_input: bool,
                 device: torch.device, limit: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Model-ready ``(input, target)`` batches in data order (the first ``limit`` samples if given)."""
    x, y = data
    n = x.shape[0] if limit is None else min(limit, x.shape[0])
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        yield model_input(x[start:stop], time_major_input).to(device), y[start:stop].to(device)

"""Readouts from per-step logits ``[T, B, K]``."""

from __future__ import annotations

import torch

from asgl.layers import time_mean


def readout_mean(logits: torch.Tensor) -> torch.Tensor:
    """Rate readout for the CE loss and accuracy: ``ȳ[b, k] = (1/T) Σ_t y[t, b, k]``, ``[T, B, K] → [B, K]``.

    The TET loss uses the per-step logits directly instead.
    """
    if logits.dim() != 3:
        raise ValueError(f"expected per-step logits [T, B, K], got shape {tuple(logits.shape)}")
    return time_mean(logits)

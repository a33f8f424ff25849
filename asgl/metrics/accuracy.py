"""Top-1 accuracy of per-step logits.

The prediction of a network with per-step logits ``z[T, B, K]`` is ``argmax_k (1/T) Σ_t z_t[b, k]`` (the
time-mean readout used for training with cross-entropy); ``[B, K]`` logits are used as they are.
Accuracy = (number of predictions equal to the label) / ``B``, in ``[0, 1]``.
"""

from __future__ import annotations

import torch


def predictions(logits: torch.Tensor) -> torch.Tensor:
    """Predicted class per sample, ``[B]``, from ``[T, B, K]`` (time-mean) or ``[B, K]`` logits."""
    if logits.dim() == 3:
        logits = logits.float().mean(0)
    if logits.dim() != 2:
        raise ValueError(f"expected logits [T, B, K] or [B, K], got shape {tuple(logits.shape)}")
    return logits.argmax(-1)


def count_correct(logits: torch.Tensor, target: torch.Tensor) -> int:
    """Number of samples whose prediction equals ``target`` (``[B]`` integer labels)."""
    return int((predictions(logits) == target).sum().item())


def top1_accuracy(logits: torch.Tensor, target: torch.Tensor) -> float:
    """Fraction of correct top-1 predictions, in ``[0, 1]``."""
    if target.numel() == 0:
        raise ValueError("top1_accuracy of an empty batch is undefined")
    return count_correct(logits, target) / target.numel()

"""Shared test helpers: the tiny spiking network most trainer, fault and contract tests train."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class TinyNet(nn.Module):
    """``Linear(F → H) → neuron → Linear(H → K)`` on ``[T, B, F]``, per-step logits ``[T, B, K]``.

    A sample with more than one feature dimension is flattened first (``[T, B, 2, 6, 6] → [T, B, 72]``,
    ``F = 72``). Layers are created in the order ``fc1``, neuron, ``fc2``, so a seed fixes every weight.
    """

    def __init__(self, neuron: Callable[[], nn.Module], in_features: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.fc1, self.neuron, self.fc2 = nn.Linear(in_features, hidden), neuron(), nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.neuron(self.fc1(x.flatten(2))))

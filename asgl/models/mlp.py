"""Fully connected spiking networks: ``mlp_snn`` (features ``[T, B, F]``) and ``shd_net`` (SHD rasters).

Input: ``[T, B, F]`` (a static ``[B, F]`` is repeated over ``time_steps`` when ``time_steps`` is set);
output: per-step logits ``[T, B, K]``. Layout, for hidden sizes ``h₁ … h_L``::

    Linear(F → h₁) → BN → neuron → … → Linear(h_{L−1} → h_L) → BN → neuron → Linear(h_L → K)

The hidden Linears have no bias (the batch norm supplies it). ``shd_net`` is feed-forward only: a
recurrent layer would need the previous step's spikes inside the time loop, and the LIF is the package's
only time loop, so recurrence is not implemented.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from asgl.layers import RepeatEncoder, TimeDistributed
from asgl.models.base import NeuronFactory, SpikingModel, make_norm


class SpikingMLP(SpikingModel):
    """Stack of ``Linear → BN → neuron`` layers and a Linear classifier (see the module docstring).

    Args:
        neuron: zero-argument neuron factory.
        in_features: ``F``.
        hidden: hidden sizes ``h₁ … h_L`` (``L ≥ 1`` spiking layers).
        num_classes: ``K``.
        time_steps: ``T`` for static ``[B, F]`` inputs, or ``None`` to accept time-major inputs only.
        norm: ``"tdbn"``, ``"threshold"``, or ``None`` (no batch norm; the hidden Linears then have a bias).
    """

    def __init__(self, neuron: NeuronFactory, in_features: int, hidden: Sequence[int], num_classes: int,
                 time_steps: int | None, norm: str | None = "tdbn") -> None:
        super().__init__()
        if len(hidden) < 1:
            raise ValueError("hidden must list at least one layer size")
        self.encoder = RepeatEncoder(time_steps, static_ndim=2)
        layers: list[nn.Module] = []
        features = in_features
        for size in hidden:
            layers.append(TimeDistributed(nn.Linear(features, size, bias=norm is None)))
            if norm is not None:
                layers.append(make_norm(norm, size))
            layers.append(self.new_neuron(neuron))
            features = size
        self.features = nn.Sequential(*layers)
        self.classifier = TimeDistributed(nn.Linear(features, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(self.encoder(x)))


def mlp_snn(neuron: NeuronFactory, in_features: int, num_classes: int = 10, hidden: int = 128, depth: int = 3,
            time_steps: int | None = None, norm: str | None = "tdbn") -> SpikingMLP:
    """``depth`` spiking layers of ``hidden`` units on ``[T, B, in_features]`` (e.g. log-mel frames)."""
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth!r}")
    return SpikingMLP(neuron, in_features, [hidden] * depth, num_classes, time_steps, norm)


def shd_net(neuron: NeuronFactory, num_classes: int = 20, in_features: int = 700,
            hidden: Sequence[int] = (256, 256), norm: str | None = "tdbn") -> SpikingMLP:
    """Feed-forward SHD classifier on spike rasters ``[T, B, 700]`` (time-major input only)."""
    return SpikingMLP(neuron, in_features, list(hidden), num_classes, None, norm)

"""Spiking MLP that reads a whole spectrogram clip as one pattern: ``clip_mlp``.

A per-frame model (``mlp_snn``, ``audio_convnet``) sees one spectrogram frame per step and must integrate the
clip in its membranes; a timbre, though, is an envelope over time (attack, decay, vibrato) as much as a
spectral shape. This model reads the clip the way a linear classifier on the flattened features does — every
frame of every band at once — and lets the spikes unfold over ``time_steps`` presentation steps::

    [T_in, B, F] → [B, T_in·F]  (frames side by side) → repeated over S = time_steps steps → [S, B, T_in·F]
    Linear(T_in·F → h₁) → BN → neuron → … → Linear(h_{L−1} → h_L) → BN → neuron → Linear(h_L → K)

Input: ``[T_in, B, F]`` (time-major, as prepared audio sets are stored) or ``[B, T_in, F]`` is not accepted:
the frame axis must come first. Output: per-step logits ``[S, B, K]``.
"""

from __future__ import annotations

import torch

from asgl.models.base import NeuronFactory
from asgl.models.mlp import SpikingMLP


class SpikingClipMLP(SpikingMLP):
    """:class:`SpikingMLP` on the flattened clip ``[B, T_in·F]``, presented for ``time_steps`` steps."""

    def __init__(self, neuron: NeuronFactory, frames: int, in_features: int, hidden: list[int], num_classes: int,
                 time_steps: int, norm: str | None = "tdbn") -> None:
        super().__init__(neuron, frames * in_features, hidden, num_classes, time_steps, norm)
        self.frames, self.bands = frames, in_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[0] != self.frames or x.shape[2] != self.bands:
            raise ValueError(f"expected a clip [T_in={self.frames}, B, F={self.bands}], got {tuple(x.shape)}")
        return super().forward(x.transpose(0, 1).reshape(x.shape[1], -1))


def clip_mlp(neuron: NeuronFactory, frames: int, in_features: int, num_classes: int = 10, hidden: int = 128,
             depth: int = 2, time_steps: int = 4, norm: str | None = "tdbn") -> SpikingClipMLP:
    """``depth`` spiking layers of ``hidden`` units over the whole clip, presented for ``time_steps`` steps."""
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth!r}")
    return SpikingClipMLP(neuron, frames, in_features, [hidden] * depth, num_classes, time_steps, norm)

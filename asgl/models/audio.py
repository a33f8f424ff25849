"""Spiking 1-D conv net over spectrogram frames ``[T, B, F]`` (speech, instruments).

Each time step is one spectrogram frame of ``F`` frequency bins (e.g. log-mel). The convolutions run
along the *frequency* axis of each frame, with one input channel: ``[T, B, F] → [T, B, 1, F]``. Time is
left to the LIF neurons (the package's only time loop); a convolution along time would mix steps
outside the neurons. Layout, for conv channels ``c₁ … c_L``::

    [conv1d_k(c_{i−1} → c_i) → BN → neuron → avg-pool 2]  × L      (along frequency, F → ⌊F/2^L⌋)
    flatten → Linear(c_L·⌊F/2^L⌋ → h) → BN → neuron → Linear(h → K)

Input: ``[T, B, F]`` (time-major only); output: per-step logits ``[T, B, K]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from asgl.layers import FlattenFeatures, RepeatEncoder, TimeDistributed
from asgl.models.base import NeuronFactory, SpikingModel, make_norm


class SpikingAudioConvNet(SpikingModel):
    """1-D spiking conv net over frequency (see the module docstring).

    Args:
        neuron: zero-argument neuron factory.
        in_features: frequency bins ``F`` per frame.
        num_classes: ``K``.
        channels: conv channels ``c₁ … c_L``; each block halves the frequency axis.
        hidden: width ``h`` of the spiking fully connected layer.
        kernel_size: odd conv kernel size along frequency (``same`` padding).
        norm: ``"tdbn"`` or ``"threshold"``.
    """

    def __init__(self, neuron: NeuronFactory, in_features: int, num_classes: int, channels: Sequence[int],
                 hidden: int, kernel_size: int = 3, norm: str = "tdbn") -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd (same padding), got {kernel_size!r}")
        if in_features < 2 ** len(channels):
            raise ValueError(f"{len(channels)} pooling blocks need F >= {2 ** len(channels)}, "
                             f"got {in_features}")
        self.encoder = RepeatEncoder(None, static_ndim=2)
        layers: list[nn.Module] = []
        previous, length = 1, in_features
        for width in channels:
            layers += [TimeDistributed(nn.Conv1d(previous, width, kernel_size, padding=kernel_size // 2,
                                                 bias=False)),
                       make_norm(norm, width), self.new_neuron(neuron), TimeDistributed(nn.AvgPool1d(2))]
            previous, length = width, length // 2
        self.features = nn.Sequential(*layers)
        self.flatten = FlattenFeatures()
        self.head = nn.Sequential(TimeDistributed(nn.Linear(previous * length, hidden, bias=False)),
                                  make_norm(norm, hidden), self.new_neuron(neuron),
                                  TimeDistributed(nn.Linear(hidden, num_classes)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.encoder(x).unsqueeze(2)  # [T, B, F] → [T, B, 1, F]
        return self.head(self.flatten(self.features(x)))


def audio_convnet(neuron: NeuronFactory, in_features: int = 40, num_classes: int = 10,
                  channels: Sequence[int] = (32, 64, 128), hidden: int = 256, norm: str = "tdbn",
                  ) -> SpikingAudioConvNet:
    """Spectrogram conv net: 32-64-128 channels along frequency, hidden 256; input ``[T, B, F]``."""
    return SpikingAudioConvNet(neuron, in_features, num_classes, list(channels), hidden, 3, norm)


def audio_convnet_tiny(neuron: NeuronFactory, in_features: int = 40, num_classes: int = 10,
                       channels: Sequence[int] = (8, 16), hidden: int = 64, norm: str = "tdbn",
                       ) -> SpikingAudioConvNet:
    """CPU-sized spectrogram conv net: 8-16 channels along frequency, hidden 64; input ``[T, B, F]``."""
    return SpikingAudioConvNet(neuron, in_features, num_classes, list(channels), hidden, 3, norm)

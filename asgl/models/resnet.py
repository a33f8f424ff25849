"""Spiking ResNets with the CIFAR stem: ResNet-18, ResNet-19 and a tiny variant for 8×8 digits.

Input: a static image ``[B, C, H, W]`` (repeated over ``time_steps``, direct encoding) or a time-major
``[T, B, C, H, W]``; output: per-step logits ``[T, B, K]``.

Layout (every conv is bias-free and followed by batch norm over ``T·B``)::

    stem:   conv3×3(C_in → c₀) → BN → neuron                  (no max-pool: CIFAR stem)
    stages: BasicBlock × n  per stage, the first block of a stage strides by 2 (except stage 1)
    head:   global avg-pool → flatten → [Linear(c → h) → neuron] → Linear(→ K)

BasicBlock: ``s = neuron₂( BN₂(conv₂(neuron₁(BN₁(conv₁(x))))) + shortcut(x) )`` with
``shortcut = BN(conv1×1(x))`` when the shape changes, else the identity: the residual is added before the
block's final neuron (spike-element-wise addition of currents, as in Zheng et al. 2021 and the authors' code).

Widths:
* ResNet-18 (the ASGL paper's CIFAR model): stem 64, stages 64-128-256-512 with [2, 2, 2, 2] blocks,
  Linear(512 → K).
* ResNet-19 (Zheng et al., AAAI 2021, as re-implemented in the TET code): stem 128, stages 128-256-512
  with [3, 3, 2] blocks, then Linear(512 → 256) → neuron → Linear(256 → K).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from asgl.layers import FlattenFeatures, RepeatEncoder, TimeDistributed
from asgl.models.base import NeuronFactory, SpikingModel, make_norm

RESIDUAL_ALPHA = 2 ** -0.5  # α of threshold-dependent BN on both branches of a residual sum (Zheng et al.)


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> TimeDistributed:
    return TimeDistributed(nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False))


class BasicBlock(nn.Module):
    """Spiking BasicBlock ``[T, B, C_in, H, W] → [T, B, C_out, H/stride, W/stride]`` (equation above)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, neuron: NeuronFactory,
                 norm: str) -> None:
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = make_norm(norm, out_channels)
        self.neuron1 = neuron()
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = make_norm(norm, out_channels, alpha=RESIDUAL_ALPHA)
        if stride != 1 or in_channels != out_channels:
            self.shortcut: nn.Module = nn.Sequential(
                TimeDistributed(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)),
                make_norm(norm, out_channels, alpha=RESIDUAL_ALPHA),
            )
        else:
            self.shortcut = nn.Identity()
        self.neuron2 = neuron()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.neuron1(self.bn1(self.conv1(x)))))
        return self.neuron2(out + self.shortcut(x))


class SpikingResNet(SpikingModel):
    """Spiking ResNet (see the module docstring).

    Args:
        neuron: zero-argument neuron factory.
        num_classes: ``K``.
        in_channels: image channels.
        stem_channels: width of the stem conv.
        stages: ``(channels, blocks)`` per stage; every stage after the first downsamples by 2.
        hidden_fc: width of a spiking hidden Linear before the classifier, or ``None``.
        time_steps: ``T`` for static inputs.
        norm: ``"tdbn"`` or ``"threshold"`` (see :func:`asgl.models.base.make_norm`).
    """

    def __init__(self, neuron: NeuronFactory, num_classes: int, in_channels: int, stem_channels: int,
                 stages: Sequence[tuple[int, int]], hidden_fc: int | None, time_steps: int,
                 norm: str = "tdbn") -> None:
        super().__init__()
        make_neuron = self.neuron_maker(neuron)
        self.encoder = RepeatEncoder(time_steps, static_ndim=4)
        self.stem = nn.Sequential(conv3x3(in_channels, stem_channels), make_norm(norm, stem_channels),
                                  make_neuron())
        blocks: list[nn.Module] = []
        channels = stem_channels
        for index, (width, count) in enumerate(stages):
            for block in range(count):
                stride = 2 if index > 0 and block == 0 else 1
                blocks.append(BasicBlock(channels, width, stride, make_neuron, norm))
                channels = width
        self.stages = nn.Sequential(*blocks)
        self.pool = TimeDistributed(nn.AdaptiveAvgPool2d(1))
        self.flatten = FlattenFeatures()
        head: list[nn.Module] = []
        if hidden_fc is not None:
            head += [TimeDistributed(nn.Linear(channels, hidden_fc)), make_neuron()]
            channels = hidden_fc
        head.append(TimeDistributed(nn.Linear(channels, num_classes)))
        self.head = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(self.encoder(x)))
        return self.head(self.flatten(self.pool(x)))


def resnet18(neuron: NeuronFactory, num_classes: int = 10, in_channels: int = 3, time_steps: int = 2,
             norm: str = "tdbn") -> SpikingResNet:
    """ResNet-18, CIFAR stem, 64-128-256-512 × [2, 2, 2, 2]; input ``[B, 3, 32, 32]`` or ``[T, B, ...]``.

    ``time_steps`` defaults to the paper's T = 2.
    """
    return SpikingResNet(neuron, num_classes, in_channels, 64, [(64, 2), (128, 2), (256, 2), (512, 2)],
                         None, time_steps, norm)


def resnet19(neuron: NeuronFactory, num_classes: int = 10, in_channels: int = 3, time_steps: int = 2,
             norm: str = "tdbn") -> SpikingResNet:
    """ResNet-19 (Zheng et al. 2021), 128-256-512 × [3, 3, 2], hidden FC 256; input as :func:`resnet18`."""
    return SpikingResNet(neuron, num_classes, in_channels, 128, [(128, 3), (256, 3), (512, 2)], 256,
                         time_steps, norm)


def resnet_tiny(neuron: NeuronFactory, num_classes: int = 10, in_channels: int = 1, time_steps: int = 4,
                width: int = 16, norm: str = "tdbn") -> SpikingResNet:
    """CPU-sized ResNet for 8×8 digits: stem ``width``, stages ``width``-``2·width`` × [1, 1].

    Input ``[B, 1, 8, 8]`` or ``[T, B, 1, 8, 8]`` (any spatial size works: the head pools globally).
    """
    return SpikingResNet(neuron, num_classes, in_channels, width, [(width, 1), (2 * width, 1)], None,
                         time_steps, norm)

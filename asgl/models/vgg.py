"""Spiking VGGs: VGGSNN (CIFAR10-DVS, as in the TET and ASGL code), VGG-13 (Tiny-ImageNet) and a tiny variant.

Input: event frames ``[T, B, 2, H, W]`` (ON/OFF counts per time bin) or images; a static ``[B, C, H, W]`` is
repeated over ``time_steps`` (direct encoding); output: per-step logits ``[T, B, K]``.

Layout: a configuration list of ints (``conv3×3 → BN → neuron`` with that many channels) and ``"A"``
(2×2 average pool), then flatten and one Linear to ``K``::

    VGGSNN: 64, 128, A, 256, 256, A, 512, 512, A, 512, 512, A;  48×48 → 3×3×512 → Linear(4608 → K)
    VGG-13: 64, 64, A, 128, 128, A, 256, 256, A, 512, 512, A, 512, 512, A;  64×64 → 2×2×512 → Linear(2048 → K)

VGG-13 is Simonyan & Zisserman's configuration B (ten 3×3 convolutions) with batch norm, average instead of
max pooling (pooled spikes stay accumulates for the next layer) and a single Linear classifier instead of the
4096-4096 head, as spiking VGG-13s for Tiny-ImageNet are usually built; the authors did not release theirs.

Initialisation: PyTorch's default unless ``init_std`` is given; then every conv and linear weight is drawn
from ``N(0, init_std²)`` and every such bias set to 0 (the authors' VGGSNN, ``model/vgg.py``, uses
``init_std = 0.5`` and no classifier bias). Batch-norm scales start at 1, shifts at 0, in both cases.

When ``pooled_size`` is given, an adaptive average pool to ``pooled_size × pooled_size`` precedes the
flatten so any input size works (used by the tiny variant); otherwise the input side must be
``input_size`` and the classifier sees ``(input_size / 2^#A)²`` positions.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from asgl.layers import FlattenFeatures, RepeatEncoder, TimeDistributed
from asgl.models.base import NeuronFactory, SpikingModel, make_norm

POOL = "A"
VGGSNN_CONFIG = (64, 128, POOL, 256, 256, POOL, 512, 512, POOL, 512, 512, POOL)
VGG13_CONFIG = (64, 64, POOL, 128, 128, POOL, 256, 256, POOL, 512, 512, POOL, 512, 512, POOL)


class SpikingVGG(SpikingModel):
    """Spiking VGG (see the module docstring).

    Args:
        neuron: zero-argument neuron factory.
        config: channel counts and ``"A"`` (average pool 2×2).
        num_classes: ``K``.
        in_channels: input channels (2 for ON/OFF events).
        input_size: spatial side ``H = W`` of the input (used when ``pooled_size`` is ``None``).
        pooled_size: side of an adaptive average pool before the classifier, or ``None``.
        time_steps: ``T`` for static inputs.
        norm: ``"tdbn"`` or ``"threshold"``.
        init_std: ``None`` for PyTorch's default initialisation, or ``σ > 0``: conv and linear weights
            ``~ N(0, σ²)``, their biases 0.
        classifier_bias: give the classifier Linear a bias.
    """

    def __init__(self, neuron: NeuronFactory, config: Sequence[int | str], num_classes: int,
                 in_channels: int, input_size: int | None, pooled_size: int | None, time_steps: int,
                 norm: str = "tdbn", init_std: float | None = None, classifier_bias: bool = True) -> None:
        super().__init__()
        if init_std is not None and not (isinstance(init_std, (int, float)) and 0 < init_std < float("inf")):
            raise ValueError(f"model_kwargs.init_std must be a finite number > 0 or null, got {init_std!r}")
        self.encoder = RepeatEncoder(time_steps, static_ndim=4)
        layers: list[nn.Module] = []
        channels, pools = in_channels, 0
        for item in config:
            if item == POOL:
                layers.append(TimeDistributed(nn.AvgPool2d(2)))
                pools += 1
                continue
            layers += [TimeDistributed(nn.Conv2d(channels, int(item), 3, padding=1, bias=False)),
                       make_norm(norm, int(item)), self.new_neuron(neuron)]
            channels = int(item)
        self.features = nn.Sequential(*layers)
        if pooled_size is not None:
            self.pool: nn.Module = TimeDistributed(nn.AdaptiveAvgPool2d(pooled_size))
            side = pooled_size
        else:
            if input_size is None or input_size % 2 ** pools:
                raise ValueError(f"input_size must be a multiple of 2^{pools} without pooled_size, "
                                 f"got {input_size!r}")
            self.pool = nn.Identity()
            side = input_size // 2 ** pools
        self.flatten = FlattenFeatures()
        self.classifier = TimeDistributed(nn.Linear(channels * side * side, num_classes, bias=classifier_bias))
        if init_std is not None:
            normal_init(self, float(init_std))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.flatten(self.pool(self.features(self.encoder(x)))))


def normal_init(model: nn.Module, std: float) -> None:
    """In place: every conv and linear weight ``~ N(0, std²)``, their biases 0."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(module.weight, 0.0, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)


def vggsnn(neuron: NeuronFactory, num_classes: int = 10, in_channels: int = 2, input_size: int = 48,
           time_steps: int = 10, norm: str = "tdbn", init_std: float | None = None,
           classifier_bias: bool = True) -> SpikingVGG:
    """VGGSNN for CIFAR10-DVS: input ``[T=10, B, 2, 48, 48]``, classifier Linear(3·3·512 → K).

    ``init_std=0.5, classifier_bias=False`` is the authors' VGGSNN (see :class:`SpikingVGG`).
    """
    return SpikingVGG(neuron, VGGSNN_CONFIG, num_classes, in_channels, input_size, None, time_steps, norm,
                      init_std, classifier_bias)


def vgg13(neuron: NeuronFactory, num_classes: int = 200, in_channels: int = 3, input_size: int = 64,
          time_steps: int = 4, norm: str = "tdbn") -> SpikingVGG:
    """VGG-13 for Tiny-ImageNet: input ``[B, 3, 64, 64]`` (or ``[T, B, 3, 64, 64]``), Linear(2·2·512 → K).

    ``time_steps`` defaults to the cited T = 4.
    """
    return SpikingVGG(neuron, VGG13_CONFIG, num_classes, in_channels, input_size, None, time_steps, norm)


def vgg_tiny(neuron: NeuronFactory, num_classes: int = 10, in_channels: int = 2, time_steps: int = 8,
             width: int = 8, pooled_size: int = 2, norm: str = "tdbn") -> SpikingVGG:
    """CPU-sized VGG for event frames ``[T, B, 2, 16..24, 16..24]``: w, A, 2w, A, 4w, adaptive pool 2×2.

    ``width = 8`` keeps a forward+backward pass on ``[8, 64, 2, 24, 24]`` near 0.1 s on 2 CPU cores.
    """
    config = (width, POOL, 2 * width, POOL, 4 * width)
    return SpikingVGG(neuron, config, num_classes, in_channels, None, pooled_size, time_steps, norm)

"""Spiking model builders, each taking a zero-argument neuron factory (GUIDE: one builder, many neurons).

``build_model(name, neuron, **kwargs)`` builds ``MODELS[name](neuron, **kwargs)``. Every model maps a
time-major input ``[T, B, ...]`` (or a static ``[B, ...]`` where the builder has ``time_steps``) to
per-step logits ``[T, B, K]``; :func:`readout_mean` gives ``[B, K]``. See :mod:`asgl.models.base` for
the structure conventions (neuron order, synaptic layers, hooks).
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from torch import nn

from asgl.models.audio import SpikingAudioConvNet, audio_convnet, audio_convnet_tiny
from asgl.models.base import NORMS, NeuronFactory, SpikingModel
from asgl.models.clip import SpikingClipMLP, clip_mlp
from asgl.models.mlp import SpikingMLP, mlp_snn, shd_net
from asgl.models.readout import readout_mean
from asgl.models.resnet import SpikingResNet, resnet18, resnet19, resnet_tiny
from asgl.models.vgg import SpikingVGG, vgg13, vgg_tiny, vggsnn

MODELS: MappingProxyType[str, Callable[..., SpikingModel]] = MappingProxyType({
    "resnet18": resnet18,
    "resnet19": resnet19,
    "resnet_tiny": resnet_tiny,
    "vggsnn": vggsnn,
    "vgg13": vgg13,
    "vgg_tiny": vgg_tiny,
    "shd_net": shd_net,
    "mlp_snn": mlp_snn,
    "clip_mlp": clip_mlp,
    "audio_convnet": audio_convnet,
    "audio_convnet_tiny": audio_convnet_tiny,
})


def build_model(name: str, neuron: NeuronFactory, **kwargs) -> nn.Module:
    """Build the model registered as ``name`` with the neuron factory and builder keyword arguments."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    return MODELS[name](neuron, **kwargs)


__all__ = [
    "MODELS", "NORMS", "NeuronFactory", "SpikingAudioConvNet", "SpikingClipMLP", "SpikingMLP", "SpikingModel",
    "SpikingResNet", "SpikingVGG", "audio_convnet", "audio_convnet_tiny", "build_model", "clip_mlp", "mlp_snn",
    "readout_mean", "resnet18", "resnet19", "resnet_tiny", "shd_net", "vgg13", "vgg_tiny", "vggsnn",
]

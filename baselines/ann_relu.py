"""Non-spiking reference, registered as ``relu-ann``: the same architecture with ReLU in place of every neuron.

It is a ceiling, not a competitor: trained with the same models, budget, optimiser and seeds as the spiking
methods, it shows what the architecture reaches when its activations are real-valued and memoryless,

    y[t] = max(x[t], 0)         for every step t of a time-major input [T, B, ...],

so a table reads each spiking figure against what the data and the architecture allow. It has no membrane,
no threshold, no surrogate and no width; its synaptic operations are all multiply-accumulates (no layer
receives spikes), so its energy column is the ANN cost of the same network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from asgl.registry import MethodSpec, register_method


class ReLUNeuron(nn.Module):
    """``[T, B, ...] → [T, B, ...]``, element-wise ``max(x, 0)``: a stateless, non-spiking activation."""

    spiking_neuron = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


def make_relu_neuron(params: Mapping[str, Any], channels: int | None = None) -> nn.Module:
    """A fresh :class:`ReLUNeuron` (``params`` and ``channels`` are accepted for the factory contract)."""
    return ReLUNeuron()


RELU_ANN = register_method(MethodSpec(
    name="relu-ann",
    display_name="ReLU network (non-spiking reference)",
    family="reference",
    make_neuron=make_relu_neuron,
    defaults={},
    description="Non-spiking ceiling: the same architecture with ReLU activations, same budget and seeds.",
))

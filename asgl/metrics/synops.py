"""Synaptic operations of Linear and Conv layers, NeuroBench's conventions.

For a connection layer ``f`` (``nn.Linear``, ``nn.Conv1d/2d/3d``) called on input ``x`` with weight ``W``, a
forward pre-hook counts, with ``𝟙[·]`` the element-wise indicator and biases left out::

    effective = Σ f_{W ← 𝟙[W ≠ 0]}(𝟙[x ≠ 0])      (pairs of a non-zero input and a non-zero weight)
    dense     = Σ f_{W ← 1}(1)                      (every input × weight pair, zero or not)

summed over all calls (every time step and layer) and divided by the number of samples. The effective
count is an accumulate (AC) when the input is spikes and a multiply-accumulate (MAC) when it is analog
(e.g. the first layer on images, or a readout after average pooling). NeuroBench calls an input spikes when
all its values lie in ``{−1, 0, 1}``; we also accept spikes scaled by one constant (``θ·o`` outputs: every
non-zero value has the same magnitude), which agrees with NeuroBench whenever ``θ = 1``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

CONNECTION_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def is_spike_input(x: torch.Tensor) -> bool:
    """All non-zero entries of ``x`` share one magnitude (binary, ternary or scaled spikes)."""
    nonzero = x[x != 0].abs()
    return nonzero.numel() == 0 or bool((nonzero == nonzero[0]).all())


def _apply(layer: nn.Module, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    if isinstance(layer, nn.Linear):
        return F.linear(x, weight)
    return layer._conv_forward(x, weight, None)


def layer_synops(layer: nn.Module, x: torch.Tensor) -> tuple[int, int, bool]:
    """``(effective, dense, is_spiking)`` for one call of ``layer`` on ``x`` (see the module docstring)."""
    with torch.no_grad():
        x = x.detach()
        weight = layer.weight.detach()
        # float64 keeps the counts exact (integers up to 2^53)
        effective = _apply(layer, (x != 0).double(), (weight != 0).double()).sum()
        dense = _apply(layer, torch.ones_like(x, dtype=torch.float64),
                       torch.ones_like(weight, dtype=torch.float64)).sum()
    return round(effective.item()), round(dense.item()), is_spike_input(x)


class SynOpsCounter:
    """Context manager accumulating synaptic operations of every connection layer of a model."""

    def __init__(self, model: nn.Module) -> None:
        self.layers = [(n, m) for n, m in model.named_modules() if isinstance(m, CONNECTION_LAYERS)]
        self.acs = 0
        self.macs = 0
        self.dense = 0
        self.per_layer: dict[str, dict[str, int]] = {n: {"acs": 0, "macs": 0, "dense": 0} for n, _ in self.layers}
        self._handles: list = []

    def _hook(self, name: str):
        def count(module: nn.Module, inputs) -> None:
            effective, dense, spiking = layer_synops(module, inputs[0])
            key = "acs" if spiking else "macs"
            self.per_layer[name][key] += effective
            self.per_layer[name]["dense"] += dense
            self.dense += dense
            if spiking:
                self.acs += effective
            else:
                self.macs += effective
        return count

    def __enter__(self) -> SynOpsCounter:
        self._handles = [m.register_forward_pre_hook(self._hook(name)) for name, m in self.layers]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def summary(self, samples: int) -> dict[str, float]:
        """Per-sample ``effective_acs``, ``effective_macs``, ``dense_synops`` (NeuroBench: Effective_ACs, …)."""
        if samples < 1:
            raise ValueError(f"samples must be >= 1, got {samples!r}")
        return {"effective_acs": self.acs / samples, "effective_macs": self.macs / samples,
                "dense_synops": self.dense / samples}

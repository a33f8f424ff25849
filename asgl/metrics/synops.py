"""Synaptic operations of Linear and Conv layers: accumulates (ACs) and multiply-accumulates (MACs).

For a connection layer ``f`` (``nn.Linear``, ``nn.Conv1d/2d/3d``) called on input ``x`` with weight ``W``, a
forward pre-hook counts, with ``𝟙[·]`` the element-wise indicator, ``f_{W ← A}(B)`` the layer applied to
``B`` with weight ``A`` and biases left out::

    dense     = Σ f_{W ← 1}(1)                  every input × weight pair, zero or not (padding excluded)
    effective = Σ f_{W ← 𝟙[W ≠ 0]}(𝟙[x ≠ 0])     pairs of a non-zero input and a non-zero weight
    folded    = Σ f_{W ← 𝟙[W ≠ 0]}(c)            c = spike counts of x (:mod:`asgl.metrics.spike_trace`)

summed over all calls (every time step and layer) and divided by the number of samples. Two conventions
decide which of them are ACs:

* **ours** (``effective_acs``, ``effective_macs``; the graph decides): when ``x`` comes from spiking neurons,
  possibly through average pooling, flatten, dropout or identity, the layer is folded with the pooling
  (``W·P``: the pooled weight spread over its window, the ``1/k`` folded in) and costs one AC per underlying
  spike and non-zero weight it reaches: ``folded`` ACs, which equals ``effective`` when nothing is pooled.
  Any other input (the model input, batch-normalised values) costs ``effective`` MACs.
* **NeuroBench's strict count** (``strict_acs``, ``strict_macs``; the values decide, as NeuroBench 2.3's
  ``SynapticOperations``): ``effective`` ACs when every value of ``x`` is in ``{−1, 0, 1}``, MACs otherwise.
  Average-pooled spikes (0, ¼, ½, …) are MACs there, and ``θ·o`` spikes with ``θ ≠ 1`` too.

The two agree on networks without pooling and with unit spikes (the NeuroBench parity test).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from asgl.metrics.spike_trace import SpikeTrace

CONNECTION_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
COUNTS = ("acs", "macs", "strict_acs", "strict_macs", "dense")


class LayerOps(NamedTuple):
    """Operations of one call: our convention (``acs``, ``macs``), NeuroBench's (``strict_*``), ``dense``."""

    acs: int
    macs: int
    strict_acs: int
    strict_macs: int
    dense: int


def is_strict_spike_input(x: torch.Tensor, nonzero: torch.Tensor | None = None) -> bool:
    """NeuroBench's rule: every value of ``x`` is ``−1``, ``0`` or ``1`` (``nonzero``: ``x != 0``, if known)."""
    nonzero = x != 0 if nonzero is None else nonzero
    return bool(x.abs().eq(nonzero).all())


def _apply(layer: nn.Module, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    if isinstance(layer, nn.Linear):
        return F.linear(x, weight)
    return layer._conv_forward(x, weight, None)


def weighted_ops(layer: nn.Module, x: torch.Tensor) -> int:
    """``Σ f_{W ← 𝟙[W ≠ 0]}(x)`` for non-negative integer ``x``, exact in float64 (integers up to 2⁵³)."""
    with torch.no_grad():
        total = _apply(layer, x.double(), (layer.weight.detach() != 0).double()).sum()
    return round(total.item())


def dense_ops(layer: nn.Module, shape: tuple[int, ...]) -> int:
    """``Σ f_{W ← 1}(1)`` for an input of ``shape``: every input × weight pair (padding excluded)."""
    with torch.no_grad():
        weight = layer.weight
        ones = torch.ones(shape, dtype=torch.float64, device=weight.device)
        return round(_apply(layer, ones, torch.ones_like(weight, dtype=torch.float64)).sum().item())


def layer_synops(layer: nn.Module, x: torch.Tensor, spikes: bool | torch.Tensor = False,
                 dense: int | None = None) -> LayerOps:
    """Operations of one call of ``layer`` on ``x`` (module docstring).

    Args:
        layer: a connection layer (:data:`CONNECTION_LAYERS`).
        x: its input.
        spikes: what the graph says of ``x``: ``False`` analog; ``True`` spikes (one per non-zero entry);
            or a tensor of the shape of ``x`` holding the number of underlying spikes per entry (pooled).
        dense: :func:`dense_ops` for ``x``'s shape when already known (it depends on nothing else).
    """
    with torch.no_grad():
        x = x.detach()
        nonzero = x != 0
        effective = weighted_ops(layer, nonzero)
        dense = dense_ops(layer, tuple(x.shape)) if dense is None else dense
        if isinstance(spikes, torch.Tensor):
            if spikes.shape != x.shape:
                raise ValueError(f"spike counts have shape {tuple(spikes.shape)}, the input {tuple(x.shape)}")
            acs, macs = weighted_ops(layer, spikes), 0
        else:
            acs, macs = (effective, 0) if spikes else (0, effective)
        strict = is_strict_spike_input(x, nonzero)
    return LayerOps(acs, macs, effective if strict else 0, 0 if strict else effective, dense)


class SynOpsCounter:
    """Context manager accumulating the synaptic operations of every connection layer of a model.

    Enters a :class:`~asgl.metrics.spike_trace.SpikeTrace` of the model, so spike inputs are known by the
    graph; run the model in ``eval()`` (the deployed network).
    """

    def __init__(self, model: nn.Module) -> None:
        self.layers = [(n, m) for n, m in model.named_modules() if isinstance(m, CONNECTION_LAYERS)]
        self.trace = SpikeTrace(model)
        self.totals = dict.fromkeys(COUNTS, 0)
        self.per_layer: dict[str, dict[str, int]] = {n: dict.fromkeys(COUNTS, 0) for n, _ in self.layers}
        self._dense: dict[tuple[str, tuple[int, ...]], int] = {}  # dense_ops per layer and input shape
        self._handles: list = []

    def _hook(self, name: str):
        def count(module: nn.Module, inputs) -> None:
            x = inputs[0]
            key = (name, tuple(x.shape))
            if key not in self._dense:
                self._dense[key] = dense_ops(module, key[1])
            ops = layer_synops(module, x, self.trace.spike_counts(x), self._dense[key])
            for key, value in ops._asdict().items():
                self.per_layer[name][key] += value
                self.totals[key] += value
        return count

    def __enter__(self) -> SynOpsCounter:
        self._handles = [m.register_forward_pre_hook(self._hook(name)) for name, m in self.layers]
        self.trace.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.trace.__exit__(*exc)
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def summary(self, samples: int) -> dict[str, float]:
        """Per-sample ``effective_acs``, ``effective_macs`` (ours), ``strict_acs``, ``strict_macs``
        (NeuroBench's Effective_ACs, Effective_MACs) and ``dense_synops`` (NeuroBench's Dense)."""
        if samples < 1:
            raise ValueError(f"samples must be >= 1, got {samples!r}")
        t = self.totals
        return {"effective_acs": t["acs"] / samples, "effective_macs": t["macs"] / samples,
                "strict_acs": t["strict_acs"] / samples, "strict_macs": t["strict_macs"] / samples,
                "dense_synops": t["dense"] / samples}

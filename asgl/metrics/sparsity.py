"""Spike activity: firing rate per layer and overall, activation sparsity (NeuroBench's definition).

Forward hooks on the spiking neurons of a model (:func:`asgl.neuron.is_spiking_neuron`: our LIF, the
snnTorch adapter; a neuron nested inside another is counted once, by the outer one) record, for each layer
``l`` and every forward call, the output ``o_l`` of shape ``[T, B, ...]``:

* ``nnz_l`` = number of non-zero entries (spikes), ``n_l`` = number of entries (neurons × steps × samples);
* firing rate of layer ``l``: ``r_l = nnz_l / n_l`` — spikes per neuron per time step;
* overall firing rate ``r = Σ_l nnz_l / Σ_l n_l`` (weighted by neuron-steps);
* activation sparsity ``1 − r = Σ_l (n_l − nnz_l) / Σ_l n_l``: the fraction of zero activations over all
  spiking layers, time steps and samples, as NeuroBench's ``ActivationSparsity`` (which hooks snnTorch
  neurons, ReLU and Sigmoid; our SNNs have only spiking activations).
"""

from __future__ import annotations

from torch import nn

from asgl.neuron import is_spiking_neuron


def spiking_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of the outermost spiking neurons of ``model``, in module order."""
    found: list[tuple[str, nn.Module]] = []
    for name, module in model.named_modules():
        if is_spiking_neuron(module) and not any(name.startswith(f"{outer}.") for outer, _ in found):
            found.append((name, module))
    return found


class SpikeRecorder:
    """Context manager counting non-zero outputs of every spiking layer (see the module docstring)."""

    def __init__(self, model: nn.Module) -> None:
        self.layers = spiking_layers(model)
        self.nonzero = {name: 0 for name, _ in self.layers}
        self.total = {name: 0 for name, _ in self.layers}
        self._handles: list = []

    def _hook(self, name: str):
        def record(module: nn.Module, inputs, output) -> None:
            out = output[0] if isinstance(output, tuple) else output
            self.nonzero[name] += int((out != 0).sum().item())
            self.total[name] += out.numel()
        return record

    def __enter__(self) -> SpikeRecorder:
        self._handles = [m.register_forward_hook(self._hook(name)) for name, m in self.layers]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def firing_rates(self) -> dict[str, float]:
        """``{layer name: r_l}`` for layers that ran."""
        return {name: self.nonzero[name] / self.total[name] for name in self.total if self.total[name]}

    def overall_firing_rate(self) -> float:
        total = sum(self.total.values())
        return sum(self.nonzero.values()) / total if total else 0.0

    def activation_sparsity(self) -> float:
        """Fraction of zero outputs over all spiking layers (``0.0`` when nothing ran, as NeuroBench)."""
        total = sum(self.total.values())
        return (total - sum(self.nonzero.values())) / total if total else 0.0

    def summary(self) -> dict[str, float]:
        out = {"firing_rate": self.overall_firing_rate(), "activation_sparsity": self.activation_sparsity()}
        out.update({f"firing_rate/{name}": rate for name, rate in self.firing_rates().items()})
        return out

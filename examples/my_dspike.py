"""Dspike surrogate (Li et al. 2021) with a fixed temperature: Heaviside forward, tanh-window backward.

A method is one file that registers itself. Compare it with the table::

    asgl-bench compare examples/my_dspike.py --datasets digits --seeds 0 1 --epochs 1

The full method, with its temperature selection, is ``baselines/dspike.py`` (registered as ``dspike``).
"""

import torch

from asgl.methods import LIF_DEFAULTS, make_lif
from asgl.registry import MethodSpec, register_method
from asgl.spike import SpikeFunction


class _Dspike(torch.autograd.Function):
    """Step forward; backward ``b (1 − tanh²(b u)) / (2 tanh(b / 2))`` on ``|u| ≤ 0.5``, zero outside."""

    @staticmethod
    def forward(ctx, u, b):
        ctx.save_for_backward(u)
        ctx.b = b
        return (u >= 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad):
        (u,) = ctx.saved_tensors
        b = ctx.b
        window = (u.abs() <= 0.5).to(u.dtype)
        return grad * window * b * (1 - torch.tanh(b * u) ** 2) / (2 * torch.tanh(torch.tensor(b / 2))), None


class DspikeFixed(SpikeFunction):
    """The spike module: the LIF calls ``fire(u, binary_mask)`` at every time step with ``u = v − θ``."""

    def __init__(self, temperature):
        super().__init__()
        self.temperature = float(temperature)

    def fire(self, u, binary_mask):
        """Spikes of one time step; ``binary_mask`` is ``None`` here because ``noise_rate()`` is 0."""
        return _Dspike.apply(u, self.temperature)


def make_neuron(params, channels=None):
    """The neuron factory: the suite's LIF around this spike, with the same LIF keys as every method."""
    return make_lif(DspikeFixed(params["temperature"]), params)


register_method(MethodSpec(
    name="my-dspike", display_name="Dspike (fixed b)", family="surrogate", make_neuron=make_neuron,
    defaults={"temperature": 3.0, **{**LIF_DEFAULTS, "backend": "autograd"}}))

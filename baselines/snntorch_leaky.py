"""snnTorch's ``snn.Leaky`` as snnTorch users run it, wrapped into a time-major ``[T, B, ...]`` module.

Registers ``snntorch-fast_sigmoid``, ``snntorch-atan`` and ``snntorch-sigmoid``. The adapter calls
``init_leaky()`` and steps ``spk, mem = leaky(x[t], mem)`` over ``t``, then stacks the spikes.

snnTorch ``Leaky`` (``reset_delay=True``, its default; ``mem`` before firing, ``s`` = spike)::

    r_t   = Θ⁺(mem_{t−1} − θ)            detached (``mem_reset``)
    mem_t = β mem_{t−1} + x_t − θ r_t      ("subtract")   |   β (1 − r_t) mem_{t−1} + x_t   ("zero")
    s_t   = Θ⁺(mem_t − θ),  Θ⁺(z) = [z > 0]

Our LIF (:mod:`asgl.neuron`): ``v_t = λ r_{t−1} + x_t``, ``o_t = Θ(v_t − θ)`` with ``Θ(z) = [z ≥ 0]``,
``r_t = v_t − θ o_t`` (soft) or ``v_t (1 − o_t)`` (hard), reset not detached. Hence (tested in
``tests/parity/test_snntorch_parity.py``):

* soft reset: snnTorch subtracts ``θ`` *after* the decay (``− θ``), ours *before* it (``− λθ``); the
  forward passes agree only for ``β = 1``;
* hard reset: the forward passes agree;
* snnTorch detaches the reset (no gradient through it), ours does not, so gradients differ;
* with ``reset_delay=False`` snnTorch resets in the same step with the spike's gradient
  (``do_reset = s_t − r_t``): forward and gradients then equal ours for the hard reset, and for the soft
  reset as long as the post-reset potential stays below ``θ`` (``v_t < 2θ``); above that snnTorch
  subtracts ``θ`` again at the next step;
* snnTorch fires on ``mem > θ``, ours on ``v ≥ θ`` (differs only at exact equality);
* the output is the spike ``s_t`` (``graded_spikes_factor = 1``), like ours without ``scale_output``.

Width conversion: one named function per surrogate maps our width ``w`` to snnTorch's parameter by matching
the half-width at half-maximum (HWHM) of the surrogate derivative to that of ours,
``σ'(u/w)/w`` with HWHM ``2 ln(1 + √2) · w``. It is the one criterion defined for all three: the peak of
``fast_sigmoid``'s derivative is 1 whatever its slope, and its integral ``2/k`` does not encode a shape. For
``sigmoid`` it gives ``k = 1/w``, the identical function. Amplitudes then differ by library convention
(``fast_sigmoid`` peaks at 1; ours and ``sigmoid`` at ``1/(4w)``; ``atan`` at ``α/2``); see docs/methods.md.

snnTorch's surrogates are closures (``surrogate.atan()`` returns ``inner``), which do not pickle; the adapter
passes :class:`SnnTorchSurrogate`, a small picklable callable applying the same ``torch.autograd.Function``.
snnTorch appends every neuron to the class-level list ``snn.SpikingNeuron.instances`` (used only with
``init_hidden=True``), which would keep every neuron ever built alive for the life of the process; the
adapter does not use ``init_hidden`` and takes its neuron back out of that list.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from asgl.registry import MethodSpec, register_method

HWHM_PER_WIDTH = 2.0 * math.log(1.0 + math.sqrt(2.0))
"""HWHM of our sigmoid surrogate derivative ``σ'(u/w)/w`` in units of ``w`` (≈ 1.7627)."""

RESET_MECHANISMS = {"soft": "subtract", "hard": "zero"}
REQUIREMENT = ("snntorch", "snntorch==1.0.0")


def _check_width(width: float) -> float:
    if not (isinstance(width, (int, float)) and math.isfinite(width) and width > 0):
        raise ValueError(f"width must be a finite number > 0, got {width!r}")
    return float(width)


def sigmoid_slope(width: float) -> float:
    """snnTorch ``surrogate.sigmoid(slope=k)`` for our width: ``k = 1/w`` (the same derivative exactly)."""
    return 1.0 / _check_width(width)


def fast_sigmoid_slope(width: float) -> float:
    """snnTorch ``surrogate.fast_sigmoid(slope=k)``: derivative ``1/(1 + k|u|)²``, HWHM ``(√2 − 1)/k``.

    Matching HWHM: ``k = (√2 − 1) / (2 ln(1 + √2) · w) ≈ 0.2350 / w``.
    """
    return (math.sqrt(2.0) - 1.0) / (HWHM_PER_WIDTH * _check_width(width))


def atan_alpha(width: float) -> float:
    """snnTorch ``surrogate.atan(alpha=α)``: derivative ``(α/2) / (1 + (παu/2)²)``, HWHM ``2/(πα)``.

    Matching HWHM: ``α = 2 / (π · 2 ln(1 + √2) · w) ≈ 0.3612 / w``.
    """
    return 2.0 / (math.pi * HWHM_PER_WIDTH * _check_width(width))


CONVERSIONS = {"fast_sigmoid": fast_sigmoid_slope, "atan": atan_alpha, "sigmoid": sigmoid_slope}
_FUNCTIONS = {"fast_sigmoid": "FastSigmoid", "atan": "ATan", "sigmoid": "Sigmoid"}


class SnnTorchSurrogate:
    """Picklable stand-in for ``snntorch.surrogate.<name>(param)``: applies the same autograd Function."""

    def __init__(self, name: str, param: float) -> None:
        if name not in _FUNCTIONS:
            raise ValueError(f"unknown snnTorch surrogate {name!r}; choose one of {sorted(_FUNCTIONS)}")
        self.name = name
        self.param = float(param)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        from snntorch import surrogate

        return getattr(surrogate, _FUNCTIONS[self.name]).apply(x, self.param)

    def __repr__(self) -> str:
        return f"SnnTorchSurrogate({self.name!r}, {self.param:.4g})"


class SnnTorchLeaky(nn.Module):
    """``snn.Leaky`` stepped over time: ``[T, B, ...] → [T, B, ...]`` spikes (see the module docstring).

    Args:
        surrogate: ``"fast_sigmoid"``, ``"atan"`` or ``"sigmoid"``.
        width: our surrogate width ``w``, converted by :data:`CONVERSIONS`.
        decay: ``β``; threshold: ``θ``; reset: ``"soft"`` (``subtract``) or ``"hard"`` (``zero``).
        reset_delay: snnTorch's flag (default ``True``: reset at the next step, detached).
        learn_decay, learn_threshold: snnTorch's ``learn_beta`` / ``learn_threshold``.
    """

    spiking_neuron = True

    def __init__(self, surrogate: str, width: float = 1.0, decay: float = 0.5, threshold: float = 1.0,
                 reset: str = "hard", reset_delay: bool = True, learn_decay: bool = False,
                 learn_threshold: bool = False) -> None:
        super().__init__()
        import snntorch as snn

        if surrogate not in CONVERSIONS:
            raise ValueError(f"surrogate must be one of {sorted(CONVERSIONS)}, got {surrogate!r}")
        if reset not in RESET_MECHANISMS:
            raise ValueError(f"reset must be one of {sorted(RESET_MECHANISMS)}, got {reset!r}")
        self.surrogate = surrogate
        self.surrogate_width = _check_width(width)
        self.leaky = snn.Leaky(beta=float(decay), threshold=float(threshold),
                               spike_grad=SnnTorchSurrogate(surrogate, CONVERSIONS[surrogate](width)),
                               reset_mechanism=RESET_MECHANISMS[reset], reset_delay=reset_delay,
                               learn_beta=learn_decay, learn_threshold=learn_threshold)
        instances = snn.SpikingNeuron.instances
        instances[:] = [n for n in instances if n is not self.leaky]

    def width(self) -> torch.Tensor:
        """The width the surrogate was configured from (fixed)."""
        return torch.tensor(self.surrogate_width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3:
            raise ValueError(f"expected a time-major input [T, B, ...], got shape {tuple(x.shape)}")
        mem = self.leaky.init_leaky()
        spikes = []
        for t in range(x.shape[0]):
            spk, mem = self.leaky(x[t], mem)
            spikes.append(spk)
        # snnTorch keeps the last state on the module; drop it so the module stays stateless and picklable.
        self.leaky.mem = torch.zeros(0, device=x.device)
        self.leaky.reset = None
        return torch.stack(spikes)

    def extra_repr(self) -> str:
        return f"surrogate={self.surrogate}, width={self.surrogate_width:.4g}"


def _build(surrogate: str, params: Mapping[str, Any]) -> SnnTorchLeaky:
    return SnnTorchLeaky(surrogate, width=params["width"], decay=params["decay"],
                         threshold=params["threshold"], reset=params["reset"],
                         reset_delay=params["reset_delay"],
                         learn_decay=params["learn_decay"], learn_threshold=params["learn_threshold"])


def make_fast_sigmoid_neuron(params: Mapping[str, Any], channels: int | None = None) -> nn.Module:
    """``snn.Leaky`` with ``surrogate.fast_sigmoid(slope=fast_sigmoid_slope(width))``."""
    return _build("fast_sigmoid", params)


def make_atan_neuron(params: Mapping[str, Any], channels: int | None = None) -> nn.Module:
    """``snn.Leaky`` with ``surrogate.atan(alpha=atan_alpha(width))``."""
    return _build("atan", params)


def make_sigmoid_neuron(params: Mapping[str, Any], channels: int | None = None) -> nn.Module:
    """``snn.Leaky`` with ``surrogate.sigmoid(slope=sigmoid_slope(width))``."""
    return _build("sigmoid", params)


DEFAULTS = {"width": 1.0, "decay": 0.5, "threshold": 1.0, "reset": "hard", "reset_delay": True,
            "learn_decay": True, "learn_threshold": False}

for _name, _make, _label in (("fast_sigmoid", make_fast_sigmoid_neuron, "fast sigmoid"),
                             ("atan", make_atan_neuron, "arctan"),
                             ("sigmoid", make_sigmoid_neuron, "sigmoid")):
    register_method(MethodSpec(
        name=f"snntorch-{_name}", display_name=f"snnTorch Leaky ({_label})", family="snntorch",
        make_neuron=_make, defaults=DEFAULTS, requires=(REQUIREMENT,),
        description=f"snnTorch's Leaky neuron with its {_label} surrogate, width matched by HWHM."))

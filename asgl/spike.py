"""Spike-function modules: ASGL's noisy spike with a learnable width, and the fixed-surrogate SG control.

A spike module owns the spike function's parameters only; the time loop lives in :class:`asgl.neuron.LIF`.
Its contract with the neuron:

* ``fire(u, binary_mask)`` maps a pre-activation ``u = v − θ`` of shape ``[B, ...]`` for one time step to
  the output ``o`` (used by the reference autograd loop);
* ``noise_rate()`` is the current analog fraction ``p`` (0 in ``eval()``) as a Python float, used to draw
  ``binary_mask``; it never reads a tensor, so calling it never waits for a device;
* ``fused_spec()`` describes the spike function to the fused kernels (primitive, width, ``p``), or returns
  ``None`` when no fused kernel implements it (a primitive of :data:`asgl.functional.PRIMITIVES` without a
  kernel code, or a spike function the kernels do not know).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from asgl import functional as F

PARAMETERISATIONS = ("slope", "width", "log_width", "log_slope")
_MIN_RAW = 1e-4


def _floor(raw: torch.Tensor, minimum: float) -> torch.Tensor:
    """``max(raw, minimum)`` in value, identity in gradient (straight-through).

    An optimiser step can push a slope or width past zero; a plain clamp would then block its gradient and
    pin the width at the floor for good. With the straight-through floor the parameter can come back.
    """
    return raw + (raw.detach().clamp_min(minimum) - raw.detach())


@dataclass(frozen=True)
class FusedSpec:
    """What a fused LIF kernel needs to know about the spike function.

    Attributes:
        primitive: a key of :data:`asgl.functional.PRIMITIVES` that has a kernel code.
        width: ``w`` as a tensor of shape ``[]`` (layer-wide) or ``[C]`` (per channel), carrying its graph.
        p: analog fraction in ``[0, 1]``; ``0`` gives pure spikes forward.
    """

    primitive: str
    width: torch.Tensor
    p: float


class SpikeFunction(nn.Module):
    """Base class of spike modules (see the module docstring for the contract)."""

    def fire(self, u: torch.Tensor, binary_mask: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def noise_rate(self) -> float:
        return 0.0

    def fused_spec(self) -> FusedSpec | None:
        return None


def _check_width(width: float) -> float:
    if not (isinstance(width, (int, float)) and math.isfinite(width) and width > 0):
        raise ValueError(f"width must be a finite number > 0, got {width!r}")
    return float(width)


def _check_p(p: float) -> float:
    if not (isinstance(p, (int, float)) and 0.0 <= p <= 1.0):
        raise ValueError(f"p (noise rate) must be in [0, 1], got {p!r}")
    return float(p)


def _check_primitive(primitive: str) -> str:
    if primitive not in F.PRIMITIVES:
        raise ValueError(f"primitive must be one of {tuple(F.PRIMITIVES)}, got {primitive!r}")
    return primitive


def _broadcast_width(width: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Reshape a ``[C]`` width to broadcast over ``u`` of shape ``[B, C, ...]``."""
    if width.dim() == 0:
        return width
    if u.dim() < 2 or u.shape[1] != width.shape[0]:
        raise ValueError(f"per-channel width has {width.shape[0]} channels but the input has shape "
                         f"{tuple(u.shape)} (channels are dimension 2 of [T, B, C, ...])")
    return width.reshape((1, -1) + (1,) * (u.dim() - 2))


class ASGLSpike(SpikeFunction):
    """ASGL's dual-mode spike: ``o = H_w(u) + m ⊙ (Θ(u) − H_w(u))`` (bracket detached), ``m ~ Bernoulli(1−p)``.

    Args:
        width: initial width ``w > 0`` of the primitive (larger = smoother).
        p: analog fraction in ``[0, 1]``; stored as a buffer so it travels with checkpoints and schedules, and
            mirrored in a Python float that :meth:`set_noise_rate` and ``load_state_dict`` keep equal to it, so
            the forward pass reads ``p`` without a device read.
        channels: ``None`` for one width per layer, or ``C`` for one width per channel (dimension 2).
        primitive: a key of :data:`asgl.functional.PRIMITIVES`: ``"sigmoid"`` (``H_w(x) = sigmoid(x/w)``) or
            ``"rectangle"``, or any primitive added there (one without a kernel code runs on the autograd loop).
        parameterisation: what the optimiser sees: ``"slope"`` ``a = 1/w`` (the authors' sigmoid,
            ``InvSigmoid``), ``"log_slope"`` ``a = log(1/w)`` so that the rectangle reads
            ``clamp(e^a·u + 1/2, 0, 1)`` (the authors' ``InvRectangle``), ``"width"`` ``w`` itself, or
            ``"log_width"`` ``log w``. It changes how Adam moves the width.
        learnable: learn the width (``True``) or keep it fixed.

    In ``eval()`` the output is the pure Heaviside spike ``Θ(u)``.
    """

    def __init__(
        self,
        width: float = 1.0,
        p: float = 0.2,
        channels: int | None = None,
        primitive: str = "sigmoid",
        parameterisation: str = "slope",
        learnable: bool = True,
    ) -> None:
        super().__init__()
        width = _check_width(width)
        self.primitive = _check_primitive(primitive)
        if parameterisation not in PARAMETERISATIONS:
            raise ValueError(f"parameterisation must be one of {PARAMETERISATIONS}, got {parameterisation!r}")
        if channels is not None and (not isinstance(channels, int) or channels < 1):
            raise ValueError(f"channels must be a positive int or None, got {channels!r}")
        self.parameterisation = parameterisation
        shape = () if channels is None else (channels,)
        raw = {"slope": 1.0 / width, "width": width, "log_width": math.log(width),
               "log_slope": -math.log(width)}[parameterisation]
        tensor = torch.full(shape, raw, dtype=torch.float32)
        if learnable:
            self.raw_width = nn.Parameter(tensor)
        else:
            self.register_buffer("raw_width", tensor)
        self.register_buffer("p", torch.tensor(_check_p(p), dtype=torch.float32))
        self._p = float(np.float32(p))  # the buffer's value (rounded to float32), computed on the host

    def width(self) -> torch.Tensor:
        """The width ``w`` (shape ``[]`` or ``[C]``), differentiable w.r.t. the stored parameter."""
        if self.parameterisation == "slope":
            return 1.0 / _floor(self.raw_width, _MIN_RAW)
        if self.parameterisation == "width":
            return _floor(self.raw_width, _MIN_RAW)
        if self.parameterisation == "log_slope":
            return (-self.raw_width).exp()
        return self.raw_width.exp()

    def set_noise_rate(self, p: float) -> None:
        """Set ``p`` in place (used by :class:`asgl.schedules.NoiseRateSchedule`)."""
        self.p.fill_(_check_p(p))
        self._p = float(np.float32(p))  # the value the float32 buffer now holds, computed on the host

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        loaded = state_dict.get(prefix + "p")
        if isinstance(loaded, torch.Tensor) and loaded.numel() == 1:
            self._p = float(loaded.detach().to("cpu", torch.float32))  # once per load, not per step

    def noise_rate(self) -> float:
        return self._p if self.training else 0.0

    def fire(self, u: torch.Tensor, binary_mask: torch.Tensor | None) -> torch.Tensor:
        if not self.training:
            return F.heaviside(u)
        smooth = F.primitive(self.primitive, u, _broadcast_width(self.width(), u))
        mask = torch.ones_like(u) if binary_mask is None else binary_mask
        return F.noisy_spike(u, smooth, mask)

    def fused_spec(self) -> FusedSpec | None:
        if F.PRIMITIVES[self.primitive].kernel_code is None:
            return None
        return FusedSpec(self.primitive, self.width(), self.noise_rate())

    def extra_repr(self) -> str:
        w = self.width().detach()
        shown = f"{w.item():.4g}" if w.dim() == 0 else f"[{w.numel()} channels]"
        return f"width={shown}, p={self._p:.3g}, primitive={self.primitive}, param={self.parameterisation}"


class FixedSurrogateSpike(ASGLSpike):
    """The paper's SG control: forward ``Θ(u)``, backward ``H_w'(u)`` with a frozen width (ASGL with ``p = 0``)."""

    def __init__(self, width: float = 1.0, channels: int | None = None, primitive: str = "sigmoid") -> None:
        super().__init__(width=width, p=0.0, channels=channels, primitive=primitive,
                         parameterisation="width", learnable=False)

    def set_noise_rate(self, p: float) -> None:
        if p != 0.0:
            raise ValueError(f"FixedSurrogateSpike has no analog mode; p must stay 0, got {p!r}")

"""Whetstone-style sharpening (Severa et al., Nature Machine Intelligence 2019), registered as ``sharpen``.

Whetstone trains with a smooth, bounded activation and sharpens it toward a step over training, so the
trained network communicates with binary spikes. Here the activation is the spike function of our LIF
(:class:`SharpenSpike`), applied to ``u = v − θ``:

* training, width ``w > 0``: ``o = R_w(u) = clamp(u/w + 1/2, 0, 1)`` (a bounded ReLU centred on the
  threshold; Whetstone's choice) or ``o = sigmoid(u/w)``; gradients flow through it;
* training at ``w = 0`` and in ``eval()``: ``o = Θ(u)``, pure spikes (no gradient through the step).

Hand-made schedule of the width over training progress ``s = epoch / epochs`` (:func:`sharpen_width`)::

    w(s) = w₀ · (1 − clamp((s − start) / (end − start), 0, 1))

so the width is ``w₀`` until ``start``, shrinks linearly to 0 at ``end`` and stays 0 (pure spikes) after.
On the fused kernels (:mod:`asgl.kernels`) a training step with ``w > 0`` is ASGL's kernel with ``p = 1``
(every output the smooth value ``H_w(u)``, gradient through it); at ``w = 0`` and in ``eval()`` it is the
``"step"`` primitive with ``p = 0`` (``Θ(u)`` forward, no gradient through the spike).

Simplifications against Whetstone: all layers sharpen together (Whetstone sharpens layer by layer,
bottom-up, triggered by a loss plateau) and the membrane dynamics are our LIF's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from asgl import functional as F
from asgl.methods import LIF_DEFAULTS, make_lif
from asgl.registry import MethodSpec, register_method
from asgl.schedules import check_progress
from asgl.spike import FusedSpec, SpikeFunction
from asgl.training.callbacks import Callback, RunContext


def sharpen_width(progress: float, width0: float, start: float, end: float) -> float:
    """``w(s) = w₀ (1 − clamp((s − start)/(end − start), 0, 1))`` (see the module docstring)."""
    s = check_progress(progress)
    if not 0.0 <= start < end <= 1.0:
        raise ValueError(f"need 0 <= start < end <= 1, got start={start!r}, end={end!r}")
    return float(width0) * (1.0 - min(max((s - start) / (end - start), 0.0), 1.0))


class SharpenSpike(SpikeFunction):
    """Smooth bounded activation of width ``w`` (a buffer set by the schedule); ``Θ`` at ``w = 0``, in eval.

    Args:
        width: initial width ``w₀ > 0``.
        primitive: ``"rectangle"`` (bounded ReLU) or ``"sigmoid"``.
    """

    def __init__(self, width: float = 1.0, primitive: str = "rectangle") -> None:
        super().__init__()
        if not (isinstance(width, (int, float)) and math.isfinite(width) and width > 0):
            raise ValueError(f"width must be a finite number > 0, got {width!r}")
        if primitive not in F.PRIMITIVES:
            raise ValueError(f"primitive must be one of {tuple(F.PRIMITIVES)}, got {primitive!r}")
        self.primitive = primitive
        self.register_buffer("current_width", torch.tensor(float(width)))
        self._w = float(self.current_width)  # the buffer's value, kept on the host so no call reads the device

    def width(self) -> torch.Tensor:
        """The current width ``w`` (0 once fully sharpened)."""
        return self.current_width

    def set_width(self, width: float) -> None:
        """Set ``w ≥ 0`` in place (used by :class:`SharpenCallback`)."""
        if not (isinstance(width, (int, float)) and math.isfinite(width) and width >= 0):
            raise ValueError(f"width must be a finite number >= 0, got {width!r}")
        self.current_width.fill_(float(width))
        self._w = float(torch.tensor(float(width)))  # rounded to float32 like the buffer, on the host

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        loaded = state_dict.get(prefix + "current_width")
        if isinstance(loaded, torch.Tensor) and loaded.numel() == 1:
            self._w = float(loaded.detach().to("cpu", torch.float32))

    def fire(self, u: torch.Tensor, binary_mask: torch.Tensor | None) -> torch.Tensor:
        if not self.training or self._w == 0.0:
            return F.heaviside(u)
        return F.primitive(self.primitive, u, self.current_width)

    def fused_spec(self) -> FusedSpec:
        """``p = 1`` with this primitive while smooth; the gradient-free step once sharpened and in ``eval()``."""
        if not self.training or self._w == 0.0:
            return FusedSpec("step", torch.ones_like(self.current_width), 0.0)
        return FusedSpec(self.primitive, self.current_width, 1.0)

    def extra_repr(self) -> str:
        return f"width={float(self.current_width):.4g}, primitive={self.primitive}"


class SharpenCallback(Callback):
    """Set every :class:`SharpenSpike`'s width from :func:`sharpen_width` at each epoch start."""

    def on_epoch_start(self, ctx: RunContext) -> None:
        w = sharpen_width(ctx.progress, self.params["width"], self.params["start"], self.params["end"])
        for module in ctx.model.modules():
            if isinstance(module, SharpenSpike):
                module.set_width(w)


def make_sharpen_neuron(params: Mapping[str, Any], channels: int | None = None) -> nn.Module:
    """Our LIF with a :class:`SharpenSpike` (fused kernel on the CPU under ``"auto"``)."""
    return make_lif(SharpenSpike(width=params["width"], primitive=params["primitive"]), params)


register_method(MethodSpec(
    name="sharpen",
    display_name="Whetstone sharpening",
    family="sharpen",
    make_neuron=make_sharpen_neuron,
    defaults={"width": 1.0, "primitive": "rectangle", "start": 0.2, "end": 0.8,
              **LIF_DEFAULTS},
    callbacks=(SharpenCallback,),
    description="Smooth bounded activation sharpened to a step on a fixed schedule (Severa et al. 2019).",
))

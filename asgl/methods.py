"""The two methods of the paper: ``asgl`` and its SG control ``sg`` (registered on import).

Both build the same multi-step LIF (:class:`asgl.LIF`, ``[T, B, ...] → [T, B, ...]``); they differ only in
the spike function:

* ``asgl`` — :class:`asgl.ASGLSpike`: ``o = H_w(u) + m ⊙ (Θ(u) − H_w(u))``, ``m ~ Bernoulli(1 − p)``,
  learnable width ``w``; ``p`` follows :class:`asgl.schedules.NoiseRateSchedule` through
  :class:`NoiseRateCallback` (defined here, with its method, so that looking a method up imports no
  training code).
* ``sg`` — :class:`asgl.FixedSurrogateSpike`: forward ``Θ(u)``, backward ``H_w'(u)`` with ``w`` frozen
  (ASGL with ``p = 0`` and a fixed width).

The LIF keys (``decay``, ``threshold``, ``reset``, …) have the same defaults in both sections so that
the comparison differs in the spike function only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from torch import nn

from asgl.neuron import LIF
from asgl.registry import MethodSpec, register_method
from asgl.schedules import AUTHORS_MILESTONES, NoiseRateSchedule
from asgl.spike import ASGLSpike, FixedSurrogateSpike

if TYPE_CHECKING:
    from asgl.training.callbacks import RunContext

LIF_DEFAULTS: dict[str, Any] = {
    "decay": 0.5,
    "threshold": 1.0,
    "reset": "hard",
    "learn_decay": True,
    "learn_threshold": False,
    "scale_output": False,
    "backend": "auto",
}


def make_lif(spike: nn.Module, params: Mapping[str, Any]) -> LIF:
    """An :class:`asgl.LIF` around ``spike`` configured from the LIF keys of ``params``."""
    return LIF(spike, decay=params["decay"], threshold=params["threshold"], reset=params["reset"],
               learn_decay=params["learn_decay"], learn_threshold=params["learn_threshold"],
               scale_output=params["scale_output"], backend=params["backend"])


def _channels(params: Mapping[str, Any], channels: int | None) -> int | None:
    if not params["per_channel"]:
        return None
    if channels is None:
        raise ValueError("per_channel=True needs the layer's channel count: call the factory with channels=C")
    return channels


def asgl_spikes(model: nn.Module) -> list[ASGLSpike]:
    """Every ASGL spike module of ``model`` whose ``p`` may change (fixed-surrogate controls excluded)."""
    return [m for m in model.modules() if isinstance(m, ASGLSpike) and not isinstance(m, FixedSurrogateSpike)]


class NoiseRateCallback:
    """Set ``p`` of every :class:`ASGLSpike` from a :class:`NoiseRateSchedule` at each epoch start.

    A callback in the sense of :mod:`asgl.training.callbacks` (the trainer calls its three hooks; the base
    class is not needed, which keeps this module free of training imports). Reads ``p``, ``gamma`` and
    ``milestones`` from the method's params section.
    """

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.params = dict(params or {})
        self.schedule = NoiseRateSchedule(p0=float(self.params.get("p", 0.2)),
                                          gamma=float(self.params.get("gamma", 1.0)),
                                          milestones=tuple(self.params.get("milestones", (0.0,))))

    def on_train_start(self, ctx: RunContext) -> None:
        pass

    def on_epoch_start(self, ctx: RunContext) -> None:
        p = self.schedule.at_epoch(ctx.epoch, ctx.epochs)
        for spike in asgl_spikes(ctx.model):
            spike.set_noise_rate(p)

    def on_epoch_end(self, ctx: RunContext) -> None:
        pass


def make_asgl_neuron(params: Mapping[str, Any], channels: int | None = None) -> nn.Module:
    """LIF with an :class:`ASGLSpike` of learnable width (per layer, or per channel with ``per_channel``)."""
    spike = ASGLSpike(width=params["width"], p=params["p"], channels=_channels(params, channels),
                      primitive=params["primitive"], parameterisation=params["parameterisation"],
                      learnable=True)
    return make_lif(spike, params)


def make_sg_neuron(params: Mapping[str, Any], channels: int | None = None) -> nn.Module:
    """LIF with a :class:`FixedSurrogateSpike` (frozen width, pure spikes forward)."""
    spike = FixedSurrogateSpike(width=params["width"], channels=_channels(params, channels),
                                primitive=params["primitive"])
    return make_lif(spike, params)


ASGL = register_method(MethodSpec(
    name="asgl",
    display_name="ASGL",
    family="asgl",
    make_neuron=make_asgl_neuron,
    defaults={"width": 1.0, "p": 0.2, "gamma": 1.0, "milestones": list(AUTHORS_MILESTONES),
              "primitive": "sigmoid", "parameterisation": "slope", "per_channel": False, **LIF_DEFAULTS},
    callbacks=(NoiseRateCallback,),
    description="Adaptive smoothing gradient: noisy dual-mode spikes, learnable surrogate width.",
))

SG = register_method(MethodSpec(
    name="sg",
    display_name="SG (fixed width)",
    family="surrogate",
    make_neuron=make_sg_neuron,
    defaults={"width": 1.0, "primitive": "sigmoid", "per_channel": False, **LIF_DEFAULTS},
    description="The paper's control: same LIF, fixed sigmoid surrogate of the same width, p = 0.",
))

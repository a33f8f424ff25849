"""Dspike (Li et al., NeurIPS 2021, "Differentiable Spike: Rethinking Gradient-Descent for Training Spiking
Neural Networks"), registered as ``dspike``: a tanh surrogate family with a temperature, chosen during
training by comparing surrogate gradients with finite-difference gradients.

Spike function on ``u = v − θ`` (our LIF, :mod:`asgl.neuron`), temperature ``b > 0``:

* forward: ``o = Θ(u) = [u ≥ 0]`` in training and in eval (the network always emits binary spikes);
* backward: the derivative of the Dspike function. The paper defines, on a unit window ``x ∈ [0, 1]``,
  ``Dspike(x) = a·tanh(b(x − c)) + d`` with ``c = 1/2`` and ``a, d`` fixed by ``Dspike(0) = 0``,
  ``Dspike(1) = 1``: ``a = 1 / (2 tanh(b/2))``, ``d = 1/2``; it is 0 left of the window and 1 right of it.
  We centre the window on the threshold (``x − c = u``), so the surrogate gradient is::

      ∂o/∂u ≈ D_b(u) = b (1 − tanh²(b u)) / (2 tanh(b/2))    for |u| ≤ 1/2,   0 otherwise.

  ``D_b`` integrates to 1 over the window for every ``b``; ``b → 0`` gives the straight-through box
  (``D = 1`` on the window), large ``b`` a spike at the threshold (peak ``b / (2 tanh(b/2)) ≈ b/2``).

Temperature selection (:class:`TemperatureSelection`, the paper's "finite difference gradient"): the true
gradient of the spiking network (Heaviside forward) is estimated by finite differences of the weights and
the candidate temperature whose surrogate gradient points the most the same way (cosine similarity) is
kept. What is done here, per selection, with the model's weights ``W`` of its first weighted layer:

1. draw ``K`` random unit directions ``δ_k`` (a generator seeded by the epoch: the global RNG, and so the
   batch order shared with the other methods, is untouched);
2. finite differences of a scalar objective ``L``: ``d_k = (L(W + εδ_k) − L(W − εδ_k)) / (2ε)`` with
   ``ε = fd_eps · ‖W‖``;
3. for each candidate ``b``: the surrogate gradient ``g_b = ∂L/∂W`` (one forward and backward) and its
   projections ``s_{b,k} = ⟨g_b, δ_k⟩``;
4. keep ``b* = argmax_b cos(d, s_b)`` in every Dspike neuron.

Simplifications, stated: (i) done once per ``select_every`` epochs, at the end of the epoch, on the epoch's
first training batch (captured by a forward pre-hook), never after the last epoch; (ii) only the first
weighted layer; (iii) the full finite-difference gradient (one pair of forwards per weight) is replaced by
its projection on ``K`` random directions — the cosine of the projections estimates the cosine of the
gradients (Johnson–Lindenstrauss); (iv) callbacks see no labels, so ``L`` is a fixed random linear function
of the network's output (``L = ⟨r, f(x)⟩``, ``r`` seeded by the epoch) instead of the training loss: both
gradients pass through the same Jacobian of the spiking network, which is what the temperature shapes;
(v) the candidates: ``search: grid`` (default) takes the global argmax over the fixed set ``candidates``;
``search: local`` is Li et al.'s Algorithm 1 neighbourhood, ``{b, b + Δb, b − Δb}`` around the current
temperature ``b`` (``Δb`` = ``step``, our value; ``b − Δb`` is left out unless it is ``> 0``; a tie keeps
``b``), so the temperature moves by at most ``Δb`` per selection. Timing differs from Algorithm 1 in both
modes: they select at the start of every epoch, the first included, on the training loss; here at the end
of an epoch (the start of the next), so the first epoch trains at the initial ``temperature``. Cost per
selection: ``2K`` forwards and one forward and
backward per candidate on one batch; the buffers (batch-norm statistics), the gradients and the RNG state
are restored afterwards. The chosen temperature is a buffer, so it is checkpointed and a resumed run
continues as an uninterrupted one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from asgl.methods import LIF_DEFAULTS, make_lif
from asgl.registry import MethodSpec, register_method
from asgl.spike import FusedSpec, SpikeFunction
from asgl.training.callbacks import Callback, RunContext


def _check_temperature(b: float) -> float:
    if not (isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b) and b > 0):
        raise ValueError(f"methods.dspike.temperature: must be a finite number > 0, got {b!r}")
    return float(b)


def dspike_grad(u: torch.Tensor, b: torch.Tensor | float) -> torch.Tensor:
    """``D_b(u) = b (1 − tanh²(b u)) / (2 tanh(b/2))`` on ``|u| ≤ 1/2``, else 0 (module docstring); any shape."""
    b = torch.as_tensor(b, dtype=u.dtype, device=u.device)
    inside = (u.abs() <= 0.5).to(u.dtype)
    return inside * b * (1.0 - torch.tanh(b * u).square()) / (2.0 * torch.tanh(b / 2.0))


class _DspikeFn(torch.autograd.Function):
    """``Θ(u)`` forward, ``D_b(u)`` backward (no gradient to ``b``)."""

    @staticmethod
    def forward(ctx, u: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(u, b)
        return (u >= 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        u, b = ctx.saved_tensors
        return grad * dspike_grad(u, b), None


class DspikeSpike(SpikeFunction):
    """Heaviside spikes with the Dspike surrogate gradient of temperature ``b`` (a buffer, set by selection).

    On the fused kernels it is the ``"dspike"`` primitive of :data:`asgl.functional.PRIMITIVES` with width
    ``w = 1/b`` (a layer-wide scalar, like a width) and ``p = 0``: forward ``Θ(u)``, backward ``D_b(u)``.

    Args:
        temperature: initial ``b > 0``.
    """

    def __init__(self, temperature: float = 3.0) -> None:
        super().__init__()
        self.register_buffer("temperature", torch.tensor(_check_temperature(temperature)))

    def set_temperature(self, b: float) -> None:
        """Set ``b > 0`` in place."""
        self.temperature.fill_(_check_temperature(b))

    def fire(self, u: torch.Tensor, binary_mask: torch.Tensor | None) -> torch.Tensor:
        return _DspikeFn.apply(u, self.temperature.to(u.dtype))

    def fused_spec(self) -> FusedSpec:
        """The Dspike primitive at width ``1/b`` with no analog spikes (computed on the device: no read-back)."""
        return FusedSpec("dspike", 1.0 / self.temperature, 0.0)

    def extra_repr(self) -> str:
        return f"temperature={float(self.temperature):.4g}"


def dspike_neurons(model: nn.Module) -> list[DspikeSpike]:
    """Every :class:`DspikeSpike` of ``model``."""
    return [m for m in model.modules() if isinstance(m, DspikeSpike)]


def first_weight(model: nn.Module) -> nn.Parameter:
    """The weight of the first layer with a weight matrix or kernel (``dim ≥ 2``), in registration order."""
    for p in model.parameters():
        if p.dim() >= 2 and p.requires_grad:
            return p
    raise ValueError("Dspike temperature selection: the model has no weight with 2 or more dimensions")


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """``⟨a, b⟩ / (‖a‖ ‖b‖)``, 0 when either is zero."""
    na, nb = float(a.norm()), float(b.norm())
    return 0.0 if na == 0.0 or nb == 0.0 else float(a @ b) / (na * nb)


def select_temperature(model: nn.Module, x: torch.Tensor, candidates: Sequence[float], directions: int,
                       fd_eps: float, seed: int) -> tuple[float, float]:
    """Steps 1–4 of the module docstring on input ``x``; returns ``(b*, cos(d, s_{b*}))``.

    Sets every Dspike neuron's temperature to ``b*``; leaves the weights, buffers, gradients and the global
    RNG as it found them.
    """
    if not candidates:
        raise ValueError("methods.dspike.candidates: give at least one temperature")
    neurons = dspike_neurons(model)
    weight = first_weight(model)
    gen = torch.Generator().manual_seed(int(seed))
    rng, buffers = torch.get_rng_state(), {k: v.clone() for k, v in model.named_buffers()}
    grads = {p: p.grad for p in model.parameters()}
    original = weight.detach().clone()
    try:
        with torch.no_grad():
            out = model(x)
        r = torch.randn(out.shape, generator=gen).to(out)
        deltas = torch.randn((directions, *weight.shape), generator=gen).to(weight)
        deltas /= deltas.flatten(1).norm(dim=1).view(-1, *([1] * weight.dim()))
        eps = fd_eps * float(original.norm())
        fd = torch.empty(directions)
        with torch.no_grad():
            for k in range(directions):
                weight.copy_(original + eps * deltas[k])
                plus = float((model(x) * r).sum())
                weight.copy_(original - eps * deltas[k])
                minus = float((model(x) * r).sum())
                fd[k] = (plus - minus) / (2.0 * eps)
            weight.copy_(original)
        scores = []
        for b in candidates:
            for n in neurons:
                n.set_temperature(b)
            weight.grad = None
            (model(x) * r).sum().backward()
            g = weight.grad.detach()
            scores.append(cosine(fd, (deltas.flatten(1) @ g.flatten()).cpu()))
        best = max(range(len(candidates)), key=lambda i: scores[i])
    finally:
        with torch.no_grad():
            weight.copy_(original)
            for k, v in model.named_buffers():
                v.copy_(buffers[k])
        for p, g in grads.items():
            p.grad = g
        torch.set_rng_state(rng)
    for n in neurons:
        n.set_temperature(candidates[best])
    return float(candidates[best]), scores[best]


SEARCHES = ("grid", "local")


def search_candidates(params: Mapping[str, Any], current: float) -> list[float]:
    """The temperatures to compare: ``candidates`` (``search: grid``) or ``b, b + Δb, b − Δb`` around the
    current ``b`` (``search: local``, ``Δb = step``; ``b − Δb`` only when ``> 0``)."""
    search = params.get("search", "grid")
    if search == "grid":
        return [float(b) for b in params["candidates"]]
    if search != "local":
        raise ValueError(f"methods.dspike.search: must be one of {SEARCHES}, got {search!r}")
    step = params.get("step", 1.0)
    if not (isinstance(step, (int, float)) and not isinstance(step, bool) and math.isfinite(step) and step > 0):
        raise ValueError(f"methods.dspike.step: must be a finite number > 0, got {step!r}")
    return [current, current + step] + ([current - step] if current - step > 0 else [])


class TemperatureSelection(Callback):
    """Choose Dspike's temperature by finite differences every ``select_every`` epochs (module docstring)."""

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        self._batch: torch.Tensor | None = None
        self._handle = None

    def _capture(self, module: nn.Module, args: tuple) -> None:
        if self._batch is None and module.training and args and isinstance(args[0], torch.Tensor):
            self._batch = args[0].detach()

    def on_train_start(self, ctx: RunContext) -> None:
        if self.params.get("select", True) and self._handle is None:
            self._handle = ctx.model.register_forward_pre_hook(self._capture)

    def on_epoch_start(self, ctx: RunContext) -> None:
        self._batch = None

    def on_epoch_end(self, ctx: RunContext) -> None:
        every = int(self.params.get("select_every", 1))
        due = every > 0 and (ctx.epoch + 1) % every == 0 and ctx.epoch + 1 < ctx.epochs
        if self._handle is None or self._batch is None or not due:
            return
        batch, self._batch = self._batch, None
        neurons = dspike_neurons(ctx.model)
        current = float(neurons[0].temperature) if neurons else float(self.params["temperature"])
        candidates = search_candidates(self.params, current)
        b, cos = select_temperature(ctx.model, batch, candidates, int(self.params["directions"]),
                                    float(self.params["fd_eps"]), seed=ctx.epoch)
        ctx.record["dspike/temperature"] = b
        ctx.record["dspike/fd_cosine"] = cos


def make_dspike_neuron(params: Mapping[str, Any], channels: int | None = None) -> nn.Module:
    """Our LIF (same keys as every method) with a :class:`DspikeSpike` (fused kernel on the CPU under ``"auto"``)."""
    return make_lif(DspikeSpike(params["temperature"]), params)


DEFAULTS: dict[str, Any] = {
    "temperature": 3.0, "select": True, "search": "grid", "candidates": [1.0, 2.0, 3.0, 5.0], "step": 1.0,
    "directions": 4, "fd_eps": 0.05, "select_every": 1, **LIF_DEFAULTS,
}

register_method(MethodSpec(
    name="dspike",
    display_name="Dspike",
    family="surrogate",
    make_neuron=make_dspike_neuron,
    defaults=DEFAULTS,
    callbacks=(TemperatureSelection,),
    description="Tanh surrogate family, temperature chosen by finite-difference gradients (Li et al. 2021).",
))

"""Pure equations of the ASGL method: primitives, the noisy spike and the counter-based mask.

Everything here is a stateless function of tensors. Shapes are written time-major: ``x`` of shape
``[T, B, ...]``; scalar parameters broadcast, per-channel parameters have shape ``[C]`` and apply to
dimension 2 (``[T, B, C, ...]``).

Equations (GUIDE §1):

* Heaviside ``Θ(x) = [x ≥ 0]``.
* Sigmoid primitive ``H_w(x) = sigmoid(x / w)``, derivative ``H_w'(x) = H_w(x)(1 − H_w(x)) / w``.
* Rectangle primitive ``R_w(x) = clamp(x / w + 1/2, 0, 1)``, derivative ``1/w`` on ``|x| < w/2``.
* Dspike primitive (Li et al. 2021) with temperature ``b = 1/w`` on the unit window ``|x| ≤ 1/2``:
  ``D_w(x) = tanh(b x) / (2 tanh(b/2)) + 1/2`` inside, ``Θ(x)`` outside; derivative
  ``b (1 − tanh²(b x)) / (2 tanh(b/2))`` inside, 0 outside. The window is fixed; the width only sharpens it.
* Step primitive ``Θ(x)`` with derivative 0: the ``w → 0`` limit of every primitive (no surrogate gradient).
* The primitives are listed once, in :data:`PRIMITIVES` (name → kernel code, ``H_w``, ``H_w'``); the fused
  kernels (:mod:`asgl.kernels`) take their codes from it, and a primitive without a code runs on the
  autograd loop only.
* Noisy spike ``o = H_w(x) + m ⊙ (Θ(x) − H_w(x))`` with the bracket detached and
  ``m ~ Bernoulli(1 − p)``: analog with probability ``p``, binary otherwise, gradient always through ``H_w``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

_MASK32 = 0xFFFFFFFF
_HASH_MUL1 = 0x7FEB352D
_HASH_MUL2 = 0x846CA68B
_SEED_MUL = 0x9E3779B9


def heaviside(x: torch.Tensor) -> torch.Tensor:
    """``Θ(x) = 1`` where ``x ≥ 0`` else ``0``, in the dtype of ``x``. No gradient."""
    return (x >= 0).to(x.dtype)


def sigmoid_primitive(x: torch.Tensor, width: torch.Tensor | float) -> torch.Tensor:
    """``H_w(x) = sigmoid(x / w)``; differentiable in ``x`` and ``w``."""
    return torch.sigmoid(x / width)


def rectangle_primitive(x: torch.Tensor, width: torch.Tensor | float) -> torch.Tensor:
    """``R_w(x) = clamp(x / w + 1/2, 0, 1)``: a linear ramp of width ``w`` centred on 0."""
    return torch.clamp(x / width + 0.5, 0.0, 1.0)


def sigmoid_derivative(x: torch.Tensor, width: torch.Tensor | float) -> torch.Tensor:
    """``∂H_w/∂x = H_w(x)(1 − H_w(x)) / w``."""
    h = torch.sigmoid(x / width)
    return h * (1.0 - h) / width


def rectangle_derivative(x: torch.Tensor, width: torch.Tensor | float) -> torch.Tensor:
    """``∂R_w/∂x = 1/w`` on ``|x| < w/2``, else 0."""
    return (x.abs() < 0.5 * width).to(x.dtype) / width


def dspike_primitive(x: torch.Tensor, width: torch.Tensor | float) -> torch.Tensor:
    """``D_w(x) = tanh(x / w) / (2 tanh(1 / (2w))) + 1/2`` on ``|x| ≤ 1/2``, ``Θ(x)`` outside.

    Temperature ``b = 1/w``. Continuous (``D_w(±1/2) = 1, 0``) and differentiable in ``x`` and ``w``.
    """
    b = 1.0 / torch.as_tensor(width, dtype=x.dtype, device=x.device)
    inner = torch.tanh(b * x) / (2.0 * torch.tanh(b / 2.0)) + 0.5
    return torch.where(x.abs() <= 0.5, inner, (x > 0).to(x.dtype))


def dspike_derivative(x: torch.Tensor, width: torch.Tensor | float) -> torch.Tensor:
    """``∂D_w/∂x = b (1 − tanh²(b x)) / (2 tanh(b/2))`` on ``|x| ≤ 1/2``, else 0, with ``b = 1/w``."""
    b = 1.0 / torch.as_tensor(width, dtype=x.dtype, device=x.device)
    inside = (x.abs() <= 0.5).to(x.dtype)
    return inside * b * (1.0 - torch.tanh(b * x).square()) / (2.0 * torch.tanh(b / 2.0))


def step_primitive(x: torch.Tensor, width: torch.Tensor | float) -> torch.Tensor:
    """``Θ(x)`` for any width, with a zero gradient in ``x`` and ``w`` (the ``w → 0`` limit of every primitive)."""
    return heaviside(x) + 0.0 * (x / width)


def step_derivative(x: torch.Tensor, width: torch.Tensor | float) -> torch.Tensor:
    """``0``: a step has no surrogate gradient."""
    return torch.zeros_like(x)


@dataclass(frozen=True)
class Primitive:
    """One smooth primitive ``H_w``: its name, the code the fused kernels know it by, ``H_w`` and ``∂H_w/∂x``.

    Attributes:
        name: the key in :data:`PRIMITIVES` and the value of a spike module's ``primitive`` argument.
        kernel_code: the integer both fused kernels (numba and Triton) dispatch on, or ``None`` when no fused
            kernel implements the primitive; the LIF then runs the autograd loop (backend ``"auto"``) or
            raises (a fused backend named explicitly).
        smooth: ``H_w(x)`` for ``x`` of any shape and a width that broadcasts against it; differentiable.
        derivative: ``∂H_w/∂x``, same arguments (what the kernels' backward computes in closed form).
        fused_backends: the fused backends whose kernels implement the code; on any other, ``"auto"`` runs the
            autograd loop and naming that backend raises.
    """

    name: str
    kernel_code: int | None
    smooth: Callable[[torch.Tensor, torch.Tensor | float], torch.Tensor]
    derivative: Callable[[torch.Tensor, torch.Tensor | float], torch.Tensor]
    fused_backends: tuple[str, ...] = ("numba", "triton")


PRIMITIVES: dict[str, Primitive] = {
    "sigmoid": Primitive("sigmoid", 0, sigmoid_primitive, sigmoid_derivative),
    "rectangle": Primitive("rectangle", 1, rectangle_primitive, rectangle_derivative),
    "dspike": Primitive("dspike", 2, dspike_primitive, dspike_derivative, ("numba",)),
    "step": Primitive("step", 3, step_primitive, step_derivative, ("numba",)),
}


def primitive(name: str, x: torch.Tensor, width: torch.Tensor | float) -> torch.Tensor:
    """``H_w(x)`` of the primitive named ``name`` (a key of :data:`PRIMITIVES`)."""
    if name not in PRIMITIVES:
        raise ValueError(f"unknown primitive {name!r}; choose one of {tuple(PRIMITIVES)}")
    return PRIMITIVES[name].smooth(x, width)


def noisy_spike(x: torch.Tensor, smooth: torch.Tensor, binary_mask: torch.Tensor) -> torch.Tensor:
    """ASGL's dual-mode output ``o = H + m ⊙ (Θ(x) − H)`` with the bracket detached.

    Args:
        x: pre-activation ``v − θ``, any shape.
        smooth: ``H_w(x)``, same shape, carrying the gradient.
        binary_mask: ``m`` (1 = emit the binary spike, 0 = emit the smooth value), same shape.
    """
    return smooth + binary_mask * (heaviside(x) - smooth).detach()


def _lowbias32(h: torch.Tensor | int) -> torch.Tensor | int:
    """Integer hash of 32-bit words held in int64 tensors or Python ints (Wellons' lowbias32); returns values in
    ``[0, 2³²)``."""
    h = h ^ (h >> 16)
    h = (h * _HASH_MUL1) & _MASK32
    h = h ^ (h >> 15)
    h = (h * _HASH_MUL2) & _MASK32
    return h ^ (h >> 16)


def seed_key(seed: int) -> int:
    """Mix a user seed into the 32-bit key added to every counter; the same on every backend."""
    return int(_lowbias32(((seed & _MASK32) * _SEED_MUL) & _MASK32))


def counter_uniform(seed: int, shape: tuple[int, ...], device: torch.device | str = "cpu") -> torch.Tensor:
    """Counter-based uniform numbers in ``[0, 1)`` for a tensor of ``shape`` (row-major counters).

    ``u[i] = (lowbias32((i + key(seed)) mod 2³²) >> 8) · 2⁻²⁴`` where ``i`` is the flat element index.
    Any element can be regenerated from ``(seed, i)`` alone, which is what lets the fused kernels keep no
    mask for backward. Returned as float32.
    """
    n = 1
    for s in shape:
        n *= s
    idx = torch.arange(n, dtype=torch.int64, device=device)
    h = _lowbias32((idx + seed_key(seed)) & _MASK32)
    return ((h >> 8).to(torch.float32) * (1.0 / 16777216.0)).reshape(shape)


def binary_mask(seed: int, shape: tuple[int, ...], p: float, device: torch.device | str = "cpu") -> torch.Tensor:
    """``m = [u ≥ p]``: 1 (binary spike) with probability ``1 − p``, 0 (analog) with probability ``p``."""
    return (counter_uniform(seed, shape, device) >= p).to(torch.float32)

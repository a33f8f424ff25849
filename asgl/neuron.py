"""Multi-step leaky integrate-and-fire neuron (time-major, stateless between calls).

For input currents ``x`` of shape ``[T, B, ...]`` (per time step ``t``)::

    v_t = λ r_{t−1} + x_t,       r_{−1} = 0
    o_t = spike(v_t − θ)
    r_t = v_t − θ o_t            (soft reset)     or     r_t = v_t (1 − o_t)     (hard reset)
    y_t = θ o_t if scale_output else o_t

The reset is not detached: gradients flow through it. ``λ`` (decay) is fixed or learnable as a logit
(``λ = sigmoid(d)``); ``θ`` (threshold) fixed or learnable.

Backends (``backend=``): ``"autograd"`` is the reference (a Python loop over ``t``, the only time loop of the
package; autograd stores several tensors per step); ``"numba"`` is the fused CPU kernel and ``"triton"`` the
fused GPU kernel (both store only ``v_t``, 4 bytes per neuron-step, and regenerate the noise mask in
backward); ``"auto"`` picks ``numba`` for float32 CPU tensors, ``triton`` for CUDA tensors, and the reference
otherwise (double precision, or a spike module without a fused kernel). An explicitly named fused backend
that cannot run a case raises instead of falling back.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from asgl import functional as F
from asgl.kernels.fused import BACKENDS, fused_lif, resolve_backend
from asgl.spike import SpikeFunction

RESETS = ("soft", "hard")


def _all_finite(x: torch.Tensor) -> bool:
    """True when ``x`` has no NaN or inf. One reduction (a NaN or inf makes the sum non-finite); the exact
    element-wise test runs only when the sum is not finite, which a huge finite input can also cause."""
    with torch.no_grad():
        return bool(torch.isfinite(x.sum())) or bool(torch.isfinite(x).all())


def draw_seed() -> int:
    """One 31-bit seed from torch's global generator: the whole noise mask of one forward call follows from it."""
    return int(torch.randint(0, 2**31 - 1, (1,)).item())


def lif_reference(
    x: torch.Tensor,
    spike: SpikeFunction,
    decay: torch.Tensor,
    threshold: torch.Tensor,
    reset: str,
    scale_output: bool,
    binary_mask: torch.Tensor | None,
) -> torch.Tensor:
    """The LIF recursion above with autograd through every step; ``binary_mask`` is ``[T, B, ...]`` or ``None``."""
    r = torch.zeros_like(x[0])
    outputs = []
    for t in range(x.shape[0]):
        v = decay * r + x[t]
        o = spike.fire(v - threshold, None if binary_mask is None else binary_mask[t])
        r = v - threshold * o if reset == "soft" else v * (1.0 - o)
        outputs.append(threshold * o if scale_output else o)
    return torch.stack(outputs)


class LIF(nn.Module):
    """Multi-step LIF layer: ``[T, B, ...] → [T, B, ...]`` (see the module docstring for the equations).

    Args:
        spike: the spike-function module (e.g. :class:`asgl.ASGLSpike`).
        decay: membrane decay ``λ`` in ``[0, 1]``.
        threshold: firing threshold ``θ > 0``.
        reset: ``"soft"`` (subtract ``θ``) or ``"hard"`` (to zero).
        learn_decay: learn ``λ`` through a logit.
        learn_threshold: learn ``θ``.
        scale_output: emit ``θ·o`` instead of ``o`` (as the authors' code does).
        backend: ``"auto"``, ``"autograd"``, ``"numba"`` or ``"triton"``.
    """

    def __init__(
        self,
        spike: SpikeFunction,
        decay: float = 0.5,
        threshold: float = 1.0,
        reset: str = "soft",
        learn_decay: bool = False,
        learn_threshold: bool = False,
        scale_output: bool = False,
        backend: str = "auto",
    ) -> None:
        super().__init__()
        if not isinstance(spike, SpikeFunction):
            raise TypeError(f"spike must be a SpikeFunction module, got {type(spike).__name__}")
        if not (isinstance(decay, (int, float)) and 0.0 <= decay <= 1.0):
            raise ValueError(f"decay must be in [0, 1], got {decay!r}")
        if not (isinstance(threshold, (int, float)) and math.isfinite(threshold) and threshold > 0):
            raise ValueError(f"threshold must be a finite number > 0, got {threshold!r}")
        if reset not in RESETS:
            raise ValueError(f"reset must be one of {RESETS}, got {reset!r}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if learn_decay and not 0.0 < decay < 1.0:
            raise ValueError(f"a learnable decay is stored as a logit and must start in (0, 1), got {decay!r}")
        self.spike = spike
        self.reset = reset
        self.scale_output = scale_output
        self.backend = backend
        self.learn_decay = learn_decay
        if learn_decay:
            self.decay_logit = nn.Parameter(torch.tensor(math.log(decay / (1.0 - decay))))
        else:
            self.register_buffer("decay_value", torch.tensor(float(decay)))
        theta = torch.tensor(float(threshold))
        if learn_threshold:
            self.threshold = nn.Parameter(theta)
        else:
            self.register_buffer("threshold", theta)

    def decay(self) -> torch.Tensor:
        """``λ`` as a 0-d tensor (``sigmoid(logit)`` when learnable)."""
        return torch.sigmoid(self.decay_logit) if self.learn_decay else self.decay_value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3:
            raise ValueError(f"LIF expects a time-major input [T, B, ...] with at least 3 dimensions, "
                             f"got shape {tuple(x.shape)}")
        if not _all_finite(x):
            raise ValueError("LIF input contains NaN or inf; check the previous layer and the learning rate")
        backend = resolve_backend(self.backend, x, self.spike)
        seed = draw_seed() if self.spike.noise_rate() > 0.0 else 0
        if backend == "autograd":
            p = self.spike.noise_rate()
            mask = F.binary_mask(seed, tuple(x.shape), p, x.device).to(x.dtype) if p > 0.0 else None
            return lif_reference(x, self.spike, self.decay(), self.threshold, self.reset, self.scale_output, mask)
        spec = self.spike.fused_spec()
        return fused_lif(x, spec, self.decay(), self.threshold, self.reset, self.scale_output, seed, backend)

    def extra_repr(self) -> str:
        return (f"decay={float(self.decay()):.3g}, threshold={float(self.threshold):.3g}, reset={self.reset}, "
                f"scale_output={self.scale_output}, backend={self.backend}")

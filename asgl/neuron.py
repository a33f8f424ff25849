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
otherwise (double precision, or a spike module without a fused kernel, said once in the log). An explicitly
named fused backend that cannot run a case raises instead of falling back.

No host–device synchronisation inside a call: ``p`` is a Python float kept by the spike module, ``λ`` and
``θ`` reach the kernels as tensors, and the NaN/inf test of the input is a device-side flag per layer that
the caller reads once per step with :func:`take_nonfinite_inputs` (or :func:`check_finite_inputs`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from asgl import functional as F
from asgl.kernels.fused import BACKENDS, fused_lif, resolve_backend
from asgl.spike import SpikeFunction

RESETS = ("soft", "hard")


def _has_nonfinite(x: torch.Tensor) -> torch.Tensor:
    """0-d bool tensor on ``x.device``: ``True`` when ``x`` holds a NaN or an inf. Exact, one pass, no copy.

    ``min(x)`` and ``max(x)`` are finite exactly when every element is (``aminmax`` propagates NaN; ``+inf``
    reaches the max, ``−inf`` the min), so a huge but finite input is not flagged. Computed on the device and
    never read here: see :func:`take_nonfinite_inputs`.
    """
    if x.numel() == 0:  # aminmax has no value for an empty tensor; nothing in it can be non-finite
        return torch.zeros((), dtype=torch.bool, device=x.device)
    with torch.no_grad():
        low, high = torch.aminmax(x.detach())
        return ~(torch.isfinite(low) & torch.isfinite(high))


def draw_seed() -> int:
    """One 31-bit seed from torch's global CPU generator: the whole noise mask of one forward call follows from it.

    The seed is drawn on the host whatever the model's device, so masks are the same on every device for the
    same ``torch.manual_seed``; it is read through NumPy's view of the 1-element CPU tensor, which reads host
    memory and never waits for a device.
    """
    return int(torch.randint(0, 2**31 - 1, (1,)).numpy()[0])


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
        # Device-side "an input held NaN or inf" flag since the last take_nonfinite_inputs(); not a buffer, so
        # it stays out of checkpoints and data-parallel buffer broadcasts (each process keeps its own).
        self._nonfinite: torch.Tensor | None = None
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
        self._record_nonfinite(x)
        spec = self.spike.fused_spec()
        backend = resolve_backend(self.backend, x, self.spike, spec)
        p = self.spike.noise_rate()
        seed = draw_seed() if p > 0.0 else 0
        if backend == "autograd":
            mask = F.binary_mask(seed, tuple(x.shape), p, x.device).to(x.dtype) if p > 0.0 else None
            return lif_reference(x, self.spike, self.decay(), self.threshold, self.reset, self.scale_output, mask)
        return fused_lif(x, spec, self.decay(), self.threshold, self.reset, self.scale_output, seed, backend)

    def _record_nonfinite(self, x: torch.Tensor) -> None:
        """OR ``x``'s NaN/inf test into this layer's device-side flag (read by :func:`take_nonfinite_inputs`)."""
        found = _has_nonfinite(x)
        if self._nonfinite is not None and self._nonfinite.device == found.device:
            found = found | self._nonfinite
        self._nonfinite = found

    def extra_repr(self) -> str:
        return (f"decay={float(self.decay()):.3g}, threshold={float(self.threshold):.3g}, reset={self.reset}, "
                f"scale_output={self.scale_output}, backend={self.backend}")


def take_nonfinite_inputs(model: nn.Module) -> list[str]:
    """Names of the :class:`LIF` layers in ``model`` that received a NaN or inf since the last call; clears them.

    The LIF never reads its finiteness test back (that would make the host wait for the device at every layer);
    it ORs it into a device-side flag per layer. This function reads all of a model's flags in one transfer,
    so a trainer calls it once per step (or per epoch) and stops on a non-empty list. A layer's name is its
    ``named_modules()`` name (``"<root>"`` for ``model`` itself); layers not called since the last read are
    left out.
    """
    layers = [(name or "<root>", m) for name, m in model.named_modules()
              if isinstance(m, LIF) and m._nonfinite is not None]
    if not layers:
        return []
    device = layers[0][1]._nonfinite.device
    flags = torch.stack([m._nonfinite.to(device) for _, m in layers]).tolist()
    for _, m in layers:
        m._nonfinite = None
    return [name for (name, _), bad in zip(layers, flags, strict=True) if bad]


def check_finite_inputs(model: nn.Module) -> None:
    """Raise ``ValueError`` naming the LIF layers of ``model`` that received NaN or inf (see
    :func:`take_nonfinite_inputs`, which this calls: one device read, flags cleared)."""
    bad = take_nonfinite_inputs(model)
    if bad:
        raise ValueError(f"LIF input contains NaN or inf in layer(s) {', '.join(bad)}; check the previous layer "
                         "and the learning rate")


def is_spiking_neuron(module: nn.Module) -> bool:
    """The neuron contract used by the trainer and the metrics: True for a :class:`LIF` or any module whose
    class sets ``spiking_neuron = True`` (its output is the spike train, zeros where silent)."""
    return isinstance(module, LIF) or getattr(type(module), "spiking_neuron", False) is True


def model_backend(model: torch.nn.Module, device: torch.device | str) -> str:
    """Which implementation the spiking neurons of ``model`` run in training on ``device``.

    Our LIF layers report what :func:`resolve_backend` picks for an input of the model's floating dtype on
    ``device`` with the spike in training mode (``"numba"``, ``"triton"`` or ``"autograd"``); any other spiking
    neuron (:func:`asgl.neuron.is_spiking_neuron`) reports its class name (e.g. ``"SnnTorchLeaky"``). Several
    answers are joined with ``"+"`` in sorted order; a model without spiking neurons gives ``"none"``. Reads no
    tensor values.
    """
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
    probe = torch.empty((1, 1, 1), dtype=dtype, device=device)
    found: set[str] = set()
    for module in model.modules():
        if isinstance(module, LIF):
            spike, was_training = module.spike, module.spike.training
            spike.train(True)
            try:
                found.add(resolve_backend(module.backend, probe, spike, spike.fused_spec()))
            finally:
                spike.train(was_training)
        elif is_spiking_neuron(module):
            found.add(type(module).__name__)
    return "+".join(sorted(found)) or "none"

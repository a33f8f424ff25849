"""Time-major building blocks: stateless layers over ``[T, B, ...]``, temporal batch norms, encoding, readout.

The LIF neuron (:mod:`asgl.neuron`) is the only time loop of the package. Every other layer here is
stateless in time, so it is applied to all time steps at once by merging the time and batch dimensions::

    x: [T, B, ...]  →  x.flatten(0, 1): [T·B, ...]  →  module  →  [T·B, ...']  →  [T, B, ...']

Batch norms over ``[T, B, C, ...]`` therefore take their statistics over time, batch and space jointly
(``T·B·∏spatial`` values per channel).
"""

from __future__ import annotations

import torch
from torch import nn


def merge_time(x: torch.Tensor) -> torch.Tensor:
    """``[T, B, ...] → [T·B, ...]``."""
    if x.dim() < 2:
        raise ValueError(f"expected a time-major tensor [T, B, ...], got shape {tuple(x.shape)}")
    return x.flatten(0, 1)


def split_time(x: torch.Tensor, time_steps: int) -> torch.Tensor:
    """``[T·B, ...] → [T, B, ...]`` (inverse of :func:`merge_time`)."""
    if x.shape[0] % time_steps:
        raise ValueError(f"leading dimension {x.shape[0]} is not a multiple of T={time_steps}")
    return x.unflatten(0, (time_steps, x.shape[0] // time_steps))


class TimeDistributed(nn.Module):
    """Apply a module that has no memory across time to every time step: ``[T, B, ...] → [T, B, ...']``.

    ``y[t] = module(x[t])`` for every ``t``, computed in one call on ``[T·B, ...]``. Forward hooks on the
    wrapped module (e.g. an ``nn.Conv2d``) see the merged ``[T·B, ...]`` tensors.

    Args:
        module: any module that treats its leading dimension as a batch (conv, linear, pooling, flatten).
            Batch norm is *not* per-step here: its statistics span the merged ``T·B`` batch (tdBN).
    """

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return split_time(self.module(merge_time(x)), x.shape[0])


class MergedBatchNorm(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` that accepts any input rank ``≥ 2``: ``[N, C]``, ``[N, C, L]``, ``[N, C, H, W]``, ….

    The batch norm inside the temporal norms below, applied to merged ``[T·B, C, ...]`` tensors. Being a
    standard ``_BatchNorm``, it is what ``nn.SyncBatchNorm.convert_sync_batchnorm`` (or a CPU equivalent)
    replaces for data-parallel training, and the replacement still sees ``[T·B, C, ...]``.
    """

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected [N, C, ...] with at least 2 dimensions, got {input.dim()}-D")


class TemporalBatchNorm(TimeDistributed):
    """The authors' "tdbn": plain batch norm over the merged time-and-batch dimension, ``[T, B, C, ...]``.

    For channel ``c``, with mean ``μ_c`` and biased variance ``σ²_c`` over all ``(t, b, spatial)`` positions
    (the running variance uses the unbiased estimate, as ``nn.BatchNorm*`` does)::

        y[t, b, c, ...] = γ_c · (x[t, b, c, ...] − μ_c) / sqrt(σ²_c + ε) + β_c

    Accepts any number of trailing spatial dimensions (``[T, B, C]``, ``[T, B, C, L]``, ``[T, B, C, H, W]``).
    The statistics, ``γ`` (``module.weight``) and ``β`` (``module.bias``) live in the wrapped
    :class:`MergedBatchNorm`, which only ever sees ``[T·B, C, ...]``.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1) -> None:
        super().__init__(MergedBatchNorm(num_features, eps=eps, momentum=momentum))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3:
            raise ValueError(f"TemporalBatchNorm expects [T, B, C, ...], got shape {tuple(x.shape)}")
        return super().forward(x)


class ThresholdDependentBatchNorm(TimeDistributed):
    """Threshold-dependent batch norm (tdBN, Zheng et al., AAAI 2021) over ``[T, B, C, ...]``.

    Statistics as in :class:`TemporalBatchNorm` (over time, batch and space per channel), then the
    normalised value is scaled by ``α·V_th`` before the affine map::

        y[t, b, c, ...] = γ_c · α · V_th · (x[t, b, c, ...] − μ_c) / sqrt(σ²_c + ε) + β_c

    The normalisation is a non-affine :class:`MergedBatchNorm` (``module``: running statistics); ``γ``
    (``weight``, initialised to 1) and ``β`` (``bias``, initialised to 0) are parameters of this module.

    Args:
        num_features: channels ``C``.
        alpha: ``α`` (Zheng et al. use 1, and ``1/√2`` on both branches of a residual addition).
        v_th: ``V_th``, the firing threshold of the following neuron.
        eps, momentum: as in ``nn.BatchNorm1d``.
    """

    def __init__(self, num_features: int, alpha: float = 1.0, v_th: float = 1.0, eps: float = 1e-5,
                 momentum: float | None = 0.1) -> None:
        super().__init__(MergedBatchNorm(num_features, eps=eps, momentum=momentum, affine=False))
        self.alpha = float(alpha)
        self.v_th = float(v_th)
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3:
            raise ValueError(f"ThresholdDependentBatchNorm expects [T, B, C, ...], got {tuple(x.shape)}")
        shape = (1, 1, -1) + (1,) * (x.dim() - 3)
        scale = (self.weight * (self.alpha * self.v_th)).reshape(shape)
        return super().forward(x) * scale + self.bias.reshape(shape)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha:.3g}, v_th={self.v_th:.3g}"


class RepeatEncoder(nn.Module):
    """Direct encoding: a static input ``[B, ...]`` is repeated over time, ``x_t = x`` for ``t < T``.

    An input that already has a time axis (one more dimension than ``static_ndim``) passes through, so a
    model accepts both ``[B, ...]`` and ``[T, B, ...]``; the number of dimensions decides.

    Args:
        time_steps: ``T`` used for static inputs, or ``None`` to reject static inputs (time-major data only).
        static_ndim: dimensions of a static input, batch included (4 for ``[B, C, H, W]``, 2 for ``[B, F]``).
    """

    def __init__(self, time_steps: int | None, static_ndim: int) -> None:
        super().__init__()
        if time_steps is not None and (not isinstance(time_steps, int) or time_steps < 1):
            raise ValueError(f"time_steps must be a positive int or None, got {time_steps!r}")
        self.time_steps = time_steps
        self.static_ndim = static_ndim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == self.static_ndim + 1:
            return x
        if x.dim() == self.static_ndim and self.time_steps is not None:
            return x.unsqueeze(0).expand(self.time_steps, *x.shape)
        accepted = f"[T, B, ...] with {self.static_ndim + 1} dimensions"
        if self.time_steps is not None:
            accepted += f" or a static [B, ...] with {self.static_ndim}"
        raise ValueError(f"expected {accepted}, got shape {tuple(x.shape)}")

    def extra_repr(self) -> str:
        return f"time_steps={self.time_steps}, static_ndim={self.static_ndim}"


class FlattenFeatures(nn.Module):
    """``[T, B, C, ...] → [T, B, C·∏...]`` (flatten everything after the batch dimension)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2)


def time_mean(x: torch.Tensor) -> torch.Tensor:
    """Rate readout: ``ȳ[b, k] = (1/T) Σ_t y[t, b, k]``, ``[T, B, K] → [B, K]``."""
    if x.dim() < 2:
        raise ValueError(f"expected [T, B, ...], got shape {tuple(x.shape)}")
    return x.mean(dim=0)


class TimeMean(nn.Module):
    """Module form of :func:`time_mean`: ``[T, B, ...] → [B, ...]``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return time_mean(x)

"""Losses on per-step logits ``z`` of shape ``[T, B, K]``; each returns per-sample values ``[B]``.

The trainer reduces them (``Σ_b ℓ_b / B_global``, so that data-parallel ranks add up to the single-process
mean exactly).

* Cross-entropy on the time-mean (the authors' CIFAR runs)::

      ℓ_b = CE( (1/T) Σ_t z_t[b], y_b )

* TET (Deng et al., ICLR 2022, "Temporal Efficient Training"), as in the TET and ASGL code::

      L = (1 − λ) · (1/T) Σ_t CE(z_t, y) + λ · MSE(z, φ)

  where ``MSE(z, φ)`` is the mean of ``(z − φ)²`` over all of ``[T, B, K]`` (``torch.nn.MSELoss()``
  against a tensor filled with ``φ``), ``φ = 1.0``, ``λ = 1e-3`` in the authors' DVS runs. Note the
  ``(1 − λ)`` factor on the CE term. Per sample: ``ℓ_b = (1 − λ)(1/T) Σ_t CE(z_t[b], y_b) +
  λ (1/(T K)) Σ_{t,k} (z_t[b, k] − φ)²``, whose batch mean is ``L``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _check_logits(logits: torch.Tensor, target: torch.Tensor) -> None:
    if logits.dim() != 3:
        raise ValueError(f"the model must return per-step logits [T, B, K], got shape {tuple(logits.shape)}")
    if target.shape != (logits.shape[1],):
        raise ValueError(f"targets must have shape [B] = [{logits.shape[1]}], got {tuple(target.shape)}")


def mean_logits(logits: torch.Tensor) -> torch.Tensor:
    """Time-mean logits ``(1/T) Σ_t z_t``: ``[T, B, K] → [B, K]`` (the prediction of the network)."""
    return logits.float().mean(0)


def ce_mean_output(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample cross-entropy of the time-mean logits, ``[B]``."""
    _check_logits(logits, target)
    return F.cross_entropy(mean_logits(logits), target, reduction="none")


def tet(logits: torch.Tensor, target: torch.Tensor, lam: float = 1e-3, phi: float = 1.0) -> torch.Tensor:
    """Per-sample TET loss ``(1 − λ) mean_t CE(z_t) + λ mean_{t,k} (z − φ)²``, ``[B]``."""
    _check_logits(logits, target)
    z = logits.float()
    steps, batch, classes = z.shape
    ce = F.cross_entropy(z.reshape(steps * batch, classes), target.repeat(steps), reduction="none")
    ce = ce.reshape(steps, batch).mean(0)
    mse = (z - phi).pow(2).mean(dim=(0, 2))
    return (1.0 - lam) * ce + lam * mse


def per_sample_loss(name: str, logits: torch.Tensor, target: torch.Tensor, lam: float, phi: float) -> torch.Tensor:
    """Dispatch by config name (``"ce"`` or ``"tet"``)."""
    if name == "tet":
        return tet(logits, target, lam, phi)
    if name == "ce":
        return ce_mean_output(logits, target)
    raise ValueError(f"unknown loss {name!r}; choose 'ce' or 'tet'")

"""Static metrics: parameter count and memory footprint (NeuroBench's definitions).

* ``parameter_count = Σ_p numel(p)`` over ``model.parameters()`` (trainable or not);
* ``footprint_bytes = Σ_p numel(p)·element_size(p) + Σ_b numel(b)·element_size(b)`` over parameters and
  buffers (batch-norm statistics, fixed widths, thresholds…).
"""

from __future__ import annotations

from torch import nn


def parameter_count(model: nn.Module) -> int:
    """Number of scalars in all parameters."""
    return sum(p.numel() for p in model.parameters())


def footprint_bytes(model: nn.Module) -> int:
    """Bytes of all parameters and buffers."""
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)

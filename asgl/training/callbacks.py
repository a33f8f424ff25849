"""Per-run training callbacks: how a method drives its neurons during training.

The trainer calls, on every rank,

* ``on_train_start(ctx)`` once, after seeding and (on resume) after the checkpoint is loaded;
* ``on_epoch_start(ctx)`` before each epoch's first step;
* ``on_epoch_end(ctx)`` after the epoch's last step, before evaluation and the checkpoint;
  entries added to ``ctx.record`` go into that epoch's history row.

A callback must derive what it does from ``(ctx.epoch, ctx.epochs)`` (and the model), not from state it
accumulates: that is what makes ``resume=True`` reach the same result as an uninterrupted run. Callbacks are
plain classes instantiated per run as ``cls(params)`` with the method's resolved params section.

A method's own callbacks live with the method (ASGL's ``NoiseRateCallback`` in :mod:`asgl.methods`), so
importing the trainer registers no method.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn


@dataclass
class RunContext:
    """What a callback sees.

    Attributes:
        model: the unwrapped model (not the DDP wrapper).
        epoch: current 0-based epoch.
        epochs: total number of epochs.
        rank: process rank (0 without DDP).
        world_size: number of processes.
        record: extra ``{column: number}`` entries for this epoch's history row.
    """

    model: nn.Module
    epoch: int
    epochs: int
    rank: int = 0
    world_size: int = 1
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def progress(self) -> float:
        """Fraction of training completed when the epoch starts, ``epoch / epochs``."""
        return self.epoch / self.epochs


class Callback:
    """Base class: every hook is a no-op."""

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.params = dict(params or {})

    def on_train_start(self, ctx: RunContext) -> None:
        pass

    def on_epoch_start(self, ctx: RunContext) -> None:
        pass

    def on_epoch_end(self, ctx: RunContext) -> None:
        pass

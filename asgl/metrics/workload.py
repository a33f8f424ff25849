"""Workload metrics of a trained model in one pass: accuracy, spike activity, synaptic operations, energy.

Runs the model in ``eval()`` (pure spikes for every method) under ``torch.no_grad`` over model-ready
batches ``(input, target)`` and combines :mod:`~asgl.metrics.sparsity`, :mod:`~asgl.metrics.synops`,
:mod:`~asgl.metrics.energy` and :mod:`~asgl.metrics.accuracy`. Counts are per sample.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from asgl.metrics.accuracy import count_correct
from asgl.metrics.energy import energy_estimate
from asgl.metrics.sparsity import SpikeRecorder
from asgl.metrics.synops import SynOpsCounter


def workload_metrics(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, Any]:
    """``accuracy``, ``firing_rate`` (+ per layer), ``activation_sparsity``, synops and energy per sample."""
    was_training = model.training
    model.eval()
    samples = correct = 0
    try:
        with torch.no_grad(), SpikeRecorder(model) as spikes, SynOpsCounter(model) as ops:
            for x, y in batches:
                correct += count_correct(model(x), y)
                samples += int(y.shape[0])
    finally:
        model.train(was_training)
    if samples == 0:
        raise ValueError("workload_metrics needs at least one sample")
    synops = ops.summary(samples)
    return {"samples": samples, "accuracy": correct / samples, **spikes.summary(), **synops,
            **energy_estimate(synops)}

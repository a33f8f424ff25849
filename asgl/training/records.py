"""What a run records: per-epoch history rows and the run directory's files.

History row (one per epoch, ``history.csv`` and the checkpoint)::

    epoch, loss, train_accuracy, test_accuracy, lr/weights, lr/neurons, epoch_time_s, train_samples_per_s,
    p/<module>, width/<module>, …callback entries

``loss`` is the mean per-sample training loss over the epoch, ``train_accuracy`` the running accuracy of the
training batches (train mode), ``test_accuracy`` the accuracy of the test set in ``eval()`` (empty when not
evaluated that epoch), learning rates as at the epoch's start, ``p/<name>`` and ``width/<name>`` the noise
rate and the width (mean over channels) of every module exposing them, at the epoch's end.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from asgl.io import atomic_write_text

HISTORY_NAME = "history.csv"
METRICS_NAME = "metrics.json"
CONFIG_NAME = "config.json"
ENVIRONMENT_NAME = "environment.json"


def neuron_state(model: nn.Module) -> dict[str, float]:
    """``{"p/<name>": p, "width/<name>": mean width}`` for every module with a ``p`` buffer or ``width()``."""
    record: dict[str, float] = {}
    for name, module in model.named_modules():
        p = getattr(module, "p", None)
        if isinstance(p, torch.Tensor) and p.dim() == 0:
            record[f"p/{name}"] = float(p)
        width = getattr(module, "width", None)
        if callable(width):
            with torch.no_grad():
                record[f"width/{name}"] = float(torch.as_tensor(width()).float().mean())
    return record


def history_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """CSV text of ``rows`` with the union of their keys as columns (first-seen order)."""
    rows = list(rows)
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_history(run_dir: str | Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write ``run_dir/history.csv`` atomically."""
    path = Path(run_dir) / HISTORY_NAME
    atomic_write_text(path, history_csv(rows))
    return path

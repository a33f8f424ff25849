"""What a run records: per-epoch history rows and the run directory's files.

History row (one per epoch, ``history.csv`` and the checkpoint)::

    epoch, loss, train_accuracy, test_accuracy, lr/weights, lr/neurons, epoch_time_s, train_samples_per_s,
    p/<module>, width/<module>, …callback entries

``loss`` is the mean per-sample training loss over the epoch, ``train_accuracy`` the running accuracy of the
training batches (train mode), ``test_accuracy`` the accuracy of the test set in ``eval()`` (empty when not
evaluated that epoch), learning rates as at the epoch's start, ``p/<name>`` and ``width/<name>`` the noise
rate and the width (mean over channels) of every module exposing them, at the epoch's end.

Log line (one per epoch when no progress bar is shown, :func:`epoch_line`)::

    [<label>] epoch 3/30  loss 0.4123  train 87.50%  test 85.00%  1.9 s  width 0.41
    (several layers: ``widths 0.38–0.45 (mean 0.41, 3 layers)``; ``test`` only when evaluated)
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
    """``{"p/<name>": p, "width/<name>": mean width, "decay/<name>": λ}`` for every module with a ``p`` buffer,
    a ``width()`` or a learned decay (``decay_logit``, ``λ = sigmoid(logit)``)."""
    record: dict[str, float] = {}
    for name, module in model.named_modules():
        p = getattr(module, "p", None)
        if isinstance(p, torch.Tensor) and p.dim() == 0:
            record[f"p/{name}"] = float(p)
        width = getattr(module, "width", None)
        if callable(width):
            with torch.no_grad():
                record[f"width/{name}"] = float(torch.as_tensor(width()).float().mean())
        logit = getattr(module, "decay_logit", None)
        if isinstance(logit, torch.Tensor):
            record[f"decay/{name}"] = float(torch.sigmoid(logit.detach().float()).mean())
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


def widths_summary(row: Mapping[str, Any]) -> str:
    """``"width 0.41"`` for one learned width, ``"widths 0.38–0.45 (mean 0.41, 3 layers)"`` for several,
    ``""`` without any (the ``width/<name>`` entries of a history row)."""
    widths = [float(v) for k, v in row.items() if k.startswith("width/") and v is not None]
    if not widths:
        return ""
    if len(widths) == 1:
        return f"width {widths[0]:.3g}"
    return (f"widths {min(widths):.3g}–{max(widths):.3g} (mean {sum(widths) / len(widths):.3g}, "
            f"{len(widths)} layers)")


def epoch_line(row: Mapping[str, Any], epochs: int, label: str = "") -> str:
    """One plain log line for a history row (module docstring): epoch, loss, accuracies, the epoch's training
    time ``epoch_time_s``, learned widths."""
    parts = [f"epoch {row['epoch']}/{epochs}"]
    parts.append(f"loss {row['loss']:.4f}")
    parts.append(f"train {100 * row['train_accuracy']:.2f}%")
    if row.get("test_accuracy") is not None:
        parts.append(f"test {100 * row['test_accuracy']:.2f}%")
    parts.append(f"{row['epoch_time_s']:.1f} s")
    widths = widths_summary(row)
    if widths:
        parts.append(widths)
    return (f"[{label}] " if label else "") + "  ".join(parts)

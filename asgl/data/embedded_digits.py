"""``digits``: scikit-learn's bundled 8×8 handwritten digits (1797 real samples, no download).

Prepared as images ``[N, 1, 8, 8]`` float32, standardised with the train mean/std; stratified split.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits

from asgl.data.splits import stratified_split


def load_digit_images() -> tuple[np.ndarray, np.ndarray]:
    """(images ``[1797, 8, 8]`` float32 in [0, 1], labels ``[1797]`` int64)."""
    bunch = load_digits()
    return (bunch.images / 16.0).astype(np.float32), bunch.target.astype(np.int64)


def build(raw_dir: Path | None, params: dict[str, Any]):
    """Builder for ``digits``: returns :class:`asgl.data.prepare.Built`."""
    from asgl.data.prepare import Built

    images, labels = load_digit_images()
    train, test = stratified_split(labels, params["test_fraction"], params["seed"])
    mean, std = float(images[train].mean()), float(images[train].std())
    x = torch.from_numpy((images - mean) / std).unsqueeze(1)
    y = torch.from_numpy(labels)
    tensors = {"train_x": x[train], "train_y": y[train], "test_x": x[test], "test_y": y[test]}
    return Built(tensors, [str(d) for d in range(10)], None, {"normalisation": {"mean": mean, "std": std}})

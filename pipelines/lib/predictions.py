"""What a run's test predictions say: whether its record agrees with them, and which samples it got right.

Every run record carries its per-sample test predictions and ``runs.json`` each dataset's test labels
(:mod:`asgl.metrics.prediction_codes`). :func:`check_runs` refuses a record that contradicts its own
predictions or was trained on other data; :func:`correct_row` is one record's 0/1 row of right answers and
:func:`correct_matrix` the matrix every paired interval of :mod:`pipelines.lib.stats` is computed from. Used
by the evaluate stage, ``asgl-bench reproduce`` and ``asgl-bench compare``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from asgl.errors import UserError
from asgl.metrics import prediction_codes
from pipelines.lib.records import Runs, key_text


def check_runs(runs: Runs) -> None:
    """Refuse a record whose data digest is not its dataset's, whose predictions have the wrong length, or
    whose accuracy is not what its predictions score (to 1e-6 points)."""
    for key, record in runs.records.items():
        where = f"{runs.source}: {key_text(key)}"
        labels = runs.labels.get(key[0])
        if labels is None:
            raise UserError(f"{where}: no test labels for dataset {key[0]!r}; regenerate with `dvc repro evaluate`")
        if record.get("data_sha256") != labels["data_sha256"]:
            raise UserError(f"{where}: trained on prepared data {str(record.get('data_sha256'))[:12]}…, but the "
                            f"labels are of {labels['data_sha256'][:12]}…; retrain (`dvc repro`)")
        predicted = prediction_codes.decode(record.get("test_predictions") or "")
        truth = prediction_codes.decode(labels["test_labels"])
        if predicted.shape != truth.shape:
            raise UserError(f"{where}: {predicted.size} predictions for {truth.size} test samples")
        scored = 100.0 * float((predicted == truth).mean())
        if abs(scored - float(record["accuracy"])) > 1e-6:
            raise UserError(f"{where}: records accuracy {record['accuracy']:.4f} % but its predictions score "
                            f"{scored:.4f} %; the record was altered or mixed up")


def correct_row(record: Mapping[str, Any], truth: np.ndarray) -> np.ndarray:
    """``[N]`` 0/1: the run (or logistic-regression) ``record`` got test sample ``i`` right; ``truth`` is the
    decoded test labels."""
    return (prediction_codes.decode(record["test_predictions"]) == truth).astype(np.float64)


def correct_matrix(runs: Runs, keys: list[tuple[str, str, float, int]]) -> np.ndarray:
    """``[len(keys), N]`` 0/1: run ``k`` got test sample ``i`` right."""
    if not keys:
        return np.zeros((0, 1))
    truth = prediction_codes.decode(runs.labels[keys[0][0]]["test_labels"])
    return np.stack([correct_row(runs.records[k], truth) for k in keys])

"""Embedded datasets: deterministic for a seed, class-balanced, documented shapes and dtypes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asgl.data import load_prepared, prepare_dataset
from asgl.data.embedded_events import simulate_events

SMALL = {
    "digits": ({}, (1, 8, 8), torch.float32, 10),
    "digits-dvs": ({"max_per_class": 12, "size": 16, "time_steps": 8}, (8, 2, 16, 16), torch.uint8, 10),
    "synth-speech": ({"per_class": 8}, (32, 32), torch.float32, 10),
    "synth-instruments": ({"per_class": 8, "clip_seconds": 0.5}, (32, 32), torch.float32, 8),
}


@pytest.mark.parametrize("dataset_id", sorted(SMALL))
def test_embedded_shapes_balance_and_determinism(tmp_path, dataset_id):
    options, shape, dtype, n_classes = SMALL[dataset_id]
    prepare_dataset(dataset_id, tmp_path / "a", **options)
    prepare_dataset(dataset_id, tmp_path / "b", **options)
    a, b = load_prepared(tmp_path / "a", dataset_id), load_prepared(tmp_path / "b", dataset_id)
    assert tuple(a.train_x.shape[1:]) == shape and a.train_x.dtype == dtype
    assert a.train_y.dtype == torch.int64 and a.num_classes == n_classes
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.test_y, b.test_y)
    for y in (a.train_y, a.test_y):
        counts = np.bincount(y.numpy(), minlength=n_classes)
        assert counts.min() > 0 and counts.max() - counts.min() <= max(2, 0.1 * counts.max())
    m = a.manifest
    assert m["synthetic"] is (dataset_id != "digits") and m["embedded"] is True
    assert m["x_shape"] == list(shape) and m["source_checksums"] == {}
    assert (m["time_steps"] is None) == (dataset_id == "digits")
    assert torch.isfinite(a.train_x.float()).all()


def test_seed_changes_data(tmp_path):
    prepare_dataset("synth-speech", tmp_path / "a", per_class=4, seed=0)
    prepare_dataset("synth-speech", tmp_path / "b", per_class=4, seed=1)
    a, b = load_prepared(tmp_path / "a", "synth-speech"), load_prepared(tmp_path / "b", "synth-speech")
    assert not torch.equal(a.train_x, b.train_x)


def test_simulated_events_are_tonic_structured():
    img = np.zeros((2, 8, 8), np.float32)
    img[:, 2:6, 3:5] = 1.0
    events = simulate_events(img, size=16, threshold=0.2, seed=0)
    assert len(events) == 2 and set(events[0].dtype.names) == {"x", "y", "p", "t"}
    ev = events[0]
    assert len(ev) > 50 and np.all(np.diff(ev["t"]) >= 0)
    assert ev["x"].min() >= 0 and ev["x"].max() < 16 and set(np.unique(ev["p"])) == {0, 1}
    # an edge moving over the sensor gives both polarities in comparable numbers
    assert 0.2 < ev["p"].mean() < 0.8

"""The ``linear`` stage fits its datasets in worker processes and writes the same bytes, in the same order, as
when it fits them one after another in its own process; a failed fit names its dataset.

Two tiny prepared datasets stand in for the real ones (a fit takes well under a second); most of the time is
the two ``spawn`` workers importing torch.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from asgl.data.cache import read_manifest, write_prepared
from pipelines.lib.records import linear_record_path
from pipelines.stages import linear

DATASETS = ["small", "larger"]  # "larger" has the bigger tensor file, so it is submitted first


def _prepare(root: Path, dataset: str, samples: int, features: int, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, features, generator=generator)
    y = (x[:, 0] > 0).long()
    write_prepared(root, dataset, {"train_x": x[: samples // 2], "train_y": y[: samples // 2],
                                   "test_x": x[samples // 2:], "test_y": y[samples // 2:]},
                   {"dataset_id": dataset, "class_names": ["0", "1"]})


def _params(tmp_path: Path, results: str, datasets: list[str]) -> dict:
    return {"run": {"datasets": datasets}, "data_root": str(tmp_path / "data"),
            "results_dir": str(tmp_path / results)}


@pytest.fixture
def data(tmp_path):
    _prepare(tmp_path / "data", "small", 40, 3, seed=0)
    _prepare(tmp_path / "data", "larger", 200, 6, seed=1)
    return tmp_path


def _cores(monkeypatch, count: int) -> None:
    monkeypatch.setattr(linear.os, "sched_getaffinity", lambda pid: set(range(count)))


def test_workers_write_the_bytes_of_one_process(data, monkeypatch):
    _cores(monkeypatch, 1)
    alone = linear.linear_stage(_params(data, "alone", DATASETS))
    _cores(monkeypatch, 2)
    pooled = linear.linear_stage(_params(data, "pooled", DATASETS))
    assert [r["dataset"] for r in pooled] == DATASETS
    assert pooled == alone
    for dataset in DATASETS:
        written = linear_record_path(data / "pooled", dataset).read_bytes()
        assert written == linear_record_path(data / "alone", dataset).read_bytes()
    assert read_manifest(data / "data", "larger")["tensor_sha256"] == pooled[1]["data_sha256"]


def test_a_failed_fit_names_its_dataset_and_keeps_the_records_before_it(data, monkeypatch):
    """A bug in a worker (here test features of another width) comes back with its dataset in a note."""
    generator = torch.Generator().manual_seed(2)
    write_prepared(data / "data", "broken", {
        "train_x": torch.randn(8, 4, generator=generator), "train_y": torch.zeros(8, dtype=torch.int64),
        "test_x": torch.randn(3, 5, generator=generator), "test_y": torch.zeros(3, dtype=torch.int64)},
        {"dataset_id": "broken", "class_names": ["0"]})
    _cores(monkeypatch, 2)
    with pytest.raises(RuntimeError) as caught:
        linear.linear_stage(_params(data, "results", ["small", "broken", "larger"]))
    assert any("'broken'" in note for note in caught.value.__notes__), caught.value.__notes__
    assert linear_record_path(data / "results", "small").exists()
    assert not linear_record_path(data / "results", "broken").exists()

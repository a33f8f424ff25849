"""Shapes known before download agree with what ``prepare`` produces from files in the real format."""

from __future__ import annotations

import pytest

from asgl.data import prepare_dataset
from asgl.data.cache import read_manifest
from asgl.data.shapes import UnknownShapeError, expected_shape, shape_from_manifest

from .formats import write_cifar10, write_hsd_h5


def _same_but_counts(expected, built):
    fields = ("x_shape", "num_classes", "temporal", "dtype", "normalised")
    assert {f: getattr(expected, f) for f in fields} == {f: getattr(built, f) for f in fields}


def test_cifar_shape_before_and_after_prepare(tmp_path, rng):
    write_cifar10(tmp_path / "raw" / "cifar10", rng)
    prepare_dataset("cifar10", tmp_path)
    built = shape_from_manifest(read_manifest(tmp_path, "cifar10"))
    _same_but_counts(expected_shape("cifar10-t4"), built)  # the T = 4 id has its base's shape
    assert (built.train_count, built.test_count) == (60, 12)  # the small test files, not the published sizes
    assert (expected_shape("cifar10").train_count, expected_shape("cifar10").test_count) == (50_000, 10_000)


def test_shd_shape_follows_the_preparation_options(tmp_path, rng):
    raw = tmp_path / "raw" / "shd"
    raw.mkdir(parents=True)
    for split in ("train", "test"):
        write_hsd_h5(raw / f"shd_{split}.h5", rng, 8, 20, [f"word{i}" for i in range(20)])
    prepare_dataset("shd", tmp_path, time_steps=7)
    _same_but_counts(expected_shape("shd", {"time_steps": 7}), shape_from_manifest(read_manifest(tmp_path, "shd")))
    assert expected_shape("dvs-gesture", {"time_steps": 16, "size": 48}).x_shape == (16, 2, 48, 48)


def test_sets_known_only_once_built_say_what_to_run():
    with pytest.raises(UnknownShapeError, match=r"pipelines\.stages\.prepare digits"):
        expected_shape("digits")

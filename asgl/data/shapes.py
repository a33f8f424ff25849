"""The shape of a prepared dataset without its files: what a run's model input will be, and how many samples.

Used to try a profile on synthetic data before anything is downloaded (``python -m pipelines.commands.plan``). For a
downloadable dataset the shape follows from its preparation options and the published split sizes; a
prepared cache's manifest gives the same facts exactly (:func:`shape_from_manifest`).

One sample ``x`` is stored sample-major (see :mod:`asgl.data.cache`): images ``(C, H, W)``, event frames
``(T, 2, S, S)``, spike rasters and spectrogram frames ``(T, F)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from asgl.data.errors import DataError
from asgl.data.registry import get_spec


@dataclass(frozen=True)
class DataShape:
    """One sample's shape and storage dtype, the class count and the train/test sizes.

    ``temporal``: ``x`` is ``(T, ...)`` and is fed time-major; otherwise a static sample repeated over time
    by the model. ``normalised``: the prepared tensors carry a per-channel mean/std (image augmentations need
    it). Counts of downloadable sets are the published split sizes (SHD: the files' 8 156 / 2 264; DVS128
    Gesture: tonic's 1 077 / 264).
    """

    x_shape: tuple[int, ...]
    num_classes: int
    train_count: int
    test_count: int
    temporal: bool
    dtype: str
    normalised: bool = False


class UnknownShapeError(DataError):
    """No shape is known for a dataset without its prepared manifest."""


def expected_shape(dataset_id: str, options: Mapping[str, Any] | None = None) -> DataShape:
    """The shape ``prepare`` would produce for ``dataset_id`` with ``options`` (over the spec defaults).

    Raises :class:`UnknownShapeError` for ids whose shape is only known once built (embedded and locally
    supplied sets): build or prepare those and use :func:`shape_from_manifest`.
    """
    spec = get_spec(dataset_id)
    source = get_spec(spec.shares) if spec.shares else spec
    p = {**spec.defaults, **(options or {})}
    kind = source.id
    if kind in ("cifar10", "cifar100"):
        return DataShape((3, 32, 32), p["variant"], 50_000, 10_000, False, p["dtype"], True)
    if kind == "tiny-imagenet":
        return DataShape((3, 64, 64), 200, 100_000, 10_000, False, p["dtype"], True)
    if kind == "cifar10-dvs":
        test = round(10_000 * p["test_fraction"])
        return DataShape((p["time_steps"], 2, p["size"], p["size"]), 10, 10_000 - test, test, True, "uint8")
    if kind == "dvs-gesture":
        return DataShape((p["time_steps"], 2, p["size"], p["size"]), 11, 1_077, 264, True, "uint8")
    if kind == "shd":
        return DataShape((p["time_steps"], 700), 20, 8_156, 2_264, True, "uint8")
    if kind == "ssc":
        return DataShape((p["time_steps"], 700), 35, 75_466, 20_382, True, "uint8")
    if kind == "speech-commands":
        return DataShape((p["time_steps"], p["n_mels"]), 35, 84_843, 11_005, True, p["dtype"])
    if kind == "medley-solos-db":
        return DataShape((p["time_steps"], p["n_mels"]), 8, 5_841, 12_236, True, p["dtype"])
    raise UnknownShapeError(f"no expected shape for dataset {dataset_id!r} before it is built; prepare it "
                            f"(python -m pipelines.stages.prepare {dataset_id}) so that its manifest gives the shape")


def shape_from_manifest(manifest: Mapping[str, Any]) -> DataShape:
    """The :class:`DataShape` recorded in a prepared cache's manifest (see :mod:`asgl.data.prepare`)."""
    counts = manifest.get("counts") or {}
    dtype = (manifest.get("dtypes") or {}).get("train_x", "float32")
    return DataShape(tuple(manifest["x_shape"]), len(manifest["class_names"]), int(counts.get("train", 0)),
                     int(counts.get("test", 0)), manifest.get("time_steps") is not None, dtype,
                     bool(manifest.get("normalisation")))

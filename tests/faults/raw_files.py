"""Tiny raw datasets in each real on-disk format, with the one file the integrity tests corrupt."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from tests.data.formats import random_events, write_aedat4, write_cifar10, write_hsd_h5, write_tone

# kind -> (dataset id, prepare options)
DATASETS = {
    "hdf5": ("shd", {"time_steps": 5}),
    "npy": ("dvs-gesture", {"time_steps": 4, "size": 16}),
    "aedat4": ("cifar10-dvs", {"time_steps": 4, "size": 16, "test_fraction": 0.5}),
    "wav": ("fsdd", {}),
    "cifar-pickle": ("cifar10", {}),
}
CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def write_raw(kind: str, root: Path, seed: int = 0) -> Path:
    """Write a tiny raw dataset of ``kind`` under ``root/raw/<id>``; return the file to corrupt."""
    rng = np.random.default_rng(seed + zlib.crc32(kind.encode()))
    dataset_id, _ = DATASETS[kind]
    raw = root / "raw" / dataset_id
    raw.mkdir(parents=True, exist_ok=True)
    if kind == "hdf5":
        for split in ("train", "test"):
            write_hsd_h5(raw / f"shd_{split}.h5", rng, 6, 20)
        return raw / "shd_train.h5"
    if kind == "npy":
        for split, user in (("ibmGestureTrain", "user01_led"), ("ibmGestureTest", "user24_led")):
            for cls in range(11):
                ev = random_events(rng, 120)
                path = raw / split / user / f"{cls}.npy"
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, np.stack([ev["x"], ev["y"], ev["p"], ev["t"] / 1000.0], axis=1))
        return raw / "ibmGestureTrain" / "user01_led" / "3.npy"
    if kind == "aedat4":
        for cls in CIFAR_CLASSES:
            for i in range(2):
                write_aedat4(raw / cls / f"cifar10_{cls}_{i}.aedat4", random_events(rng, 300), packet_size=100)
        return raw / "cat" / "cifar10_cat_1.aedat4"
    if kind == "wav":
        rec = raw / "free-spoken-digit-dataset-1.0.10" / "recordings"
        for digit in range(10):
            for index in (0, 5):
                write_tone(rec / f"{digit}_jackson_{index}.wav", 8000, 0.25, 200 + 90 * digit, rng)
        return rec / "4_jackson_5.wav"
    if kind == "cifar-pickle":
        write_cifar10(raw, rng, per_batch=4)
        return raw / "cifar-10-batches-py" / "data_batch_3"
    raise ValueError(kind)

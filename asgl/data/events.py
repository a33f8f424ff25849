"""Event-camera datasets: DVS128 Gesture (tonic ``.npy`` layout) and CIFAR10-DVS (``.aedat4``).

Each recording → tonic ``Downsample`` (128 → ``size``) → tonic ``ToFrame(n_time_bins=T)`` →
``[T, 2, size, size]`` counts clipped to ``max_count`` (uint8). Stored ``[N, T, 2, size, size]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from tonic.transforms import Downsample, ToFrame

from asgl.data.aedat4 import read_aedat4
from asgl.data.errors import CorruptFileError
from asgl.data.registry import CIFAR10_CLASSES, GESTURE_CLASSES
from asgl.data.splits import stratified_split

SENSOR = (128, 128, 2)
EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("p", np.int8), ("t", np.int64)])


class Framer:
    """Callable: structured events ``(x, y, p, t)`` on a 128×128 sensor → uint8 ``[T, 2, size, size]``."""

    def __init__(self, size: int, time_steps: int, max_count: int = 255):
        self.down = Downsample(spatial_factor=size / SENSOR[0])
        self.to_frame = ToFrame(sensor_size=(size, size, 2), n_time_bins=time_steps)
        self.shape, self.max_count = (time_steps, 2, size, size), max_count

    def __call__(self, events: np.ndarray) -> np.ndarray:
        if len(events) == 0:
            return np.zeros(self.shape, np.uint8)
        frames = self.to_frame(self.down(events))
        return np.clip(frames, 0, self.max_count).astype(np.uint8)


def read_gesture_npy(path: Path) -> np.ndarray:
    """A tonic-layout DVS Gesture recording (``[n, 4]`` columns x, y, p, t in ms) → structured, t in µs."""
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise CorruptFileError(path, f"npy unreadable ({exc})") from None
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise CorruptFileError(path, f"expected an [n, 4] event array, got shape {arr.shape}")
    out = np.empty(len(arr), EVENT_DTYPE)
    out["x"], out["y"], out["p"] = arr[:, 0], arr[:, 1], arr[:, 2] != 0
    out["t"] = np.round(arr[:, 3].astype(np.float64) * 1000).astype(np.int64)
    return out


def _check_events(path: Path, events: np.ndarray) -> np.ndarray:
    """Refuse events off the 128×128 sensor (a corrupted file; framing would fail with an IndexError)."""
    if len(events):
        x, y = events["x"], events["y"]
        if x.min() < 0 or y.min() < 0 or x.max() >= SENSOR[0] or y.max() >= SENSOR[1]:
            raise CorruptFileError(path, f"event coordinates outside the {SENSOR[0]}×{SENSOR[1]} sensor "
                                   f"(x {x.min()}..{x.max()}, y {y.min()}..{y.max()})")
    return events


def _frames(paths: list[Path], reader, framer: Framer) -> torch.Tensor:
    out = np.empty((len(paths), *framer.shape), np.uint8)
    for i, path in enumerate(paths):
        out[i] = framer(_check_events(path, reader(path)))
    return torch.from_numpy(out)


def _gesture_files(folder: Path) -> tuple[list[Path], np.ndarray]:
    files = sorted(folder.glob("*/*.npy"))
    labels = np.array([int(p.stem) for p in files], np.int64)
    return files, labels


def build_dvs_gesture(raw_dir: Path, params: dict[str, Any]):
    """Builder for ``dvs-gesture``: official user split (ibmGestureTrain / ibmGestureTest), 11 classes."""
    from asgl.data.prepare import Built

    framer = Framer(params["size"], params["time_steps"], params["max_count"])
    tensors = {}
    for split, folder in (("train", "ibmGestureTrain"), ("test", "ibmGestureTest")):
        files, labels = _gesture_files(raw_dir / folder)
        tensors[f"{split}_x"] = _frames(files, read_gesture_npy, framer)
        tensors[f"{split}_y"] = torch.from_numpy(labels)
    return Built(tensors, list(GESTURE_CLASSES), params["time_steps"], {"sensor_size": list(SENSOR)})


def _read_cifar_dvs(path: Path) -> np.ndarray:
    events, (width, height) = read_aedat4(path)
    if (width, height) not in ((128, 128), (0, 0)):
        raise CorruptFileError(path, f"expected a 128×128 sensor, file says {width}×{height}")
    return events


def build_cifar10_dvs(raw_dir: Path, params: dict[str, Any]):
    """Builder for ``cifar10-dvs``: class = parent folder name; seeded stratified split (default 9:1)."""
    from asgl.data.prepare import Built

    index = {c: i for i, c in enumerate(CIFAR10_CLASSES)}
    files = sorted(p for p in raw_dir.rglob("*.aedat4") if p.parent.name in index)
    labels = np.array([index[p.parent.name] for p in files], np.int64)
    train, test = stratified_split(labels, params["test_fraction"], params["seed"])
    framer = Framer(params["size"], params["time_steps"], params["max_count"])
    x = _frames(files, _read_cifar_dvs, framer)
    y = torch.from_numpy(labels)
    tensors = {"train_x": x[train], "train_y": y[train], "test_x": x[test], "test_y": y[test]}
    split = {"seed": params["seed"], "test_fraction": params["test_fraction"],
             "test_files": sorted(files[i].relative_to(raw_dir).as_posix() for i in test)}
    return Built(tensors, list(CIFAR10_CLASSES), params["time_steps"],
                 {"sensor_size": list(SENSOR), "split": split})

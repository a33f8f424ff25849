"""``nmnist-small``: 1 100 real N-MNIST recordings (ATIS event camera, 34 × 34 pixels, 2 polarities).

Raw layout (the archive shipped in ``datasets/nmnist-small/``)::

    nmnist-small/<id>.bs2          one recording: N-MNIST's binary format, 5 bytes per event (big-endian)
    nmnist-small/train1K.txt       "#sample #class" then "<id>\\t<digit>" for ids 1 … 1000 (training writers)
    nmnist-small/test100.txt       the same for ids 60001 … 60100 (MNIST's test writers)

Event bytes ``b0 … b4``: ``x = b0``, ``y = b1``, polarity ``p = b2 >> 7`` (1 = ON), timestamp
``t = ((b2 & 0x7F) << 16) | (b3 << 8) | b4`` µs. The events are read with tonic's N-MNIST reader
(:func:`tonic.io.read_mnist_file`) and framed with ``tonic.transforms.ToFrame(n_time_bins=T)``: each frame
counts the events of one of ``T`` equal time bins, per polarity and pixel, giving ``[T, 2, 34, 34]``
uint8 (clipped at 255).

Splits (``split`` option):

- ``stratified`` (the table): all 1 100 recordings, each digit split 75 / 25 with ``seed`` → 825 / 275.
  Writers of the training recordings can appear on both sides.
- ``writers`` (a writer-disjoint check): train on the 1 000 training-writer recordings, test on the 100
  recordings of MNIST's test writers (2–15 per digit, so a coarse figure).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from asgl.data.errors import CorruptFileError, DataError

SENSOR_SIZE = (34, 34, 2)  # tonic's (width, height, polarities)
EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])
LABEL_FILES = {"train": "train1K.txt", "test": "test100.txt"}
SPLITS = ("stratified", "writers")
FOLDER = "nmnist-small"


def read_labels(path: Path) -> list[tuple[int, int]]:
    """``(sample id, digit)`` of every line of a label file after its ``#`` header."""
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptFileError(path, f"label file unreadable ({exc})") from None
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 2 or not all(f.isdigit() for f in fields) or not 0 <= int(fields[1]) <= 9:
            raise CorruptFileError(path, f"line {number}: expected '<sample id>\\t<digit 0-9>', got {line.strip()!r}")
        out.append((int(fields[0]), int(fields[1])))
    if not out:
        raise CorruptFileError(path, "no labelled samples")
    return out


def read_events(path: Path) -> np.ndarray:
    """Events of one ``.bs2`` recording as a structured array ``[n]`` of ``(x, y, t µs, p)`` (tonic's reader)."""
    from tonic.io import read_mnist_file

    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CorruptFileError(path, f"recording unreadable ({exc})") from None
    if size == 0 or size % 5:
        raise CorruptFileError(path, f"{size} bytes is not a whole number of 5-byte events")
    events = read_mnist_file(str(path), dtype=EVENT_DTYPE)
    if len(events) == 0:
        raise CorruptFileError(path, "no events")
    return events


def frame_events(events: np.ndarray, time_steps: int, size: int = 34) -> torch.Tensor:
    """tonic ``Downsample(spatial_factor=size/34)`` (pixel ``x`` → ``⌊x·size/34⌋``; none at 34) then
    ``ToFrame`` with ``time_steps`` equal bins → uint8 counts ``[T, 2, size, size]``."""
    from tonic.transforms import Downsample, ToFrame

    if not 1 <= size <= SENSOR_SIZE[0]:
        raise DataError(f"nmnist-small: prepare option size={size!r} must be 1 … {SENSOR_SIZE[0]}")
    if size != SENSOR_SIZE[0]:
        events = Downsample(spatial_factor=size / SENSOR_SIZE[0])(events)
    frames = ToFrame(sensor_size=(size, size, 2), n_time_bins=time_steps)(events)
    return torch.from_numpy(np.clip(frames, 0, 255).astype(np.uint8))


def recordings(raw_dir: Path) -> dict[str, list[tuple[Path, int]]]:
    """``{"train": [(path, digit), …], "test": […]}`` from the two label files under ``raw_dir``."""
    base = raw_dir / FOLDER if (raw_dir / FOLDER).is_dir() else raw_dir
    out = {}
    for part, name in LABEL_FILES.items():
        labels = base / name
        if not labels.is_file():
            raise CorruptFileError(labels, "label file missing; fetch the dataset again")
        out[part] = [(base / f"{sample}.bs2", digit) for sample, digit in read_labels(labels)]
    return out


def split_indices(split: str, parts: dict[str, list[tuple[Path, int]]], test_fraction: float, seed: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices into ``parts["train"] + parts["test"]`` for ``split`` (see the module docstring)."""
    from asgl.data.splits import stratified_split

    n_train, n_all = len(parts["train"]), len(parts["train"]) + len(parts["test"])
    if split == "writers":
        return np.arange(n_train), np.arange(n_train, n_all)
    if split == "stratified":
        labels = np.array([d for _, d in parts["train"] + parts["test"]])
        train, test = stratified_split(labels, test_fraction, seed)
        return np.sort(train), np.sort(test)
    raise DataError(f"nmnist-small: prepare option split={split!r} is not one of {', '.join(SPLITS)}")


def build(raw_dir: Path | None, params: dict[str, Any]):
    """Builder for ``nmnist-small`` / ``nmnist-writers``.

    ``params``: ``time_steps`` T, ``size`` (frame side, 34 = the sensor; smaller downsamples), ``split``
    (``stratified`` | ``writers``), ``test_fraction``, ``seed``.
    ``raw_dir`` None: the archive shipped with the repository, verified and unpacked into a temporary folder.
    Output ``train_x [N, T, 2, size, size]`` uint8 counts, ``train_y [N]`` digits; the same for ``test``.
    """
    from asgl.data.shipped import raw_or_shipped

    with raw_or_shipped(raw_dir, "nmnist-small") as folder:
        return _build(folder, params)


def _build(raw_dir: Path, params: dict[str, Any]):
    from asgl.data.prepare import Built

    parts = recordings(raw_dir)
    train, test = split_indices(params["split"], parts, params["test_fraction"], params["seed"])
    items = parts["train"] + parts["test"]
    frames = torch.stack([frame_events(read_events(path), params["time_steps"], params["size"])
                          for path, _ in items])
    labels = torch.tensor([d for _, d in items], dtype=torch.int64)
    tensors = {"train_x": frames[train], "train_y": labels[train], "test_x": frames[test], "test_y": labels[test]}
    ids = [path.stem for path, _ in items]
    return Built(tensors, [str(d) for d in range(10)], params["time_steps"],
                 {"split": params["split"], "test_ids": [ids[i] for i in test]})

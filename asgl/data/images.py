"""Static image datasets: CIFAR-10/100 (python pickle batches, restricted unpickler) and Tiny-ImageNet.

Output ``[N, 3, H, W]`` normalised per channel, ``x' = (x/255 − mean) / std``, with the statistics recorded in
the manifest (``normalisation``): for CIFAR-10/100 the authors' fixed constants (:data:`CIFAR_NORMALISATION`,
``experiment/development/main.py``, ``loadData``); for Tiny-ImageNet, whose code was not released, the
training set's own mean and std.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from asgl.data.errors import CorruptFileError
from asgl.data.safe_pickle import load_pickle

# variant -> (mean, std) on the [0, 1] scale, the constants of the authors' transforms.Normalize.
CIFAR_NORMALISATION: dict[int, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    10: ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    100: ((0.5071, 0.4867, 0.4408), (0.2675, 0.2565, 0.2761)),
}


def _normalise(train: np.ndarray, test: np.ndarray, dtype: str,
               fixed: tuple[tuple[float, ...], tuple[float, ...]] | None = None
               ) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """uint8 ``[N, 3, H, W]`` → (train, test) normalised per channel with ``fixed = (mean, std)``, or with the
    training set's statistics when ``fixed`` is ``None``."""
    if fixed is None:
        mean = train.reshape(len(train), 3, -1).mean(axis=(0, 2)) / 255.0
        std = train.reshape(len(train), 3, -1).std(axis=(0, 2)) / 255.0
    else:
        mean, std = np.asarray(fixed[0], dtype=np.float64), np.asarray(fixed[1], dtype=np.float64)
    def conv(a: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(a).float().div_(255.0)
        x.sub_(torch.tensor(mean).view(1, 3, 1, 1).float()).div_(torch.tensor(std).view(1, 3, 1, 1).float())
        return x.to(getattr(torch, dtype))
    return conv(train), conv(test), {"mean": mean.tolist(), "std": std.tolist()}


def _cifar_batch(path: Path, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    batch = load_pickle(path)
    try:
        data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(batch[label_key], dtype=np.int64)
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptFileError(path, f"not a CIFAR batch ({type(exc).__name__}: {exc})") from None
    if len(labels) != len(data):
        raise CorruptFileError(path, f"{len(data)} images but {len(labels)} labels")
    return data, labels


def build_cifar(raw_dir: Path, params: dict[str, Any]):
    """Builder for ``cifar10`` / ``cifar100`` (fine labels): 50 000 train / 10 000 test."""
    from asgl.data.prepare import Built

    if params["variant"] == 10:
        folder, label_key = raw_dir / "cifar-10-batches-py", b"labels"
        train_files = [folder / f"data_batch_{i}" for i in range(1, 6)]
        test_files = [folder / "test_batch"]
        names = [n.decode() for n in load_pickle(folder / "batches.meta")[b"label_names"]]
    else:
        folder, label_key = raw_dir / "cifar-100-python", b"fine_labels"
        train_files, test_files = [folder / "train"], [folder / "test"]
        names = [n.decode() for n in load_pickle(folder / "meta")[b"fine_label_names"]]
    tr = [_cifar_batch(p, label_key) for p in train_files]
    te = [_cifar_batch(p, label_key) for p in test_files]
    x_tr, y_tr = np.concatenate([a for a, _ in tr]), np.concatenate([b for _, b in tr])
    x_te, y_te = np.concatenate([a for a, _ in te]), np.concatenate([b for _, b in te])
    train_x, test_x, stats = _normalise(x_tr, x_te, params["dtype"], CIFAR_NORMALISATION[params["variant"]])
    tensors = {"train_x": train_x, "train_y": torch.from_numpy(y_tr), "test_x": test_x,
               "test_y": torch.from_numpy(y_te)}
    return Built(tensors, names, None, {"normalisation": stats})


def _read_jpeg(path: Path) -> np.ndarray:
    from torchvision.io import ImageReadMode, decode_image

    try:
        data = torch.frombuffer(bytearray(path.read_bytes()), dtype=torch.uint8)
        img = decode_image(data, mode=ImageReadMode.RGB)
    except RuntimeError as exc:
        raise CorruptFileError(path, f"image unreadable ({exc})") from None
    if tuple(img.shape[1:]) != (64, 64):
        raise CorruptFileError(path, f"expected 64×64, got {tuple(img.shape[1:])}")
    return img.numpy()


def build_tiny_imagenet(raw_dir: Path, params: dict[str, Any]):
    """Builder for ``tiny-imagenet``: 200 classes, 100 000 train / 10 000 val (used as test), 64×64."""
    from asgl.data.prepare import Built

    root = raw_dir / "tiny-imagenet-200"
    wnids = [w.strip() for w in (root / "wnids.txt").read_text().split() if w.strip()]
    index = {w: i for i, w in enumerate(wnids)}
    train_items = [(p, index[w]) for w in wnids for p in sorted((root / "train" / w / "images").glob("*.JPEG"))]
    test_items = []
    for line in (root / "val" / "val_annotations.txt").read_text().splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            test_items.append((root / "val" / "images" / parts[0], index[parts[1]]))
    def load(items):
        return (np.stack([_read_jpeg(p) for p, _ in items]), np.array([c for _, c in items], np.int64))
    (x_tr, y_tr), (x_te, y_te) = load(train_items), load(test_items)
    train_x, test_x, stats = _normalise(x_tr, x_te, params["dtype"])
    names = wnids
    words = root / "words.txt"
    if words.exists():
        lookup = dict(line.split("\t", 1) for line in words.read_text().splitlines() if "\t" in line)
        names = [f"{w}:{lookup.get(w, w).split(',')[0]}" for w in wnids]
    tensors = {"train_x": train_x, "train_y": torch.from_numpy(y_tr), "test_x": test_x,
               "test_y": torch.from_numpy(y_te)}
    return Built(tensors, names, None, {"normalisation": stats, "test_split": "official val"})

"""Spiking Heidelberg Digits / Spiking Speech Commands (HDF5: ``spikes/times`` [s], ``spikes/units``,
``labels``; ``extra/keys`` class names when present).

Each sample's spikes are binned into ``time_steps`` bins over ``[0, max_time)`` seconds (later spikes
dropped) → ``[T, 700]`` uint8 counts. Stored ``[N, T, 700]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from asgl.data.errors import CorruptFileError

N_UNITS = 700


def read_hsd(path: Path, time_steps: int, max_time: float) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """(rasters ``[N, T, 700]`` uint8, labels ``[N]`` int64, class names or None) of one HDF5 file."""
    try:
        with h5py.File(path, "r") as f:
            times, units = f["spikes/times"], f["spikes/units"]
            labels = np.asarray(f["labels"][:], dtype=np.int64)
            keys = None
            if "extra" in f and "keys" in f["extra"]:
                keys = [k.decode() if isinstance(k, bytes) else str(k) for k in f["extra/keys"][:]]
            out = np.zeros((len(labels), time_steps, N_UNITS), np.uint8)
            for i in range(len(labels)):
                t, u = np.asarray(times[i]), np.asarray(units[i]).astype(np.int64)
                b = np.floor(t / max_time * time_steps).astype(np.int64)
                ok = (b >= 0) & (b < time_steps) & (u >= 0) & (u < N_UNITS)
                np.add.at(out[i], (b[ok], u[ok]), 1)
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise CorruptFileError(path, f"HDF5 unreadable ({type(exc).__name__}: {exc})") from None
    return out, labels, keys


def build_hsd(raw_dir: Path, params: dict[str, Any]):
    """Builder for ``shd`` / ``ssc``: official splits (``valid`` → ``val_x``/``val_y`` for SSC)."""
    from asgl.data.prepare import Built

    prefix = raw_dir.name  # "shd" or "ssc"
    tensors, names = {}, None
    for split in params["splits"].split(","):
        x, y, keys = read_hsd(raw_dir / f"{prefix}_{split}.h5", params["time_steps"], params["max_time"])
        key = {"valid": "val"}.get(split, split)
        tensors[f"{key}_x"], tensors[f"{key}_y"] = torch.from_numpy(x), torch.from_numpy(y)
        names = names or keys
    n_classes = int(max(int(t.max()) for k, t in tensors.items() if k.endswith("_y"))) + 1
    names = names or [str(i) for i in range(n_classes)]
    extra = {"bin_ms": params["max_time"] / params["time_steps"] * 1000, "units": N_UNITS,
             "input": "spike counts"}
    return Built(tensors, names, params["time_steps"], extra)

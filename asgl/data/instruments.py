"""Medley-solos-DB reader: ``Medley-solos-DB_metadata.csv`` (subset, instrument, instrument_id, song_id,
uuid4) + ``Medley-solos-DB_{subset}-{instrument_id}_{uuid4}.wav`` files anywhere under the raw folder.

Official subsets: training → train, validation → val, test → test. Features as for speech
(:mod:`asgl.data.features`), stored ``[N, T, n_mels]``. mirdata's ``medley_solos_db`` loader needs its
index JSON from Zenodo, so this reads the same on-disk layout directly.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from asgl.data.errors import CorruptFileError
from asgl.data.registry import MEDLEY_CLASSES
from asgl.data.speech import _featurise

SUBSETS = {"training": "train", "validation": "val", "test": "test"}


def read_metadata(path: Path) -> list[dict[str, str]]:
    """Rows of the metadata CSV; :class:`CorruptFileError` when columns are missing."""
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise CorruptFileError(path, f"metadata unreadable ({exc})") from None
    need = {"subset", "instrument_id", "uuid4"}
    if not rows or not need <= set(rows[0]):
        raise CorruptFileError(path, f"metadata CSV must have columns {sorted(need)}")
    return rows


def build_medley_solos(raw_dir: Path, params: dict[str, Any]):
    """Builder for ``medley-solos-db``: 8 classes, official training/validation/test subsets."""
    from asgl.data.prepare import Built

    rows = read_metadata(raw_dir / "Medley-solos-DB_metadata.csv")
    wavs = {p.name: p for p in raw_dir.rglob("Medley-solos-DB_*.wav")}
    buckets: dict[str, list[tuple[Path, int]]] = {"train": [], "val": [], "test": []}
    missing = []
    for row in rows:
        name = f"Medley-solos-DB_{row['subset']}-{row['instrument_id']}_{row['uuid4']}.wav"
        if name not in wavs:
            missing.append(name)
            continue
        buckets[SUBSETS[row["subset"]]].append((wavs[name], int(row["instrument_id"])))
    if missing:
        raise CorruptFileError(raw_dir, f"{len(missing)} wav files listed in the metadata are missing "
                                        f"(first: {missing[0]})")
    splits = {k: ([p for p, _ in v], np.array([c for _, c in v])) for k, v in buckets.items() if v}
    tensors, stats = _featurise(splits, params)
    return Built(tensors, list(MEDLEY_CLASSES), params["time_steps"],
                 {"feature_stats": stats, "feature": "log-mel"})

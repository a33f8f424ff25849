"""Speech datasets read from WAV folders: Google Speech Commands v2 and the Free Spoken Digit Dataset.

WAVs → :func:`asgl.data.features.wav_files_to_features` (soundfile + torchaudio log-mel, T frames) →
train-statistics standardisation. Stored ``[N, T, n_mels]``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from asgl.data.errors import CorruptFileError
from asgl.data.features import standardise, wav_files_to_features

FSDD_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")


def _featurise(splits: dict[str, tuple[list[Path], np.ndarray]], params: dict[str, Any]):
    feats = {k: wav_files_to_features(paths, sample_rate=params["sample_rate"],
                                      clip_seconds=params["clip_seconds"], n_mels=params["n_mels"],
                                      time_steps=params["time_steps"]) for k, (paths, _) in splits.items()}
    order = ["train", *(k for k in feats if k != "train")]
    normed, stats = standardise(*(feats[k] for k in order))
    dtype = getattr(torch, params.get("dtype", "float32"))
    tensors = {}
    for k, x in zip(order, normed, strict=True):
        tensors[f"{k}_x"] = x.to(dtype)
        tensors[f"{k}_y"] = torch.from_numpy(np.asarray(splits[k][1], np.int64))
    return tensors, stats


def build_speech_commands(raw_dir: Path, params: dict[str, Any]):
    """Builder for ``speech-commands`` (v2, 35 words): official validation/testing lists, rest = train."""
    from asgl.data.prepare import Built

    words = sorted(p.name for p in raw_dir.iterdir() if p.is_dir() and not p.name.startswith("_"))
    index = {w: i for i, w in enumerate(words)}
    def listed(name: str) -> set[str]:
        return {line.strip() for line in (raw_dir / name).read_text().splitlines() if line.strip()}
    val, test = listed("validation_list.txt"), listed("testing_list.txt")
    buckets: dict[str, list[tuple[Path, int]]] = {"train": [], "val": [], "test": []}
    for word in words:
        for path in sorted((raw_dir / word).glob("*.wav")):
            rel = f"{word}/{path.name}"
            split = "test" if rel in test else "val" if rel in val else "train"
            buckets[split].append((path, index[word]))
    missing = [k for k, v in buckets.items() if not v]
    if missing:
        raise CorruptFileError(raw_dir, f"no wav files for split(s) {missing}")
    splits = {k: ([p for p, _ in v], np.array([c for _, c in v])) for k, v in buckets.items()}
    tensors, stats = _featurise(splits, params)
    return Built(tensors, words, params["time_steps"], {"feature_stats": stats, "feature": "log-mel"})


def build_fsdd(raw_dir: Path, params: dict[str, Any]):
    """Builder for ``fsdd``: ``{digit}_{speaker}_{index}.wav``; test = index 0–4 (the recommended split)."""
    from asgl.data.prepare import Built

    items = []
    for path in sorted(raw_dir.rglob("*.wav")):
        m = FSDD_NAME.match(path.name)
        if m and path.parent.name == "recordings":
            items.append((path, int(m.group(1)), m.group(2), int(m.group(3))))
    if not items:
        raise CorruptFileError(raw_dir, "no recordings/{digit}_{speaker}_{index}.wav files found")
    train = [(p, d) for p, d, _, i in items if i >= 5]
    test = [(p, d) for p, d, _, i in items if i < 5]
    splits = {k: ([p for p, _ in v], np.array([d for _, d in v])) for k, v in (("train", train), ("test", test))}
    tensors, stats = _featurise(splits, params)
    speakers = sorted({s for _, _, s, _ in items})
    return Built(tensors, [str(d) for d in range(10)], params["time_steps"],
                 {"feature_stats": stats, "feature": "log-mel", "speakers": speakers})

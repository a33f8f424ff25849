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

from asgl.data.errors import CorruptFileError, DataError
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


def fsdd_recordings(raw_dir: Path) -> list[tuple[Path, int, str, int]]:
    """(path, digit, speaker, index) of every ``recordings/{digit}_{speaker}_{index}.wav`` under ``raw_dir``,
    ordered by file name, so the order does not depend on the folder the recordings were unpacked into.
    Two files of the same name (e.g. the shipped copy and a downloaded one side by side) are refused."""
    found: dict[str, Path] = {}
    for path in raw_dir.rglob("*.wav"):
        if path.parent.name == "recordings" and FSDD_NAME.match(path.name):
            if path.name in found:
                raise DataError(f"{path}: a second copy of {path.name} (the first: {found[path.name]}); "
                                f"keep one recordings/ folder under {raw_dir}")
            found[path.name] = path
    items = []
    for name in sorted(found):
        digit, speaker, index = FSDD_NAME.match(name).groups()
        items.append((found[name], int(digit), speaker, int(index)))
    return items


def fsdd_split(items: list[tuple[Path, int, str, int]]) -> dict[str, tuple[list[Path], np.ndarray]]:
    """The recommended FSDD split of :func:`fsdd_recordings` items: take index 0–4 → ``test``, 5–49 → ``train``
    (of 3 000 recordings: 300 / 2 700, 30 / 270 per digit). Values: (paths, digit labels ``[n]``)."""
    out = {}
    for name, keep in (("train", lambda i: i >= 5), ("test", lambda i: i < 5)):
        chosen = [(p, d) for p, d, _, i in items if keep(i)]
        out[name] = ([p for p, _ in chosen], np.array([d for _, d in chosen], np.int64))
    return out


def build_fsdd(raw_dir: Path | None, params: dict[str, Any]):
    """Builder for ``fsdd``: ``{digit}_{speaker}_{index}.wav``; test = index 0–4 (the recommended split).

    ``raw_dir`` None (how :func:`asgl.data.prepare.prepare_dataset` calls the builder of an embedded id): the
    recordings come from the archive shipped with the repository, verified and unpacked into a temporary folder.
    Output: ``train_x [2700, T, n_mels]``, ``test_x [300, T, n_mels]`` (float32 by default), labels = digit.
    """
    from asgl.data.shipped import raw_or_shipped

    with raw_or_shipped(raw_dir, "fsdd") as folder:
        return _build_fsdd(folder, params)


def _build_fsdd(raw_dir: Path, params: dict[str, Any]):
    from asgl.data.prepare import Built

    items = fsdd_recordings(raw_dir)
    if not items:
        raise CorruptFileError(raw_dir, "no recordings/{digit}_{speaker}_{index}.wav files found")
    tensors, stats = _featurise(fsdd_split(items), params)
    speakers = sorted({s for _, _, s, _ in items})
    return Built(tensors, [str(d) for d in range(10)], params["time_steps"],
                 {"feature_stats": stats, "feature": "log-mel", "speakers": speakers})


NORMALISE = ("train", "utterance")


def fsdd_speaker_split(items: list[tuple[Path, int, str, int]], test_speakers: list[str]
                       ) -> dict[str, tuple[list[Path], np.ndarray]]:
    """Every recording of ``test_speakers`` → ``test``, every other speaker's → ``train`` (no speaker on both
    sides). Values: (paths, digit labels ``[n]``)."""
    known = sorted({s for _, _, s, _ in items})
    unknown = sorted(set(test_speakers) - set(known))
    if unknown or not test_speakers or set(test_speakers) == set(known):
        raise DataError(f"fsdd-speakers: prepare option test_speakers={','.join(test_speakers)!r} must name some, "
                        f"not all, of the speakers {', '.join(known)}")
    out = {}
    for name, keep in (("train", lambda s: s not in test_speakers), ("test", lambda s: s in test_speakers)):
        chosen = [(p, d) for p, d, s, _ in items if keep(s)]
        out[name] = ([p for p, _ in chosen], np.array([d for _, d in chosen], np.int64))
    return out


def utterance_normalise(x: torch.Tensor) -> torch.Tensor:
    """Per-utterance mean and variance normalisation of log-mel ``[N, T, F]``: each utterance's bins are
    centred and scaled by their own statistics over time and frequency, ``(x − μ_n) / σ_n``, so a speaker's
    level and recording chain do not shift the features."""
    mean = x.mean(dim=(1, 2), keepdim=True)
    std = x.std(dim=(1, 2), keepdim=True).clamp_min(1e-3)
    return (x - mean) / std


def build_fsdd_speakers(raw_dir: Path | None, params: dict[str, Any]):
    """Builder for ``fsdd-speakers``: FSDD with every recording of ``params["test_speakers"]`` (comma
    separated) held out, so the test speakers are never heard in training.

    ``normalise``: ``train`` (per-bin z-score with training statistics, as ``fsdd``) or ``utterance``
    (:func:`utterance_normalise` first, then the same per-bin z-score). Output ``[N, T, n_mels]``.
    """
    from asgl.data.shipped import raw_or_shipped

    with raw_or_shipped(raw_dir, "fsdd") as folder:
        return _build_fsdd_speakers(folder, params)


def _build_fsdd_speakers(raw_dir: Path, params: dict[str, Any]):
    from asgl.data.prepare import Built

    if params["normalise"] not in NORMALISE:
        raise DataError(f"fsdd-speakers: prepare option normalise={params['normalise']!r} is not one of "
                        f"{', '.join(NORMALISE)}")
    items = fsdd_recordings(raw_dir)
    if not items:
        raise CorruptFileError(raw_dir, "no recordings/{digit}_{speaker}_{index}.wav files found")
    test_speakers = [s.strip() for s in str(params["test_speakers"]).split(",") if s.strip()]
    splits = fsdd_speaker_split(items, test_speakers)
    feats = {k: wav_files_to_features(paths, sample_rate=params["sample_rate"], clip_seconds=params["clip_seconds"],
                                      n_mels=params["n_mels"], time_steps=params["time_steps"])
             for k, (paths, _) in splits.items()}
    if params["normalise"] == "utterance":
        feats = {k: utterance_normalise(v) for k, v in feats.items()}
    (train, test), stats = standardise(feats["train"], feats["test"])
    dtype = getattr(torch, params.get("dtype", "float32"))
    tensors = {"train_x": train.to(dtype), "train_y": torch.from_numpy(splits["train"][1]),
               "test_x": test.to(dtype), "test_y": torch.from_numpy(splits["test"][1])}
    speakers = sorted({s for _, _, s, _ in items})
    return Built(tensors, [str(d) for d in range(10)], params["time_steps"],
                 {"feature_stats": stats, "feature": "log-mel", "speakers": speakers,
                  "test_speakers": sorted(test_speakers),
                  "train_speakers": [s for s in speakers if s not in test_speakers]})

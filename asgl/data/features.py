"""Shared audio feature path for every speech/instrument dataset, real or synthetic.

waveform (mono float32, any rate) → resample to ``sample_rate`` → crop/zero-pad to ``clip_seconds`` →
``torchaudio.transforms.MelSpectrogram`` with hop = clip length / T → ``log(mel + 1e-6)`` → exactly
``time_steps`` frames ``[T, n_mels]``. Per-bin standardisation uses train-set statistics
(:func:`standardise`). WAV files are read with ``soundfile`` only.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
import torchaudio

from asgl.data.errors import CorruptFileError


def _check_riff_size(path: Path) -> None:
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
        actual = path.stat().st_size
    except OSError as exc:
        raise CorruptFileError(path, f"wav unreadable ({exc})") from None
    if len(head) == 12 and head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        declared = int.from_bytes(head[4:8], "little") + 8
        if declared not in (8, 0xFFFFFFFF + 8) and actual < declared:  # 0 / all ones: size left unset
            raise CorruptFileError(path, f"wav truncated (its header says {declared} bytes, the file has {actual})")


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """(mono float32 waveform ``[L]``, sample rate) of a WAV file; :class:`CorruptFileError` if unreadable or
    shorter than its RIFF header says (libsndfile would silently return the samples that are there)."""
    _check_riff_size(Path(path))
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise CorruptFileError(Path(path), f"wav unreadable ({exc})") from None
    if data.shape[0] == 0:
        raise CorruptFileError(Path(path), "wav has no samples")
    return data.mean(axis=1), int(rate)


@lru_cache(maxsize=8)
def _mel(sample_rate: int, n_samples: int, n_mels: int, time_steps: int):
    hop = max(1, n_samples // time_steps)
    n_fft = 1 << int(np.ceil(np.log2(max(2 * hop, 64))))
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=sample_rate, n_fft=n_fft, hop_length=hop, n_mels=n_mels, f_min=20.0,
        f_max=sample_rate / 2, center=True, power=2.0)


def log_mel(waves: np.ndarray | torch.Tensor, rate: int, *, sample_rate: int, clip_seconds: float,
            n_mels: int, time_steps: int) -> torch.Tensor:
    """Log-mel ``[N, T, n_mels]`` float32 of a batch ``[N, L]`` (one ``[L]`` → ``[T, n_mels]``)."""
    x = torch.as_tensor(np.asarray(waves, dtype=np.float32))
    single = x.dim() == 1
    x = x.unsqueeze(0) if single else x
    if rate != sample_rate:
        x = torchaudio.functional.resample(x, rate, sample_rate)
    n = round(clip_seconds * sample_rate)
    x = x[:, :n] if x.shape[1] >= n else torch.nn.functional.pad(x, (0, n - x.shape[1]))
    spec = _mel(sample_rate, n, n_mels, time_steps)(x)  # [N, n_mels, frames]
    out = torch.log(spec[..., :time_steps] + 1e-6).transpose(1, 2).contiguous()
    return out[0] if single else out


def standardise(train: torch.Tensor, *others: torch.Tensor) -> tuple[list[torch.Tensor], dict[str, list]]:
    """Per-feature (last dim) z-scoring with train statistics; returns (tensors, {"mean","std"})."""
    mean = train.mean(dim=(0, 1))
    std = train.std(dim=(0, 1)).clamp_min(1e-3)
    tensors = [(t - mean) / std for t in (train, *others)]
    return tensors, {"mean": mean.tolist(), "std": std.tolist()}


def wav_files_to_features(paths: list[Path], *, sample_rate: int, clip_seconds: float, n_mels: int,
                          time_steps: int, batch: int = 256) -> torch.Tensor:
    """Read each WAV with soundfile and featurise in batches; returns ``[N, T, n_mels]`` float32."""
    out = torch.empty(len(paths), time_steps, n_mels)
    n = round(clip_seconds * sample_rate)
    for start in range(0, len(paths), batch):
        chunk = paths[start:start + batch]
        waves, rates = zip(*(read_wav(p) for p in chunk), strict=True)
        for rate in set(rates):
            idx = [i for i, r in enumerate(rates) if r == rate]
            length = int(np.ceil(n * rate / sample_rate))
            stacked = np.zeros((len(idx), length), np.float32)
            for row, i in enumerate(idx):
                w = waves[i][:length]
                stacked[row, :len(w)] = w
            feats = log_mel(stacked, rate, sample_rate=sample_rate, clip_seconds=clip_seconds,
                            n_mels=n_mels, time_steps=time_steps)
            out[[start + i for i in idx]] = feats
    return out


def labelled_log_mel_split(waves: np.ndarray, labels: np.ndarray, rate: int, params: dict[str, Any]
                           ) -> tuple[dict[str, torch.Tensor], dict[str, list]]:
    """The embedded audio sets' common tail: ``waves [N, samples]`` → log-mel ``[N, T, n_mels]``, a stratified
    split by ``params["test_fraction"]`` and ``params["seed"]``, standardised with train statistics.

    Returns the tensor dict (``train_x``, ``train_y``, ``test_x``, ``test_y``) and the feature statistics.
    """
    from asgl.data.splits import stratified_split

    feats = log_mel(waves, rate, sample_rate=rate, clip_seconds=params["clip_seconds"],
                    n_mels=params["n_mels"], time_steps=params["time_steps"])
    train, test = stratified_split(labels, params["test_fraction"], params["seed"])
    (tr, te), stats = standardise(feats[train], feats[test])
    y = torch.from_numpy(labels.astype(np.int64))
    return {"train_x": tr, "train_y": y[train], "test_x": te, "test_y": y[test]}, stats

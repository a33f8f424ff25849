"""What the generated audio sets (``synth-speech``, ``synth-instruments``) share: noise at a drawn
signal-to-noise ratio, and the builder that turns a per-class synthesiser into a prepared dataset.

Both draw from one ``numpy`` generator seeded with ``params["seed"]``, in a fixed order (every clip of class
0, then class 1, …), so a prepared set is a pure function of its prepare block.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from asgl.data.features import labelled_log_mel_split


def add_noise_at_snr(clip: np.ndarray, signal: np.ndarray, rng: np.random.Generator,
                     snr_db: tuple[float, float]) -> np.ndarray:
    """``clip + n`` as float32, ``n ~ N(0, σ²)`` with ``σ² = mean(signal²) / 10^(SNR/10)`` and
    ``SNR ~ U(snr_db)`` in dB; ``signal`` is the part of the clip whose power sets the ratio (``[samples]``)."""
    snr = rng.uniform(*snr_db)
    noise_std = np.sqrt(np.mean(signal ** 2) / 10 ** (snr / 10))
    return (clip + rng.normal(0, noise_std, len(clip))).astype(np.float32)


def build_synthetic_audio(params: dict[str, Any], classes: Sequence[Any], class_names: Sequence[str],
                          synthesise: Callable[[Any, np.random.Generator, int, int], np.ndarray]):
    """``params["per_class"]`` clips of each class, ``synthesise(cls, rng, rate, samples) → [samples]``, as
    log-mel ``[N, T, n_mels]`` with a stratified split (:func:`asgl.data.features.labelled_log_mel_split`).

    ``params``: ``sample_rate``, ``clip_seconds``, ``seed``, ``per_class`` and the log-mel and split keys.
    Returns an :class:`asgl.data.prepare.Built`.
    """
    from asgl.data.prepare import Built

    rate = params["sample_rate"]
    length = int(params["clip_seconds"] * rate)
    rng = np.random.default_rng(params["seed"])
    labels = np.repeat(np.arange(len(classes)), params["per_class"])
    waves = np.stack([synthesise(classes[c], rng, rate, length) for c in labels])
    tensors, stats = labelled_log_mel_split(waves, labels, rate, params)
    return Built(tensors, list(class_names), params["time_steps"], {"feature_stats": stats, "feature": "log-mel"})

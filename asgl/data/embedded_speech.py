"""``synth-speech``: source–filter synthesis of ten short "words", through the real speech feature path.

Source: a glottal pulse train (jittered f0, two-pole glottal low-pass) for voiced sounds, white noise for
fricatives/bursts. Filter: a cascade of second-order formant resonators. Each word is a distinct
sequence of phonemes (vowels, fricatives, stops with closure + burst, nasals); several words share
phonemes in a different order, so word identity depends on temporal order. Speaker variation: pitch,
speaking rate, vocal-tract scaling (formants), onset time, level and additive noise (random SNR).
Features: :func:`asgl.data.features.log_mel` (the same path as Speech Commands / FSDD).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import lfilter

from asgl.data.synthetic_audio import add_noise_at_snr, build_synthetic_audio

# kind, formants/band (Hz), nominal duration (s)
PHONEMES: dict[str, tuple[str, tuple[float, ...], float]] = {
    "a": ("vowel", (730, 1090, 2440), 0.14), "i": ("vowel", (270, 2290, 3010), 0.12),
    "u": ("vowel", (300, 870, 2240), 0.12), "e": ("vowel", (530, 1840, 2480), 0.12),
    "o": ("vowel", (570, 840, 2410), 0.13),
    "s": ("fricative", (3000, 3900), 0.10), "sh": ("fricative", (1800, 2900), 0.10),
    "f": ("fricative", (800, 3900), 0.08),
    "t": ("stop", (2500, 3800), 0.06), "k": ("stop", (1200, 2400), 0.06), "p": ("stop", (300, 1200), 0.06),
    "m": ("nasal", (250, 1100, 2300), 0.08), "n": ("nasal", (250, 1400, 2500), 0.08),
}
WORDS: tuple[tuple[str, ...], ...] = (
    ("s", "a", "t"), ("t", "a", "s"), ("m", "i", "u"), ("u", "i", "m"), ("k", "o", "sh"),
    ("sh", "o", "k"), ("a", "n", "e"), ("e", "n", "a"), ("f", "u", "p", "i"), ("p", "e", "f", "o"),
)
WORD_NAMES = tuple("-".join(w) for w in WORDS)


def _resonator(x: np.ndarray, freq: float, bw: float, rate: int) -> np.ndarray:
    r = np.exp(-np.pi * bw / rate)
    a = [1.0, -2 * r * np.cos(2 * np.pi * freq / rate), r * r]
    return lfilter([1.0 - r], a, x)


def _bandpass_noise(rng: np.random.Generator, n: int, lo: float, hi: float, rate: int) -> np.ndarray:
    centre, bw = (lo + hi) / 2, hi - lo
    return _resonator(rng.normal(0, 1, n), centre, bw, rate) * 3.0


def _voiced(rng, n: int, f0: float, formants, scale: float, rate: int) -> np.ndarray:
    jitter = 1 + 0.02 * np.cumsum(rng.normal(0, 0.05, n)) / np.sqrt(np.arange(1, n + 1))
    phase = np.cumsum(f0 * jitter / rate)
    pulses = np.diff(np.floor(phase), prepend=0.0)
    src = lfilter([1.0], [1.0, -1.9, 0.9025], pulses)  # glottal low-pass (double pole at 0.95)
    out = src
    for k, fk in enumerate(formants):
        out = _resonator(out, min(fk * scale, rate * 0.45), 60 + 40 * k, rate)
    return out / (np.abs(out).max() + 1e-9)


def synthesise_word(word: tuple[str, ...], rng: np.random.Generator, rate: int, length: int) -> np.ndarray:
    """One utterance of ``word`` with a random speaker, padded to ``length`` samples at ``rate``."""
    f0 = rng.uniform(85, 260)
    speed, scale = rng.uniform(0.7, 1.35), rng.uniform(0.85, 1.2)
    parts = []
    for ph in word:
        kind, band, dur = PHONEMES[ph]
        n = int(dur * speed * rng.uniform(0.85, 1.15) * rate)
        if kind == "vowel":
            seg = _voiced(rng, n, f0, band, scale, rate)
        elif kind == "nasal":
            seg = 0.5 * _voiced(rng, n, f0 * 0.98, band, scale, rate)
        elif kind == "fricative":
            seg = 0.35 * _bandpass_noise(rng, n, band[0] * scale, min(band[1] * scale, rate * 0.48), rate)
        else:  # stop: closure silence, then a short burst
            burst = 0.6 * _bandpass_noise(rng, n // 3, band[0], min(band[1], rate * 0.48), rate)
            seg = np.concatenate([np.zeros(n - n // 3), burst * np.exp(-np.linspace(0, 5, n // 3))])
        ramp = np.minimum(1, np.minimum(np.arange(n), np.arange(n)[::-1]) / max(1, int(0.01 * rate)))
        parts.append(seg * ramp)
    speech = np.concatenate(parts) * rng.uniform(0.3, 1.0)
    out = np.zeros(length)
    start = rng.integers(0, max(1, length - len(speech)))
    speech = speech[: length - start]
    out[start:start + len(speech)] = speech
    return add_noise_at_snr(out, speech, rng, (0, 20))


def build(raw_dir: Path | None, params: dict[str, Any]):
    """Builder for ``synth-speech``: ``per_class`` utterances of each of the 10 words → ``[N, T, n_mels]``."""
    return build_synthetic_audio(params, WORDS, WORD_NAMES, synthesise_word)

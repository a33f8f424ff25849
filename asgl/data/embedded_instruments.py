"""``synth-instruments``: eight instrument-like timbres by additive synthesis, through the Medley-solos-DB
feature path.

Each timbre fixes a harmonic amplitude profile, an attack/decay envelope, vibrato depth/rate, an
inharmonicity coefficient (partial k at ``k·f0·sqrt(1 + B·k²)``), optional soft-clipping and breath/bow
noise; each note draws its pitch uniformly (log scale) from the instrument's range (ranges overlap), its
loudness, brightness jitter and additive noise level. Labels mirror the Medley-solos-DB classes but the
audio is synthetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from asgl.data.synthetic_audio import add_noise_at_snr, build_synthetic_audio


@dataclass(frozen=True)
class Timbre:
    """Synthesis recipe of one class (amplitudes of partial k ∝ ``k**-tilt``, ``odd_only`` masks even k)."""

    name: str
    pitch_range: tuple[float, float]  # Hz
    tilt: float
    odd_only: bool
    attack: float  # s
    decay: float  # s, exponential decay time (inf = sustained)
    vibrato: float  # relative depth
    inharmonicity: float
    drive: float  # soft-clip gain (0 = clean)
    noise: float  # breath/bow noise level


TIMBRES: tuple[Timbre, ...] = (
    Timbre("clarinet-like", (147, 880), 1.1, True, 0.05, np.inf, 0.003, 0.0, 0.0, 0.02),
    Timbre("distorted-guitar-like", (82, 660), 1.0, False, 0.005, 1.2, 0.002, 0.0002, 6.0, 0.01),
    Timbre("voice-like", (175, 880), 1.6, False, 0.08, np.inf, 0.02, 0.0, 0.0, 0.03),
    Timbre("flute-like", (262, 1320), 2.5, False, 0.09, np.inf, 0.01, 0.0, 0.0, 0.08),
    Timbre("piano-like", (55, 1320), 1.3, False, 0.003, 0.6, 0.0, 0.0015, 0.0, 0.0),
    Timbre("sax-like", (104, 660), 0.9, False, 0.04, np.inf, 0.008, 0.0, 0.6, 0.04),
    Timbre("trumpet-like", (165, 990), 0.7, False, 0.03, np.inf, 0.005, 0.0, 0.3, 0.02),
    Timbre("violin-like", (196, 1760), 1.0, False, 0.12, np.inf, 0.015, 0.0, 0.0, 0.05),
)
MAX_PARTIALS = 24


def synthesise_note(timbre: Timbre, rng: np.random.Generator, rate: int, length: int) -> np.ndarray:
    """One note of ``timbre`` with random pitch/loudness/brightness, ``length`` samples at ``rate``."""
    t = np.arange(length) / rate
    f0 = np.exp(rng.uniform(*np.log(timbre.pitch_range)))
    vib = 1 + timbre.vibrato * rng.uniform(0.5, 1.5) * np.sin(2 * np.pi * rng.uniform(4.5, 6.5) * t)
    k = np.arange(1, MAX_PARTIALS + 1)
    freqs = k * f0 * np.sqrt(1 + timbre.inharmonicity * k ** 2)
    amps = k ** -(timbre.tilt + rng.normal(0, 0.25)) * (freqs < rate * 0.45)
    if timbre.odd_only:
        amps = amps * np.where(k % 2 == 1, 1.0, 0.08)
    keep = amps > 1e-4
    phase = 2 * np.pi * np.cumsum(vib) / rate
    tone = (amps[keep, None] * np.sin(freqs[keep, None] * phase[None] + rng.uniform(0, 2 * np.pi, (keep.sum(), 1))))
    tone = tone.sum(0)
    if timbre.drive:
        tone = np.tanh(timbre.drive * tone / (np.abs(tone).max() + 1e-9))
    attack = timbre.attack * rng.uniform(0.6, 1.6)
    env = np.minimum(1, t / attack) * np.exp(-t / (timbre.decay * rng.uniform(0.7, 1.4)))
    onset = rng.integers(0, length // 5)
    env = np.concatenate([np.zeros(onset), env[: length - onset]])
    note = tone / (np.abs(tone).max() + 1e-9) * env + timbre.noise * rng.normal(0, 1, length) * env
    note *= rng.uniform(0.2, 1.0)
    return add_noise_at_snr(note, note, rng, (5, 30))


def build(raw_dir: Path | None, params: dict[str, Any]):
    """Builder for ``synth-instruments``: ``per_class`` notes of each timbre → ``[N, T, n_mels]``."""
    return build_synthetic_audio(params, TIMBRES, [t.name for t in TIMBRES], synthesise_note)

"""``digits-dvs``: a simulated event camera saccading over the scikit-learn digits (N-MNIST style).

Each 8×8 digit is upsampled into a ``size``×``size`` canvas and moved along three straight saccades
(a triangle, as the N-MNIST pan-tilt recordings did). At every simulation step each pixel compares its
log-intensity with its reference level; each crossing of the contrast threshold (per-pixel threshold
mismatch included) emits one ON or OFF event and moves the reference by one threshold. Background noise
events are added. The events are tonic structured arrays ``(x, y, p, t[µs])``, framed with
``tonic.transforms.ToFrame`` into ``[T, 2, size, size]`` uint8 counts.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tonic.transforms import ToFrame

from asgl.data.embedded_digits import load_digit_images
from asgl.data.splits import stratified_split

EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("p", np.int8), ("t", np.int64)])
SIM_STEPS = 60
DURATION_US = 300_000


def _saccade_offsets(rng: np.random.Generator, n: int, amplitude: float) -> np.ndarray:
    """Per-sample pixel offsets ``[n, SIM_STEPS, 2]`` along a jittered triangle path."""
    corners = np.array([[0.0, 0.0], [1.0, 0.5], [0.0, 1.0], [0.0, 0.0]]) - 0.5
    corners = corners[None] * amplitude + rng.normal(0, 0.4, (n, 4, 2))
    s = np.linspace(0, 3, SIM_STEPS, endpoint=False)
    seg, frac = s.astype(int), (s % 1)[:, None]
    return corners[:, seg] * (1 - frac) + corners[:, seg + 1] * frac


def _render(images: torch.Tensor, offsets: torch.Tensor, size: int) -> torch.Tensor:
    """Images ``[n, 1, s, s]`` placed centred in ``size``² and shifted by ``offsets`` ``[n, 2]`` (pixels)."""
    n = images.shape[0]
    theta = torch.zeros(n, 2, 3)
    scale = size / images.shape[-1] * 0.65
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0 / scale
    theta[:, :, 2] = -offsets * 2.0 / size / scale
    grid = F.affine_grid(theta, [n, 1, size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


@contextlib.contextmanager
def _single_thread():
    """Small tensors: one intra-op thread avoids spin-wait overhead on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def simulate_events(images: np.ndarray, *, size: int, threshold: float, seed: int,
                    noise_rate_hz: float = 2.0, mismatch: float = 0.03) -> list[np.ndarray]:
    """Events of a simulated sensor viewing ``images`` ``[n, h, w]`` in [0, 1]; one structured array each."""
    with _single_thread():
        return _simulate(images, size, threshold, seed, noise_rate_hz, mismatch)


def _simulate(images: np.ndarray, size: int, threshold: float, seed: int, noise_rate_hz: float,
              mismatch: float) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    n = images.shape[0]
    imgs = torch.from_numpy(images).float().unsqueeze(1)
    offsets = torch.from_numpy(_saccade_offsets(rng, n, amplitude=size * 0.15)).float()
    thr = torch.from_numpy(np.clip(rng.normal(threshold, threshold * mismatch * 10, (n, size, size)),
                                   threshold * 0.5, None)).float()
    log_img = lambda k: torch.log(_render(imgs, offsets[:, k], size)[:, 0] + 0.05)  # noqa: E731
    ref = log_img(0)
    chunks, owners = [], []
    dt = DURATION_US / SIM_STEPS
    for k in range(1, SIM_STEPS):
        diff = log_img(k) - ref
        count = torch.floor(diff.abs() / thr)
        ref = ref + torch.sign(diff) * count * thr
        fired = count > 0
        idx = torch.nonzero(fired).numpy()
        if idx.size == 0:
            continue
        rows = np.repeat(np.arange(len(idx)), count[fired].numpy().astype(np.int64))
        ev = np.empty(len(rows), EVENT_DTYPE)
        ev["x"], ev["y"], ev["p"] = idx[rows, 2], idx[rows, 1], (diff[fired] > 0).numpy()[rows]
        ev["t"] = ((k - 1) * dt + rng.uniform(0, dt, len(rows))).astype(np.int64)
        chunks.append(ev)
        owners.append(idx[rows, 0])
    n_noise = rng.poisson(noise_rate_hz * size * size * DURATION_US * 1e-6, n)
    total = int(n_noise.sum())
    noise = np.empty(total, EVENT_DTYPE)
    noise["x"], noise["y"] = rng.integers(0, size, (2, total))
    noise["p"], noise["t"] = rng.integers(0, 2, total), rng.integers(0, DURATION_US, total)
    events = np.concatenate([*chunks, noise])
    owner = np.concatenate([*owners, np.repeat(np.arange(n), n_noise)])
    order = np.lexsort((events["t"], owner))
    events, owner = events[order], owner[order]
    out = np.split(events, np.searchsorted(owner, np.arange(1, n)))
    return out


def events_to_frames(events: list[np.ndarray], size: int, time_steps: int) -> torch.Tensor:
    """tonic ``ToFrame`` (``n_time_bins=T``) of each stream → ``[N, T, 2, size, size]`` uint8 (clipped)."""
    to_frame = ToFrame(sensor_size=(size, size, 2), n_time_bins=time_steps)
    frames = np.stack([to_frame(ev) for ev in events])
    return torch.from_numpy(np.clip(frames, 0, 255).astype(np.uint8))


def build(raw_dir: Path | None, params: dict[str, Any]):
    """Builder for ``digits-dvs``: stratified split of the digits (all, or ``max_per_class``) × ``repeats``."""
    from asgl.data.prepare import Built

    images, labels = load_digit_images()
    if params["max_per_class"]:
        keep = np.concatenate([np.flatnonzero(labels == c)[: params["max_per_class"]] for c in range(10)])
        images, labels = images[keep], labels[keep]
    images = np.tile(images, (params["repeats"], 1, 1))
    labels = np.tile(labels, params["repeats"])
    events = simulate_events(images, size=params["size"], threshold=params["threshold"], seed=params["seed"])
    x = events_to_frames(events, params["size"], params["time_steps"])
    y = torch.from_numpy(labels)
    train, test = stratified_split(labels, params["test_fraction"], params["seed"])
    tensors = {"train_x": x[train], "train_y": y[train], "test_x": x[test], "test_y": y[test]}
    counts = [len(e) for e in events]
    extra = {"sensor_size": [params["size"], params["size"], 2], "duration_us": DURATION_US,
             "events_per_sample_mean": float(np.mean(counts))}
    return Built(tensors, [str(d) for d in range(10)], params["time_steps"], extra)

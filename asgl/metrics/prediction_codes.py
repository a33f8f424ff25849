"""Per-sample test predictions as one short text field: what a run predicted for every test sample, in the
prepared data's test order.

A run keeps its predicted class ``ŷ_i`` for each test sample ``i = 0..N−1`` so that two runs can be compared
sample by sample (paired on the test set, :mod:`pipelines.lib.stats`) and so that a recorded accuracy can be
checked against what the run actually predicted: ``accuracy = 100 · (1/N) Σ_i [ŷ_i = y_i]``.

Encoding: the classes as unsigned integers of the smallest width that holds them (``u8`` up to 255 classes,
``u16`` up to 65 535), little-endian, base64, prefixed with the width: ``"u8:AAECAw=="``. A 10 000-sample
CIFAR test set takes 13 kB of text; the embedded sets a few hundred bytes per run.
"""

from __future__ import annotations

import base64

import numpy as np

_DTYPES = {"u8": np.dtype("<u1"), "u16": np.dtype("<u2")}


def encode(classes) -> str:
    """``"u8:<base64>"`` (or ``u16``) for a 1-D sequence of non-negative class indices ``[N]``."""
    values = np.asarray(classes)
    if values.ndim != 1:
        raise ValueError(f"predictions must be 1-D [N], got shape {values.shape}")
    if values.size and (values.min() < 0 or values.max() > 65535):
        raise ValueError(f"class indices must lie in 0..65535, got {values.min()}..{values.max()}")
    tag = "u8" if not values.size or values.max() <= 255 else "u16"
    return f"{tag}:" + base64.b64encode(values.astype(_DTYPES[tag]).tobytes()).decode("ascii")


def decode(text: str) -> np.ndarray:
    """The class indices ``[N]`` (int64) of a string written by :func:`encode`; ValueError when malformed."""
    tag, sep, payload = str(text).partition(":")
    if not sep or tag not in _DTYPES:
        raise ValueError(f"not an encoded prediction list (expected 'u8:…' or 'u16:…'): {str(text)[:20]!r}")
    try:
        raw = base64.b64decode(payload.encode("ascii"), validate=True)
    except ValueError as exc:
        raise ValueError(f"encoded predictions are not valid base64 ({exc})") from None
    if len(raw) % _DTYPES[tag].itemsize:
        raise ValueError(f"encoded predictions have {len(raw)} bytes, not a multiple of {_DTYPES[tag].itemsize}")
    return np.frombuffer(raw, dtype=_DTYPES[tag]).astype(np.int64)

"""Train-time augmentation of image batches, reproducible from ``(seed, epoch, step, rank)``.

``"cifar"`` is the recipe of the authors' CIFAR runs (``../shared/PAPER.md``: "AutoAugment + Cutout"), in the
order the CIFAR SNN code bases apply it, per sample:

1. random crop back to ``H × W`` from the image zero-padded by 4 pixels;
2. horizontal flip with probability 1/2;
3. AutoAugment with the CIFAR-10 policy (``torchvision.transforms.v2.AutoAugment``);
4. normalisation with the dataset's train mean and std;
5. Cutout: one ``16 × 16`` square (centre uniform over the image, clipped at the border) set to 0.

The prepared CIFAR tensors are already normalised (``asgl.data.images``), so steps 1–3 run on the images
recovered as ``uint8`` from the manifest's mean/std (exact: the prepared values came from ``uint8``).
Randomness comes from torch's generator reseeded inside a ``fork_rng`` block with a seed mixed from
``(seed, epoch, step, rank)``, so a resumed run draws the same augmentations and the caller's random state is
untouched. Test batches are never augmented.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch

from asgl.training.config import AUGMENTATIONS

CUTOUT = 16
PADDING = 4
_MIX = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1


def batch_seed(seed: int, epoch: int, step: int, rank: int) -> int:
    """A 63-bit seed from the four counters (splitmix64-style mixing, so neighbouring steps are unrelated)."""
    h = 0
    for value in (seed, epoch, step, rank):
        h = ((h ^ (value & _MASK64)) * _MIX + 0x632BE59BD9B4E019) & _MASK64
        h ^= h >> 31
    return h >> 1


class CifarAugment:
    """Crop, flip, AutoAugment (CIFAR-10 policy), then Cutout, on a normalised ``[B, 3, H, W]`` float batch.

    Args:
        mean, std: per-channel normalisation of the prepared tensors (values in ``[0, 1]`` units).
        cutout: side of the square set to zero after normalisation.
        padding: zero padding before the random crop.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], cutout: int = CUTOUT,
                 padding: int = PADDING) -> None:
        from torchvision.transforms import v2

        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ValueError(f"cifar augmentation needs 3 channel means and 3 positive stds, got mean={mean!r}, "
                             f"std={std!r}")
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        self.cutout = cutout
        self.padding = padding
        self.policy = v2.AutoAugment(v2.AutoAugmentPolicy.CIFAR10)

    def to_uint8(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() * self.std + self.mean).mul_(255.0).round_().clamp_(0, 255).to(torch.uint8)

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        return (images.float() / 255.0 - self.mean) / self.std

    def _crop_flip(self, image: torch.Tensor) -> torch.Tensor:
        _, h, w = image.shape
        padded = torch.nn.functional.pad(image, (self.padding,) * 4)
        top, left = (int(v) for v in torch.randint(0, 2 * self.padding + 1, (2,)))
        out = padded[:, top:top + h, left:left + w]
        return out.flip(-1) if torch.rand(()) < 0.5 else out

    def _cutout(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        cy, cx = torch.randint(0, h, (b,)), torch.randint(0, w, (b,))
        rows, cols = torch.arange(h).view(1, h, 1), torch.arange(w).view(1, 1, w)
        half = self.cutout // 2
        cy, cx = cy.view(b, 1, 1), cx.view(b, 1, 1)
        inside = (rows >= cy - half) & (rows < cy + half) & (cols >= cx - half) & (cols < cx + half)
        return x.masked_fill(inside.unsqueeze(1), 0.0)

    def __call__(self, x: torch.Tensor, seed: int) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"cifar augmentation expects image batches [B, 3, H, W], got {tuple(x.shape)}")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            images = self.to_uint8(x)
            out = torch.stack([self.policy(self._crop_flip(image)) for image in images])
            return self._cutout(self.normalise(out)).to(x.dtype)


def build_augment(name: str, normalisation: Mapping[str, Sequence[float]] | None
                  ) -> Callable[[torch.Tensor, int], torch.Tensor] | None:
    """The augmentation ``name`` (one of :data:`AUGMENTATIONS`), or ``None`` for ``"none"``.

    ``normalisation`` is the prepared dataset's ``{"mean": [...], "std": [...]}`` (its manifest's
    ``normalisation`` entry); ``"cifar"`` needs it.
    """
    if name == "none":
        return None
    if name == "cifar":
        if not normalisation or not isinstance(normalisation.get("mean"), Sequence):
            raise ValueError("train.augment='cifar' needs the dataset's per-channel normalisation (the manifest's "
                             "'normalisation' with 3 means and stds); use it with cifar10 or cifar100")
        return CifarAugment(normalisation["mean"], normalisation["std"])
    raise ValueError(f"train.augment must be one of {AUGMENTATIONS}, got {name!r}")

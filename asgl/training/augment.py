"""Train-time augmentation of image and event-frame batches, reproducible from ``(seed, epoch, step, rank)``.

``"cifar"`` is the recipe of the authors' CIFAR runs (``../shared/PAPER.md``: "AutoAugment + Cutout"), in the
order the CIFAR SNN code bases apply it, per sample:

1. random crop back to ``H × W`` from the image zero-padded by 4 pixels;
2. horizontal flip with probability 1/2;
3. AutoAugment with the CIFAR-10 policy (``torchvision.transforms.v2.AutoAugment``, pixels uncovered by a
   geometric operation filled with grey 128 as the authors' ``CIFAR10Policy``; the policy's operations and
   magnitudes are torchvision's, not a copy of theirs);
4. Cutout: one ``16 × 16`` square (centre uniform over the image, clipped at the border) set to black, i.e.
   to 0 on the ``[0, 1]`` scale, before normalisation, as the authors' ``loadData`` (``ToTensor``, ``Cutout``,
   ``Normalize``); the square therefore holds ``−mean/std`` afterwards;
5. normalisation with the dataset's mean and std (the manifest's ``normalisation``).

The prepared CIFAR tensors are already normalised (``asgl.data.images``), so steps 1–3 run on the images
recovered as ``uint8`` from the manifest's mean/std (exact: the prepared values came from ``uint8``).
``"crop_flip"`` is steps 1, 2 and 5 only (the suite's choice for Tiny-ImageNet, where no recipe is published).

``"dvs"`` is the authors' CIFAR10-DVS recipe on event frames ``x[B, T, 2, H, W]``, per sample ``b`` (every
time step and polarity moved alike):

1. horizontal flip with probability 1/2: ``x'[b, t, c, i, j] = x[b, t, c, i, W − 1 − j]``;
2. circular roll by ``(Δy, Δx)``, each uniform over the integers ``−5 … 5``:
   ``x''[b, t, c, i, j] = x'[b, t, c, (i − Δy) mod H, (j − Δx) mod W]`` (``torch.roll``, as their code).

``"dvs_roll"`` is step 2 alone, for DVS128 Gesture: a mirror image turns a left-hand gesture into a
right-hand one, so flipping would corrupt the labels.

Randomness comes from a seed mixed from ``(seed, epoch, step, rank)`` (torch's generator reseeded inside a
``fork_rng`` block for the image recipes, whose AutoAugment draws from it; a private ``torch.Generator`` for
the event recipes), so a resumed run draws the same augmentations and the caller's random state is untouched.
Test batches are never augmented.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch

from asgl.training.config import AUGMENTATIONS

CUTOUT = 16
PADDING = 4
MAX_ROLL = 5
AUTO_AUGMENT_FILL = 128  # grey, the authors' CIFAR10Policy fillcolor
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
    """Crop, flip, AutoAugment (CIFAR-10 policy), Cutout, normalisation, on a normalised ``[B, 3, H, W]`` batch.

    Args:
        mean, std: per-channel normalisation of the prepared tensors (values in ``[0, 1]`` units).
        cutout: side of the square set to black before normalisation; ``0`` disables Cutout.
        padding: zero padding before the random crop.
        auto_augment: apply AutoAugment (CIFAR-10 policy) after crop and flip.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], cutout: int = CUTOUT,
                 padding: int = PADDING, auto_augment: bool = True) -> None:
        from torchvision.transforms import v2

        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ValueError(f"image augmentation needs 3 channel means and 3 positive stds, got mean={mean!r}, "
                             f"std={std!r}")
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        self.cutout = cutout
        self.padding = padding
        self.policy = v2.AutoAugment(v2.AutoAugmentPolicy.CIFAR10, fill=AUTO_AUGMENT_FILL) if auto_augment else None

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
            raise ValueError(f"image augmentation expects image batches [B, 3, H, W], got {tuple(x.shape)}")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            images = self.to_uint8(x)
            out = torch.stack([self._crop_flip(image) for image in images])
            if self.policy is not None:
                out = torch.stack([self.policy(image) for image in out])
            out = self._cutout(out) if self.cutout > 0 else out
            return self.normalise(out).to(x.dtype)


class EventAugment:
    """Flip (optional) and roll of event frames ``[B, T, 2, H, W]`` per sample (module docstring, ``"dvs"``).

    Args:
        flip: flip horizontally with probability 1/2 (``False`` for ``"dvs_roll"``).
        max_roll: largest shift ``|Δy|``, ``|Δx|`` in pixels (the authors: 5).
    """

    def __init__(self, flip: bool = True, max_roll: int = MAX_ROLL) -> None:
        if max_roll < 0:
            raise ValueError(f"max_roll must be >= 0, got {max_roll!r}")
        self.flip = flip
        self.max_roll = max_roll

    def draws(self, batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(flips[B] bool, shifts[B, 2] int64 as (Δy, Δx))`` drawn from ``seed`` alone."""
        generator = torch.Generator().manual_seed(seed)
        flips = torch.rand(batch, generator=generator) < 0.5
        shifts = torch.randint(-self.max_roll, self.max_roll + 1, (batch, 2), generator=generator)
        return flips & self.flip, shifts

    def __call__(self, x: torch.Tensor, seed: int) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f"event augmentation expects event frames [B, T, 2, H, W], got {tuple(x.shape)}")
        flips, shifts = self.draws(x.shape[0], seed)
        out = []
        for sample, flip, (dy, dx) in zip(x, flips.tolist(), shifts.tolist(), strict=True):
            sample = sample.flip(-1) if flip else sample
            out.append(torch.roll(sample, shifts=(dy, dx), dims=(-2, -1)))
        return torch.stack(out)


def build_augment(name: str, normalisation: Mapping[str, Sequence[float]] | None
                  ) -> Callable[[torch.Tensor, int], torch.Tensor] | None:
    """The augmentation ``name`` (one of :data:`AUGMENTATIONS`), or ``None`` for ``"none"``.

    ``normalisation`` is the prepared dataset's ``{"mean": [...], "std": [...]}`` (its manifest's
    ``normalisation`` entry); ``"cifar"`` and ``"crop_flip"`` need it.
    """
    if name == "none":
        return None
    if name in ("cifar", "crop_flip"):
        if not normalisation or not isinstance(normalisation.get("mean"), Sequence):
            raise ValueError(f"train.augment={name!r} needs the dataset's per-channel normalisation (the "
                             "manifest's 'normalisation' with 3 means and stds); use it with cifar10, cifar100 "
                             "or tiny-imagenet")
        if name == "cifar":
            return CifarAugment(normalisation["mean"], normalisation["std"])
        return CifarAugment(normalisation["mean"], normalisation["std"], cutout=0, auto_augment=False)
    if name in ("dvs", "dvs_roll"):
        return EventAugment(flip=name == "dvs")
    raise ValueError(f"train.augment must be one of {AUGMENTATIONS}, got {name!r}")

"""CIFAR train-time augmentation: reproducible from its seed, a valid image afterwards, Cutout as specified."""

import pytest
import torch

from asgl.training.augment import CifarAugment, batch_seed, build_augment
from asgl.training.config import TrainConfig

MEAN, STD = [0.49, 0.48, 0.45], [0.25, 0.24, 0.26]


def _batch(n=6, seed=0):
    images = torch.randint(0, 256, (n, 3, 32, 32), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)
    aug = CifarAugment(MEAN, STD)
    return aug, images, aug.normalise(images)


def test_same_seed_same_batch_other_seed_other_batch_and_global_rng_untouched():
    aug, _, x = _batch()
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a, b = aug(x, 7), aug(x, 7)
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(a, b)
    assert not torch.equal(a, aug(x, 8))
    assert a.shape == x.shape and a.dtype == x.dtype


def test_output_is_a_normalised_uint8_image_with_one_zeroed_square():
    aug, _, x = _batch(n=32)
    out = aug(x, 3)
    zero = (out == 0).all(dim=1)  # Cutout sets all channels to 0 (the mean) after normalisation
    for mask in zero:
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        assert 1 <= len(rows) <= 16 and 1 <= len(cols) <= 16
        assert mask[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()  # one filled rectangle
    pixels = (out * torch.tensor(STD).view(1, 3, 1, 1) + torch.tensor(MEAN).view(1, 3, 1, 1)) * 255
    outside = ~zero.unsqueeze(1).expand_as(out)
    assert (pixels[outside] - pixels[outside].round()).abs().max() < 1e-3  # still an 8-bit image
    assert pixels[outside].min() > -1e-3 and pixels[outside].max() < 255 + 1e-3


def test_uint8_round_trip_of_prepared_tensors_is_exact():
    aug, images, x = _batch()
    assert torch.equal(aug.to_uint8(x), images)


def test_batches_get_independent_seeds():
    seeds = {batch_seed(0, epoch, step, rank) for epoch in range(3) for step in range(50) for rank in range(2)}
    assert len(seeds) == 300 and all(0 <= s < 2**63 for s in seeds)
    assert batch_seed(1, 0, 0, 0) != batch_seed(0, 1, 0, 0) != batch_seed(0, 0, 1, 0)


def test_config_and_builder_reject_what_they_cannot_run():
    assert build_augment("none", None) is None
    with pytest.raises(ValueError, match="normalisation"):
        build_augment("cifar", None)
    with pytest.raises(ValueError, match=r"train\.augment"):
        TrainConfig(augment="mixup")
    with pytest.raises(ValueError, match=r"\[B, 3, H, W\]"):
        CifarAugment(MEAN, STD)(torch.zeros(2, 1, 8, 8), 0)

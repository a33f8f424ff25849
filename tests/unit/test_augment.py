"""Train-time augmentation: reproducible from its seed, a valid image afterwards, Cutout as specified; event
frames flipped and rolled per sample as the authors' CIFAR10-DVS recipe, and resumed runs draw the same."""

import pytest
import torch

from asgl.registry import get_method
from asgl.training import Callback, TrainConfig, train
from asgl.training.augment import MAX_ROLL, CifarAugment, EventAugment, batch_seed, build_augment
from tests.conftest import TinyNet

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


def test_output_is_a_normalised_uint8_image_with_one_black_square():
    aug, _, x = _batch(n=32)
    out = aug(x, 3)
    without = CifarAugment(MEAN, STD, cutout=0)(x, 3)  # same seed: the same image before Cutout
    black = -torch.tensor(MEAN).view(3, 1) / torch.tensor(STD).view(3, 1)
    changed = (out != without).any(dim=1)
    for image, mask in zip(out, changed, strict=True):
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        assert 1 <= len(rows) <= 16 and 1 <= len(cols) <= 16
        box = (slice(None), slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
        torch.testing.assert_close(image[box].flatten(1), black.expand(3, image[box][0].numel()))
    pixels = (out * torch.tensor(STD).view(1, 3, 1, 1) + torch.tensor(MEAN).view(1, 3, 1, 1)) * 255
    assert (pixels - pixels.round()).abs().max() < 1e-3  # still an 8-bit image, the square black
    assert pixels.min() > -1e-3 and pixels.max() < 255 + 1e-3


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


def test_crop_flip_keeps_an_8bit_image_without_cutout_or_autoaugment():
    aug = build_augment("crop_flip", {"mean": MEAN, "std": STD})
    assert aug.policy is None and aug.cutout == 0
    _, _, x = _batch(n=8)
    out = aug(x, 4)
    assert torch.equal(out, aug(x, 4)) and not torch.equal(out, x)
    pixels = (out * aug.std + aug.mean) * 255
    assert (pixels - pixels.round()).abs().max() < 1e-3  # still an 8-bit image: no AutoAugment blending


def _events(n=16, t=3, side=12, seed=0):
    return torch.randint(0, 4, (n, t, 2, side, side), generator=torch.Generator().manual_seed(seed),
                         dtype=torch.uint8)


def test_event_augment_is_a_per_sample_flip_and_roll_of_every_frame():
    x = _events()
    aug = EventAugment()
    out = aug(x, 11)
    assert out.dtype == x.dtype and out.shape == x.shape
    flips, shifts = aug.draws(x.shape[0], 11)
    assert flips.any() and not flips.all()  # both cases occur in 16 samples with this seed
    assert shifts.abs().max() <= MAX_ROLL and len({tuple(s) for s in shifts.tolist()}) > 1
    for b in range(x.shape[0]):
        dy, dx = shifts[b].tolist()
        rows = (torch.arange(12) - dy) % 12
        cols = (torch.arange(12) - dx) % 12
        source = x[b].flip(-1) if flips[b] else x[b]
        assert torch.equal(out[b], source[..., rows, :][..., cols])  # x''[i, j] = x'[(i-Δy) mod H, (j-Δx) mod W]
    assert torch.equal(out.sum(dim=(-2, -1)), x.sum(dim=(-2, -1)))  # events are moved, never created or lost


def test_event_augment_is_a_function_of_the_seed_only_and_leaves_global_rng_alone():
    x = _events()
    aug = EventAugment()
    torch.manual_seed(3)
    before = torch.get_rng_state()
    a, b = aug(x, batch_seed(0, 2, 5, 0)), aug(x, batch_seed(0, 2, 5, 0))
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(a, b)
    others = [batch_seed(1, 2, 5, 0), batch_seed(0, 3, 5, 0), batch_seed(0, 2, 6, 0), batch_seed(0, 2, 5, 1)]
    assert all(not torch.equal(a, aug(x, s)) for s in others)


def test_roll_only_variant_never_flips():
    aug = build_augment("dvs_roll", None)
    x = _events(n=32)
    flips, shifts = aug.draws(32, 0)
    assert not flips.any()
    dy, dx = shifts[0].tolist()
    assert torch.equal(aug(x, 0)[0], torch.roll(x[0], (dy, dx), dims=(-2, -1)))


def test_event_augment_rejects_other_shapes():
    with pytest.raises(ValueError, match=r"\[B, T, 2, H, W\]"):
        EventAugment()(torch.zeros(2, 3, 8, 8), 0)


class Stop(Callback):
    def on_epoch_start(self, ctx) -> None:
        if ctx.epoch == 2:
            raise KeyboardInterrupt


def _strip(rows):
    return [{k: v for k, v in row.items() if k not in ("epoch_time_s", "train_samples_per_s")} for row in rows]


def _net():
    torch.manual_seed(0)
    return TinyNet(get_method("sg").neuron_factory({"backend": "autograd"}), 72, 8, 3)


def test_dvs_augmentation_changes_training_and_resumes_exactly(tmp_path):
    g = torch.Generator().manual_seed(2)
    x = torch.randint(0, 3, (40, 4, 2, 6, 6), generator=g, dtype=torch.uint8)
    y = torch.randint(0, 3, (40,), generator=g)
    train_data, test_data = (x[:30], y[:30]), (x[30:], y[30:])
    config = TrainConfig(epochs=3, batch_size=10, lr=0.05, time_major_input=True, progress=False, metrics_samples=0,
                         augment="dvs")
    full = train(_net(), train_data, test_data, config, tmp_path / "full")
    plain = train(_net(), train_data, test_data, config.replace(augment="none"), tmp_path / "plain")
    assert _strip(full.history) != _strip(plain.history)
    with pytest.raises(KeyboardInterrupt):
        train(_net(), train_data, test_data, config, tmp_path / "cut", [Stop()])
    torch.manual_seed(9)  # the resumed run's own random state must not matter
    resumed = train(_net(), train_data, test_data, config.replace(resume=True), tmp_path / "cut")
    for (name, a), (_, b) in zip(full.model.state_dict().items(), resumed.model.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert _strip(full.history) == _strip(resumed.history)

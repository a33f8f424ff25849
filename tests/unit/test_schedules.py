"""Noise-rate schedule, its callback, and the sharpening schedule."""

import pytest
import torch
from torch import nn

from asgl import LIF, ASGLSpike, FixedSurrogateSpike
from asgl.methods import NoiseRateCallback
from asgl.schedules import AUTHORS_MILESTONES, NoiseRateSchedule
from asgl.training.callbacks import RunContext


@pytest.mark.parametrize(("progress", "expected"), [(0.0, 0.2), (0.01, 0.1), (0.2, 0.1), (0.21, 0.05),
                                                    (0.5, 0.2 * 0.5 ** 3), (0.96, 0.2 * 0.5 ** 6),
                                                    (1.0, 0.2 * 0.5 ** 6)])
def test_noise_rate_steps_after_each_milestone(progress, expected):
    schedule = NoiseRateSchedule(p0=0.2, gamma=0.5, milestones=AUTHORS_MILESTONES)
    assert schedule.at(progress) == pytest.approx(expected)


def authors_rates(p0, gamma, milestones, epochs):
    """The rate each epoch trains with, by the authors' procedure as read: milestones become epochs
    ``int(m·E)``; after (0-based) epoch ``e`` has trained, ``p`` is multiplied by ``γ`` if ``e`` is one."""
    at_epochs, p, rates = [int(m * epochs) for m in milestones], p0, []
    for epoch in range(epochs):
        rates.append(p)
        if epoch in at_epochs:
            p *= gamma
    return rates


@pytest.mark.parametrize("epochs", [1, 3, 7, 10, 20, 100, 300])
def test_epoch_rates_follow_the_authors_scheduler(epochs):
    schedule = NoiseRateSchedule(p0=0.4, gamma=0.5, milestones=AUTHORS_MILESTONES)
    expected = authors_rates(0.4, 0.5, AUTHORS_MILESTONES, epochs)
    assert [schedule.at_epoch(e, epochs) for e in range(epochs)] == pytest.approx(expected)


def test_the_first_epoch_trains_at_p0_even_with_a_milestone_at_zero():
    schedule = NoiseRateSchedule(p0=0.4, gamma=0.5, milestones=(0.0, 0.5))
    assert [schedule.at_epoch(e, 4) for e in range(4)] == [0.4, 0.2, 0.2, 0.1]


def test_gamma_one_is_constant_and_epochs_map_to_progress():
    schedule = NoiseRateSchedule(p0=0.3, gamma=1.0)
    assert all(schedule.at_epoch(e, 10) == pytest.approx(0.3) for e in range(10))
    stepped = NoiseRateSchedule(p0=0.4, gamma=0.5, milestones=(0.5,))
    assert [stepped.at_epoch(e, 4) for e in range(4)] == [0.4, 0.4, 0.4, 0.2]


@pytest.mark.parametrize("kwargs", [dict(p0=1.5), dict(p0=0.5, gamma=-1.0), dict(p0=0.5, milestones=(0.5, 0.2)),
                                    dict(p0=0.5, milestones=(1.2,)), dict(p0=0.6, gamma=2.0, milestones=(0.5,))],
                         ids=["p0>1", "gamma<0", "unsorted", "milestone>1", "p>1-later"])
def test_invalid_schedules_raise(kwargs):
    with pytest.raises(ValueError):
        NoiseRateSchedule(**kwargs)


def test_progress_and_epoch_validation():
    schedule = NoiseRateSchedule(p0=0.2)
    with pytest.raises(ValueError, match="progress"):
        schedule.at(1.5)
    with pytest.raises(ValueError, match="epoch"):
        schedule.at_epoch(3, 3)


def test_callback_sets_every_asgl_spike_but_not_the_sg_control():
    model = nn.Sequential(LIF(ASGLSpike(p=0.2)), nn.Sequential(LIF(ASGLSpike(p=0.2))), LIF(FixedSurrogateSpike()))
    callback = NoiseRateCallback({"p": 0.4, "gamma": 0.5, "milestones": [0.5]})
    callback.on_epoch_start(RunContext(model, epoch=3, epochs=4))
    rates = [float(m.p) for m in model.modules() if isinstance(m, ASGLSpike)]
    assert rates == [pytest.approx(0.2), pytest.approx(0.2), 0.0]
    callback.on_epoch_start(RunContext(model, epoch=0, epochs=4))
    assert float(model[0].spike.p) == pytest.approx(0.4)
    assert torch.equal(model[2].spike.p, torch.tensor(0.0))


def test_sharpen_width_schedule():
    from baselines.sharpen import sharpen_width

    assert sharpen_width(0.1, 2.0, 0.2, 0.6) == 2.0
    assert sharpen_width(0.4, 2.0, 0.2, 0.6) == pytest.approx(1.0)
    assert sharpen_width(0.6, 2.0, 0.2, 0.6) == 0.0
    assert sharpen_width(0.9, 2.0, 0.2, 0.6) == 0.0
    with pytest.raises(ValueError):
        sharpen_width(0.5, 1.0, 0.6, 0.2)

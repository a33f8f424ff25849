"""Dspike: the surrogate's equations, and a temperature selection that changes nothing but the temperature."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from asgl.methods import make_lif
from asgl.training.callbacks import RunContext
from baselines.dspike import (
    DEFAULTS,
    DspikeSpike,
    TemperatureSelection,
    cosine,
    dspike_grad,
    search_candidates,
    select_temperature,
)


@pytest.mark.parametrize("b", [0.5, 1.0, 3.0, 8.0], ids=lambda b: f"b{b}")
def test_surrogate_integrates_to_one_over_the_window_and_is_zero_outside(b):
    u = torch.linspace(-0.5, 0.5, 20001, dtype=torch.float64)
    assert torch.trapezoid(dspike_grad(u, b), u).item() == pytest.approx(1.0, abs=1e-6)
    assert dspike_grad(torch.tensor([-0.51, 0.51, 2.0], dtype=torch.float64), b).abs().max() == 0


def test_small_temperature_is_the_straight_through_box_and_large_a_peak():
    u = torch.tensor([-0.4, 0.0, 0.4], dtype=torch.float64)
    torch.testing.assert_close(dspike_grad(u, 1e-4), torch.ones(3, dtype=torch.float64), atol=1e-6, rtol=0)
    peak = dspike_grad(torch.zeros(1, dtype=torch.float64), 20.0).item()
    assert peak == pytest.approx(20.0 / (2 * torch.tanh(torch.tensor(10.0)).item()))


def test_forward_is_heaviside_and_backward_the_surrogate():
    spike = DspikeSpike(2.0)
    u = torch.tensor([-1.0, -0.2, 0.0, 0.3], requires_grad=True)
    out = spike.fire(u, None)
    torch.testing.assert_close(out, torch.tensor([0.0, 0.0, 1.0, 1.0]))
    out.sum().backward()
    torch.testing.assert_close(u.grad, dspike_grad(u.detach(), 2.0))


def _net() -> nn.Module:
    torch.manual_seed(0)
    params = {"decay": 0.5, "threshold": 0.5, "reset": "hard", "learn_decay": True, "learn_threshold": False,
              "scale_output": False, "backend": "autograd"}
    return nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(4), make_lif(DspikeSpike(3.0), params), nn.Linear(16, 3))


def test_selection_picks_a_candidate_and_leaves_weights_buffers_grads_and_rng_alone():
    net = _net().train()
    # [T, B, F] input; BatchNorm1d over the batch-of-time axis B=4 keeps the example small
    x = torch.randn(5, 4, 6, generator=torch.Generator().manual_seed(1)) * 3
    before = {k: v.clone() for k, v in net.state_dict().items()}
    rng = torch.get_rng_state()
    b, cos = select_temperature(net, x, [1.0, 3.0, 8.0], directions=4, fd_eps=0.05, seed=0)
    assert b in (1.0, 3.0, 8.0) and -1.0 <= cos <= 1.0
    assert torch.equal(torch.get_rng_state(), rng)
    for key, value in net.state_dict().items():
        if key.endswith("temperature"):
            assert value.item() == b
        else:
            assert torch.equal(value, before[key]), key
    assert all(p.grad is None for p in net.parameters())
    again = _net().train()
    assert select_temperature(again, x, [1.0, 3.0, 8.0], directions=4, fd_eps=0.05, seed=0) == (b, cos)


def test_cosine():
    assert cosine(torch.tensor([1.0, 0.0]), torch.tensor([2.0, 0.0])) == pytest.approx(1.0)
    assert cosine(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 0.0])) == 0.0


def test_grid_search_compares_the_fixed_candidates_whatever_the_current_temperature():
    params = {**DEFAULTS, "search": "grid", "candidates": [1.0, 2.0, 5.0]}
    assert search_candidates(params, 3.7) == [1.0, 2.0, 5.0]


def test_local_search_is_the_neighbourhood_of_algorithm_1_and_keeps_temperatures_positive():
    params = {**DEFAULTS, "search": "local", "step": 0.5}
    assert search_candidates(params, 3.0) == [3.0, 3.5, 2.5]
    assert search_candidates(params, 0.5) == [0.5, 1.0]  # b − Δb = 0 is no temperature
    with pytest.raises(ValueError, match=r"methods\.dspike\.search"):
        search_candidates({**DEFAULTS, "search": "global"}, 3.0)
    with pytest.raises(ValueError, match=r"methods\.dspike\.step"):
        search_candidates({**DEFAULTS, "search": "local", "step": 0}, 3.0)


def test_local_selection_moves_the_temperature_by_at_most_one_step_per_epoch():
    net = _net().train()
    x = torch.randn(5, 4, 6, generator=torch.Generator().manual_seed(1)) * 3
    selection = TemperatureSelection({**DEFAULTS, "search": "local", "step": 0.5})
    ctx = RunContext(net, 0, 4)
    selection.on_train_start(ctx)
    seen = [3.0]
    for epoch in range(3):
        ctx.epoch, ctx.record = epoch, {}
        selection.on_epoch_start(ctx)
        net(x)
        selection.on_epoch_end(ctx)
        seen.append(ctx.record["dspike/temperature"])
    assert all(abs(b - a) in (0.0, 0.5) for a, b in itertools.pairwise(seen))
    assert float(net[2].spike.temperature) == seen[-1]

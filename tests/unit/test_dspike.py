"""Dspike: the surrogate's equations, and a temperature selection that changes nothing but the temperature."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from asgl.methods import make_lif
from baselines.dspike import DspikeSpike, cosine, dspike_grad, select_temperature


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

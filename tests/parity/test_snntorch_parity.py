"""Our LIF + FixedSurrogateSpike against snnTorch's Leaky: where the semantics agree, and where they differ.

See baselines/snntorch_leaky.py for the equations. Inputs are continuous random numbers, so the strict
(snnTorch, ``>``) and non-strict (ours, ``≥``) threshold comparisons agree except where tested on purpose.
"""

import math

import pytest
import torch

snn = pytest.importorskip("snntorch")

from asgl import LIF, FixedSurrogateSpike  # noqa: E402
from baselines.snntorch_leaky import (  # noqa: E402
    HWHM_PER_WIDTH,
    SnnTorchLeaky,
    SnnTorchSurrogate,
    atan_alpha,
    fast_sigmoid_slope,
    sigmoid_slope,
)

T, B, N = 8, 4, 16


def ours(width, decay, reset, threshold=1.0):
    return LIF(FixedSurrogateSpike(width=width), decay=decay, threshold=threshold, reset=reset, backend="autograd")


def theirs(width, decay, reset, reset_delay, threshold=1.0, surrogate="sigmoid"):
    return SnnTorchLeaky(surrogate, width=width, decay=decay, threshold=threshold, reset=reset,
                         reset_delay=reset_delay)


def run(module, x):
    x = x.clone().requires_grad_()
    y = module(x)
    g = torch.randn(y.shape, generator=torch.Generator().manual_seed(5))
    (y * g).sum().backward()
    return y.detach(), x.grad


def below_two_thresholds(decay: float) -> torch.Tensor:
    """Inputs in (0, (2 − λ)θ) keep every potential below 2θ, so one subtraction always suffices."""
    return torch.rand(T, B, N, generator=torch.Generator().manual_seed(0)) * (2.0 - decay) * 0.99


@pytest.mark.parametrize("width", [0.5, 1.0, 2.5])
def test_surrogate_derivative_matches_at_half_maximum(width):
    """Each conversion puts snnTorch's half-maximum where ours is: u = 2 ln(1 + √2) · w."""
    u_half = torch.tensor([0.0, HWHM_PER_WIDTH * width], requires_grad=True)
    for name, param in (("sigmoid", sigmoid_slope(width)), ("fast_sigmoid", fast_sigmoid_slope(width)),
                        ("atan", atan_alpha(width))):
        x = u_half.detach().clone().requires_grad_()
        SnnTorchSurrogate(name, param)(x).sum().backward()
        assert x.grad[1] / x.grad[0] == pytest.approx(0.5, rel=1e-5), name
    assert sigmoid_slope(width) == pytest.approx(1.0 / width)
    assert fast_sigmoid_slope(width) == pytest.approx((math.sqrt(2) - 1) / (HWHM_PER_WIDTH * width))


def test_sigmoid_surrogate_is_exactly_ours():
    u = torch.linspace(-3, 3, 41, requires_grad=True)
    SnnTorchSurrogate("sigmoid", sigmoid_slope(0.7))(u).sum().backward()
    expected = torch.sigmoid(u.detach() / 0.7) * (1 - torch.sigmoid(u.detach() / 0.7)) / 0.7
    torch.testing.assert_close(u.grad, expected)


@pytest.mark.parametrize("reset", ["soft", "hard"])
def test_same_step_reset_agrees_in_forward_and_gradient(reset):
    """reset_delay=False: snnTorch resets within the step through the spike's surrogate, as ours does."""
    x = below_two_thresholds(0.6)
    y0, g0 = run(ours(1.0, 0.6, reset), x)
    y1, g1 = run(theirs(1.0, 0.6, reset, reset_delay=False), x)
    assert 0 < y0.mean() < 1
    torch.testing.assert_close(y1, y0)
    torch.testing.assert_close(g1, g0)


def test_default_hard_reset_agrees_forward_but_detaches_the_reset():
    x = below_two_thresholds(0.6)
    y0, g0 = run(ours(1.0, 0.6, "hard"), x)
    y1, g1 = run(theirs(1.0, 0.6, "hard", reset_delay=True), x)
    torch.testing.assert_close(y1, y0)
    assert not torch.allclose(g1, g0)


def test_default_soft_reset_subtracts_after_the_decay():
    """snnTorch: mem_t = β mem_{t−1} + x_t − θ s_{t−1}; ours: v_t = λ (v_{t−1} − θ o_{t−1}) + x_t."""
    x = torch.tensor([1.2, 1.0]).reshape(2, 1, 1)  # spike at t=0; t=1: ours 0.5·0.2 + 1 = 1.1, theirs 0.6 + 1 − 1
    assert run(ours(1.0, 0.5, "soft"), x)[0].flatten().tolist() == [1.0, 1.0]
    assert run(theirs(1.0, 0.5, "soft", reset_delay=True), x)[0].flatten().tolist() == [1.0, 0.0]
    x = below_two_thresholds(1.0)  # with β = λ = 1 the two subtractions coincide
    torch.testing.assert_close(run(theirs(1.0, 1.0, "soft", reset_delay=True), x)[0],
                               run(ours(1.0, 1.0, "soft"), x)[0])


def test_soft_reset_diverges_when_the_potential_stays_above_threshold():
    x = torch.tensor([2.5, 0.0]).reshape(2, 1, 1)  # r_0 = 1.5 ≥ θ: snnTorch subtracts θ again at t=1
    assert run(ours(1.0, 1.0, "soft"), x)[0].flatten().tolist() == [1.0, 1.0]
    assert run(theirs(1.0, 1.0, "soft", reset_delay=False), x)[0].flatten().tolist() == [1.0, 0.0]


def test_threshold_equality_fires_only_in_ours():
    x = torch.ones(1, 1, 1)
    assert run(ours(1.0, 0.5, "hard"), x)[0].item() == 1.0
    assert run(theirs(1.0, 0.5, "hard", reset_delay=False), x)[0].item() == 0.0


def test_adapter_does_not_leave_neurons_in_snntorchs_global_list():
    """snnTorch appends every neuron to ``SpikingNeuron.instances``; the adapter takes its own back out, so
    building models in a long-lived process does not keep them alive. Neurons built directly stay listed."""
    before = len(snn.SpikingNeuron.instances)
    neurons = [SnnTorchLeaky("atan") for _ in range(5)]
    assert len(snn.SpikingNeuron.instances) == before
    direct = snn.Leaky(beta=0.5)
    assert snn.SpikingNeuron.instances[-1] is direct
    snn.SpikingNeuron.instances.remove(direct)
    assert all(isinstance(n, SnnTorchLeaky) for n in neurons)

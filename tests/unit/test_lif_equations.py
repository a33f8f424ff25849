"""LIF trajectories against hand-computed values (soft and hard reset, scaling, decay)."""

import pytest
import torch
from torch import nn

from asgl import LIF, FixedSurrogateSpike
from asgl.neuron import check_finite_inputs, take_nonfinite_inputs

BACKENDS = ["autograd", "numba"]


def _lif(reset: str, backend: str, **kwargs) -> LIF:
    return LIF(FixedSurrogateSpike(width=1.0), decay=0.5, threshold=1.0, reset=reset, backend=backend, **kwargs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_soft_reset_trajectory(backend):
    # v: 0.6 → 0.3+0.6=0.9 → 0.45+0.6=1.05 (fire, r=0.05) → 0.025+0.6=0.625 → 0.3125+2.0=2.3125 (fire, r=1.3125)
    x = torch.tensor([0.6, 0.6, 0.6, 0.6, 2.0]).reshape(5, 1, 1)
    y = _lif("soft", backend)(x)
    torch.testing.assert_close(y.flatten(), torch.tensor([0.0, 0.0, 1.0, 0.0, 1.0]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_hard_reset_trajectory(backend):
    # hard reset: after firing at t=2 the potential is 0, so t=3 sees only x=0.6; t=4: 0.3+2.0 fires.
    x = torch.tensor([0.6, 0.6, 0.6, 0.6, 2.0]).reshape(5, 1, 1)
    lif = _lif("hard", backend)
    y = lif(x)
    torch.testing.assert_close(y.flatten(), torch.tensor([0.0, 0.0, 1.0, 0.0, 1.0]))
    # the difference between resets shows with a large overshoot: soft keeps 3.0 − 1 = 2.0 and fires again
    x2 = torch.tensor([3.0, 0.0, 0.0]).reshape(3, 1, 1)
    torch.testing.assert_close(_lif("soft", backend)(x2).flatten(), torch.tensor([1.0, 1.0, 0.0]))
    torch.testing.assert_close(_lif("hard", backend)(x2).flatten(), torch.tensor([1.0, 0.0, 0.0]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_output_scaling_by_threshold(backend):
    lif = LIF(FixedSurrogateSpike(), decay=0.0, threshold=2.0, scale_output=True, backend=backend)
    y = lif(torch.tensor([2.5, 1.0, 3.0]).reshape(3, 1, 1))
    torch.testing.assert_close(y.flatten(), torch.tensor([2.0, 0.0, 2.0]))


def test_gradient_through_soft_reset_by_hand():
    """Two steps, sigmoid surrogate, soft reset: d y_1 / d x_0 written out by hand."""
    w, lam, th = 1.0, 0.5, 1.0
    x = torch.tensor([1.5, 0.2]).reshape(2, 1, 1).requires_grad_()
    y = LIF(FixedSurrogateSpike(width=w), decay=lam, threshold=th, backend="autograd")(x)
    y[1].sum().backward()
    s = lambda z: torch.sigmoid(torch.tensor(z / w))  # noqa: E731
    d = lambda z: s(z) * (1 - s(z)) / w  # noqa: E731
    v0 = 1.5
    o0 = 1.0
    v1 = lam * (v0 - th * o0) + 0.2
    # y1 = o(v1 − θ); v1 = λ (v0 − θ o0) + x1; ∂v1/∂x0 = λ (1 − θ H'(v0 − θ))
    expected = d(v1 - th) * lam * (1 - th * d(v0 - th))
    torch.testing.assert_close(x.grad.flatten()[0], expected.float())


def test_stateless_between_calls():
    lif = _lif("soft", "numba")
    x = torch.full((3, 2, 4), 0.7)
    torch.testing.assert_close(lif(x), lif(x))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"decay": 1.5}, "decay"),
        ({"threshold": 0.0}, "threshold"),
        ({"reset": "zero"}, "reset"),
        ({"backend": "cuda-magic"}, "backend"),
    ],
)
def test_bad_configuration_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LIF(FixedSurrogateSpike(), **kwargs)


def test_bad_input_raises():
    lif = _lif("soft", "autograd")
    with pytest.raises(ValueError, match=r"\[T, B, \.\.\.\]"):
        lif(torch.zeros(4, 3))


@pytest.mark.parametrize("backend", BACKENDS)
def test_nan_input_is_flagged_and_the_check_raises_once(backend):
    lif = _lif("soft", backend)
    lif(torch.full((2, 1, 1), float("nan")))
    with pytest.raises(ValueError, match="NaN or inf"):
        check_finite_inputs(lif)
    check_finite_inputs(lif)  # the read cleared the flag


def test_huge_but_finite_input_is_accepted_and_inf_is_not():
    lif = _lif("soft", "autograd")
    x = torch.full((2, 1, 4), 3e38)
    assert lif(x).shape == x.shape
    assert take_nonfinite_inputs(lif) == []
    x[1, 0, 2] = float("inf")
    lif(x)
    with pytest.raises(ValueError, match="NaN or inf"):
        check_finite_inputs(lif)
    x[1, 0, 2] = -float("inf")
    lif(x)
    assert take_nonfinite_inputs(lif) == ["<root>"]


def test_flags_accumulate_per_layer_until_read():
    net = nn.Sequential(_lif("soft", "numba"), _lif("soft", "numba"))
    good, bad = torch.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    bad[1, 2, 3] = float("nan")
    net[1](bad)  # only the second layer sees the NaN
    net(good)  # a later clean call does not clear it
    assert take_nonfinite_inputs(net) == ["1"]
    assert take_nonfinite_inputs(net) == []
    assert take_nonfinite_inputs(nn.Linear(2, 2)) == []


def test_an_empty_batch_is_not_flagged():
    lif = _lif("soft", "autograd")
    assert lif(torch.zeros(3, 0, 4)).shape == (3, 0, 4)
    assert take_nonfinite_inputs(lif) == []

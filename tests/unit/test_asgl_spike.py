"""Properties of the ASGL spike function (GUIDE §1)."""

import math
import pickle

import pytest
import torch

from asgl import LIF, ASGLSpike, FixedSurrogateSpike
from asgl import functional as F


def _u(shape=(64, 32), seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g) * 2.0


def test_p1_forward_is_smooth_primitive():
    spike = ASGLSpike(width=0.7, p=1.0)
    u = _u()
    mask = F.binary_mask(3, tuple(u.shape), 1.0)
    torch.testing.assert_close(spike.fire(u, mask), torch.sigmoid(u / 0.7))


def test_p0_frozen_width_equals_fixed_surrogate_forward_and_gradient():
    u1 = _u().requires_grad_()
    u2 = u1.detach().clone().requires_grad_()
    asgl = ASGLSpike(width=0.7, p=0.0, learnable=False)
    sg = FixedSurrogateSpike(width=0.7)
    o1, o2 = asgl.fire(u1, None), sg.fire(u2, None)
    assert torch.equal(o1, o2)
    assert torch.equal(o1, F.heaviside(u1))
    o1.sum().backward()
    o2.sum().backward()
    s = torch.sigmoid(u1.detach() / 0.7)
    torch.testing.assert_close(u1.grad, s * (1 - s) / 0.7)
    assert torch.equal(u1.grad, u2.grad)


@pytest.mark.parametrize("backend", ["autograd", "numba"])
def test_eval_is_heaviside_through_the_neuron(backend):
    lif = LIF(ASGLSpike(width=2.0, p=1.0), decay=0.0, threshold=1.0, backend=backend).eval()
    x = _u((3, 5, 7))
    torch.testing.assert_close(lif(x), F.heaviside(x - 1.0))


@pytest.mark.parametrize("p", [0.0, 0.2, 0.7])
@pytest.mark.parametrize("parameterisation", ["slope", "width", "log_width"])
def test_width_gradient_finite_and_nonzero(p, parameterisation):
    spike = ASGLSpike(width=1.3, p=p, parameterisation=parameterisation)
    u = _u()
    mask = F.binary_mask(11, tuple(u.shape), p)
    spike.fire(u, mask).pow(2).sum().backward()
    g = spike.raw_width.grad
    assert g is not None and torch.isfinite(g).all() and g.abs().item() > 0


@pytest.mark.parametrize("p", [0.1, 0.2, 0.5])
def test_empirical_analog_fraction_matches_p(p):
    mask = F.binary_mask(1234, (200, 500), p)
    analog = 1.0 - mask.mean().item()
    # binomial std for n = 1e5 is ≤ 0.0016; 5 sigma
    assert abs(analog - p) < 0.008


def test_masks_differ_across_seeds_and_time_steps():
    m = F.binary_mask(1, (2, 1000), 0.5)
    assert not torch.equal(m[0], m[1])
    assert not torch.equal(F.binary_mask(1, (1000,), 0.5), F.binary_mask(2, (1000,), 0.5))


@pytest.mark.parametrize("primitive", ["sigmoid", "rectangle"])
def test_backward_matches_finite_difference_of_primitive(primitive):
    w = 0.9
    u = torch.linspace(-0.4, 0.4, 41, dtype=torch.float64).requires_grad_()
    spike = ASGLSpike(width=w, p=0.3, primitive=primitive, learnable=False)
    mask = F.binary_mask(5, tuple(u.shape), 0.3).double()
    spike.fire(u, mask).sum().backward()
    eps = 1e-6
    fd = (F.primitive(primitive, u.detach() + eps, w) - F.primitive(primitive, u.detach() - eps, w)) / (2 * eps)
    torch.testing.assert_close(u.grad, fd, atol=1e-6, rtol=1e-6)


def test_width_finite_difference():
    u = torch.linspace(-2, 2, 33, dtype=torch.float64)
    spike = ASGLSpike(width=1.1, p=1.0, parameterisation="width").double()
    spike.fire(u, torch.zeros_like(u)).sum().backward()
    eps = 1e-6
    fd = (torch.sigmoid(u / (1.1 + eps)).sum() - torch.sigmoid(u / (1.1 - eps)).sum()) / (2 * eps)
    torch.testing.assert_close(spike.raw_width.grad, fd, rtol=1e-6, atol=1e-9)


def test_counter_uniform_is_deterministic_and_uniform():
    a = F.counter_uniform(42, (100_000,))
    assert torch.equal(a, F.counter_uniform(42, (100_000,)))
    assert a.min().item() >= 0.0 and a.max().item() < 1.0
    hist = torch.histc(a, bins=10, min=0, max=1) / a.numel()
    assert (hist - 0.1).abs().max().item() < 0.01


def test_seed_key_matches_the_tensor_hash_and_pinned_values():
    """The key is computed on Python ints; it must equal lowbias32 on int64 tensors (what every backend's
    mask derives from) and keep its values, or saved runs would stop reproducing their masks."""
    seeds = [0, 1, 123, 2**31 - 2, 2**40 + 5, -3]
    tensor_keys = [int(F._lowbias32((torch.tensor([s & 0xFFFFFFFF]) * 0x9E3779B9) & 0xFFFFFFFF).item())
                   for s in seeds]
    assert [F.seed_key(s) for s in seeds] == tensor_keys
    assert tensor_keys[:3] == [0, 33350994, 191141868]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"width": 0.0}, "width"), ({"width": -1.0}, "width"), ({"width": math.inf}, "width"),
     ({"p": -0.1}, "p"), ({"p": 1.5}, "p"), ({"primitive": "cosine"}, "primitive"),
     ({"parameterisation": "inverse"}, "parameterisation"), ({"channels": 0}, "channels")],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ASGLSpike(**kwargs)


def test_the_host_copy_of_p_follows_the_buffer():
    spike = ASGLSpike(p=0.1)
    assert spike.noise_rate() == float(spike.p)
    spike.set_noise_rate(0.3)
    assert spike.noise_rate() == float(spike.p) and float(spike.p) == pytest.approx(0.3)
    other = ASGLSpike(p=0.0)
    other.load_state_dict(spike.state_dict())
    assert other.noise_rate() == float(spike.p)
    other.eval()
    assert other.noise_rate() == 0.0


def test_set_noise_rate_validates_and_fixed_surrogate_refuses_noise():
    spike = ASGLSpike(p=0.2)
    spike.set_noise_rate(0.05)
    assert float(spike.p) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="p"):
        spike.set_noise_rate(2.0)
    with pytest.raises(ValueError, match="p must stay 0"):
        FixedSurrogateSpike().set_noise_rate(0.1)


def test_state_dict_round_trip_keeps_width_and_p():
    a = ASGLSpike(width=2.0, p=0.3, channels=4)
    with torch.no_grad():
        a.raw_width.mul_(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    a.set_noise_rate(0.1)
    b = ASGLSpike(width=1.0, p=0.2, channels=4)
    b.load_state_dict(a.state_dict())
    torch.testing.assert_close(b.width(), a.width())
    assert float(b.p) == pytest.approx(0.1)
    assert set(a.state_dict()) == {"raw_width", "p"}


def test_pickle_and_no_shared_state():
    a = LIF(ASGLSpike(width=1.5, p=0.2), learn_decay=True)
    b = pickle.loads(pickle.dumps(a))
    torch.testing.assert_close(b.spike.width(), a.spike.width())
    with torch.no_grad():
        b.spike.raw_width.add_(1.0)
    assert not torch.equal(a.spike.raw_width, b.spike.raw_width)
    c = LIF(ASGLSpike(width=1.5, p=0.2), learn_decay=True)
    assert a.spike.raw_width is not c.spike.raw_width


@pytest.mark.parametrize("backend", ["autograd", "numba"])
def test_same_seed_same_output(backend):
    lif = LIF(ASGLSpike(width=1.0, p=0.5), backend=backend)
    x = _u((4, 8, 16))
    torch.manual_seed(7)
    a = lif(x)
    torch.manual_seed(7)
    b = lif(x)
    torch.manual_seed(8)
    c = lif(x)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_per_channel_width_shape_mismatch_raises():
    lif = LIF(ASGLSpike(channels=3), backend="numba")
    with pytest.raises(ValueError, match="channels"):
        lif(torch.zeros(2, 2, 4, 5))


def test_width_floor_keeps_the_gradient_when_the_slope_crosses_zero():
    """An Adam step of 1e-2 on a slope of 0.1 (width 10) can cross zero; the width must stay trainable."""
    spike = ASGLSpike(width=1.0, parameterisation="slope")
    with torch.no_grad():
        spike.raw_width.fill_(-0.05)
    w = spike.width()
    assert torch.isfinite(w) and w.item() > 0
    spike.fire(_u(), F.binary_mask(1, (64, 32), 0.2)).pow(2).sum().backward()
    assert spike.raw_width.grad is not None and spike.raw_width.grad.abs().item() > 0

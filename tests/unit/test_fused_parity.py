"""The fused numba LIF equals the autograd reference on outputs and on every gradient."""

import pytest
import torch

from asgl import LIF, ASGLSpike

SHAPES = [(5, 3, 8), (4, 2, 3, 5, 5), (7, 1, 1), (3, 4, 2500)]


def _run(backend, shape, p, channels, reset, scale, primitive, seed=0):
    torch.manual_seed(seed)
    x = (torch.randn(shape) * 1.5).requires_grad_()
    g = torch.randn(shape)
    spike = ASGLSpike(width=0.8, p=p, channels=channels, primitive=primitive)
    lif = LIF(spike, decay=0.6, threshold=0.9, reset=reset, learn_decay=True, learn_threshold=True,
              scale_output=scale, backend=backend)
    torch.manual_seed(seed + 1)
    y = lif(x)
    (y * g).sum().backward()
    return y.detach(), x.grad, spike.raw_width.grad, lif.decay_logit.grad, lif.threshold.grad


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("p", [0.0, 0.2, 1.0])
@pytest.mark.parametrize("reset", ["soft", "hard"])
@pytest.mark.parametrize("per_channel", [False, True], ids=["layer-width", "channel-width"])
def test_numba_matches_reference(shape, p, reset, per_channel):
    channels = shape[2] if per_channel else None
    for scale, primitive in [(False, "sigmoid"), (True, "rectangle")]:
        ref = _run("autograd", shape, p, channels, reset, scale, primitive)
        fused = _run("numba", shape, p, channels, reset, scale, primitive)
        for name, a, b in zip(("output", "input", "width", "decay", "threshold"), ref, fused, strict=True):
            torch.testing.assert_close(b, a, rtol=2e-5, atol=2e-5, msg=lambda m, n=name: f"{n}: {m}")


def test_numba_saves_four_bytes_per_neuron_step():
    x = torch.randn(6, 4, 1000, requires_grad=True)
    lif = LIF(ASGLSpike(width=1.0, p=0.2), backend="numba")
    sizes = []

    def pack(t):
        sizes.append(t.numel() * t.element_size())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        lif(x)
    per_step = max(sizes) / x.numel()
    assert per_step == 4.0
    assert sum(sizes) / x.numel() < 4.01


def test_numba_refuses_what_it_cannot_run():
    lif = LIF(ASGLSpike(), backend="numba")
    with pytest.raises(ValueError, match="float32"):
        lif(torch.zeros(2, 2, 2, dtype=torch.float64))


def test_numba_is_bit_identical_across_calls_and_memory_offsets():
    """Same seed and input → identical output and gradients, whatever the alignment of the arrays."""
    torch.manual_seed(0)
    n = 4 * 3 * 2051
    values = torch.randn(n)
    results = []
    for offset in (0, 1, 3, 7):
        buffer = torch.zeros(n + 8)
        buffer[offset: offset + n] = values
        x = buffer[offset: offset + n].reshape(4, 3, 2051).detach().requires_grad_()
        spike = ASGLSpike(width=0.7, p=0.3)
        lif = LIF(spike, decay=0.6, learn_decay=True, learn_threshold=True, backend="numba")
        torch.manual_seed(3)
        y = lif(x * 2)
        y.pow(2).sum().backward()
        results.append((y.detach(), x.grad, spike.raw_width.grad, lif.decay_logit.grad, lif.threshold.grad))
    first = results[0]
    for other in results[1:]:
        for a, b in zip(first, other, strict=True):
            assert torch.equal(a, b)


@pytest.mark.parametrize("p", [0.0, 0.3])
@pytest.mark.parametrize("reset", ["soft", "hard"])
@pytest.mark.parametrize("primitive", ["dspike", "step"])
def test_numba_matches_reference_for_dspike_and_step_primitives(primitive, p, reset):
    """The tanh window and the gradient-free step, width learnable (per channel and layer-wide)."""
    for shape, channels, scale in [((5, 2, 3, 8), 3, False), ((3, 4, 2500), None, True)]:
        ref = _run("autograd", shape, p, channels, reset, scale, primitive)
        fused = _run("numba", shape, p, channels, reset, scale, primitive)
        for name, a, b in zip(("output", "input", "width", "decay", "threshold"), ref, fused, strict=True):
            torch.testing.assert_close(b, a, rtol=2e-5, atol=2e-5, msg=lambda m, n=name: f"{n}: {m}")

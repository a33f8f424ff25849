"""Dspike and Whetstone sharpening on the fused numba kernel equal their autograd definitions."""

from __future__ import annotations

import pytest
import torch

from asgl import LIF
from asgl.kernels.fused import resolve_backend
from baselines.dspike import DspikeSpike
from baselines.sharpen import SharpenSpike

SHAPES = [(5, 3, 8), (4, 2, 3, 5, 5), (3, 4, 2500)]


def _run(spike, backend, shape, reset, scale, train=True):
    torch.manual_seed(0)
    x = (torch.randn(shape) * 1.5).requires_grad_()
    g = torch.randn(shape)
    lif = LIF(spike, decay=0.6, threshold=0.9, reset=reset, learn_decay=True, learn_threshold=True,
              scale_output=scale, backend=backend).train(train)
    y = lif(x)
    if not y.requires_grad:  # autograd at w = 0: Θ(u) carries no graph at all
        return y, torch.zeros(shape), torch.zeros(()), torch.zeros(())
    (y * g).sum().backward()
    return y.detach(), x.grad, lif.decay_logit.grad, lif.threshold.grad


def _assert_parity(make_spike, shape, reset, scale, train=True):
    ref = _run(make_spike(), "autograd", shape, reset, scale, train)
    fused = _run(make_spike(), "numba", shape, reset, scale, train)
    for name, a, b in zip(("output", "input", "decay", "threshold"), ref, fused, strict=True):
        a = torch.zeros_like(b) if a is None else a  # no path in the graph: a zero gradient
        torch.testing.assert_close(b, a, rtol=2e-5, atol=2e-5, msg=lambda m, n=name: f"{n}: {m}")


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("reset", ["soft", "hard"])
@pytest.mark.parametrize("temperature", [1.0, 3.0, 5.0])
def test_dspike_on_numba_matches_its_autograd_function(shape, reset, temperature):
    _assert_parity(lambda: DspikeSpike(temperature), shape, reset, scale=False)


def test_dspike_scaled_output_and_eval_match_too():
    _assert_parity(lambda: DspikeSpike(2.0), (4, 3, 300), "soft", scale=True)
    _assert_parity(lambda: DspikeSpike(2.0), (4, 3, 300), "hard", scale=False, train=False)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("reset", ["soft", "hard"])
@pytest.mark.parametrize("primitive", ["rectangle", "sigmoid"])
@pytest.mark.parametrize("width", [0.7, 0.0])
def test_sharpen_on_numba_matches_its_autograd_definition(shape, reset, primitive, width):
    def make():
        spike = SharpenSpike(width=1.0, primitive=primitive)
        spike.set_width(width)
        return spike

    _assert_parity(make, shape, reset, scale=primitive == "sigmoid")


def test_sharpen_in_eval_is_the_step_on_numba():
    _assert_parity(lambda: SharpenSpike(width=0.5), (4, 3, 300), "hard", scale=False, train=False)


def test_auto_picks_numba_for_both_on_float32_cpu_and_autograd_for_float64():
    x32, x64 = torch.zeros(2, 2, 2), torch.zeros(2, 2, 2, dtype=torch.float64)
    for spike in (DspikeSpike(3.0), SharpenSpike(width=0.5), SharpenSpike(width=0.5).eval()):
        assert resolve_backend("auto", x32, spike, spike.fused_spec()) == "numba"
        assert resolve_backend("auto", x64, spike, spike.fused_spec()) == "autograd"


def test_dspike_has_no_triton_kernel_and_a_named_triton_backend_says_so():
    spike = DspikeSpike(3.0)
    with pytest.raises(ValueError, match="backend 'triton' has no kernel for 'dspike'"):
        resolve_backend("triton", torch.zeros(2, 2, 2), spike, spike.fused_spec())

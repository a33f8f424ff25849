"""Neuron forward + backward: per method (registry defaults: ``asgl``, ``sg``, ``dspike`` and ``sharpen`` take
the fused numba kernel, snnTorch its step loop) and per LIF backend for ASGL spikes."""

from __future__ import annotations

import pytest
import torch

pytestmark = pytest.mark.bench

SHAPES = {"8x32x4096": (8, 32, 4096), "4x16x64x32x32": (4, 16, 64, 32, 32)}
METHOD_PARAMS = {
    "asgl": {"width": 1.0, "p": 0.2, "parameterisation": "slope"},
    "sg": {"width": 1.0},
    "snntorch-fast_sigmoid": {"width": 1.0},
    "sharpen": {"width": 1.0},
    "dspike": {"temperature": 3.0},
}
ROUNDS = {"8x32x4096": 9, "4x16x64x32x32": 7}


def _fwd_bwd(neuron: torch.nn.Module, shape: tuple[int, ...]):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=gen) * 1.5
    grad = torch.randn(shape, generator=gen)
    neuron.train()

    def step() -> None:
        xx = x.detach().requires_grad_()
        neuron(xx).backward(grad)

    return step


@pytest.mark.parametrize("shape_id", list(SHAPES))
@pytest.mark.parametrize("method", list(METHOD_PARAMS))
def test_neuron_method(bench_ratio, method: str, shape_id: str) -> None:
    from asgl.registry import get_method

    if method not in ("asgl", "sg"):
        import baselines  # noqa: F401  (registers the baseline methods)
    neuron = get_method(method).build_neuron(METHOD_PARAMS[method])
    bench_ratio(_fwd_bwd(neuron, SHAPES[shape_id]), rounds=ROUNDS[shape_id], method=method,
                shape=list(SHAPES[shape_id]))


@pytest.mark.parametrize("shape_id", list(SHAPES))
@pytest.mark.parametrize("backend", ["autograd", "numba"])
def test_lif_backend(bench_ratio, backend: str, shape_id: str) -> None:
    from asgl import LIF, ASGLSpike

    neuron = LIF(ASGLSpike(width=1.0, p=0.2), decay=0.5, threshold=1.0, reset="hard", backend=backend)
    bench_ratio(_fwd_bwd(neuron, SHAPES[shape_id]), rounds=ROUNDS[shape_id], backend=backend,
                shape=list(SHAPES[shape_id]))

"""Neuron forward + backward: per method (registry defaults: ``asgl``, ``sg``, ``dspike`` and ``sharpen`` take
the fused numba kernel, snnTorch its step loop) and per LIF backend for ASGL spikes (cases in ``cases.py``)."""

from __future__ import annotations

import pytest

from tests.bench import cases

pytestmark = pytest.mark.bench


@pytest.mark.parametrize("shape_id", list(cases.SHAPES))
@pytest.mark.parametrize("method", list(cases.METHOD_PARAMS))
def test_neuron_method(bench_ratio, method: str, shape_id: str) -> None:
    bench_ratio(cases.neuron_method(method, shape_id), rounds=cases.SHAPE_ROUNDS[shape_id], method=method,
                shape=list(cases.SHAPES[shape_id]))


@pytest.mark.parametrize("shape_id", list(cases.SHAPES))
@pytest.mark.parametrize("backend", list(cases.LIF_BACKENDS))
def test_lif_backend(bench_ratio, backend: str, shape_id: str) -> None:
    bench_ratio(cases.lif_backend(backend, shape_id), rounds=cases.SHAPE_ROUNDS[shape_id], backend=backend,
                shape=list(cases.SHAPES[shape_id]))

"""The spike trace follows spikes through the graph: pooled counts against the pooling's own matrix."""

import pytest
import torch
from torch import nn

from asgl.metrics import SpikeTrace


class Emit(nn.Module):
    """A spiking neuron stand-in that returns its (binary) input: the trace marks its output."""

    spiking_neuron = True

    def forward(self, x):
        return x.clone()


def pooling_matrix(pool: nn.Module, shape: tuple[int, ...]) -> torch.Tensor:
    """``P`` with ``pool(s) = P s`` for one channel of spatial ``shape``: ``[outputs, inputs]``."""
    n = int(torch.tensor(shape).prod())
    basis = torch.eye(n, dtype=torch.float64).reshape(n, 1, *shape)
    return pool(basis).reshape(n, -1).T


POOLS = {
    "avg1d": (nn.AvgPool1d(2), (7,)),
    "avg1d-stride-pad-ceil": (nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True), (8,)),
    "avg2d": (nn.AvgPool2d(2), (4, 6)),
    "avg2d-no-pad-count": (nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (5, 5)),
    "avg3d": (nn.AvgPool3d(2, stride=1), (3, 3, 4)),
    "adaptive1d-uneven": (nn.AdaptiveAvgPool1d(3), (7,)),
    "adaptive2d-uneven": (nn.AdaptiveAvgPool2d((2, 3)), (5, 7)),
    "adaptive2d-global": (nn.AdaptiveAvgPool2d(1), (4, 4)),
    "adaptive3d": (nn.AdaptiveAvgPool3d((1, 2, 2)), (2, 3, 5)),
}


@pytest.mark.parametrize("name", POOLS)
def test_pooled_counts_are_the_spikes_each_window_reaches(name):
    """``c = 𝟙[P ≠ 0] · 𝟙[s ≠ 0]``: every spike with a non-zero pooling coefficient, window by window."""
    pool, shape = POOLS[name]
    g = torch.Generator().manual_seed(0)
    spikes = (torch.rand(3, 1, *shape, generator=g) < 0.4).double()  # [batch 3, channel 1, ...]
    emit = Emit()
    with torch.no_grad(), SpikeTrace(emit) as trace:
        pooled = pool(emit(spikes))
        counts = trace.spike_counts(pooled)
    assert isinstance(counts, torch.Tensor) and counts.shape == pooled.shape
    reach = (pooling_matrix(pool, shape) != 0).double()
    expected = spikes.reshape(3, -1) @ reach.T
    torch.testing.assert_close(counts.reshape(3, -1).double(), expected, rtol=0, atol=0)


def test_views_casts_dropout_and_max_pooling_keep_spikes():
    spikes = (torch.rand(2, 3, 4, 4, generator=torch.Generator().manual_seed(1)) < 0.5).float()
    emit = Emit()
    with torch.no_grad(), SpikeTrace(emit) as trace:
        o = emit(spikes)
        for kept in (o.flatten(1), o.view(2, -1), o.reshape(6, 16), o[0], o.permute(0, 2, 3, 1), o.double(),
                     nn.Dropout(0.5).eval()(o), nn.Flatten()(o), nn.Identity()(o), nn.MaxPool2d(2)(o), 3.0 * o,
                     torch.cat([o, o]), o.unbind(0)[1]):
            assert trace.spike_counts(kept) is True
        pooled = nn.AvgPool2d(2)(o)
        torch.testing.assert_close(trace.spike_counts(pooled.flatten(1)), 4 * pooled.flatten(1))
        torch.testing.assert_close(trace.spike_counts(o + o), 2 * (o != 0).float())


def test_analog_results_are_not_spikes():
    spikes = torch.tensor([[1.0, 0.0, 1.0, 1.0]])
    emit = Emit()
    with torch.no_grad(), SpikeTrace(emit) as trace:
        o = emit(spikes)
        for analog in (spikes, o + torch.full_like(o, 0.5), torch.sigmoid(o), o * torch.tensor([1.0, 2.0, 3.0, 4.0])):
            assert trace.spike_counts(analog) is False
        o.add_(0.5)  # changed in place
        assert trace.spike_counts(o) is False

"""Synaptic operations after pooling, counted by hand: pooled spikes are accumulates (folded into the next
layer), NeuroBench's strict count calls them multiply-accumulates; the spike trace follows the graph."""

import pytest
import torch
from torch import nn

from asgl import LIF, FixedSurrogateSpike
from asgl.layers import FlattenFeatures, TimeDistributed
from asgl.metrics import E_AC_PJ, E_MAC_PJ, SpikeTrace, SynOpsCounter, energy_estimate, workload_metrics


def step_lif() -> LIF:
    """decay 0, threshold 1: o_t = [x_t ≥ 1] exactly."""
    return LIF(FixedSurrogateSpike(), decay=0.0, threshold=1.0, reset="hard", backend="autograd")


def linear(weight: list[list[float]]) -> TimeDistributed:
    layer = nn.Linear(len(weight[0]), len(weight), bias=True)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight))
        layer.bias.fill_(0.5)  # biases are not synaptic operations
    return TimeDistributed(layer)


def count(model: nn.Module, x: torch.Tensor) -> dict[str, float]:
    model.eval()
    with torch.no_grad(), SynOpsCounter(model) as ops:
        model(x)
    return ops.summary(samples=x.shape[1])


def image(rows: list[list[float]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32).reshape(1, 1, 1, 4, 4)  # [T=1, B=1, C=1, 4, 4]


# LIF → AvgPool2d(2) → flatten → Linear(4 → 2). Spikes (input ≥ 1) and the 2×2 windows:
#     1 0 | 1 1        TL: 1 spike   TR: 3 spikes      pooled, flattened [TL, TR, BL, BR] = [¼, ¾, 0, 1]
#     0 0 | 1 0
#     ----+----
#     0 0 | 1 1        BL: 0 spikes  BR: 4 spikes
#     0 0 | 1 1
# W = [[2, 0, 5, 1],   row 0 reaches TL (2), BL (5), BR (1); row 1 reaches TR (3) only
#      [0, 3, 0, 0]]
# folded (ours): one AC per underlying spike and non-zero weight of its window:
#     TL 1·1 + TR 3·1 + BL 0·1 + BR 4·1 = 8 ACs, 0 MACs
# strict (NeuroBench): ¼, ¾ are not in {−1, 0, 1}, so MACs, one per non-zero pooled value and non-zero weight:
#     TL 1 + TR 1 + BR 1 = 3 MACs, 0 ACs;   dense: 4 inputs × 2 outputs = 8
AVG_SPIKES = image([[1, 0, 1, 1], [0, 0, 1, 0], [0, 0, 1, 1], [0, 0, 1, 1]])
AVG_WEIGHT = [[2.0, 0.0, 5.0, 1.0], [0.0, 3.0, 0.0, 0.0]]


def avg_pool_net() -> nn.Sequential:
    return nn.Sequential(step_lif(), TimeDistributed(nn.AvgPool2d(2)), FlattenFeatures(), linear(AVG_WEIGHT))


def test_average_pooled_spikes_are_accumulates_folded_into_the_next_layer():
    summary = count(avg_pool_net(), AVG_SPIKES)
    assert summary == {"effective_acs": 8.0, "effective_macs": 0.0, "strict_acs": 0.0, "strict_macs": 3.0,
                       "dense_synops": 8.0}
    energy = energy_estimate(summary)
    assert energy["energy_pj_per_sample"] == pytest.approx(8 * E_AC_PJ)  # 7.2 pJ
    assert energy["strict_energy_pj_per_sample"] == pytest.approx(3 * E_MAC_PJ)  # 13.8 pJ


def test_the_folded_count_is_the_count_of_the_folded_layer():
    """Average pooling then Linear equals one Linear on the spikes with weight W·P (each pooled weight spread
    over its window, scaled by ¼): its non-zero pairs with the spikes are the folded ACs."""
    net = avg_pool_net()
    weight = net[3].module.weight.detach()  # [2, 4] over pooled cells
    basis = torch.eye(16).reshape(16, 1, 4, 4)
    pool = nn.AvgPool2d(2)(basis).reshape(16, 4).T  # P: [4 pooled, 16 pixels]
    folded = weight @ pool  # [2, 16]
    spikes = AVG_SPIKES.reshape(16)
    net.eval()
    with torch.no_grad():
        torch.testing.assert_close(net(AVG_SPIKES).reshape(2), folded @ spikes + 0.5)
    pairs = ((folded != 0).double() @ (spikes != 0).double()).sum()
    assert pairs == count(avg_pool_net(), AVG_SPIKES)["effective_acs"] == 8


# Conv1×1 (weight 1) on an analog image → LIF → MaxPool2d(2) → flatten → Linear(4 → 2):
#     image          spikes (≥ 1)   max-pooled [TL, TR, BL, BR] = [1, 0, 0, 1]
#     0   2   .5  0   0 1 0 0
#     1.5 .3  0   0   1 0 0 0       W = [[1, 1, 0, 2],   TL meets row 0 (1); BR meets row 0 (2): 2 ACs
#     0   0   3   0   0 0 1 0            [0, 4, 4, 0]]
#     .7  0   0   1   0 0 0 1
# conv: the model input is analog: 7 non-zero pixels × 1 weight = 7 MACs (dense 16); both counts agree:
# effective 2 ACs + 7 MACs, strict 2 ACs + 7 MACs, dense 16 + 8 = 24
ANALOG = image([[0, 2, 0.5, 0], [1.5, 0.3, 0, 0], [0, 0, 3, 0], [0.7, 0, 0, 1]])
MAX_WEIGHT = [[1.0, 1.0, 0.0, 2.0], [0.0, 4.0, 4.0, 0.0]]


def max_pool_net() -> nn.Sequential:
    conv = nn.Conv2d(1, 1, 1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    return nn.Sequential(TimeDistributed(conv), step_lif(), TimeDistributed(nn.MaxPool2d(2)), FlattenFeatures(),
                         linear(MAX_WEIGHT))


def test_max_pooled_spikes_and_an_analog_first_layer():
    assert count(max_pool_net(), ANALOG) == {"effective_acs": 2.0, "effective_macs": 7.0, "strict_acs": 2.0,
                                             "strict_macs": 7.0, "dense_synops": 24.0}


def test_the_model_input_is_analog_whatever_its_values():
    """A binary image: NeuroBench calls it spikes (4 ACs at the conv); the graph calls it the model input (MACs).
    Spikes where the pixel is 1 (4 of them), the same max-pooled pattern as above: 2 ACs at the Linear."""
    binary = (ANALOG >= 1).float()
    assert count(max_pool_net(), binary) == {"effective_acs": 2.0, "effective_macs": 4.0, "strict_acs": 6.0,
                                             "strict_macs": 0.0, "dense_synops": 24.0}


class Scaled(nn.Module):
    """LIF → ·2 (spikes of height θ = 2) → Linear(2 → 1): the graph still sees spikes; NeuroBench sees 2s."""

    def __init__(self) -> None:
        super().__init__()
        self.neuron, self.fc = step_lif(), linear([[1.0, 1.0]])

    def forward(self, x):
        return self.fc(2.0 * self.neuron(x))


def test_scaled_spikes_are_accumulates_in_ours_and_macs_in_the_strict_count():
    x = torch.tensor([[[1.0, 0.0]], [[1.0, 1.0]]])  # [T=2, B=1, 2]: 3 spikes, each meets one weight
    assert count(Scaled(), x) == {"effective_acs": 3.0, "effective_macs": 0.0, "strict_acs": 0.0,
                                  "strict_macs": 3.0, "dense_synops": 4.0}


class Normalised(nn.Module):
    """LIF → batch norm → Linear: batch-normalised spikes are analog (MACs) in both counts."""

    def __init__(self) -> None:
        super().__init__()
        self.neuron, self.norm, self.fc = step_lif(), nn.BatchNorm1d(2), linear([[1.0, 1.0]])
        with torch.no_grad():
            self.norm.running_mean.fill_(0.5)

    def forward(self, x):
        return self.fc(self.norm(self.neuron(x)[0]).unsqueeze(0))


def test_any_other_operation_ends_the_spikes():
    x = torch.tensor([[[1.0, 0.0]]])  # after the norm: [0.5, −0.5]·(1/√(1+ε)): 2 non-zero inputs, 2 MACs
    summary = count(Normalised(), x)
    assert summary["effective_acs"] == 0 and summary["effective_macs"] == 2


def test_workload_metrics_report_both_counts_and_energies():
    work = workload_metrics(avg_pool_net(), [(AVG_SPIKES, torch.tensor([0]))])
    assert (work["effective_acs"], work["effective_macs"], work["strict_acs"], work["strict_macs"]) == (8, 0, 0, 3)
    assert work["strict_energy_pj_per_sample"] == pytest.approx(3 * E_MAC_PJ)


def test_a_trace_belongs_to_its_context():
    net = avg_pool_net().eval()
    with torch.no_grad(), SpikeTrace(net) as first:
        out = net[0](AVG_SPIKES)
        assert first.spike_counts(out) is True and first.spike_counts(AVG_SPIKES) is False
    with torch.no_grad(), SpikeTrace(net) as second:
        assert second.spike_counts(out) is False  # marked by another trace


TINY_MODELS = {  # builder kwargs and an input
    "vgg_tiny": ({"in_channels": 2, "time_steps": 4, "width": 4}, (4, 2, 2, 16, 16)),
    "resnet_tiny": ({"in_channels": 1, "time_steps": 2, "width": 4}, (2, 1, 8, 8)),
    "audio_convnet_tiny": ({"in_features": 16, "channels": (4, 8), "hidden": 16}, (4, 2, 16)),
    "mlp_snn": ({"in_features": 12, "hidden": 16, "depth": 2, "time_steps": 4}, (4, 2, 12)),
}


@pytest.mark.parametrize("name", TINY_MODELS)
def test_in_the_suite_s_models_only_the_first_layer_is_multiply_accumulates(name):
    """Every synaptic layer after the first receives spikes, directly or pooled (asgl/models/base.py)."""
    from asgl.models import build_model
    from asgl.registry import get_method

    kwargs, shape = TINY_MODELS[name]
    torch.manual_seed(0)
    model = build_model(name, get_method("sg").neuron_factory({"backend": "autograd"}), **kwargs).eval()
    with torch.no_grad(), SynOpsCounter(model) as ops:
        model(torch.rand(shape, generator=torch.Generator().manual_seed(0)) * 4)
    first, *rest = model.synaptic_layers()
    assert ops.per_layer[first[0]]["acs"] == 0 and ops.per_layer[first[0]]["macs"] > 0
    assert all(ops.per_layer[layer]["macs"] == 0 for layer, _ in rest)
    assert sum(ops.per_layer[layer]["acs"] for layer, _ in rest) > 0

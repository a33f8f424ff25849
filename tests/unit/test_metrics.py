"""Each metric against hand-computed values on tiny networks."""

import pytest
import torch
from torch import nn

from asgl import LIF, FixedSurrogateSpike
from asgl.metrics import (
    E_AC_PJ,
    E_MAC_PJ,
    PeakMemory,
    SpikeRecorder,
    SynOpsCounter,
    ThroughputMeter,
    energy_estimate,
    footprint_bytes,
    inference_throughput,
    is_strict_spike_input,
    layer_synops,
    parameter_count,
    spiking_layers,
    top1_accuracy,
    workload_metrics,
)


def step_lif() -> LIF:
    """decay 0, threshold 1: o_t = [x_t ≥ 1] exactly."""
    return LIF(FixedSurrogateSpike(), decay=0.0, threshold=1.0, reset="hard", backend="autograd")


def test_top1_accuracy_uses_the_time_mean():
    logits = torch.tensor([[[0.0, 3.0], [1.0, 0.0]], [[2.0, 0.0], [1.0, 0.0]]])  # T=2, B=2: means (1,1.5),(1,0)
    assert top1_accuracy(logits, torch.tensor([1, 0])) == 1.0
    assert top1_accuracy(logits[0], torch.tensor([0, 0])) == 0.5


def test_parameter_count_and_footprint():
    model = nn.Sequential(nn.Linear(3, 2), step_lif())  # 8 params; buffers: decay, threshold, width, p
    assert parameter_count(model) == 8
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    assert footprint_bytes(model) == 8 * 4 + buffers


def test_firing_rates_and_activation_sparsity():
    model = nn.Sequential(step_lif(), nn.Sequential(step_lif()))
    x = torch.tensor([[[1.5, 0.2, 1.0, 0.0]], [[0.0, 2.0, 0.5, 0.0]]])  # [T=2, B=1, 4]: spikes at 3 of 8
    with SpikeRecorder(model) as rec:
        model(x)
    rates = rec.firing_rates()
    assert rates == {"0": 3 / 8, "1.0": 3 / 8}  # a spike (1 ≥ θ) makes the second layer fire again
    assert rec.overall_firing_rate() == 6 / 16
    assert rec.activation_sparsity() == 10 / 16
    assert [name for name, _ in spiking_layers(model)] == ["0", "1.0"]


def test_linear_synops_effective_dense_and_kind():
    layer = nn.Linear(3, 2, bias=True)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]]))
    # non-zero inputs 0 and 2; column 0 has one non-zero weight, column 2 two: 3 effective of 6 dense pairs
    spikes, analog = torch.tensor([[1.0, 0.0, 1.0]]), torch.tensor([[0.5, 0.0, 2.0]])
    assert layer_synops(layer, spikes, True) == (3, 0, 3, 0, 6)
    assert layer_synops(layer, spikes, False) == (0, 3, 3, 0, 6)  # the graph says analog, the values spikes
    assert layer_synops(layer, analog, False) == (0, 3, 0, 3, 6)
    # two underlying spikes behind input 0, three behind input 2: 2·1 + 3·2 accumulates
    assert layer_synops(layer, analog, torch.tensor([[2.0, 0.0, 3.0]])) == (8, 0, 0, 3, 6)
    with pytest.raises(ValueError, match="shape"):
        layer_synops(layer, analog, torch.ones(3))
    assert is_strict_spike_input(torch.tensor([-1.0, 0.0, 1.0]))
    assert not is_strict_spike_input(torch.tensor([0.0, 2.5, 2.5]))  # scaled spikes: MACs for NeuroBench


def test_conv_synops_count_padding_as_absent():
    conv = nn.Conv1d(1, 1, kernel_size=3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    # input [1, 0, 1, 1]: windows (pad,1,0)=1, (1,0,1)=2, (0,1,1)=2, (1,1,pad)=2; dense 2+3+3+2
    assert layer_synops(conv, torch.tensor([[[1.0, 0.0, 1.0, 1.0]]]), True) == (7, 0, 7, 0, 10)


def test_synops_counter_energy_and_workload_per_sample():
    model = nn.Sequential(nn.Linear(2, 2, bias=False), step_lif(), nn.Linear(2, 1, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.eye(2))
        model[2].weight.fill_(1.0)
    x = torch.tensor([[[2.0, 0.5], [0.0, 3.0]]])  # T=1, B=2 → spikes [[1, 0], [0, 1]]
    with SynOpsCounter(model) as ops:
        model(x)
    summary = ops.summary(samples=2)
    # layer 0 (analog input): nonzero inputs 2 + 1 = 3, each meets one nonzero weight → 3 MACs; dense 2·4
    # layer 2 (spikes): one spike per sample × 1 weight → 2 ACs; dense 2·2
    assert summary == {"effective_acs": 1.0, "effective_macs": 1.5, "strict_acs": 1.0, "strict_macs": 1.5,
                       "dense_synops": 6.0}
    energy = energy_estimate(summary)
    assert energy["energy_pj_per_sample"] == pytest.approx(E_AC_PJ * 1.0 + E_MAC_PJ * 1.5)
    assert energy["strict_energy_pj_per_sample"] == energy["energy_pj_per_sample"]
    assert "0.9 pJ/AC" in energy["energy_model"] and "4.6 pJ/MAC" in energy["energy_model"]

    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = model

        def forward(self, x):
            return self.body(x).expand(-1, -1, 2) * torch.tensor([1.0, 0.5])  # [T, B, K=2]

    work = workload_metrics(Head(), [(x, torch.tensor([0, 0]))])
    assert work["samples"] == 2 and work["accuracy"] == 1.0
    assert work["firing_rate"] == 0.5 and work["activation_sparsity"] == 0.5
    assert work["effective_acs"] == 1.0 and work["effective_macs"] == 1.5


def test_throughput_and_memory_report_numbers():
    meter = ThroughputMeter("cpu", warmup=2)
    assert meter.samples_per_second() is None
    for _ in range(4):
        meter.step(8)
    assert meter.samples == 16 and meter.samples_per_second() > 0
    with pytest.raises(ValueError):
        ThroughputMeter("cpu", warmup=0)
    model = nn.Linear(4, 2)
    rate = inference_throughput(model, [(torch.randn(5, 4), 5)] * 4, "cpu", warmup=1)
    assert rate > 0 and model.training
    with PeakMemory("cpu") as peak:
        block = torch.ones(4_000_000)
        block += 1
    assert peak.kind == "cpu_peak_rss_delta" and peak.peak_bytes >= 0

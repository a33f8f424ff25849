"""Activation sparsity and synaptic operations: our hooks on the time-major snnTorch adapter model against
NeuroBench 2.3.0 on the equivalent per-step snnTorch network (shared weights)."""

import pytest
import torch
from torch import nn

pytest.importorskip("neurobench")
snn = pytest.importorskip("snntorch")

from neurobench.benchmarks import Benchmark  # noqa: E402
from neurobench.metrics.workload import ActivationSparsity, SynapticOperations  # noqa: E402
from neurobench.models import SNNTorchModel  # noqa: E402

from asgl.metrics import SpikeRecorder, SynOpsCounter  # noqa: E402
from baselines.snntorch_leaky import SnnTorchLeaky  # noqa: E402

T, B, F, H, K, BETA = 5, 6, 8, 12, 4, 0.6


class TimeMajorNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.lif1 = nn.Linear(F, H), SnnTorchLeaky("atan", decay=BETA, reset="hard")
        self.fc2, self.lif2 = nn.Linear(H, K), SnnTorchLeaky("atan", decay=BETA, reset="hard")

    def forward(self, x):  # [T, B, F]
        return self.lif2(self.fc2(self.lif1(self.fc1(x))))


class StepNet(nn.Module):
    """The same network as snnTorch users write it for NeuroBench: one call per time step."""

    def __init__(self, twin: TimeMajorNet) -> None:
        super().__init__()
        self.fc1, self.fc2 = twin.fc1, twin.fc2
        self.lif1 = snn.Leaky(beta=BETA, reset_mechanism="zero", init_hidden=True)
        self.lif2 = snn.Leaky(beta=BETA, reset_mechanism="zero", init_hidden=True, output=True)

    def forward(self, x):  # [B, F]
        return self.lif2(self.fc2(self.lif1(self.fc1(x))))


def test_activation_sparsity_and_synops_agree_with_neurobench():
    torch.manual_seed(0)
    ours = TimeMajorNet()
    with torch.no_grad():
        ours.fc1.weight.mul_(4.0)  # enough drive for a mix of spikes and silence
        ours.fc2.weight[:, ::3] = 0.0  # some zero weights: effective < dense
    x = torch.rand(B, T, F) * (torch.rand(B, T, F) > 0.3)  # NeuroBench layout [B, T, F], analog, some zeros
    y = torch.zeros(B, dtype=torch.long)

    ours.eval()
    with torch.no_grad(), SpikeRecorder(ours) as spikes, SynOpsCounter(ours) as ops:
        ours(x.transpose(0, 1).contiguous())
    mine = {**ops.summary(samples=B), "activation_sparsity": spikes.activation_sparsity()}
    assert 0.0 < mine["activation_sparsity"] < 1.0 and mine["effective_acs"] > 0

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=B)
    bench = Benchmark(SNNTorchModel(StepNet(ours)), loader, [], [], [[], [ActivationSparsity, SynapticOperations]])
    theirs = bench.run(quiet=True)
    assert theirs["ActivationSparsity"] == pytest.approx(mine["activation_sparsity"], abs=1e-12)
    ops_theirs = theirs["SynapticOperations"]
    assert ops_theirs["Effective_ACs"] == pytest.approx(mine["effective_acs"])
    assert ops_theirs["Effective_MACs"] == pytest.approx(mine["effective_macs"])
    assert ops_theirs["Dense"] == pytest.approx(mine["dense_synops"])

"""Activation sparsity and synaptic operations: our hooks on the time-major snnTorch adapter model against
NeuroBench 2.3.0 on the equivalent per-step snnTorch network (shared weights). Without pooling our count and
the strict count both equal NeuroBench's; with average pooling the strict count does, and ours bills the
pooled spikes as accumulates instead."""

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
    """fc1 → LIF → [average pool of neighbour pairs] → fc2 → LIF on ``[T, B, F]``."""

    def __init__(self, pool: bool) -> None:
        super().__init__()
        self.fc1, self.lif1 = nn.Linear(F, H), SnnTorchLeaky("atan", decay=BETA, reset="hard")
        self.pool = nn.AvgPool1d(2) if pool else nn.Identity()  # [N, C, L] pools L: here L = H features
        self.fc2, self.lif2 = nn.Linear(H // 2 if pool else H, K), SnnTorchLeaky("atan", decay=BETA, reset="hard")

    def forward(self, x):  # [T, B, F]
        return self.lif2(self.fc2(self.pool(self.lif1(self.fc1(x)))))


class StepNet(nn.Module):
    """The same network as snnTorch users write it for NeuroBench: one call per time step."""

    def __init__(self, twin: TimeMajorNet) -> None:
        super().__init__()
        self.fc1, self.pool, self.fc2 = twin.fc1, twin.pool, twin.fc2
        self.lif1 = snn.Leaky(beta=BETA, reset_mechanism="zero", init_hidden=True)
        self.lif2 = snn.Leaky(beta=BETA, reset_mechanism="zero", init_hidden=True, output=True)

    def forward(self, x):  # [B, F]
        return self.lif2(self.fc2(self.pool(self.lif1(self.fc1(x)))))


@pytest.mark.parametrize("pool", [False, True], ids=["plain", "avg-pool"])
def test_activation_sparsity_and_synops_agree_with_neurobench(pool):
    torch.manual_seed(0)
    ours = TimeMajorNet(pool)
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
    assert ops_theirs["Effective_ACs"] == pytest.approx(mine["strict_acs"])
    assert ops_theirs["Effective_MACs"] == pytest.approx(mine["strict_macs"])
    assert ops_theirs["Dense"] == pytest.approx(mine["dense_synops"])
    if not pool:
        assert (mine["effective_acs"], mine["effective_macs"]) == (mine["strict_acs"], mine["strict_macs"])
    else:  # fc2 sees pooled spikes (0, ½, 1): MACs for NeuroBench, accumulates folded into fc2 for us
        assert mine["effective_macs"] < mine["strict_macs"] and mine["effective_acs"] > mine["strict_acs"]

"""Job of tests/unit/test_training_ddp.py, run on 2 processes by the executor's torchrun launcher
(``train.ddp: 2`` in the job's settings; :mod:`pipelines.lib.ddp_launch`).

:func:`job` trains two tiny models with the ``sg`` method — one without batch statistics, one with batch
norm — and writes each rank's final weights to ``OUT/<name>_rank<r>.pt``; it also writes one ASGL forward
pass per rank (``OUT/mask_rank<r>.pt``), made after the trainer seeded the rank, to show that the noise masks
differ. Rank 0 returns its weights (the run's result), the other ranks ``None``. The same functions run in
the test process for the single-process reference.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from asgl import LIF, ASGLSpike
from asgl.registry import get_method
from asgl.training import Callback, DistContext, TrainConfig, train

T, F, H, K = 3, 6, 10, 3
CONFIG = TrainConfig(epochs=2, batch_size=8, lr=0.1, neuron_lr=1e-2, time_major_input=True, progress=False,
                     metrics_samples=8, device="cpu")


class Net(nn.Module):
    """Linear → (BatchNorm over T·B) → LIF → Linear on ``[T, B, F]``."""

    def __init__(self, batch_norm: bool) -> None:
        super().__init__()
        neuron = get_method("sg").neuron_factory({"width": 1.0, "backend": "autograd"})
        self.fc1, self.neuron, self.fc2 = nn.Linear(F, H), neuron(), nn.Linear(H, K)
        self.bn = nn.BatchNorm1d(H) if batch_norm else nn.Identity()

    def forward(self, x):
        z = self.fc1(x)
        z = self.bn(z.reshape(-1, H)).reshape(z.shape)
        return self.fc2(self.neuron(z))


def data():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, K, (40,), generator=g)
    x = (torch.randn(K, F, generator=g) * 2)[y][:, None, :] + torch.randn(40, T, F, generator=g)
    return (x[:32], y[:32]), (x[32:], y[32:])


class MaskProbe(Callback):
    """At train start (after per-rank seeding) run an ASGL LIF with p = 0.5 and save its output."""

    def __init__(self, out: Path | None) -> None:
        super().__init__()
        self.out = out

    def on_train_start(self, ctx) -> None:
        lif = LIF(ASGLSpike(width=1.0, p=0.5), backend="autograd")
        y = lif(torch.linspace(-1.0, 3.0, 64).reshape(2, 2, 16))
        if self.out is not None:
            torch.save(y.detach(), self.out / f"mask_rank{ctx.rank}.pt")


def run(batch_norm: bool, run_dir: Path, dist: DistContext | None = None, probe: Path | None = None):
    torch.manual_seed(0)
    model = Net(batch_norm)
    train_data, test_data = data()
    return train(model, train_data, test_data, CONFIG, run_dir, [MaskProbe(probe)], dist=dist)


def job(spec: dict) -> dict | None:
    """Every rank: train both models under ``spec["out"]``; rank 0 returns ``{"world_size", "plain", "bn"}``
    (its final weights), the other ranks ``None``."""
    out = Path(spec["out"])
    ctx = DistContext.from_environment()
    weights = {}
    for name, batch_norm in (("plain", False), ("bn", True)):
        result = run(batch_norm, out / name, ctx, probe=out if name == "plain" else None)
        weights[name] = result.model.state_dict()
        torch.save(weights[name], out / f"{name}_rank{ctx.rank}.pt")
    return {"world_size": ctx.world_size, **weights} if ctx.is_main else None


def fail(spec: dict) -> None:
    """An ordinary error on every rank."""
    raise ValueError(f"bad value {spec['value']!r}")

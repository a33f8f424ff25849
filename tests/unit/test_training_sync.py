"""A training step reads nothing back from the device: the tensor → Python conversions of a run do not grow
with the number of steps per epoch (on a GPU each one would make the host wait for the device)."""

import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from asgl.registry import get_method
from asgl.training import TrainConfig, train
from tests.conftest import TinyNet

T, F, K = 3, 6, 3
CONVERSIONS = ("item", "__float__", "__bool__", "__int__", "tolist")
CONFIG = TrainConfig(epochs=2, batch_size=5, lr=0.05, neuron_lr=1e-2, time_major_input=True, progress=False,
                     metrics_samples=10)


class Conversions:
    """Records every call of the patched conversions with the file it was made from."""

    def __init__(self, monkeypatch) -> None:
        self.calls: list[str] = []
        for name in CONVERSIONS:
            monkeypatch.setattr(torch.Tensor, name, self._wrap(name, getattr(torch.Tensor, name)))

    def _wrap(self, name: str, original):
        def counted(tensor, *args, **kwargs):
            self.calls.append(f"{name} from {Path(sys._getframe(1).f_code.co_filename).name}")
            return original(tensor, *args, **kwargs)
        return counted


class PlainNet(nn.Module):
    """Linear → ReLU → Linear on [T, B, F]: no spiking layer, so every conversion is the trainer's or torch's."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(F, 8), nn.ReLU(), nn.Linear(8, K))

    def forward(self, x):
        return self.body(x)


def data(n_train: int):
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, K, (n_train + 10,), generator=g)
    x = torch.randn(n_train + 10, T, F, generator=g) + y[:, None, None]
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])  # the same 10 test samples in every run


def plain():
    torch.manual_seed(0)
    return PlainNet(), []


def spiking():
    torch.manual_seed(0)
    spec = get_method("asgl")
    params = spec.resolve_params({"width": 1.0, "p": 0.3, "backend": "autograd"})
    return TinyNet(spec.neuron_factory(params), F, 8, K), spec.make_callbacks(params)


def conversions(monkeypatch, tmp_path: Path, build, n_train: int) -> list[str]:
    model, callbacks = build()
    with monkeypatch.context() as patch:
        counter = Conversions(patch)
        train(model, *data(n_train), CONFIG, tmp_path / f"n{n_train}", callbacks)
    return counter.calls


@pytest.mark.parametrize("build", [plain, spiking], ids=["plain-net", "asgl-net"])
def test_conversions_per_epoch_do_not_grow_with_the_steps(monkeypatch, tmp_path, build):
    """Everything counts: the trainer, the metrics, the LIF (its NaN flags are read per epoch), torch's optimisers."""
    few = conversions(monkeypatch, tmp_path, build, 10)  # 2 steps per epoch
    many = conversions(monkeypatch, tmp_path, build, 40)  # 8 steps per epoch
    assert few, "the epoch's single read is a conversion: the counter must see it"
    assert sorted(many) == sorted(few)

"""Which implementation a model's spiking neurons run: asgl.neuron.model_backend and the run's metrics."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import baselines  # noqa: F401  (registers the baseline methods)
from asgl.neuron import model_backend
from asgl.registry import get_method
from asgl.training import TrainConfig, train


def _model(method: str, **params) -> nn.Module:
    factory = get_method(method).neuron_factory(params)
    return nn.Sequential(nn.Linear(4, 6), factory(), nn.Linear(6, 2))


@pytest.mark.parametrize("method", ["asgl", "sg", "dspike", "sharpen"])
def test_every_lif_method_runs_numba_on_a_float32_cpu_model(method: str) -> None:
    assert model_backend(_model(method), "cpu") == "numba"
    assert model_backend(_model(method).eval(), "cpu") == "numba"  # the training backend, whatever the mode


def test_an_explicit_backend_a_float64_model_and_mixed_layers_are_reported() -> None:
    assert model_backend(_model("dspike", backend="autograd"), "cpu") == "autograd"
    assert model_backend(_model("asgl").double(), "cpu") == "autograd"
    mixed = nn.Sequential(_model("asgl"), _model("sg", backend="autograd"))
    assert model_backend(mixed, "cpu") == "autograd+numba"


def test_a_plain_network_reports_none() -> None:
    assert model_backend(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), "cpu") == "none"


def test_other_neurons_report_their_class() -> None:
    pytest.importorskip("snntorch")
    assert model_backend(_model("snntorch-fast_sigmoid"), "cpu") == "SnnTorchLeaky"


def test_the_run_metrics_name_the_backend(tmp_path) -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(20, 3, 4, generator=g), torch.randint(0, 2, (20,), generator=g)
    config = TrainConfig(epochs=1, batch_size=10, time_major_input=True, progress=False, metrics_samples=0)
    torch.manual_seed(0)
    result = train(_model("dspike"), (x, y), (x, y), config, run_dir=tmp_path)
    assert result.metrics["backend"] == "numba"

"""Model builders: shapes, readouts, eager parameters, gradients, pickling, layer order, registry."""

from __future__ import annotations

import functools
import pickle

import pytest
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.testing import assert_close

from asgl import LIF, ASGLSpike
from asgl.models import MODELS, SpikingModel, build_model, readout_mean


def lif_neuron(width: float = 1.0, p: float = 0.2) -> LIF:
    """A fresh LIF with its own ASGL spike (module level, so partials of it pickle)."""
    return LIF(ASGLSpike(width=width, p=p))


NEURON = functools.partial(lif_neuron, width=1.0, p=0.2)

# name → (builder kwargs, time-major input shape, number of classes)
SMALL = {
    "resnet_tiny": ({"num_classes": 10, "time_steps": 3}, (3, 4, 1, 8, 8), 10),
    "resnet18": ({"num_classes": 7, "time_steps": 2}, (2, 2, 3, 8, 8), 7),
    "resnet19": ({"num_classes": 5, "time_steps": 2}, (2, 2, 3, 8, 8), 5),
    "vggsnn": ({"num_classes": 10, "input_size": 16, "time_steps": 2}, (2, 2, 2, 16, 16), 10),
    "vgg13": ({"num_classes": 12, "input_size": 32, "time_steps": 2}, (2, 2, 3, 32, 32), 12),
    "vgg_tiny": ({"num_classes": 11, "time_steps": 3}, (3, 4, 2, 20, 20), 11),
    "mlp_snn": ({"in_features": 12, "num_classes": 6, "depth": 4, "hidden": 16}, (5, 4, 12), 6),
    "shd_net": ({"num_classes": 20, "hidden": (32, 16)}, (6, 3, 700), 20),
    "audio_convnet": ({"in_features": 16, "num_classes": 4}, (4, 3, 16), 4),
    "audio_convnet_tiny": ({"in_features": 20, "num_classes": 8}, (4, 3, 20), 8),
    "clip_mlp": ({"frames": 5, "in_features": 6, "num_classes": 3, "time_steps": 5, "hidden": 16}, (5, 4, 6), 3),
}
STATIC = ("resnet_tiny", "resnet18", "resnet19", "vggsnn", "vgg13", "vgg_tiny")


def build(name: str, neuron=NEURON) -> nn.Module:
    torch.manual_seed(0)
    return build_model(name, neuron, **SMALL[name][0])


def small_input(name: str) -> torch.Tensor:
    torch.manual_seed(1)
    return torch.rand(SMALL[name][1]) * 2.0


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_small_table_covers_registry():
    assert set(SMALL) == set(MODELS)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_per_step_logits_and_mean_readout(name):
    model = build(name)
    x = small_input(name)
    logits = model(x)
    steps, batch = x.shape[:2]
    assert logits.shape == (steps, batch, SMALL[name][2])
    assert torch.isfinite(logits).all()
    assert_close(readout_mean(logits), logits.mean(0))
    assert readout_mean(logits).shape == (batch, SMALL[name][2])


@pytest.mark.parametrize("name", sorted(SMALL))
def test_parameters_created_in_init_and_gradients_reach_first_layer(name):
    model = build(name)
    before = [(n, p.shape) for n, p in model.named_parameters()]
    before_buffers = [n for n, _ in model.named_buffers()]
    readout_mean(model(small_input(name))).logsumexp(1).sum().backward()
    assert [(n, p.shape) for n, p in model.named_parameters()] == before
    assert [n for n, _ in model.named_buffers()] == before_buffers
    first = model.synaptic_layers()[0][1]
    assert first.weight.grad is not None
    assert torch.isfinite(first.weight.grad).all() and first.weight.grad.abs().sum() > 0
    widths = [m.spike.raw_width for m in model.spiking_layers()]
    assert all(w.grad is not None and torch.isfinite(w.grad).all() for w in widths)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_pickled_model_gives_same_eval_output(name):
    model = build(name).eval()
    x = small_input(name)
    clone = pickle.loads(pickle.dumps(model))
    assert_close(clone(x), model(x))
    assert len(clone.spiking_layers()) == len(model.spiking_layers())
    clone_modules = {id(m) for m in clone.modules()}
    assert all(id(m) in clone_modules for m in clone.spiking_layers())


def test_lambda_factory_is_not_stored():
    model = build_model("mlp_snn", lambda: lif_neuron(), in_features=4, depth=2, hidden=8)
    clone = pickle.loads(pickle.dumps(model))
    assert len(clone.spiking_layers()) == 2


def _call_order(model: nn.Module, modules: list[nn.Module], x: torch.Tensor) -> list[int]:
    order: list[int] = []
    handles = [m.register_forward_hook(lambda mod, args, out, i=i: order.append(i)) for i, m in enumerate(modules)]
    model(x)
    for handle in handles:
        handle.remove()
    return order


@pytest.mark.parametrize("name", sorted(SMALL))
def test_layer_lists_follow_execution_order(name):
    model = build(name)
    x = small_input(name)
    neurons = model.spiking_layers()
    assert len(neurons) >= 2 and all(isinstance(m, LIF) for m in neurons)
    assert len(neurons) == sum(isinstance(m, LIF) for m in model.modules())
    assert _call_order(model, neurons, x) == list(range(len(neurons)))
    synapses = [m for _, m in model.synaptic_layers()]
    assert _call_order(model, synapses, x) == list(range(len(synapses)))


@pytest.mark.parametrize("name", sorted(SMALL))
def test_first_synaptic_layer_sees_the_input_and_later_ones_see_spike_functions(name):
    model = build(name).eval()
    x = small_input(name)
    inputs: list[torch.Tensor] = []
    for _, module in model.synaptic_layers():
        module.register_forward_hook(lambda mod, args, out: inputs.append(args[0]))
    model(x)
    first = inputs[0].reshape(-1, inputs[0].shape[-1])
    if name == "clip_mlp":  # the whole clip, frames side by side, presented at every step
        clip = x.transpose(0, 1).reshape(x.shape[1], -1)
        assert_close(first, clip.repeat(SMALL[name][0]["time_steps"], 1))
    else:
        assert_close(inputs[0].reshape(x.shape[0] * x.shape[1], -1), x.reshape(x.shape[0] * x.shape[1], -1))
    for later in inputs[1:]:  # spikes, or average pools of spikes: values in [0, 1]
        assert later.min() >= 0.0 and later.max() <= 1.0


@pytest.mark.parametrize("name", sorted(SMALL))
def test_every_batch_norm_sees_merged_time_and_batch(name):
    """Data-parallel code swaps ``_BatchNorm`` modules for synchronised ones: they must see ``[T·B, C, ...]``."""
    model = build(name)
    x = small_input(name)
    leading: list[int] = []
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    for module in norms:
        module.register_forward_hook(lambda mod, args, out: leading.append(args[0].shape[0]))
    model(x)
    assert norms and leading == [x.shape[0] * x.shape[1]] * len(norms)


@pytest.mark.parametrize("name", STATIC)
def test_static_input_is_repeated_over_time_steps(name):
    model = build(name).eval()
    x = small_input(name)[0]
    steps = SMALL[name][0]["time_steps"]
    repeated = x.unsqueeze(0).repeat(steps, *([1] * x.dim()))
    out = model(x)
    assert out.shape[0] == steps
    assert_close(out, model(repeated))


def test_time_major_only_models_reject_static_input():
    with pytest.raises(ValueError, match=r"\[T, B"):
        build("shd_net")(torch.rand(3, 700))


@pytest.mark.parametrize("name", ["resnet18", "vggsnn", "mlp_snn"])
def test_threshold_norm_option_builds_and_runs(name):
    kwargs = dict(SMALL[name][0], norm="threshold")
    model = build_model(name, NEURON, **kwargs)
    assert model(small_input(name)).shape[-1] == SMALL[name][2]
    with pytest.raises(ValueError, match="norm"):
        build_model(name, NEURON, **dict(SMALL[name][0], norm="layer"))


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        ("resnet18", {"num_classes": 10}, 11_173_962),  # the standard CIFAR ResNet-18 weight count
        ("resnet18", {"num_classes": 100}, 11_220_132),
        ("resnet19", {"num_classes": 10}, 12_697_994),
        ("vggsnn", {"num_classes": 10}, 9_268_746),
        # ten 3×3 convs (9 402 048) + BN γ, β (2·2 944) + Linear(2·2·512 → 200) with bias (409 800)
        ("vgg13", {"num_classes": 200}, 9_817_736),
        # 40·128 + 2·128² (bias-free Linears) + 3·2·128 (BN γ, β) + 128·10 + 10
        ("mlp_snn", {"in_features": 40, "hidden": 128, "depth": 3}, 39_946),
    ],
    ids=["resnet18-c10", "resnet18-c100", "resnet19-c10", "vggsnn-dvs", "vgg13-tiny-imagenet", "mlp-by-hand"],
)
def test_paper_model_weight_counts(name, kwargs, expected):
    model = build_model(name, NEURON, **kwargs)
    weights = sum(p.numel() for p in model.parameters() if p.dim() > 0)  # excludes the scalar slopes
    assert weights == expected


def test_resnet19_head_has_hidden_spiking_fc():
    model = build_model("resnet19", NEURON, num_classes=10)
    linears = [m for _, m in model.synaptic_layers() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(512, 256), (256, 10)]
    assert isinstance(model.head[1], LIF)


def test_mlp_depth_sets_number_of_spiking_layers():
    for depth in (2, 6):
        model = build_model("mlp_snn", NEURON, in_features=5, depth=depth, hidden=8)
        assert len(model.spiking_layers()) == depth


def test_unknown_model_name_lists_known_names():
    with pytest.raises(ValueError, match="resnet18") as info:
        build_model("resnet1000", NEURON)
    assert "unknown model 'resnet1000'" in str(info.value)


def test_factory_must_return_fresh_modules():
    shared = lif_neuron()
    with pytest.raises(ValueError, match="same module"):
        build_model("mlp_snn", lambda: shared, in_features=4, depth=2)
    with pytest.raises(TypeError, match=r"nn\.Module"):
        build_model("mlp_snn", lambda: "lif", in_features=4)
    with pytest.raises(TypeError, match="factory"):
        build_model("mlp_snn", lif_neuron(), in_features=4)


def test_models_are_spiking_models_without_shared_state():
    a, b = build("mlp_snn"), build("mlp_snn")
    assert isinstance(a, SpikingModel)
    assert not {id(p) for p in a.parameters()} & {id(p) for p in b.parameters()}

"""Trainer parts: config validation, losses against hand-computed values, parameter groups."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from asgl import LIF, ASGLSpike, FixedSurrogateSpike
from asgl.training import TrainConfig
from asgl.training.batches import epoch_permutation, global_batches, model_input
from asgl.training.losses import ce_mean_output, tet
from asgl.training.optim import build_optimisers, neuron_parameter_names


def test_config_from_dict_rejects_unknown_keys_and_wrong_types_naming_the_key():
    assert TrainConfig.from_dict({"epochs": 3, "lr": 1}).lr == 1
    with pytest.raises(ValueError, match=r"unknown key.*'learning_rate'"):
        TrainConfig.from_dict({"learning_rate": 0.1})
    with pytest.raises(TypeError, match=r"train\.epochs"):
        TrainConfig.from_dict({"epochs": "3"})
    with pytest.raises(TypeError, match=r"train\.amp"):
        TrainConfig.from_dict({"amp": 1})
    with pytest.raises(TypeError, match=r"train\.batch_size"):
        TrainConfig.from_dict({"batch_size": 8.0})
    with pytest.raises(ValueError, match=r"train\.optimizer"):
        TrainConfig.from_dict({"optimizer": "rmsprop"})
    with pytest.raises(ValueError, match=r"train\.neuron_lr"):
        TrainConfig.from_dict({"neuron_lr": -1.0})
    config = TrainConfig()
    with pytest.raises(AttributeError):
        config.epochs = 2  # frozen
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_ce_on_time_mean_matches_hand_computation():
    logits = torch.tensor([[[1.0, 0.0]], [[3.0, 0.0]]])  # T=2, B=1, K=2: mean (2, 0)
    expected = -math.log(math.exp(2) / (math.exp(2) + 1))
    torch.testing.assert_close(ce_mean_output(logits, torch.tensor([0])), torch.tensor([expected]))


def test_tet_matches_the_reference_definition():
    torch.manual_seed(0)
    logits, target, lam, phi = torch.randn(3, 4, 5), torch.tensor([0, 1, 4, 2]), 0.2, 1.0
    reference = (1 - lam) * sum(F.cross_entropy(logits[t], target) for t in range(3)) / 3 + \
        lam * F.mse_loss(logits, torch.full_like(logits, phi))
    torch.testing.assert_close(tet(logits, target, lam, phi).mean(), reference)
    torch.testing.assert_close(tet(logits, target, 0.0, phi).mean(),
                               sum(F.cross_entropy(logits[t], target) for t in range(3)) / 3)


def test_losses_check_shapes():
    with pytest.raises(ValueError, match=r"\[T, B, K\]"):
        ce_mean_output(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long))


def test_param_groups_split_neuron_parameters_with_their_own_optimiser():
    model = nn.Sequential(nn.Linear(3, 4), LIF(ASGLSpike(width=2.0), learn_decay=True, learn_threshold=True),
                          nn.BatchNorm1d(4), LIF(FixedSurrogateSpike()), nn.Linear(4, 2))
    assert sorted(neuron_parameter_names(model)) == ["1.decay_logit", "1.spike.raw_width", "1.threshold"]
    config = TrainConfig(epochs=2, lr=0.1, weight_decay=5e-4, neuron_lr=3e-4, neuron_weight_decay=0.0)
    optim = build_optimisers(model, config, steps_per_epoch=5)
    weights, neurons = optim.optimizers["weights"], optim.optimizers["neurons"]
    assert isinstance(weights, torch.optim.SGD) and isinstance(neurons, torch.optim.Adam)
    assert weights.param_groups[0]["weight_decay"] == 5e-4 and weights.param_groups[0]["momentum"] == 0.9
    assert neurons.param_groups[0]["lr"] == 3e-4 and neurons.param_groups[0]["weight_decay"] == 0.0
    ids = [{id(p) for g in o.param_groups for p in g["params"]} for o in (weights, neurons)]
    assert not ids[0] & ids[1] and len(ids[0]) + len(ids[1]) == len(list(model.parameters()))
    assert set(optim.schedulers) == {"weights"}  # neurons: constant learning rate by default
    for _ in range(10):
        weights.step()  # no gradients: a no-op that keeps PyTorch's step-order check quiet
        optim.step_schedulers()
    assert weights.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_no_weight_decay_on_biases_and_batch_norm_parameters():
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Flatten(), nn.Linear(3, 2))
    config = TrainConfig(lr=0.1, momentum=0.0, weight_decay=0.5, neuron_weight_decay=0.0)
    weights = build_optimisers(model, config, steps_per_epoch=1).optimizers["weights"]
    decayed, undecayed = weights.param_groups
    assert decayed["weight_decay"] == 0.5 and undecayed["weight_decay"] == 0.0
    assert {id(p) for p in decayed["params"]} == {id(model[0].weight), id(model[3].weight)}
    assert {id(p) for p in undecayed["params"]} == {id(p) for p in (model[0].bias, model[1].weight,
                                                                   model[1].bias, model[3].bias)}
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)  # zero loss gradient: only the decay can move a parameter
    weights.step()
    for name, p in model.named_parameters():
        expected = before[name] * (1 - 0.1 * 0.5) if p.dim() >= 2 else before[name]
        torch.testing.assert_close(p.detach(), expected, msg=name)


def test_neuron_weight_decay_applies_to_every_neuron_parameter():
    model = nn.Sequential(nn.Linear(3, 4), LIF(ASGLSpike(width=2.0), learn_decay=True))
    optim = build_optimisers(model, TrainConfig(neuron_weight_decay=0.1), steps_per_epoch=1)
    assert [g["weight_decay"] for g in optim.optimizers["neurons"].param_groups] == [0.1]


def test_a_model_without_neuron_parameters_has_one_optimiser():
    model = nn.Sequential(nn.Linear(3, 4), LIF(FixedSurrogateSpike()), nn.Linear(4, 2))
    assert set(build_optimisers(model, TrainConfig(), 3).optimizers) == {"weights"}


def test_batching_is_a_function_of_seed_and_epoch():
    assert torch.equal(epoch_permutation(10, 1, 3), epoch_permutation(10, 1, 3))
    assert not torch.equal(epoch_permutation(10, 1, 3), epoch_permutation(10, 1, 4))
    sizes = [b.numel() for b in global_batches(10, 4, 0, 0, min_size=3)]
    assert sizes == [4, 4]  # the last batch of 2 is below min_size
    x = torch.arange(24.0).reshape(2, 3, 4)  # [B, T, F]
    assert torch.equal(model_input(x, True)[1, 0], x[0, 1])


def test_compact_storage_dtypes_become_float32_model_inputs():
    events = torch.randint(0, 5, (3, 4, 2, 6, 6), dtype=torch.uint8)
    out = model_input(events, True)
    assert out.dtype == torch.float32 and out.shape == (4, 3, 2, 6, 6)
    assert torch.equal(out[1, 2], events[2, 1].float())
    assert model_input(torch.ones(2, 3, dtype=torch.float16), False).dtype == torch.float32

"""The paper profile is the authors' recipe: models, neurons, optimisers, schedules and data transforms built from
``profiles/paper.yaml`` behave as the authors' public code (github.com/Windere/ASGL-SNN, commit 7443c2a) does,
item by item. Each expectation is written from their code's behaviour as read (the docstring of each test
names the file), not from their code.

Two pairs are pinned: CIFAR ResNet-18 (``experiment/development``, the readme's CIFAR-100 command) and CIFAR10-DVS
VGGSNN (``experiment/dvs``, the readme's DVS command), each with ASGL and its SG control.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

import baselines  # noqa: F401  (registers the baselines)
from asgl import functional as F
from asgl.data.images import CIFAR_NORMALISATION, build_cifar
from asgl.models import build_model
from asgl.neuron import LIF
from asgl.registry import get_method
from asgl.schedules import AUTHORS_MILESTONES
from asgl.spike import ASGLSpike
from asgl.training.augment import CUTOUT, build_augment
from asgl.training.config import TrainConfig
from asgl.training.optim import build_optimisers
from tests.data.formats import write_cifar10

ROOT = Path(__file__).resolve().parents[2]
PAPER = yaml.safe_load((ROOT / "profiles" / "paper.yaml").read_text())
CIFAR, DVS = "cifar100", "cifar10-dvs"
CLASSES = {CIFAR: 100, DVS: 10}
BATCH_NORM = nn.modules.batchnorm._BatchNorm


def params_of(dataset: str, method: str) -> dict:
    block = PAPER["datasets"][dataset]
    section = {**PAPER["methods"][method], **(block.get("method_overrides") or {}).get(method, {})}
    return get_method(method).resolve_params(section)


@functools.cache
def built(dataset: str, method: str) -> nn.Module:
    block = PAPER["datasets"][dataset]
    spec = get_method(method)
    torch.manual_seed(0)
    return build_model(block["model"], functools.partial(spec.make_neuron, params_of(dataset, method)),
                       num_classes=CLASSES[dataset], **block.get("model_kwargs", {}))


def config_of(dataset: str) -> TrainConfig:
    return TrainConfig.from_dict({**PAPER["datasets"][dataset]["train"], "device": "cpu"})


def synaptic(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def lifs(model: nn.Module) -> list[LIF]:
    return [m for m in model.modules() if isinstance(m, LIF)]


# ---- weights ------------------------------------------------------------------------------------------------

def test_resnet18_keeps_pytorch_initialisation_bias_free_convs_and_a_classifier_bias():
    """model/resnet.py: no weight initialisation of its own (PyTorch's kaiming-uniform, bound 1/√fan_in),
    convolutions ``bias=False``, ``nn.Linear(512, num_class)`` with its default bias."""
    model = built(CIFAR, "asgl")
    convs = [m for m in synaptic(model) if isinstance(m, nn.Conv2d)]
    assert len(convs) == 20 and all(m.bias is None for m in convs)  # 17 3×3 convs + 3 shortcut 1×1
    for conv in convs:
        bound = 1.0 / math.sqrt(conv.weight[0].numel())
        assert conv.weight.abs().max() <= bound
        assert float(conv.weight.detach().std()) == pytest.approx(bound / math.sqrt(3.0), rel=0.1)
    (head,) = [m for m in synaptic(model) if isinstance(m, nn.Linear)]
    assert (head.in_features, head.out_features) == (512, 100) and head.bias is not None


def test_vggsnn_draws_every_weight_from_normal_half_and_has_no_bias():
    """model/vgg.py ``_initialize_weights``: every Conv2d and Linear weight ``normal_(0, 0.5)``; ``--bias`` is
    off in the readme's command, so no conv or classifier bias (``use_bias=False``)."""
    model = built(DVS, "asgl")
    layers = synaptic(model)
    assert len(layers) == 9 and all(m.bias is None for m in layers)  # 8 convs + Linear(4608 → 10)
    assert layers[-1].in_features == 4608
    for layer in layers[1:]:  # the first conv has 2·64·9 = 1152 weights only; its std is looser
        assert float(layer.weight.detach().std()) == pytest.approx(0.5, rel=0.03)
        assert abs(float(layer.weight.detach().mean())) < 0.02
    assert float(layers[0].weight.detach().std()) == pytest.approx(0.5, rel=0.1)


def test_batch_norm_starts_at_one_and_zero():
    """Both models: BatchNorm2d scales 1, shifts 0 (PyTorch's default; model/vgg.py sets the same)."""
    for dataset in (CIFAR, DVS):
        norms = [m for m in built(dataset, "asgl").modules() if isinstance(m, BATCH_NORM)]
        assert norms and all(torch.equal(m.weight, torch.ones_like(m.weight)) for m in norms)
        assert all(torch.equal(m.bias, torch.zeros_like(m.bias)) for m in norms)


# ---- neuron -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("dataset", "theta"), [(CIFAR, 1.0), (DVS, 0.5)])
@pytest.mark.parametrize("method", ["asgl", "sg"])
def test_threshold_and_output_scale(dataset, method, theta):
    """model/layer.py LIFLayer emits ``spike * thresh``; --thresh 1.0 in the readme's CIFAR command, the
    default 0.5 in experiment/dvs/config/config.py (the DVS command does not set it). Hard reset to 0."""
    neurons = lifs(built(dataset, method))
    assert neurons and all(float(n.threshold) == theta and n.scale_output and n.reset == "hard"
                           for n in neurons)
    lif = neurons[0]
    was = lif.training
    lif.eval()
    try:
        x = torch.linspace(-2, 2, 3 * 64).view(3, 1, 64, 1, 1).expand(3, 1, 64, 2, 2).contiguous()
        out = lif(x)
    finally:
        lif.train(was)
    assert set(out.unique().tolist()) <= {0.0, theta} and (out == theta).any()


@pytest.mark.parametrize("method", ["asgl", "sg"])
def test_decay_is_learned_on_cifar_and_fixed_on_dvs(method):
    """experiment/development/main.py: ``decay = nn.Parameter(warp_decay(0.5))`` always (a logit, applied as a
    sigmoid in model/cell.py); experiment/dvs/main.py makes it a Parameter only with ``--train_decay``, which
    the readme's DVS command does not pass."""
    for n in lifs(built(CIFAR, method)):
        assert n.learn_decay and isinstance(n.decay_logit, nn.Parameter) and float(n.decay_logit.detach()) == 0.0
        assert float(n.decay().detach()) == 0.5
    for n in lifs(built(DVS, method)):
        assert not n.learn_decay and float(n.decay()) == 0.5
        assert not any("decay" in name for name, _ in n.named_parameters())


def test_cifar_asgl_learns_the_sigmoid_slope():
    """model/activation.py InvSigmoid: ``sigmoid(α·x)`` with ``α = 1/width`` (main.py passes ``1/--alpha``)
    learned directly, one per layer."""
    spikes = [m for m in built(CIFAR, "asgl").modules() if isinstance(m, ASGLSpike)]
    assert all(s.primitive == "sigmoid" and s.parameterisation == "slope" for s in spikes)
    spike = ASGLSpike(width=5.0, primitive="sigmoid", parameterisation="slope")
    assert isinstance(spike.raw_width, nn.Parameter) and spike.raw_width.shape == ()
    assert float(spike.raw_width.detach()) == pytest.approx(0.2)
    u = torch.linspace(-3, 3, 13)
    torch.testing.assert_close(F.primitive("sigmoid", u, spike.width()), torch.sigmoid(0.2 * u))


def test_dvs_asgl_learns_the_rectangle_log_slope():
    """model/activation.py InvRectangle (``--train_width``): ``clamp(e^a·x + 0.5, 0, 1)`` with the parameter
    ``a`` starting at ``log(1/--alpha)`` = 0 for ``--alpha 1.0``, one per layer (``--granularity layer``)."""
    spikes = [m for m in built(DVS, "asgl").modules() if isinstance(m, ASGLSpike)]
    assert len(spikes) == 8
    assert all(s.primitive == "rectangle" and s.parameterisation == "log_slope" for s in spikes)
    assert all(isinstance(s.raw_width, nn.Parameter) and s.raw_width.shape == () and float(s.raw_width.detach()) == 0.0
               for s in spikes)
    assert all(float(s.p) == pytest.approx(0.1) for s in spikes)  # --p 0.1
    spike = ASGLSpike(width=1.0, primitive="rectangle", parameterisation="log_slope")
    with torch.no_grad():
        spike.raw_width.fill_(0.3)
    u = torch.linspace(-1, 1, 41)
    a = torch.tensor(0.3, requires_grad=True)
    expected = torch.clamp(torch.exp(a) * u + 0.5, 0, 1)
    got = F.primitive("rectangle", u, spike.width())
    torch.testing.assert_close(got, expected)
    (g_ours,) = torch.autograd.grad(got.sum(), spike.raw_width)
    (g_theirs,) = torch.autograd.grad(expected.sum(), a)
    torch.testing.assert_close(g_ours, g_theirs)


@pytest.mark.parametrize(("dataset", "primitive"), [(CIFAR, "sigmoid"), (DVS, "rectangle")])
def test_sg_control_has_the_same_primitive_with_a_frozen_width(dataset, primitive):
    model = built(dataset, "sg")
    spikes = [m for m in model.modules() if isinstance(m, ASGLSpike)]
    assert all(s.primitive == primitive and float(s.width()) == 1.0 for s in spikes)
    assert not any("raw_width" in name for name, _ in model.named_parameters())


def test_p_schedule_is_the_authors():
    """--p 0.2 (CIFAR) / 0.1 (DVS), --gamma 1, --ns_milestone 0 .2 .4 .6 .8 .95 (config.py defaults)."""
    assert params_of(CIFAR, "asgl")["p"] == 0.2 and params_of(DVS, "asgl")["p"] == 0.1
    for dataset in (CIFAR, DVS):
        params = params_of(dataset, "asgl")
        assert params["gamma"] == 1.0 and tuple(params["milestones"]) == AUTHORS_MILESTONES


# ---- optimisers and schedules -------------------------------------------------------------------------------

@pytest.mark.parametrize(("dataset", "wd"), [(CIFAR, 5e-4), (DVS, 1e-3)])
def test_optimiser_groups_follow_split_params(dataset, wd):
    """main.py ``split_params``: conv and linear weights SGD (momentum 0.9, lr 0.1) with ``--wd``; batch-norm
    parameters and biases in the same SGD without decay; the LIF cells' parameters (width, decay when learned)
    in ``width_optim = Adam(lr=3e-4)``, no weight decay."""
    model = built(dataset, "asgl")
    optim = build_optimisers(model, config_of(dataset), steps_per_epoch=10)
    sgd, adam = optim.optimizers["weights"], optim.optimizers["neurons"]
    assert isinstance(sgd, torch.optim.SGD) and isinstance(adam, torch.optim.Adam)
    decayed, undecayed = sgd.param_groups
    ids = lambda params: {id(p) for p in params}  # noqa: E731
    assert ids(decayed["params"]) == ids(m.weight for m in synaptic(model))
    assert decayed["weight_decay"] == wd and undecayed["weight_decay"] == 0.0
    norm_and_bias = [p for m in model.modules() if isinstance(m, BATCH_NORM) for p in m.parameters()]
    norm_and_bias += [m.bias for m in synaptic(model) if m.bias is not None]
    assert ids(undecayed["params"]) == ids(norm_and_bias)
    assert sgd.defaults["momentum"] == 0.9 and decayed["lr"] == pytest.approx(0.1)
    (group,) = adam.param_groups
    neuron_params = [p for m in model.modules() if isinstance(m, (LIF, ASGLSpike)) for p in m.parameters()]
    assert ids(group["params"]) == ids(neuron_params)
    assert group["lr"] == pytest.approx(3e-4) and group["weight_decay"] == 0.0
    learned = {name.rsplit(".", 1)[-1] for name, p in model.named_parameters() if id(p) in ids(group["params"])}
    assert learned == ({"raw_width", "decay_logit"} if dataset == CIFAR else {"raw_width"})


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before")
@pytest.mark.parametrize(("dataset", "epochs"), [(CIFAR, 300), (DVS, 100)])
def test_cosine_steps_once_per_epoch_and_the_width_rate_is_constant(dataset, epochs):
    """main.py: ``CosineAnnealingLR(optimizer, eta_min=0, T_max=num_epoch)`` stepped after each epoch, so the
    rate is ``0.1·(1 + cos(π e / E)) / 2`` through epoch ``e``; the width optimiser has no scheduler."""
    config = config_of(dataset)
    assert config.epochs == epochs
    steps = 7
    optim = build_optimisers(nn.Sequential(LIF(ASGLSpike(), learn_decay=True), nn.Linear(2, 2)), config, steps)
    for epoch in (0, 1, epochs // 2, epochs - 1):
        while optim.schedulers["weights"].last_epoch < epoch * steps:
            optim.step_schedulers()
        rates = []
        for _ in range(steps):
            rates.append(optim.learning_rates())
            optim.step_schedulers()
        expected = 0.1 * (1 + math.cos(math.pi * epoch / epochs)) / 2
        assert all(r["lr/weights"] == pytest.approx(expected, abs=1e-12) for r in rates)
        assert all(r["lr/neurons"] == pytest.approx(3e-4) for r in rates)


def test_losses_are_the_authors():
    """experiment/development: CrossEntropyLoss on the time-mean output; experiment/dvs: TET_loss with
    ``--means 1.0``, ``--lamb 1e-3``."""
    assert config_of(CIFAR).loss == "ce"
    dvs = config_of(DVS)
    assert (dvs.loss, dvs.tet_lambda, dvs.tet_phi) == ("tet", 1e-3, 1.0)
    assert (config_of(CIFAR).batch_size, dvs.batch_size) == (128, 32)


# ---- data ---------------------------------------------------------------------------------------------------

def test_cifar_is_normalised_with_the_authors_constants(tmp_path):
    """main.py ``loadData``: ``Normalize((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))`` for CIFAR-10,
    ``((0.5071, 0.4867, 0.4408), (0.2675, 0.2565, 0.2761))`` for CIFAR-100, on ``ToTensor``'s [0, 1] scale."""
    assert CIFAR_NORMALISATION[10] == ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))
    assert CIFAR_NORMALISATION[100] == ((0.5071, 0.4867, 0.4408), (0.2675, 0.2565, 0.2761))
    write_cifar10(tmp_path, np.random.default_rng(0), per_batch=4)
    built_data = build_cifar(tmp_path, {"variant": 10, "dtype": "float32"})
    stats = built_data.extra["normalisation"]
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in CIFAR_NORMALISATION[10])
    assert stats == {"mean": list(CIFAR_NORMALISATION[10][0]), "std": list(CIFAR_NORMALISATION[10][1])}
    pixels = (built_data.tensors["train_x"] * std + mean) * 255
    assert (pixels - pixels.round()).abs().max() < 1e-3 and pixels.min() > -1e-3 and pixels.max() < 255.001


def test_cutout_blackens_a_16_pixel_square_before_normalisation():
    """main.py ``loadData``: ``ToTensor`` → ``Cutout(n_holes=1, length=16)`` → ``Normalize``; util/image_augment.py
    Cutout multiplies a square ``[y − 8, y + 8) × [x − 8, x + 8)`` (centre uniform, clipped at the border) by
    0, so after normalisation the square holds ``−mean/std`` (black), not 0 (the mean)."""
    assert PAPER["datasets"][CIFAR]["train"]["augment"] == "cifar" and CUTOUT == 16
    norm = {"mean": list(CIFAR_NORMALISATION[100][0]), "std": list(CIFAR_NORMALISATION[100][1])}
    augment = build_augment("cifar", norm)
    augment.policy, augment.padding = None, 0  # a uniform image then passes crop and flip unchanged
    x = augment.normalise(torch.full((16, 3, 32, 32), 200, dtype=torch.uint8))
    out = augment(x, seed=5)
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in CIFAR_NORMALISATION[100])
    black, image = -mean / std, (200 / 255 - mean) / std
    is_black = (out - black).abs().lt(1e-5).all(1)
    assert ((out - image).abs().lt(1e-5).all(1) | is_black).all()  # nothing but the image and the square
    for mask in is_black:
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        assert 8 <= len(rows) <= 16 and 8 <= len(cols) <= 16
        assert mask[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()
        assert int(mask.sum()) == len(rows) * len(cols)  # one filled rectangle


def test_a_per_epoch_cosine_run_resumes_exactly(tmp_path):
    """The per-epoch schedule's state travels with the checkpoint: an interrupted run ends as an uninterrupted one."""
    from asgl.training import train
    from tests.unit.test_training import CONFIG, Interrupt, _strip, make_data, make_model

    train_data, test_data = make_data()
    config = CONFIG.replace(lr_schedule="cosine_epoch", metrics_samples=0)
    model, callbacks = make_model()
    full = train(model, train_data, test_data, config, tmp_path / "full", callbacks)
    model, callbacks = make_model()
    with pytest.raises(KeyboardInterrupt):
        train(model, train_data, test_data, config, tmp_path / "cut", [*callbacks, Interrupt(2)])
    model, callbacks = make_model(seed=7)
    resumed = train(model, train_data, test_data, config.replace(resume=True), tmp_path / "cut", callbacks)
    assert _strip(full.history) == _strip(resumed.history)
    rates = [row["lr/weights"] for row in full.history]
    assert rates == pytest.approx([0.05 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)])

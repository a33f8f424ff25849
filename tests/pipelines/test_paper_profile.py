"""The paper profile starts on the CPU: every dataset's model, with every method's neuron and the profile's own
training settings, takes one optimiser step on a batch of the dataset's real input shape."""

import functools
from pathlib import Path

import pytest
import torch
import yaml

import baselines  # noqa: F401  (registers the baselines)
from asgl.models import build_model
from asgl.registry import get_method
from asgl.training.config import TrainConfig
from asgl.training.losses import per_sample_loss
from asgl.training.optim import build_optimisers

ROOT = Path(__file__).resolve().parents[2]
PAPER = yaml.safe_load((ROOT / "profiles" / "paper.yaml").read_text())
# One sample's model input (time-major where the data are temporal) and the number of classes.
SHAPES = {
    "cifar10": ((3, 32, 32), 10, False),
    "cifar100": ((3, 32, 32), 100, False),
    "cifar10-dvs": ((10, 2, 48, 48), 10, True),
    "shd": ((100, 700), 20, True),
    "medley-solos-db": ((32, 32), 8, True),
}


@pytest.mark.parametrize("dataset", PAPER["run"]["datasets"])
@pytest.mark.parametrize("method", ["asgl", "sg", "snntorch-atan", "sharpen"])
def test_paper_profile_takes_one_step_on_the_cpu(dataset, method):
    shape, classes, temporal = SHAPES[dataset]
    block = PAPER["datasets"][dataset]
    spec = get_method(method)
    section = {**PAPER["methods"][method], **(block.get("method_overrides") or {}).get(method, {})}
    params = spec.resolve_params(section)
    torch.manual_seed(0)
    model = build_model(block["model"], functools.partial(spec.make_neuron, params), num_classes=classes,
                        **block.get("model_kwargs", {}))
    config = TrainConfig.from_dict({**block["train"], "device": "cpu", "time_major_input": temporal})
    optim = build_optimisers(model, config, steps_per_epoch=1)
    batch = 2
    x = torch.rand((shape[0], batch, *shape[1:]) if temporal else (batch, *shape))
    y = torch.randint(0, classes, (batch,))
    before = [p.detach().clone() for p in model.parameters()]
    logits = model(x)
    assert logits.shape[1:] == (batch, classes)
    loss = per_sample_loss(config.loss, logits, y, config.tet_lambda, config.tet_phi).mean()
    optim.zero_grad()
    loss.backward()
    for opt in optim.optimizers.values():
        opt.step()
    assert torch.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))

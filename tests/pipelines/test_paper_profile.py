"""The paper profile starts on the CPU: every dataset's model, with every method's neuron and the profile's own
training settings (augmentation included), takes one optimiser step on a batch of the dataset's real input
shape; every row has its published figure or says it has none; the plan command prints its estimate."""

import functools
from pathlib import Path

import pytest
import torch
import yaml

import baselines  # noqa: F401  (registers the baselines)
from asgl.data.shapes import expected_shape
from asgl.models import build_model
from asgl.registry import get_method
from asgl.training.augment import build_augment
from asgl.training.batches import model_input
from asgl.training.config import TrainConfig
from asgl.training.losses import per_sample_loss
from asgl.training.optim import build_optimisers
from pipelines.commands import plan

ROOT = Path(__file__).resolve().parents[2]
PAPER = yaml.safe_load((ROOT / "profiles" / "paper.yaml").read_text())
REFERENCE = yaml.safe_load((ROOT / "reference_results.yaml").read_text())
DATASETS = PAPER["run"]["datasets"]
METHODS = list(PAPER["run"]["methods"])
# The image and event models at full size (ResNet-18, VGG-13, VGGSNN: 9-11 M weights) take seconds per step on
# one core, about 90 s of CPU for all their pairs: they run under `-m slow`; the audio pairs run by default.
LIGHT = {"shd", "medley-solos-db"}
PAIRS = [pytest.param(d, m, marks=[] if d in LIGHT else [pytest.mark.slow]) for d in DATASETS for m in METHODS]


def test_the_paper_profile_has_all_seven_datasets_at_the_published_time_steps():
    sources = {d: d.removesuffix("-t4") for d in DATASETS}
    assert set(sources.values()) == {"cifar10", "cifar100", "tiny-imagenet", "cifar10-dvs", "dvs-gesture", "shd",
                                     "medley-solos-db"}
    steps = {d: PAPER["datasets"][d]["model_kwargs"].get("time_steps") for d in DATASETS}
    assert [steps[d] for d in ("cifar10", "cifar10-t4", "cifar100", "cifar100-t4", "tiny-imagenet")] == [2, 4, 2, 4, 4]
    assert steps["cifar10-dvs"] == 10 and PAPER["datasets"]["tiny-imagenet"]["model"] == "vgg13"
    assert PAPER["results_dir"] == "results/paper"
    assert all(PAPER["datasets"][d]["train"]["amp"] is False for d in DATASETS)  # float32, as the authors


def test_lif_methods_use_the_authors_neuron():
    """experiment/development: θ = 1, learnt decay; experiment/dvs: θ = 0.5, decay fixed (no --train_decay)."""
    for method in METHODS:
        section = PAPER["methods"][method]
        assert section["learn_decay"] is True and section["reset"] == "hard" and section["threshold"] == 1.0
        if get_method(method).family != "snntorch":  # snnTorch emits o; with θ = 1 that is θ·o
            assert section["scale_output"] is True
        for dataset in ("cifar10-dvs", "dvs-gesture"):
            override = PAPER["datasets"][dataset]["method_overrides"][method]
            assert override["threshold"] == 0.5 and override["learn_decay"] is False, (dataset, method)


@pytest.mark.parametrize(("dataset", "method"), PAIRS)
def test_paper_profile_takes_one_step_on_the_cpu(dataset, method):
    block = PAPER["datasets"][dataset]
    shape = expected_shape(dataset, block.get("prepare"))
    spec = get_method(method)
    section = {**PAPER["methods"][method], **(block.get("method_overrides") or {}).get(method, {})}
    params = spec.resolve_params(section)
    torch.manual_seed(0)
    model = build_model(block["model"], functools.partial(spec.make_neuron, params), num_classes=shape.num_classes,
                        **block.get("model_kwargs", {}))
    config = TrainConfig.from_dict({**block["train"], "device": "cpu", "time_major_input": shape.temporal})
    assert config.amp is False
    optim = build_optimisers(model, config, steps_per_epoch=1)
    batch = 2
    x = torch.randint(0, 3, (batch, *shape.x_shape), dtype=torch.uint8) if shape.dtype == "uint8" else \
        torch.randn(batch, *shape.x_shape).to(getattr(torch, shape.dtype))
    augment = build_augment(config.augment, plan.IMAGE_STATS if shape.normalised else None)
    if augment is not None:
        x = augment(x, 0)
    x = model_input(x, config.time_major_input)
    y = torch.randint(0, shape.num_classes, (batch,))
    before = [p.detach().clone() for p in model.parameters()]
    logits = model(x)
    assert logits.shape[1:] == (batch, shape.num_classes)
    loss = per_sample_loss(config.loss, logits, y, config.tet_lambda, config.tet_phi).mean()
    optim.zero_grad()
    loss.backward()
    for opt in optim.optimizers.values():
        opt.step()
    assert torch.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_every_paper_row_has_its_published_figure_or_says_there_is_none():
    sources = REFERENCE["sources"]
    published = {(r["dataset"], r["method"]) for r in REFERENCE["results"]}
    for r in REFERENCE["results"]:
        assert r["source"] in sources and isinstance(r["accuracy"], float), r
    missing = []
    for dataset in DATASETS:
        for method in METHODS:
            unpublished = method in (REFERENCE["not_published"].get(dataset) or [])
            assert not (unpublished and (dataset, method) in published), (dataset, method)
            if not unpublished and (dataset, method) not in published:
                missing.append((dataset, method))
    assert not missing, f"rows of the paper profile with neither a published figure nor 'not published': {missing}"


def test_plan_prints_the_estimate_on_the_cpu(capsys):
    status = plan.main(["--profile", "paper", "--device", "cpu", "--steps", "1", "--datasets", "shd",
                        "--methods", "sg", "--threads", "1"])
    out = capsys.readouterr().out
    assert status == 0, out
    row = next(line for line in out.splitlines() if line.startswith("shd "))
    runs, epochs, steps_per_epoch = (int(v) for v in row.split()[2:5])
    assert (runs, epochs, steps_per_epoch) == (5, 100, 64)  # sweep of 5 widths; 100 epochs; ⌈8156 / 128⌉
    assert "estimated wall time of the selected pairs" in out


def test_plan_fails_fast_in_one_line(capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)\nmore detail")

    monkeypatch.setattr(plan, "_measure", broken)
    assert plan.main(["--profile", "paper", "--device", "cpu", "--datasets", "shd,cifar10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: shd × asgl: RuntimeError: mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"]
    assert plan.main(["--profile", "paper", "--datasets", "mnist"]) == 2
    assert "not in this profile" in capsys.readouterr().err

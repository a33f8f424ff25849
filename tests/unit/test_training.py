"""The trainer on a tiny synthetic task: learning, exact resume, NaN guard, run-directory files."""

import csv
import json

import pytest
import torch
from torch import nn

from asgl.registry import get_method
from asgl.training import Callback, NonFiniteLossError, TrainConfig, train
from asgl.training.checkpoint import load_checkpoint, save_checkpoint
from tests.conftest import TinyNet

T, F, K = 3, 6, 3
# Exact-resume checks run on both CPU backends: the fused numba kernel is bit-identical across calls.
BACKENDS = ("autograd", "numba")
TIMING = ("epoch_time_s", "train_samples_per_s")


def make_data(n: int = 60, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, K, (n,), generator=g)
    x = (torch.randn(K, F, generator=g) * 2)[y][:, None, :] + torch.randn(n, T, F, generator=g)  # [N, T, F]
    return (x[:40], y[:40]), (x[40:], y[40:])


def make_model(method: str = "asgl", seed: int = 0, backend: str = "autograd"):
    torch.manual_seed(seed)
    spec = get_method(method)
    params = {"width": 1.0, "p": 0.3, "backend": backend} if method == "asgl" else {}
    return TinyNet(spec.neuron_factory(params), F, 12, K), spec.make_callbacks(params)


CONFIG = TrainConfig(epochs=4, batch_size=10, lr=0.05, neuron_lr=1e-2, time_major_input=True, progress=False,
                     metrics_samples=20)


class Interrupt(Callback):
    """Stop the run when epoch ``at`` is about to start (after ``at`` checkpoints were written)."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def on_epoch_start(self, ctx) -> None:
        if ctx.epoch == self.at:
            raise KeyboardInterrupt


class PoisonReadout(Callback):
    def on_epoch_start(self, ctx) -> None:
        if ctx.epoch == 1:
            with torch.no_grad():
                ctx.model.fc2.weight[0, 0] = float("nan")


def _strip(rows):
    return [{k: v for k, v in row.items() if k not in TIMING} for row in rows]


def test_loss_decreases_and_the_run_directory_is_complete(tmp_path):
    train_data, test_data = make_data()
    model, callbacks = make_model()
    result = train(model, train_data, test_data, CONFIG, tmp_path, callbacks, meta={"method": "asgl"})
    losses = [row["loss"] for row in result.history]
    assert losses[-1] < losses[0]
    assert result.metrics["test_accuracy"] >= 0.6
    assert {"config.json", "environment.json", "checkpoint.pt", "history.csv", "metrics.json"} <= {
        p.name for p in tmp_path.iterdir()}
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["train"]["epochs"] == 4 and config["meta"] == {"method": "asgl"}
    env = json.loads((tmp_path / "environment.json").read_text())
    assert {"git_sha", "packages", "device", "torch_threads"} <= set(env)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("test_accuracy", "firing_rate", "activation_sparsity", "effective_acs", "effective_macs",
                "dense_synops", "energy_pj_per_sample", "energy_model", "parameter_count", "footprint_bytes",
                "inference_samples_per_s", "train_peak_memory_bytes", "width/neuron.spike", "p/neuron.spike"):
        assert key in metrics, key
    rows = list(csv.DictReader((tmp_path / "history.csv").open()))
    assert len(rows) == 4 and {"loss", "train_accuracy", "test_accuracy", "lr/weights", "lr/neurons",
                               "p/neuron.spike", "width/neuron.spike"} <= set(rows[0])
    assert float(rows[-1]["width/neuron.spike"]) != pytest.approx(1.0)  # the width learned


@pytest.mark.parametrize("backend", BACKENDS)
def test_resume_after_interruption_matches_an_uninterrupted_run(tmp_path, backend):
    train_data, test_data = make_data()
    model, callbacks = make_model(backend=backend)
    full = train(model, train_data, test_data, CONFIG, tmp_path / "full", callbacks)

    model, callbacks = make_model(backend=backend)
    with pytest.raises(KeyboardInterrupt):
        train(model, train_data, test_data, CONFIG, tmp_path / "cut", [*callbacks, Interrupt(2)])
    assert load_checkpoint(tmp_path / "cut")["epoch"] == 2
    # a different init: everything must come from the checkpoint
    model, callbacks = make_model(seed=123, backend=backend)
    resumed = train(model, train_data, test_data, CONFIG.replace(resume=True), tmp_path / "cut", callbacks)

    assert resumed.resumed_from_epoch == 2
    for (name, a), (_, b) in zip(full.model.state_dict().items(), resumed.model.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert _strip(full.history) == _strip(resumed.history)
    for key in ("test_accuracy", "firing_rate", "effective_acs", "energy_pj_per_sample"):
        assert full.metrics[key] == resumed.metrics[key]


def test_resume_refuses_a_changed_config(tmp_path):
    train_data, test_data = make_data()
    model, callbacks = make_model("sg")
    with pytest.raises(KeyboardInterrupt):
        train(model, train_data, test_data, CONFIG, tmp_path, [*callbacks, Interrupt(1)])
    with pytest.raises(ValueError, match="lr"):
        train(model, train_data, test_data, CONFIG.replace(resume=True, lr=0.5), tmp_path, callbacks)


def test_non_finite_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(tmp_path):
    train_data, test_data = make_data()
    model, callbacks = make_model("sg")
    with pytest.raises(NonFiniteLossError, match=r"epoch 2, step 1.*lower learning rate") as info:
        train(model, train_data, test_data, CONFIG, tmp_path, [*callbacks, PoisonReadout()])
    assert "\n" not in str(info.value)
    saved = load_checkpoint(tmp_path)  # weights_only=True
    assert saved["epoch"] == 1 and len(saved["history"]) == 1
    assert all(torch.isfinite(t).all() for t in saved["model"].values())
    assert not (tmp_path / "metrics.json").exists()


def test_tet_loss_and_static_inputs_train(tmp_path):
    (x, y), (xt, yt) = make_data()
    static = (x[:, 0], y), (xt[:, 0], yt)  # [N, F]: fed as is, repeated over time by the model

    class Repeat(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = make_model("sg")[0]

        def forward(self, x):
            return self.body(x.unsqueeze(0).expand(T, *x.shape))

    config = CONFIG.replace(loss="tet", time_major_input=False, epochs=2, metrics_samples=0)
    result = train(Repeat(), *static, config, tmp_path)
    assert len(result.history) == 2 and "firing_rate" not in result.metrics


class ImageNet(nn.Module):
    """[B, 3, 8, 8] images → repeated over T → Linear → neuron → Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.body = TinyNet(get_method("sg").neuron_factory({}), F, 12, K)
        self.body.fc1 = nn.Linear(3 * 8 * 8, 12)

    def forward(self, x):
        flat = x.flatten(1)
        return self.body(flat.unsqueeze(0).expand(T, *flat.shape))


def test_cifar_augmentation_changes_training_and_resumes_exactly(tmp_path):
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (50, 3, 8, 8), generator=g).float() / 255
    x, y = (images - 0.5) / 0.25, torch.randint(0, K, (50,), generator=g)
    train_data, test_data = (x[:40], y[:40]), (x[40:], y[40:])
    norm = {"mean": [0.5] * 3, "std": [0.25] * 3}
    config = CONFIG.replace(time_major_input=False, metrics_samples=0, epochs=3, augment="cifar")
    with pytest.raises(ValueError, match="normalisation"):
        train(ImageNet(), train_data, test_data, config, tmp_path / "no-stats")

    torch.manual_seed(0)
    full = train(ImageNet(), train_data, test_data, config, tmp_path / "full", normalisation=norm)
    torch.manual_seed(0)
    plain = train(ImageNet(), train_data, test_data, config.replace(augment="none"), tmp_path / "plain")
    assert _strip(full.history) != _strip(plain.history)

    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        train(ImageNet(), train_data, test_data, config, tmp_path / "cut", [Interrupt(2)], normalisation=norm)
    torch.manual_seed(5)
    resumed = train(ImageNet(), train_data, test_data, config.replace(resume=True), tmp_path / "cut",
                    normalisation=norm)
    for (name, a), (_, b) in zip(full.model.state_dict().items(), resumed.model.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert _strip(full.history) == _strip(resumed.history)


def test_checkpoints_from_before_a_new_config_key_still_resume(tmp_path):
    """A checkpoint whose saved config lacks a key added later (here ``augment``) resumes with its default."""
    train_data, test_data = make_data()
    model, callbacks = make_model("sg")
    with pytest.raises(KeyboardInterrupt):
        train(model, train_data, test_data, CONFIG, tmp_path, [*callbacks, Interrupt(1)])
    saved = load_checkpoint(tmp_path)
    del saved["config"]["augment"]
    save_checkpoint(tmp_path, {k: v for k, v in saved.items() if k not in ("format", "sha256")})
    result = train(model, train_data, test_data, CONFIG.replace(resume=True), tmp_path, callbacks)
    assert result.resumed_from_epoch == 1


class Guarded(nn.Module):
    """TinyNet whose hidden layer refuses non-finite input, as a layer with a finiteness guard would."""

    def __init__(self, fail_at_call: int | None = None) -> None:
        super().__init__()
        self.body, self.calls, self.fail_at_call = make_model("sg")[0], 0, fail_at_call

    def forward(self, x):
        self.calls += 1
        hidden = self.body.fc1(x)
        if not torch.isfinite(hidden).all() or self.calls == self.fail_at_call:
            raise ValueError("hidden input contains NaN or inf")
        return self.body.fc2(self.body.neuron(hidden))


class PoisonGuarded(Callback):
    def on_epoch_start(self, ctx) -> None:
        if ctx.epoch == 1:
            with torch.no_grad():
                ctx.model.body.fc2.weight[0, 0] = float("nan")


def test_an_error_after_a_non_finite_loss_is_reported_as_that_loss(tmp_path):
    """The non-finite loss of epoch 2, step 1 is read at the epoch's end; the update it made poisons fc1, so the
    next step's guard raises first: the trainer names the loss, with the guard's error as its cause."""
    train_data, test_data = make_data()
    with pytest.raises(NonFiniteLossError, match=r"epoch 2, step 1\b") as info:
        train(Guarded(), train_data, test_data, CONFIG, tmp_path, [PoisonGuarded()])
    assert isinstance(info.value.__cause__, ValueError)
    assert load_checkpoint(tmp_path)["epoch"] == 1


def test_an_error_without_a_non_finite_loss_is_not_renamed(tmp_path):
    train_data, test_data = make_data()
    with pytest.raises(ValueError, match="hidden input"):
        train(Guarded(fail_at_call=6), train_data, test_data, CONFIG, tmp_path)  # every loss was finite


class PoisonHidden(Callback):
    """A NaN into one hidden unit's weights: the SG neuron's Heaviside stays silent there, the loss finite."""

    def on_epoch_start(self, ctx) -> None:
        if ctx.epoch == 1:
            with torch.no_grad():
                ctx.model.fc1.weight[0, 0] = float("nan")


def test_nan_reaching_a_lif_with_a_finite_loss_stops_training(tmp_path):
    train_data, test_data = make_data()
    model, callbacks = make_model("sg")
    with pytest.raises(NonFiniteLossError, match=r"LIF layer\(s\) neuron in epoch 2 \(the loss stayed finite\)"):
        train(model, train_data, test_data, CONFIG, tmp_path, [*callbacks, PoisonHidden()])
    assert load_checkpoint(tmp_path)["epoch"] == 1

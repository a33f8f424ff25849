"""One trainer for every method: ``train(model, train_data, test_data, config, run_dir, callbacks)``.

Per step, with a global batch of ``B`` samples split over ``W`` ranks (``W = 1`` without DDP) and the
per-sample losses ``ℓ_b`` of :mod:`asgl.training.losses`, each rank back-propagates
``L_r = (W / B) Σ_{b ∈ rank r} ℓ_b``; DDP averages gradients over ranks, so the update is that of the
single-process mean ``(1/B) Σ_b ℓ_b`` on the same global batch. Then both optimisers step (weights and
neuron parameters, :mod:`asgl.training.optim`) and their schedulers advance.

Run directory (written by rank 0)::

    config.json       {"train": TrainConfig fields, "meta": caller's meta (method, dataset, params…)}
    environment.json  git SHA, package versions, device, torch threads, world size
    checkpoint.pt     after every epoch (atomic; weights_only-loadable), see asgl.training.checkpoint
    history.csv       one row per epoch, see asgl.training.records
    metrics.json      final metrics, see :func:`final_metrics`

Determinism: on CPU, a run is a function of ``(model init, data, config)``; ``resume=True`` restores
weights, optimiser and scheduler states, RNG states and history and reaches the same final weights and
metrics as an uninterrupted run. A non-finite loss raises :class:`NonFiniteLossError` and leaves the last
good checkpoint in place.

Host–device synchronisation: a training step reads nothing back. Loss sums, correct predictions and the
finiteness of the loss accumulate on the device (:class:`EpochTotals`) and are read once per epoch, which is
also when a non-finite loss, or NaN/inf reaching a LIF layer (:func:`asgl.neuron.take_nonfinite_inputs`), is
detected (the steps after it in that epoch are wasted, never saved). Per epoch the throughput meter also
synchronises twice (end of warm-up, end of epoch). What remains per step belongs to torch:
``GradScaler.step`` reads its inf check (float16 AMP only).

Progress (rank 0): a tqdm bar when ``progress`` is on and stderr is a terminal; otherwise one plain line per
epoch on stderr (:func:`asgl.training.records.epoch_line`), so container logs show hours-long runs advance.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from asgl.errors import UserError
from asgl.io import atomic_write_json
from asgl.metrics import (
    ENERGY_MODEL,
    PeakMemory,
    ThroughputMeter,
    footprint_bytes,
    inference_throughput,
    parameter_count,
    prediction_codes,
    predictions,
    workload_metrics,
)
from asgl.neuron import model_backend, take_nonfinite_inputs
from asgl.training import batches as B
from asgl.training import checkpoint as C
from asgl.training import records as R
from asgl.training.augment import batch_seed, build_augment
from asgl.training.callbacks import Callback, RunContext
from asgl.training.config import TrainConfig
from asgl.training.distributed import DistContext, unwrap
from asgl.training.environment import environment
from asgl.training.losses import per_sample_loss
from asgl.training.optim import Optimisers, build_optimisers

# Keys that may change between an interrupted run and its resumption.
RESUMABLE_CHANGES = frozenset({"resume", "progress", "eval_every", "eval_batch_size", "metrics_samples",
                               "throughput_warmup"})


THROUGHPUT_BATCHES = 8  # timed inference batches after the warm-up (test batches, repeated if fewer)


class NonFiniteLossError(RuntimeError, UserError):
    """Training became non-finite: a NaN or infinite loss (the message names epoch and step), or NaN/inf reaching
    a LIF layer's input while the loss stayed finite (it names epoch and layers)."""


@dataclass
class RunResult:
    """Outcome of :func:`train`: the trained (unwrapped) model, history rows, final metrics, run directory."""

    model: nn.Module
    history: list[dict[str, Any]]
    metrics: dict[str, Any]
    run_dir: Path
    resumed_from_epoch: int = 0


def _autocast(device: torch.device, config: TrainConfig):
    if device.type == "cuda" and config.amp:
        return torch.autocast("cuda", dtype=getattr(torch, config.amp_dtype))
    return contextlib.nullcontext()


def evaluate_predictions(model: nn.Module, data, config: TrainConfig, device: torch.device) -> torch.Tensor:
    """Predicted class of every sample of ``data``, ``[N]`` in the data's order, with ``model`` in ``eval()``
    (restores the training flag). Stays on the device: one read when the caller needs it."""
    was_training = model.training
    model.eval()
    out = []
    try:
        with torch.no_grad(), _autocast(device, config):
            for x, _ in B.eval_batches(data, config.eval_batch_size, config.time_major_input, device):
                out.append(predictions(model(x)))
    finally:
        model.train(was_training)
    return torch.cat(out)


def evaluate_accuracy(model: nn.Module, data, config: TrainConfig, device: torch.device) -> float:
    """Top-1 accuracy of ``model`` in ``eval()`` on ``data``: ``(1/N) Σ_i [ŷ_i = y_i]``."""
    predicted = evaluate_predictions(model, data, config, device)
    return int((predicted.cpu() == data[1].cpu()).sum()) / int(predicted.shape[0])


def _check_resume(saved: Mapping[str, Any], config: TrainConfig) -> None:
    current, defaults = config.to_dict(), TrainConfig().to_dict()
    changed = sorted(k for k in current
                     if k not in RESUMABLE_CHANGES and saved.get(k, defaults[k]) != current[k])
    if changed:
        raise ValueError(f"cannot resume: config changed since the checkpoint in {changed} "
                         f"(e.g. {changed[0]}: {saved.get(changed[0], defaults[changed[0]])!r} → "
                         f"{current[changed[0]]!r}); "
                         "use a new run directory")


class EpochTotals:
    """One epoch's step statistics, summed on the device and read once (no host–device sync per step).

    ``values`` (float64, on the training device) holds ``[Σ_b ℓ_b, Σ_b 𝟙[ŷ_b = y_b], clean steps, non-finite
    steps, first non-finite loss]``: *clean steps* counts the steps before the first non-finite loss (so that
    step is ``clean + 1``, 1-based) and the last entry keeps that loss's value. Samples are counted on the host.
    """

    CLEAN, BAD, FIRST = 2, 3, 4

    def __init__(self, device: torch.device) -> None:
        self.values = torch.zeros(5, dtype=torch.float64, device=device)
        self.samples = 0

    def add(self, loss_sum: torch.Tensor, logits: torch.Tensor, target: torch.Tensor) -> None:
        """Record one step: its summed loss ``Σ_b ℓ_b``, logits ``[T, B, K]``, targets ``[B]``."""
        loss = loss_sum.detach().double()
        bad = ~torch.isfinite(loss)
        clean = self.values[self.BAD] == 0
        correct = (predictions(logits.detach()) == target).sum().double()
        self.values[self.FIRST] = torch.where(clean & bad, loss, self.values[self.FIRST])
        self.values[:self.FIRST] += torch.stack([loss, correct, (clean & ~bad).double(), bad.double()])
        self.samples += int(target.shape[0])

    def read(self, ctx: DistContext) -> tuple[list[float], list[float]]:
        """``(summed over ranks, this rank's)`` values followed by the sample count, in one transfer."""
        mine = torch.cat([self.values, torch.tensor([self.samples], dtype=torch.float64).to(self.values.device)])
        both = torch.cat([ctx.all_reduce_sum(mine), mine]).tolist()
        return both[:mine.numel()], both[mine.numel():]


def _stopped(what: str, config: TrainConfig, run_dir: Path, last_good: int) -> NonFiniteLossError:
    """One line: what happened, the kept checkpoint, what to try."""
    kept = (f"the last good checkpoint (epoch {last_good}) is kept in {C.checkpoint_path(run_dir)}"
            if last_good else "no checkpoint was written yet")
    return NonFiniteLossError(f"{what}; training stopped and {kept}; try a lower learning rate (lr={config.lr}, "
                              f"neuron_lr={config.neuron_lr}) or gradient clipping (grad_clip)")


def _non_finite(local: Sequence[float], epoch: int, config: TrainConfig, run_dir: Path,
                last_good: int) -> NonFiniteLossError:
    """The error for a recorded non-finite loss, naming epoch and step (1-based) of this rank's first one."""
    mine = local[EpochTotals.BAD] > 0
    where = (f"epoch {epoch + 1}, step {int(local[EpochTotals.CLEAN]) + 1}" if mine
             else f"epoch {epoch + 1} on another rank")
    value = local[EpochTotals.FIRST] if mine else float("nan")
    return _stopped(f"non-finite training loss ({value}) at {where}", config, run_dir, last_good)


def _epoch(net: nn.Module, wrapped: nn.Module, data, config: TrainConfig, epoch: int, ctx: DistContext,
           device: torch.device, optim: Optimisers, scaler, bar, run_dir: Path, last_good: int,
           augment: Callable[[torch.Tensor, int], torch.Tensor] | None) -> dict[str, Any]:
    """Train one epoch; returns the history fields it measured.

    Loss, correct predictions and the finiteness of the loss stay on the device during the epoch and are read
    once at its end (:class:`EpochTotals`). A non-finite loss raises :class:`NonFiniteLossError` then, naming
    its step, before anything of the epoch is saved; an error raised by a later step of the same epoch (e.g.
    a layer refusing NaN input after the bad update) is reported as that non-finite loss. The LIF layers'
    NaN/inf input flags (:func:`asgl.neuron.take_nonfinite_inputs`) are read at the same time.
    """
    x_all, y_all = data
    wrapped.train()
    row: dict[str, Any] = optim.learning_rates()
    meter = ThroughputMeter(device, max(1, config.throughput_warmup))
    totals = EpochTotals(device)
    started = time.perf_counter()
    batches = B.global_batches(x_all.shape[0], config.batch_size, config.seed, epoch, min_size=ctx.world_size)
    try:
        for step, batch in enumerate(batches):
            local = ctx.shard(batch)
            x = x_all[local]
            if augment is not None:
                x = augment(x, batch_seed(config.seed, epoch, step, ctx.rank))
            x = B.model_input(x, config.time_major_input).to(device, non_blocking=True)
            y = y_all[local].to(device, non_blocking=True)
            with _autocast(device, config):
                logits = wrapped(x)
                losses = per_sample_loss(config.loss, logits, y, config.tet_lambda, config.tet_phi)
            loss_sum = losses.sum()
            loss = loss_sum * (ctx.world_size / batch.numel())
            optim.zero_grad()
            (scaler.scale(loss) if scaler else loss).backward()
            if config.grad_clip > 0:
                if scaler:
                    for opt in optim.optimizers.values():
                        scaler.unscale_(opt)
                torch.nn.utils.clip_grad_norm_(net.parameters(), config.grad_clip)
            for opt in optim.optimizers.values():
                scaler.step(opt) if scaler else opt.step()
            if scaler:
                scaler.update()
            optim.step_schedulers()
            totals.add(loss_sum, logits, y)
            meter.step(batch.numel())
            bar.update(1)
    except Exception as exc:
        try:
            local_values = totals.values.tolist()
        except Exception:  # the device itself failed: report the original error
            raise exc from None
        if local_values[EpochTotals.BAD]:
            raise _non_finite(local_values, epoch, config, run_dir, last_good) from exc
        raise
    summed, local_values = totals.read(ctx)
    if summed[EpochTotals.BAD]:
        raise _non_finite(local_values, epoch, config, run_dir, last_good)
    layers = take_nonfinite_inputs(net)  # the LIFs' device-side NaN/inf flags, one read
    if layers:
        raise _stopped(f"NaN or inf reached the input of LIF layer(s) {', '.join(layers)} in epoch {epoch + 1} "
                       "(the loss stayed finite)", config, run_dir, last_good)
    samples = summed[-1]
    row.update(loss=summed[0] / samples, train_accuracy=summed[1] / samples,
               epoch_time_s=time.perf_counter() - started, train_samples_per_s=meter.samples_per_second())
    bar.set_postfix(epoch=epoch + 1, loss=f"{row['loss']:.4f}", refresh=False)
    return row


def best_epoch(history: Sequence[Mapping[str, Any]]) -> tuple[float | None, int | None]:
    """``(best test accuracy, its 1-based epoch)`` over the epochs whose test accuracy was evaluated.

    ``best = max_e acc_e`` over rows with a ``test_accuracy``; a tie goes to the earliest epoch. This is the
    selection the authors' scripts report (``best_acc``): the epoch is chosen on the test set itself, so the
    figure is optimistic next to the last epoch's. ``(None, None)`` when no epoch was evaluated.
    """
    best: tuple[float | None, int | None] = (None, None)
    for row in history:
        acc = row.get("test_accuracy")
        if acc is not None and (best[0] is None or acc > best[0]):
            best = (float(acc), int(row["epoch"]))
    return best


def final_metrics(net: nn.Module, test_data, config: TrainConfig, device: torch.device,
                  history: list[dict[str, Any]]) -> dict[str, Any]:
    """Test accuracy, workload metrics (on ``metrics_samples`` test samples), throughput, size, energy.

    Keys: ``test_accuracy``, ``test_predictions`` (every test sample's predicted class in the data's
    order, :mod:`asgl.metrics.prediction_codes`), ``train_accuracy``, ``train_loss`` (last epoch),
    ``train_seconds`` (the epochs' wall time), ``best_test_accuracy`` and
    ``best_epoch`` (the best evaluated epoch, :func:`best_epoch`), ``parameter_count``,
    ``footprint_bytes``, ``train_samples_per_s`` (last epoch), ``inference_samples_per_s``, and with
    ``metrics_samples > 0``: ``firing_rate``, ``firing_rate/<layer>``, ``activation_sparsity``,
    ``effective_acs``, ``effective_macs`` (pooled spikes folded: accumulates), ``strict_acs``, ``strict_macs``
    (NeuroBench's rule), ``dense_synops``, ``energy_pj_per_sample``, ``strict_energy_pj_per_sample``,
    ``energy_model`` (see docs/metrics.md).
    """
    last = history[-1] if history else {}
    predicted = evaluate_predictions(net, test_data, config, device).cpu()
    out: dict[str, Any] = {
        "test_accuracy": int((predicted == test_data[1].cpu()).sum()) / int(predicted.shape[0]),
        "test_predictions": prediction_codes.encode(predicted.numpy()),
        "train_accuracy": last.get("train_accuracy"), "train_loss": last.get("loss"),
        "epochs": len(history), "train_seconds": sum(row.get("epoch_time_s") or 0.0 for row in history),
        "parameter_count": parameter_count(net), "footprint_bytes": footprint_bytes(net),
        "train_samples_per_s": last.get("train_samples_per_s"), "energy_model": ENERGY_MODEL,
    }
    out["best_test_accuracy"], out["best_epoch"] = best_epoch(history)
    out["backend"] = model_backend(net, device)  # what the spiking neurons ran on (asgl.neuron)
    warmup = max(1, config.throughput_warmup)
    first = B.eval_batches(test_data, config.eval_batch_size, config.time_major_input, device)
    timed = [(x, int(y.shape[0])) for x, y in itertools.islice(first, warmup + THROUGHPUT_BATCHES)]
    timed = list(itertools.islice(itertools.cycle(timed), warmup + THROUGHPUT_BATCHES))  # small test sets repeat
    out["inference_samples_per_s"] = inference_throughput(net, timed, device, warmup)
    if config.metrics_samples > 0:
        work = workload_metrics(net, B.eval_batches(test_data, config.eval_batch_size, config.time_major_input,
                                                    device, limit=config.metrics_samples))
        out.update({k: v for k, v in work.items() if k != "accuracy"})
        out["workload_accuracy"] = work["accuracy"]
    out.update(R.neuron_state(net))
    return out


def _write_start(run_dir: Path, config: TrainConfig, meta: Mapping[str, Any] | None, device, world: int) -> None:
    atomic_write_json(run_dir / R.CONFIG_NAME, {"train": config.to_dict(), "meta": dict(meta or {})})
    atomic_write_json(run_dir / R.ENVIRONMENT_NAME, environment(device, world))


def train(model: nn.Module, train_data: tuple[torch.Tensor, torch.Tensor],
          test_data: tuple[torch.Tensor, torch.Tensor], config: TrainConfig | Mapping[str, Any],
          run_dir: str | Path, callbacks: Sequence[Callback] = (), *, meta: Mapping[str, Any] | None = None,
          dist: DistContext | None = None, normalisation: Mapping[str, Any] | None = None) -> RunResult:
    """Train ``model`` and evaluate it; see the module docstring for the files written.

    Args:
        model: maps a model-ready batch to per-step logits ``[T, B, K]``; trained in place.
        train_data, test_data: sample-major ``(x, y)`` tensors (see :mod:`asgl.training.batches`).
        config: a :class:`TrainConfig` or a mapping for :meth:`TrainConfig.from_dict`.
        run_dir: output folder (created).
        callbacks: per-run callback instances (e.g. ``spec.make_callbacks(params)``).
        meta: free-form description stored in ``config.json`` (method, dataset, method params…).
        dist: process layout; default :meth:`DistContext.from_environment` (torchrun's variables).
        normalisation: the prepared dataset's ``{"mean", "std"}`` (its manifest entry); needed by
            ``config.augment == "cifar"``.
    """
    config = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
    augment = build_augment(config.augment, normalisation)
    for name, data in (("train_data", train_data), ("test_data", test_data)):
        B.check_data(name, data, config.time_major_input)
    ctx = dist or DistContext.from_environment()
    if config.batch_size % ctx.world_size:
        raise ValueError(f"train.batch_size={config.batch_size} must be divisible by the world size "
                         f"{ctx.world_size}")
    device = ctx.device(config.device)
    ctx.init(device)
    run_dir = Path(run_dir)
    if ctx.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        _write_start(run_dir, config, meta, device, ctx.world_size)
    torch.manual_seed(config.seed + ctx.rank)
    model.to(device)
    wrapped = ctx.wrap(model, device)
    net = unwrap(wrapped)
    steps = len(B.global_batches(train_data[0].shape[0], config.batch_size, config.seed, 0, ctx.world_size))
    optim = build_optimisers(net, config, steps)
    use_scaler = device.type == "cuda" and config.amp and config.amp_dtype == "float16"
    scaler = torch.amp.GradScaler("cuda") if use_scaler else None
    history: list[dict[str, Any]] = []
    start = 0
    saved = C.load_checkpoint(run_dir) if config.resume else None
    if saved is not None:
        _check_resume(saved["config"], config)
        net.load_state_dict(saved["model"])
        optim.load_state_dict(saved["optim"])
        if scaler and saved["scaler"]:
            scaler.load_state_dict(saved["scaler"])
        C.set_rng_state(saved["rng"][ctx.rank], device)
        history, start = list(saved["history"]), int(saved["epoch"])
    run_ctx = RunContext(net, start, config.epochs, ctx.rank, ctx.world_size)
    for cb in callbacks:
        cb.on_train_start(run_ctx)
    take_nonfinite_inputs(net)  # flags from before this run are not its own
    show = config.progress and ctx.is_main and sys.stderr.isatty()  # a bar on terminals, else one line per epoch
    bar = tqdm(total=(config.epochs - start) * steps, disable=not show, desc="train", dynamic_ncols=True)
    memory = PeakMemory(device)
    try:
        with memory:
            for epoch in range(start, config.epochs):
                run_ctx.epoch, run_ctx.record = epoch, {}
                for cb in callbacks:
                    cb.on_epoch_start(run_ctx)
                row = {"epoch": epoch + 1}
                row.update(_epoch(net, wrapped, train_data, config, epoch, ctx, device, optim, scaler, bar,
                                  run_dir, len(history), augment))
                for cb in callbacks:
                    cb.on_epoch_end(run_ctx)
                evaluate = (epoch + 1) % config.eval_every == 0 or epoch + 1 == config.epochs
                row["test_accuracy"] = evaluate_accuracy(net, test_data, config, device) if evaluate else None
                take_nonfinite_inputs(net)  # evaluation's flags are not training's (one read, discarded)
                row.update(R.neuron_state(net))
                row.update(run_ctx.record)
                history.append(row)
                rng = ctx.all_gather_object(C.rng_state(device))
                if ctx.is_main:
                    C.save_checkpoint(run_dir, {
                        "epoch": epoch + 1, "model": net.state_dict(), "optim": optim.state_dict(),
                        "scaler": scaler.state_dict() if scaler else {}, "rng": rng, "history": history,
                        "config": config.to_dict()})
                    R.write_history(run_dir, history)
                    if not show:
                        print(R.epoch_line(row, config.epochs, str(run_dir)), file=sys.stderr, flush=True)
    finally:
        bar.close()
    metrics: dict[str, Any] = {}
    if ctx.is_main:
        metrics = final_metrics(net, test_data, config, device, history)
        metrics.update(memory.summary("train_"))
        metrics["world_size"] = ctx.world_size
        metrics = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in metrics.items()}
        atomic_write_json(run_dir / R.METRICS_NAME, metrics)
        R.write_history(run_dir, history)
    ctx.barrier()
    return RunResult(net, history, metrics, run_dir, resumed_from_epoch=start)

"""Try a profile before the long run: every (dataset, method) for a few steps on synthetic data of the real
shapes, on the target device; report the time per step and per epoch, the peak memory and the estimated wall
time of the whole profile. Nothing is downloaded and nothing under ``data/`` or ``results/`` is written.

Usage: ``python -m pipelines.commands.plan [--profile paper | --params params.yaml] [--device cpu|cuda] [--steps N]
[--datasets a,b] [--methods x,y] [--threads N] [--keep-going]``.

Each pair runs the suite's own trainer (:func:`asgl.training.train`, in a temporary folder) for one epoch of
``1 + N`` batches of the dataset's real batch size (the first is warm-up, excluded from the timing), with the
run's own model, neuron, optimisers, loss, augmentation, evaluation and workload metrics, so whatever would
crash in the real run (shapes, a missing kernel or package, memory) crashes here, reported in one line.

Estimate, per pair with ``R`` runs (:func:`pipelines.lib.params.runs_of`), ``E`` epochs, ``S`` steps per epoch
(``⌈N_train / B⌉``), measured seconds per step ``s`` and per evaluated test sample ``e``::

    epoch = S·s + N_test·e / eval_every,      pair = R·E·epoch / min(R, workers)

with ``workers`` the stage's pool size (:func:`pipelines.lib.executors.workers_for`: ``run.workers``, ``auto``
resolved for the target device), and the profile's wall time is the sum over pairs. It leaves out process
start, data loading and the final metrics of each run (minutes per run, not hours), and assumes that parallel
workers do not slow each other.
The sample shapes come from a prepared cache's manifest when one with the profile's options exists, else
from :func:`asgl.data.shapes.expected_shape` (embedded sets are built in memory).
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asgl.errors import UserError
from pipelines.lib.entry import run_main
from pipelines.lib.executors import gpu_count, set_threads, workers_for
from pipelines.lib.params import ParamsError, all_methods, data_root, load_params, runs_of
from pipelines.lib.progname import program

PROFILES_DIR = Path("profiles")
IMAGE_STATS = {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}  # stands in for a manifest's normalisation


class PlanError(RuntimeError, UserError):
    """A (dataset, method) pair that would fail in the real run; the message is one line naming it."""


@dataclass(frozen=True)
class PairPlan:
    """Measured and estimated figures of one (dataset, method) pair (seconds, bytes)."""

    dataset: str
    method: str
    runs: int
    epochs: int
    steps_per_epoch: int
    seconds_per_step: float
    seconds_per_epoch: float
    peak_bytes: int
    peak_kind: str
    wall_seconds: float


def load_profile(profile: str | None, params_file: str) -> dict[str, Any]:
    """The validated params of ``profiles/<profile>.yaml``, or of ``params_file`` when no profile is named."""
    if profile is None:
        return load_params(params_file)
    path = PROFILES_DIR / f"{profile}.yaml"
    if not path.exists():
        names = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")))
        raise ParamsError(f"unknown profile {profile!r} (no {path}); available: {names}")
    return load_params(path)


def data_shape(params: dict[str, Any], dataset: str):
    """The :class:`asgl.data.shapes.DataShape` the run will see (see the module docstring)."""
    from asgl.data import get_spec
    from asgl.data.cache import read_manifest
    from asgl.data.shapes import shape_from_manifest
    from pipelines.lib.data_shape import dataset_shape

    spec = get_spec(dataset)
    options = params["datasets"][dataset].get("prepare") or {}
    manifest = read_manifest(data_root(params), dataset)
    if manifest and manifest.get("params") == {**spec.defaults, **options}:
        return shape_from_manifest(manifest)
    return dataset_shape(dataset, options)


def synthetic_data(shape, n: int, seed: int = 0):
    """``(x[n, *x_shape], y[n])`` in the stored dtype: small event counts for integer data, N(0, 1) otherwise."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    if shape.dtype == "uint8":
        x = torch.randint(0, 3, (n, *shape.x_shape), generator=generator, dtype=torch.uint8)
    else:
        x = torch.randn((n, *shape.x_shape), generator=generator).to(getattr(torch, shape.dtype))
    return x, torch.randint(0, shape.num_classes, (n,), generator=generator)


def try_pair(params: dict[str, Any], dataset: str, method: str, device: str, steps: int) -> PairPlan:
    """Run one pair for ``1 + steps`` batches and estimate its share of the profile; :class:`PlanError` if
    anything fails."""
    try:
        return _measure(params, dataset, method, device, steps)
    except PlanError:
        raise
    except Exception as exc:  # any crash here is one the real run would hit: report it in one line
        import torch

        text = (str(exc).strip().splitlines() or [""])[0][:300]
        if isinstance(exc, torch.cuda.OutOfMemoryError):
            batch = params["datasets"][dataset]["train"].get("batch_size")
            raise PlanError(f"{dataset} × {method}: out of memory on {device} at batch {batch} ({text}); lower "
                            f"datasets.{dataset}.train.batch_size or free the device") from None
        raise PlanError(f"{dataset} × {method}: {type(exc).__name__}: {text}") from None


def _measure(params: dict[str, Any], dataset: str, method: str, device: str, steps: int) -> PairPlan:
    import torch

    from asgl.models import build_model
    from asgl.registry import get_method
    from asgl.training import TrainConfig, train
    from asgl.training.trainer import evaluate_accuracy
    from pipelines.lib.runs import run_settings

    shape = data_shape(params, dataset)
    runs = runs_of(params, dataset, method)
    meta = {"class_names": [str(k) for k in range(shape.num_classes)], "synthetic": True,
            "time_steps": shape.x_shape[0] if shape.temporal else None}
    settings = run_settings(params, dataset, method, None, runs[0][1], meta)  # registers the method
    real = TrainConfig.from_dict(settings["train"])
    batch = real.batch_size
    config = real.replace(device=device, epochs=1, resume=False, progress=False, eval_every=1, throughput_warmup=1,
                          eval_batch_size=batch, metrics_samples=min(real.metrics_samples, batch))
    spec = get_method(method)
    spec.check_requirements()
    n_train = (steps + 1) * batch
    x, y = synthetic_data(shape, n_train + batch)
    torch.manual_seed(0)
    neuron = functools.partial(spec.make_neuron, settings["method_params"])
    model = build_model(settings["model"], neuron, **settings["model_kwargs"])
    with tempfile.TemporaryDirectory(prefix="asgl-plan-") as folder:
        result = train(model, (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:]), config, folder,
                       spec.make_callbacks(settings["method_params"]),
                       normalisation=IMAGE_STATS if shape.normalised else None)
    started = time.perf_counter()
    evaluate_accuracy(result.model, (x[n_train:], y[n_train:]), config, next(result.model.parameters()).device)
    per_test_sample = (time.perf_counter() - started) / batch
    throughput = result.history[0]["train_samples_per_s"]
    if not throughput:
        raise PlanError(f"{dataset} × {method}: no timed step (use --steps >= 1)")
    seconds_per_step = batch / throughput
    steps_per_epoch = math.ceil(shape.train_count / batch)
    epoch = steps_per_epoch * seconds_per_step + shape.test_count * per_test_sample / real.eval_every
    gpus = gpu_count() if device == "cuda" else 0
    workers = max(1, min(len(runs), workers_for({**params["run"], "device": device}, gpus)))
    return PairPlan(dataset, method, len(runs), real.epochs, steps_per_epoch, seconds_per_step, epoch,
                    int(result.metrics.get("train_peak_memory_bytes") or 0),
                    str(result.metrics.get("train_peak_memory_kind", "")),
                    len(runs) * real.epochs * epoch / workers)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds >= 360 else f"{seconds:.0f} s"


def report(plans: list[PairPlan], device: str, subset: bool) -> str:
    """The per-pair table and the profile's estimated wall time, as text."""
    head = (f"{'dataset':<16} {'method':<22} {'runs':>4} {'epochs':>6} {'steps/ep':>8} {'s/step':>8} "
            f"{'s/epoch':>9} {'peak MiB':>9} {'est. wall':>10}")
    lines = [head, "-" * len(head)]
    for p in plans:
        lines.append(f"{p.dataset:<16} {p.method:<22} {p.runs:>4} {p.epochs:>6} {p.steps_per_epoch:>8} "
                     f"{p.seconds_per_step:>8.3f} {p.seconds_per_epoch:>9.1f} {p.peak_bytes / 2**20:>9.0f} "
                     f"{_hours(p.wall_seconds):>10}")
    total = sum(p.wall_seconds for p in plans)
    runs = sum(p.runs for p in plans)
    scope = "the selected pairs" if subset else "the whole profile"
    kind = plans[0].peak_kind if plans else ""
    lines.append(f"estimated wall time of {scope}: {_hours(total)} ({len(plans)} pairs, {runs} runs, device "
                 f"{device}; peak memory: {kind})")
    return "\n".join(lines)


def _split(text: str | None) -> list[str] | None:
    return [item for item in text.split(",") if item] if text else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=program("pipelines.commands.plan"),
                                     description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--profile", default=None, help="a shipped profile (profiles/<name>.yaml); default: --params")
    parser.add_argument("--params", default="params.yaml", help="params file used when no --profile is given")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None, help="default: the profile's run.device")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per pair, after one warm-up step")
    parser.add_argument("--datasets", default=None, help="comma-separated subset of run.datasets")
    parser.add_argument("--methods", default=None, help="comma-separated subset of the running methods")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: run.threads_per_worker)")
    parser.add_argument("--keep-going", action="store_true", help="try every pair even after a failure")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be >= 1, got {args.steps}")
    return run_main(lambda: plan(args))


def plan(args: argparse.Namespace) -> int:
    """Time every chosen (dataset, method) pair and print the report; 2 when a pair failed."""
    params = load_profile(args.profile, args.params)
    datasets, methods = params["run"]["datasets"], all_methods(params)
    chosen_d, chosen_m = _split(args.datasets) or datasets, _split(args.methods) or methods
    for name, chosen, known in (("dataset", chosen_d, datasets), ("method", chosen_m, methods)):
        unknown = sorted(set(chosen) - set(known))
        if unknown:
            raise PlanError(f"--{name}s {unknown} not in this profile; it runs: {', '.join(known)}")
    device = args.device or params["run"].get("device") or "cpu"
    set_threads(args.threads or int(params["run"].get("threads_per_worker", 1)))
    plans, failures = [], []
    for dataset in chosen_d:
        for method in chosen_m:
            try:
                plans.append(try_pair(params, dataset, method, device, args.steps))
            except PlanError as exc:
                print(f"error: {exc}", file=sys.stderr)
                failures.append(str(exc))
                if not args.keep_going:
                    return 2
            else:
                p = plans[-1]
                print(f"ok  {dataset} × {method}: {p.seconds_per_step:.3f} s/step", file=sys.stderr, flush=True)
    print(report(plans, device, subset=chosen_d != datasets or chosen_m != methods))
    if failures:
        print(f"error: {len(failures)} of {len(failures) + len(plans)} pairs failed (listed above)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

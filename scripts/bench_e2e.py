"""End-to-end CPU speed of one training step: a method (ASGL by default) against the SG control per model.

A training step is what the trainer does per batch: forward, cross-entropy of the time-mean logits,
``zero_grad``, backward and one step of every optimiser (weights and, for ASGL, the neuron parameters). ASGL
(``p = 0.2``, learnable width, ``slope`` parameterisation) and SG (fixed width) build the same LIF and
differ only in the spike function, so the noisy spike should be nearly free: the target is
``ASGL step ≤ 1.1 × SG step`` on every model.

Models and batches mirror ``profiles/embedded.yaml`` (inputs are random tensors of the prepared shapes, so no
data preparation is needed); the batch size is 64 for every model:

=====================  ==========================================  ==============================
model                  builder arguments                           input
=====================  ==========================================  ==============================
resnet_tiny            in_channels 1, time_steps 4, width 8         ``[B, 1, 8, 8]`` (digits)
vgg_tiny               in_channels 2, time_steps 16, width 8        ``[16, B, 2, 24, 24]`` (digits-dvs)
mlp_snn                in_features 32, hidden 128, depth 4          ``[32, B, 32]`` (synth-speech)
audio_convnet_tiny     in_features 32                               ``[32, B, 32]`` (synth-instruments)
=====================  ==========================================  ==============================

Timing is robust to a loaded machine: the two methods of a model are timed alternately (ABBA order, so that
neither always runs first), many times; the reported ratio is the median of the per-pair ratios
``t_asgl / t_sg``, each pair measured within a fraction of a second of each other. Learning rates are tiny so
that hundreds of steps on the same batch keep the network in the same regime (the cost of an optimiser step
does not depend on its rate).

Any registered method can take ASGL's place (``--methods dspike sharpen``); ``NAME:BACKEND`` runs it on one LIF
backend (``dspike:autograd`` is Dspike on the autograd loop), so a fused and an unfused run of the same method
are timed against the same SG in one invocation. Each method is paired with its own SG step.

Usage::

    python scripts/bench_e2e.py [--threads 2] [--repeats 30] [--models vgg_tiny mlp_snn] [--out e2e.json]
    python scripts/bench_e2e.py --methods dspike dspike:autograd --limit 1.2

Exits with status 1 when a ratio exceeds ``--limit`` (default 1.1) and ``--strict`` is given.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, "") and str(Path(__file__).resolve().parents[1]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as `python scripts/bench_e2e.py`

import torch


@dataclass(frozen=True)
class ModelCase:
    """One embedded model: builder name and arguments, input shape (``B`` marks the batch), optimiser."""

    model: str
    kwargs: dict[str, Any]
    input_shape: tuple[int | str, ...]
    optimizer: str
    binary_input: bool = False  # event frames are 0/1


MODEL_CASES: dict[str, ModelCase] = {
    "resnet_tiny": ModelCase("resnet_tiny", {"in_channels": 1, "time_steps": 4, "width": 8}, ("B", 1, 8, 8), "sgd"),
    "vgg_tiny": ModelCase("vgg_tiny", {"in_channels": 2, "time_steps": 16, "width": 8}, (16, "B", 2, 24, 24), "sgd",
                          binary_input=True),
    "mlp_snn": ModelCase("mlp_snn", {"in_features": 32, "hidden": 128, "depth": 4}, (32, "B", 32), "adam"),
    "audio_convnet_tiny": ModelCase("audio_convnet_tiny", {"in_features": 32}, (32, "B", 32), "adam"),
}
METHOD_PARAMS: dict[str, dict[str, Any]] = {
    "asgl": {"width": 1.0, "p": 0.2, "parameterisation": "slope"},
    "sg": {"width": 1.0},
}
NUM_CLASSES = 10


def set_threads(threads: int) -> None:
    """Torch intra-op threads and numba threads (when numba allows that many)."""
    torch.set_num_threads(threads)
    try:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    except (ImportError, ValueError):
        pass


def make_batch(case: ModelCase, batch_size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A random batch ``(x, y)`` of the case's input shape (fixed seed: every method sees the same data)."""
    gen = torch.Generator().manual_seed(seed)
    shape = tuple(batch_size if s == "B" else s for s in case.input_shape)
    x = (torch.rand(shape, generator=gen) < 0.2).float() if case.binary_input else torch.randn(shape, generator=gen)
    y = torch.randint(0, NUM_CLASSES, (batch_size,), generator=gen)
    return x, y


def make_train_step(model_name: str, method: str, batch_size: int = 64, seed: int = 0,
                    params: dict[str, Any] | None = None) -> Callable[[], float]:
    """A zero-argument callable running one training step of ``model_name`` with ``method``; returns the loss.

    ``method`` is any registered method (``asgl``, ``sg``, ``snntorch-*``, ``sharpen``); ``params`` override
    :data:`METHOD_PARAMS` (registry defaults fill the rest).
    """
    from asgl.models import build_model
    from asgl.registry import get_method
    from asgl.training.config import TrainConfig
    from asgl.training.losses import per_sample_loss
    from asgl.training.optim import build_optimisers

    if method not in ("asgl", "sg"):
        import baselines  # noqa: F401  (registers the baseline methods)
    case = MODEL_CASES[model_name]
    torch.manual_seed(seed)
    factory = get_method(method).neuron_factory(params if params is not None else METHOD_PARAMS.get(method, {}))
    model = build_model(case.model, factory, num_classes=NUM_CLASSES, **case.kwargs)
    model.train()
    config = TrainConfig(optimizer=case.optimizer, lr=1e-5, weight_decay=0.0, lr_schedule="constant",
                         neuron_lr=1e-5, neuron_lr_schedule="constant")
    optim = build_optimisers(model, config, steps_per_epoch=1)
    x, y = make_batch(case, batch_size, seed)

    def step() -> float:
        logits = model(x)
        loss = per_sample_loss("ce", logits, y, config.tet_lambda, config.tet_phi).mean()
        optim.zero_grad()
        loss.backward()
        for opt in optim.optimizers.values():
            opt.step()
        return float(loss.detach())

    return step


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def method_step(model_name: str, method: str, batch_size: int) -> Callable[[], float]:
    """:func:`make_train_step` for ``NAME`` or ``NAME:BACKEND`` (the LIF backend overridden)."""
    name, _, backend = method.partition(":")
    params = dict(METHOD_PARAMS.get(name, {}))
    if backend:
        params["backend"] = backend
    return make_train_step(model_name, name, batch_size, params=params)


def compare_steps(model_name: str, repeats: int, batch_size: int, warmup: int = 3,
                  method: str = "asgl") -> dict[str, Any]:
    """Interleaved timing (ABBA) of ``method`` and SG on one model; per-pair ratios and their median."""
    steps = {"method": method_step(model_name, method, batch_size), "sg": make_train_step(model_name, "sg", batch_size)}
    for _ in range(warmup):
        for fn in steps.values():
            fn()
    times: dict[str, list[float]] = {"method": [], "sg": []}
    ratios = []
    for r in range(repeats):
        order = ("method", "sg") if r % 2 == 0 else ("sg", "method")
        pair = {m: _time(steps[m]) for m in order}
        for m, t in pair.items():
            times[m].append(t)
        ratios.append(pair["method"] / pair["sg"])
    q = statistics.quantiles(ratios, n=4) if len(ratios) >= 4 else [min(ratios), statistics.median(ratios),
                                                                     max(ratios)]
    return {
        "model": model_name,
        "method": method,
        "batch_size": batch_size,
        "repeats": repeats,
        "method_ms": statistics.median(times["method"]) * 1e3,
        "sg_ms": statistics.median(times["sg"]) * 1e3,
        "ratio": statistics.median(ratios),
        "ratio_q1": q[0],
        "ratio_q3": q[-1],
    }


def format_table(rows: list[dict[str, Any]], limit: float) -> str:
    lines = ["| model | method | method step ms | SG step ms | method / SG (median of pairs) | IQR | ≤ limit |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        verdict = "yes" if r["ratio"] <= limit else f"NO (> {limit:g})"
        lines.append(f"| {r['model']} | {r['method']} | {r['method_ms']:.1f} | {r['sg_ms']:.1f} | {r['ratio']:.3f} | "
                     f"{r['ratio_q1']:.3f}–{r['ratio_q3']:.3f} | {verdict} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30, help="alternating ASGL/SG pairs per model")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--models", nargs="+", default=list(MODEL_CASES), choices=list(MODEL_CASES))
    parser.add_argument("--methods", nargs="+", default=["asgl"],
                        help="methods timed against SG, NAME or NAME:BACKEND (e.g. dspike:autograd)")
    parser.add_argument("--limit", type=float, default=1.1, help="target ratio method / SG")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a ratio exceeds --limit")
    parser.add_argument("--out", default=None, help="optional JSON output path")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    rows = []
    for name in args.models:
        for method in args.methods:
            rows.append(compare_steps(name, args.repeats, args.batch_size, method=method))
            print(f"{name}: {method}/SG = {rows[-1]['ratio']:.3f}", file=sys.stderr, flush=True)
    print(format_table(rows, args.limit))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"command": "python scripts/bench_e2e.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                   "date": datetime.now(UTC).isoformat(timespec="seconds"), "threads": args.threads,
                   "torch": torch.__version__, "python": platform.python_version(), "limit": args.limit,
                   "rows": rows}
        out.write_text(json.dumps(payload, indent=2) + "\n")
    return 1 if args.strict and any(r["ratio"] > args.limit for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

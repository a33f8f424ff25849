"""A tiny training run, started as a subprocess by the interruption tests and killed at random times.

Usage: ``python -m tests.faults.train_script RUN_DIR BACKEND [--slow-save EPOCH] [--step-sleep S] [--epochs N]``

Linear → ASGL LIF → Linear on ``[T, B, F]`` synthetic data, :func:`asgl.training.train` with ``resume=True``:
every start continues from ``RUN_DIR/checkpoint.pt``. It prints ``epoch <e>`` (flushed) when epoch ``e``
(0-based) starts, so the parent can time its kill. ``--slow-save E`` writes half of the checkpoint of epoch
``E`` (1-based, the epoch count it records), prints ``in-write`` and sleeps inside the atomic write, so the
parent can kill it there. ``--step-sleep`` sleeps after every batch (not affecting any number computed).
"""

from __future__ import annotations

import argparse
import io
import sys
import time

import torch

from tests.conftest import TinyNet

T, F, K, HIDDEN = 4, 8, 3, 16
EPOCHS = 5


def make_data(n: int = 80, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, K, (n,), generator=g)
    x = (torch.randn(K, F, generator=g) * 1.5)[y][:, None, :] + torch.randn(n, T, F, generator=g)  # [N, T, F]
    return (x[:60], y[:60]), (x[60:], y[60:])


def config(epochs: int = EPOCHS) -> dict:
    return {"epochs": epochs, "batch_size": 10, "lr": 0.05, "neuron_lr": 1e-2, "time_major_input": True,
            "progress": False, "metrics_samples": 20, "resume": True, "device": "cpu", "seed": 3}


def build(backend: str):
    from asgl.registry import get_method

    torch.manual_seed(0)
    spec = get_method("asgl")
    params = spec.resolve_params({"width": 1.0, "p": 0.3, "backend": backend})
    return TinyNet(spec.neuron_factory(params), F, HIDDEN, K), spec.make_callbacks(params)


def _slow_save(at_epoch: int) -> None:
    """Make the checkpoint write of epoch ``at_epoch`` stop half-way inside the atomic write."""
    from asgl.training import checkpoint

    real = checkpoint.atomic_save

    def save(path, write):
        payload_epoch = checkpoint._faults_epoch  # set by the wrapper of save_checkpoint below
        if payload_epoch != at_epoch:
            return real(path, write)

        def half(handle):
            buf = io.BytesIO()
            write(buf)
            data = buf.getvalue()
            handle.write(data[: len(data) // 2])
            handle.flush()
            print("in-write", flush=True)
            time.sleep(120)
            handle.write(data[len(data) // 2:])

        return real(path, half)

    real_save_checkpoint = checkpoint.save_checkpoint

    def save_checkpoint(run_dir, payload):
        checkpoint._faults_epoch = payload["epoch"]
        return real_save_checkpoint(run_dir, payload)

    checkpoint.atomic_save = save
    checkpoint.save_checkpoint = save_checkpoint


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("run_dir")
    p.add_argument("backend", choices=("numba", "autograd"))
    p.add_argument("--slow-save", type=int, default=0)
    p.add_argument("--step-sleep", type=float, default=0.0)
    p.add_argument("--epochs", type=int, default=EPOCHS)
    args = p.parse_args(argv)
    torch.set_num_threads(1)

    from asgl.training import Callback, train
    from asgl.training import trainer as trainer_module

    if args.slow_save:
        _slow_save(args.slow_save)
    if args.step_sleep:
        real_update = trainer_module.tqdm.update

        def update(self, n=1):  # called once per training step
            time.sleep(args.step_sleep)
            return real_update(self, n)

        trainer_module.tqdm.update = update

    class Progress(Callback):
        def on_epoch_start(self, ctx) -> None:
            print(f"epoch {ctx.epoch}", flush=True)

    model, callbacks = build(args.backend)
    train_data, test_data = make_data()
    result = train(model, train_data, test_data, config(args.epochs), args.run_dir, [*callbacks, Progress()])
    print(f"done {result.resumed_from_epoch}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A small real train stage for the executor tests and the local-pool vs Ray comparison: ``resnet_tiny`` on
``digits`` (prepared with 80 % of the images held out, so an epoch is short), built with the train stage's
own :func:`pipelines.lib.runs.run_settings`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

RUN_FIELDS_THAT_TIME = ("train_throughput", "inference_throughput", "train_seconds", "peak_memory_bytes",
                        "run_dir")


def stage_params(epochs: int = 3) -> dict[str, Any]:
    """A params dict for tiny digits runs of ``asgl`` and ``sg``."""
    train = {"epochs": epochs, "batch_size": 64, "optimizer": "adam", "lr": 1e-2, "weight_decay": 0.0,
             "neuron_lr": 1e-2, "progress": False, "eval_every": epochs, "metrics_samples": 32,
             "eval_batch_size": 512, "throughput_warmup": 0}
    return {"run": {"datasets": ["digits"], "methods": {"asgl": "asgl/methods.py", "sg": "asgl/methods.py"},
                    "seeds": [0, 1], "device": "cpu"},
            "datasets": {"digits": {"model": "resnet_tiny", "train": train,
                                    "model_kwargs": {"in_channels": 1, "time_steps": 2, "width": 4}}},
            "methods": {"asgl": {"width": 1.0, "p": 0.2}, "sg": {"width": 1.0}}}


def prepare(root: Path) -> dict[str, Any]:
    """Prepare ``digits`` under ``root``; returns its manifest."""
    from asgl.data import load_prepared, prepare_dataset

    prepare_dataset("digits", root, test_fraction=0.8)
    return load_prepared(root, "digits").manifest


def stage_jobs(root: Path, results: Path, runs: list[tuple[str, int]], epochs: int = 3) -> list[dict[str, Any]]:
    """One train job per ``(method, seed)`` in ``runs``, reading ``root`` and writing under ``results``."""
    from pipelines.lib.runs import run_settings

    meta, params = prepare(root), stage_params(epochs)
    return [{"settings": run_settings(params, "digits", method, None, seed, meta), "root": str(root),
             "results": str(results)} for method, seed in runs]


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    """A run record without the fields that measure time, memory or place."""
    return {k: v for k, v in record.items() if k not in RUN_FIELDS_THAT_TIME}


def same_weights(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two runs' final checkpoints hold identical weights."""
    import torch

    wa, wb = ((torch.load(Path(r["run_dir"]) / "checkpoint.pt", weights_only=True)["model"]) for r in (a, b))
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)

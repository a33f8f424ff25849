"""One run from its settings to its metrics: the pipeline code that decides a run's numbers, and only that.

Given a run's settings (:func:`pipelines.lib.runs.run_settings`: plain data, recorded in ``config.json`` and
compared value by value), what decides the numbers is the prepared data, the seed, the model built around
the method's neuron, and the one trainer::

    data   = load_prepared(root, settings.dataset)
    seed   ← settings.seed
    model  = build_model(settings.model, neuron(settings.method_params), **settings.model_kwargs)
    result = train(model, data.train, data.test, settings.train, callbacks(settings.method_params))

This module is the pipeline's share of a run's code identity (:data:`pipelines.lib.identity.PIPELINE_FILES`,
next to the core ``asgl/`` and the method's own file): editing it retrains every run. Everything else the
train stage does — turning ``params.yaml`` into settings (its result is compared by value), choosing the
run's folder, formatting the run record, messages — lives outside it, so editing those retrains nothing.
Keep it that way: no record formatting, no messages here.
"""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path
from typing import Any


def same_settings(folder: Path, settings: dict[str, Any]) -> bool:
    """Whether ``folder/config.json`` records exactly ``settings`` (False when missing or unreadable)."""
    try:
        saved = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return False
    return saved.get("meta", {}).get("settings") == json.loads(json.dumps(settings))


def finished_metrics(folder: Path) -> dict[str, Any] | None:
    """``folder/metrics.json`` of a finished run, or None when it is missing or damaged (the run then resumes
    from its last checkpoint, which reaches the same final weights)."""
    try:
        return json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def run_metrics(settings: dict[str, Any], spec: Any, root: str | Path, folder: Path, main_rank: bool = True,
                ) -> dict[str, Any]:
    """The metrics of the run ``settings`` of the method ``spec`` (an :class:`asgl.registry.MethodSpec`).

    Reused from ``folder`` when it holds a finished run of the same settings; otherwise trained in ``folder``
    (resuming an unfinished run of the same settings, clearing one of other settings first — on the main rank
    only, under torchrun).
    """
    import torch

    from asgl.data import load_prepared
    from asgl.models import build_model
    from asgl.training import train

    same = same_settings(folder, settings)
    if folder.exists() and not same and main_rank:
        shutil.rmtree(folder)
    metrics = finished_metrics(folder) if same else None
    if metrics is not None:
        return metrics
    data = load_prepared(root, settings["dataset"])
    torch.manual_seed(settings["seed"])
    neuron = functools.partial(spec.make_neuron, settings["method_params"])
    model = build_model(settings["model"], neuron, **settings["model_kwargs"])
    callbacks = spec.make_callbacks(settings["method_params"])
    result = train(model, (data.train_x, data.train_y), (data.test_x, data.test_y), settings["train"], folder,
                   callbacks, meta={"settings": settings}, normalisation=data.manifest.get("normalisation"))
    return result.metrics

"""One training run of the benchmark, shared by the train stage and the commands that train as it does.

:func:`run_settings` turns ``params.yaml`` and a dataset's manifest into a run's settings (plain data, recorded
in ``config.json`` and compared value by value: :mod:`pipelines.lib.identity`); :func:`stage_jobs` lists one
job per (dataset, width, seed) of a method; :func:`run_one` trains and evaluates one job through
:mod:`pipelines.lib.training_run` and returns its run record (:mod:`pipelines.lib.records`). The train stage
(:mod:`pipelines.stages.train`) hands these jobs to an executor; ``asgl-bench compare`` trains a new method
with the same three, and ``plan`` times a step of the same settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.lib.identity import code_fingerprint, data_identity, load_method
from pipelines.lib.params import ParamsError, data_root, runs_of
from pipelines.lib.records import make_record, run_dir
from pipelines.lib.training_run import run_metrics


def run_settings(params: dict[str, Any], dataset: str, method: str, width: float | None, seed: int,
                 prepared_meta: dict[str, Any]) -> dict[str, Any]:
    """Everything that determines one run, as plain data (also what ``config.json`` records as ``meta``)."""
    source = params["run"]["methods"][method]
    ds = params["datasets"][dataset]
    method_params = resolved_method_params(params, dataset, method, width)
    temporal = prepared_meta.get("time_steps") is not None
    train = {**ds["train"], "seed": seed, "time_major_input": temporal, "resume": True}
    if params["run"].get("device"):
        train["device"] = params["run"]["device"]
    model_kwargs = {"num_classes": len(prepared_meta["class_names"]), **ds.get("model_kwargs", {})}
    return {"dataset": dataset, "method": method, "source": source,
            "width": float(method_params.get("width", 1.0)), "seed": seed, "method_params": method_params,
            "model": ds["model"], "model_kwargs": model_kwargs, "train": train,
            "synthetic": bool(prepared_meta.get("synthetic", False)), "data": data_identity(prepared_meta),
            "code": code_fingerprint(source)}


def resolved_method_params(params: dict[str, Any], dataset: str, method: str,
                           width: float | None = None) -> dict[str, Any]:
    """``method``'s parameters on ``dataset``: its defaults, then ``methods.<method>``, then the dataset's
    ``method_overrides.<method>``, then ``width`` when given (a sweep run)."""
    spec = load_method(method, params["run"]["methods"][method])
    ds = params["datasets"][dataset]
    section = {**(params["methods"].get(method) or {}), **(ds.get("method_overrides") or {}).get(method, {})}
    if width is not None:
        section["width"] = width
    return spec.resolve_params(section)


def run_one(job: dict[str, Any]) -> dict[str, Any] | None:
    """Train and evaluate one run (``job = {"settings", "root", "results"}``); returns its run record.

    Under torchrun (``train.ddp > 1``) every rank calls this; rank 0 alone clears a stale folder and returns
    the record, the other ranks return None.
    """
    from asgl.training.distributed import DistContext

    settings = job["settings"]
    main_rank = DistContext.from_environment().is_main
    spec = load_method(settings["method"], settings["source"])
    spec.check_requirements()
    folder = run_dir(Path(job["results"]), settings["method"], settings["dataset"], settings["width"],
                     settings["seed"])
    metrics = run_metrics(settings, spec, job["root"], folder, main_rank)
    if not main_rank:
        return None
    return make_record(settings, spec.display_name, spec.family, metrics, folder)


def stage_jobs(params: dict[str, Any], method: str, results: Path) -> list[dict[str, Any]]:
    """One job per (dataset, width, seed) of ``method``, in dataset order."""
    from asgl.data import load_prepared

    root = data_root(params)
    jobs = []
    for dataset in params["run"]["datasets"]:
        meta = load_prepared(root, dataset).manifest
        for width, seed in runs_of(params, dataset, method):
            jobs.append({"settings": run_settings(params, dataset, method, width, seed, meta), "root": str(root),
                         "results": str(results)})
    if not jobs:
        raise ParamsError(f"params.yaml: {method!r} has no runs (not in run.methods)")
    return jobs

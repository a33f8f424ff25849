"""Stage ``train@<method>``: every run (dataset × width × seed) of one method, each evaluated.

Each run builds the dataset's model around the method's neuron, trains it with the one trainer
(:func:`asgl.training.train`), and evaluates it (accuracy, throughput, firing rates, synaptic operations,
energy) in the same process. All runs of the stage go to one executor (:mod:`pipelines.executors`), whose
workers live for the whole stage: imports and the kernel cache load are paid once per worker, not per run.

Runs survive interruption and are reused only when their identity matches (:mod:`pipelines.identity`:
code, data, settings). The stage's output folder is persistent (``persist: true`` in ``dvc.yaml``): a
finished run whose ``config.json`` records the same identity is reused as it is, an unfinished one resumes
from its last checkpoint (the trainer reaches the same final weights as an uninterrupted run), and a run
folder written under another identity is cleared before the run starts again (its earlier version stays in
DVC's cache). So when DVC reruns the stage because one dataset's block changed, only that dataset's runs
train again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from asgl.io import atomic_write_json
from pipelines.entry import run_main
from pipelines.identity import code_fingerprint, data_identity, load_method
from pipelines.params import ParamsError, data_root, load_params, results_dir, runs_of
from pipelines.records import make_record, run_dir, stage_record_path, stage_runs_dir
from pipelines.training_run import run_metrics


def run_settings(params: dict[str, Any], dataset: str, method: str, width: float | None, seed: int,
                 prepared_meta: dict[str, Any]) -> dict[str, Any]:
    """Everything that determines one run, as plain data (also what ``config.json`` records as ``meta``)."""
    source = params["run"]["methods"][method]
    spec = load_method(method, source)
    ds = params["datasets"][dataset]
    section = {**(params["methods"].get(method) or {}), **(ds.get("method_overrides") or {}).get(method, {})}
    if width is not None:
        section["width"] = width
    method_params = spec.resolve_params(section)
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


def train_stage(params: dict[str, Any], method: str, results: Path | None = None) -> list[dict[str, Any]]:
    """Run every (dataset, width, seed) of ``method``; write and return the stage's run records."""
    from pipelines.executors import run_jobs

    results = results_dir(params) if results is None else results
    jobs = stage_jobs(params, method, results)
    stage_runs_dir(results, method).mkdir(parents=True, exist_ok=True)
    records = run_jobs(run_one, jobs, params["run"])
    atomic_write_json(stage_record_path(results, method), records)
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train and evaluate one method on every dataset (all runs).")
    parser.add_argument("--method", required=True)
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    return run_main(lambda: _train_and_report(args.params, args.method))


def _train_and_report(params_file: str, method: str) -> None:
    params = load_params(params_file)
    if method not in params["run"]["methods"]:
        raise ParamsError(f"{params_file}: run.methods has no {method!r} (it has: {sorted(params['run']['methods'])})")
    for r in train_stage(params, method):
        print(f"{r['dataset']} {r['method']} width={r['width_init']:g} seed={r['seed']}: {r['accuracy']:.2f}%")


if __name__ == "__main__":
    sys.exit(main())

"""Stage ``train@<dataset>-<method>``: every run (width × seed) of one method on one dataset, evaluated.

Each run builds the dataset's model around the method's neuron, trains it with the one trainer
(:func:`asgl.training.train`), and evaluates it (accuracy, throughput, firing rates, synaptic operations,
energy) in the same process. Runs go to a pool of ``run.workers`` processes, each with
``run.threads_per_worker`` threads: on 2 cores, two single-threaded small runs finish sooner than one run
on two threads.

Runs survive interruption: the stage's output folder is persistent (``persist: true`` in ``dvc.yaml``), a
finished run whose ``config.json`` matches is reused as it is, an unfinished one resumes from its last
checkpoint (the trainer reaches the same final weights as an uninterrupted run), and a run folder written
with different settings is cleared before the run starts again (its earlier version stays in DVC's cache).
The settings include :func:`code_fingerprint`, so a run is reused or resumed only under the code that
produced it: DVC reruns the stage when ``asgl/`` or ``baselines/`` change, and then every run trains again.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from asgl.io import atomic_write_json
from pipelines.params import ParamsError, data_root, load_params, runs_of
from pipelines.records import RESULTS, run_dir, stage_record_path, stage_runs_dir


def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    try:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass


REPO_ROOT = Path(__file__).resolve().parents[1]
CODE_FOLDERS = ("asgl", "baselines")


@functools.cache
def code_fingerprint() -> str:
    """sha256 (first 16 hex) over the Python sources a run's result depends on (:data:`CODE_FOLDERS`)."""
    digest = hashlib.sha256()
    for folder in CODE_FOLDERS:
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            digest.update(path.relative_to(REPO_ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def run_settings(params: dict[str, Any], dataset: str, method: str, width: float | None, seed: int,
                 prepared_meta: dict[str, Any]) -> dict[str, Any]:
    """Everything that determines one run, as plain data (also what ``config.json`` records as ``meta``)."""
    import baselines  # noqa: F401  (registers the baseline methods)
    from asgl.registry import get_method

    spec = get_method(method)
    ds = params["datasets"][dataset]
    section = {**params["methods"].get(spec.params_section, {}), **(ds.get("method_overrides") or {}).get(method, {})}
    if width is not None:
        section["width"] = width
    method_params = spec.resolve_params(section)
    temporal = prepared_meta.get("time_steps") is not None
    train = {**ds["train"], "seed": seed, "time_major_input": temporal, "resume": True}
    if params["run"].get("device"):
        train["device"] = params["run"]["device"]
    model_kwargs = {"num_classes": len(prepared_meta["class_names"]), **ds.get("model_kwargs", {})}
    return {"dataset": dataset, "method": method, "width": float(method_params.get("width", 1.0)), "seed": seed,
            "method_params": method_params, "model": ds["model"], "model_kwargs": model_kwargs, "train": train,
            "synthetic": bool(prepared_meta.get("synthetic", False)), "code": code_fingerprint()}


def _same_settings(folder: Path, settings: dict[str, Any]) -> bool:
    try:
        saved = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return False
    return saved.get("meta", {}).get("settings") == json.loads(json.dumps(settings))


def run_one(settings: dict[str, Any], root: str, results: str) -> dict[str, Any]:
    """Train and evaluate one run (in a worker process); returns its record (:data:`RUN_FIELDS`)."""
    import torch

    import baselines  # noqa: F401
    from asgl.data import load_prepared
    from asgl.models import build_model
    from asgl.registry import get_method
    from asgl.training import train

    spec = get_method(settings["method"])
    spec.check_requirements()
    folder = run_dir(Path(results), settings["method"], settings["dataset"], settings["width"], settings["seed"])
    if folder.exists() and not _same_settings(folder, settings):
        shutil.rmtree(folder)
    metrics_file = folder / "metrics.json"
    data = load_prepared(root, settings["dataset"])
    if metrics_file.exists() and _same_settings(folder, settings):
        metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
    else:
        torch.manual_seed(settings["seed"])
        neuron = functools.partial(spec.make_neuron, settings["method_params"])
        model = build_model(settings["model"], neuron, **settings["model_kwargs"])
        callbacks = spec.make_callbacks(settings["method_params"])
        result = train(model, (data.train_x, data.train_y), (data.test_x, data.test_y), settings["train"], folder,
                       callbacks, meta={"settings": settings}, normalisation=data.manifest.get("normalisation"))
        metrics = result.metrics
    return make_record(settings, spec.display_name, metrics, folder)


def make_record(settings: dict[str, Any], display_name: str, metrics: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Flatten a run's ``metrics.json`` into the run record used by ``evaluate`` and ``tables``."""
    acs, macs = metrics.get("effective_acs"), metrics.get("effective_macs")
    energy = metrics.get("energy_pj_per_sample")
    return {
        "dataset": settings["dataset"], "method": settings["method"], "display_name": display_name,
        "synthetic": settings["synthetic"], "width_init": settings["width"], "seed": settings["seed"],
        "model": settings["model"], "time_steps": settings["model_kwargs"].get("time_steps"),
        "epochs": metrics.get("epochs"), "accuracy": 100.0 * metrics["test_accuracy"],
        "best_accuracy": None, "train_throughput": metrics.get("train_samples_per_s"),
        "inference_throughput": metrics.get("inference_samples_per_s"),
        "peak_memory_bytes": metrics.get("train_peak_memory_bytes"), "firing_rate": metrics.get("firing_rate"),
        "activation_sparsity": metrics.get("activation_sparsity"), "synops_dense": metrics.get("dense_synops"),
        "synops_effective": None if acs is None else acs + (macs or 0.0), "acs": acs, "macs": macs,
        "energy_uj": None if energy is None else energy / 1e6, "parameters": metrics.get("parameter_count"),
        "param_bytes": metrics.get("footprint_bytes"),
        "final_widths": {k: v for k, v in metrics.items() if k.startswith("width/")},
        "train_seconds": None, "run_dir": str(folder),
    }


def train_stage(params: dict[str, Any], dataset: str, method: str, results: Path = RESULTS) -> list[dict[str, Any]]:
    """Run every (width, seed) of ``method`` on ``dataset``; write and return the stage's run records."""
    from asgl.data import load_prepared

    root = data_root(params)
    meta = load_prepared(root, dataset).manifest
    runs = runs_of(params, dataset, method)
    jobs = [run_settings(params, dataset, method, width, seed, meta) for width, seed in runs]
    if not jobs:
        raise ParamsError(f"params.yaml: {method!r} has no runs on {dataset!r} (not in run.methods or sweep.methods)")
    stage_runs_dir(results, method, dataset).mkdir(parents=True, exist_ok=True)
    workers = min(int(params["run"].get("workers", 1)), len(jobs))
    threads = int(params["run"].get("threads_per_worker", 1))
    if workers <= 1:
        _set_threads(threads)
        records = [run_one(job, str(root), str(results)) for job in jobs]
    else:
        # spawn, not fork or forkserver: both made epochs 3-30x slower here (measured on digits, 2 workers),
        # as forked workers inherit thread-pool state; a spawned worker pays ~3 s of imports instead.
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_set_threads,
                                 initargs=(threads,)) as pool:
            records = list(pool.map(run_one, jobs, [str(root)] * len(jobs), [str(results)] * len(jobs)))
    atomic_write_json(stage_record_path(results, dataset, method), records)
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train and evaluate one method on one dataset (all runs).")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    from asgl.data import DataError
    from asgl.io import WriteError
    from asgl.training.trainer import NonFiniteLossError

    try:
        records = train_stage(load_params(args.params), args.dataset, args.method)
    except (ParamsError, DataError, NonFiniteLossError, ValueError, TypeError, FileNotFoundError,
            WriteError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for r in records:
        print(f"{r['dataset']} {r['method']} width={r['width_init']:g} seed={r['seed']}: {r['accuracy']:.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())

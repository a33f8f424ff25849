"""Stage ``train@<method>``: every run (dataset × width × seed) of one method, each evaluated.

Each run (:mod:`pipelines.lib.runs`, shared with ``asgl-bench compare``) builds the dataset's model around the
method's neuron, trains it with the one trainer (:func:`asgl.training.train`), and evaluates it (accuracy,
throughput, firing rates, synaptic operations, energy) in the same process. All runs of the stage go to one
executor (:mod:`pipelines.lib.executors`), whose workers live for the whole stage: imports and the kernel cache
load are paid once per worker, not per run.

Runs survive interruption and are reused only when their identity matches (:mod:`pipelines.lib.identity`:
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
from pipelines.lib.entry import run_main
from pipelines.lib.params import ParamsError, load_params, results_dir
from pipelines.lib.records import stage_record_path, stage_runs_dir
from pipelines.lib.runs import run_one, stage_jobs


def train_stage(params: dict[str, Any], method: str, results: Path | None = None) -> list[dict[str, Any]]:
    """Run every (dataset, width, seed) of ``method``; write and return the stage's run records."""
    from pipelines.lib.executors import run_jobs

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

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

The stage starts its pool's workers first thing (:class:`pipelines.lib.executors.StageExecutor`), from the
``run`` block of ``params.yaml`` read as plain YAML, and has them import what a run imports
(:data:`RUN_IMPORTS`) while it checks the params (which imports torch) and lists the jobs: those imports no
longer wait for the stage's own. Once its records are written and its workers gone, the stage process ends
without the interpreter's teardown (0.8 s of freeing torch's modules, on which DVC waits); an exception that
escapes :func:`main` (a bug) still ends it the usual way, with its traceback.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from asgl.io import atomic_write_json
from pipelines.lib.entry import run_main
from pipelines.lib.executors import StageExecutor, exit_without_teardown
from pipelines.lib.params import ParamsError, load_params, results_dir
from pipelines.lib.records import stage_record_path, stage_runs_dir
from pipelines.lib.runs import run_one, stage_jobs

# What a run imports on its first call in a worker, beyond the torch and numba of the worker's thread count:
# run_one's own modules, and torch._dynamo (2.6 s on 2 cores), which torch.optim imports when the first
# optimiser is made. A worker's first synth-instruments run took 2.9 s and its next 0.3 s; 1.3 s with these
# imported beforehand.
RUN_IMPORTS = ("pipelines.lib.runs", "pipelines.lib.training_run", "torch._dynamo")


def train_stage(params: dict[str, Any], method: str, results: Path | None = None,
                executor: StageExecutor | None = None) -> list[dict[str, Any]]:
    """Run every (dataset, width, seed) of ``method`` on ``executor`` (default: a new one); write and return
    the stage's run records."""
    results = results_dir(params) if results is None else results
    jobs = stage_jobs(params, method, results)
    stage_runs_dir(results, method).mkdir(parents=True, exist_ok=True)
    records = (executor or StageExecutor()).run_jobs(run_one, jobs, params["run"])
    atomic_write_json(stage_record_path(results, method), records)
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train and evaluate one method on every dataset (all runs).")
    parser.add_argument("--method", required=True)
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    return run_main(lambda: _train_and_report(args.params, args.method))


def _train_and_report(params_file: str, method: str) -> None:
    with StageExecutor(warm_up=RUN_IMPORTS) as executor:
        executor.start(unchecked_run_block(params_file))
        params = load_params(params_file)
        if method not in params["run"]["methods"]:
            raise ParamsError(f"{params_file}: run.methods has no {method!r} "
                              f"(it has: {sorted(params['run']['methods'])})")
        records = train_stage(params, method, executor=executor)
    for r in records:
        print(f"{r['dataset']} {r['method']} width={r['width_init']:g} seed={r['seed']}: {r['accuracy']:.2f}%")


def unchecked_run_block(params_file: str) -> Any:
    """The ``run`` block of ``params_file`` as plain YAML, or None where it cannot be read so: enough to start
    the pool before :func:`load_params`, whose checks import torch. The runs use the checked block (and a pool
    started for another block is not used); a file that cannot be read fails there, with its own message."""
    try:
        return yaml.safe_load(Path(params_file).read_text(encoding="utf-8"))["run"]
    except (OSError, ValueError, TypeError, KeyError, yaml.YAMLError):
        return None


if __name__ == "__main__":
    exit_without_teardown(main())

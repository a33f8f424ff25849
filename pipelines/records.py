"""Where stages put their files, and the record each training run leaves for the later stages.

Paths, under the profile's ``results_dir`` (``results`` for the embedded profile)::

    runs/<method>/<dataset>/w<width>-s<seed>/   one run: config, environment, checkpoint, history, metrics
    train/<method>.json                         the run records of one train stage (DVC metrics)
    linear/<dataset>.json                       the logistic-regression reference of one dataset
    runs.csv                                    every run record, one row each (evaluate)
    metrics.json                                per dataset × method: mean, 95 % CI, n; paired differences
    tables/, plots/                             tables (md, csv, tex) and figures (tables)
"""

from __future__ import annotations

from pathlib import Path

RUN_FIELDS = (
    "dataset", "method", "display_name", "family", "synthetic", "width_init", "seed", "model", "time_steps",
    "epochs", "accuracy", "train_accuracy", "train_throughput", "inference_throughput", "peak_memory_bytes",
    "firing_rate", "activation_sparsity", "synops_dense", "synops_effective", "acs", "macs", "energy_uj",
    "strict_acs", "strict_macs", "strict_energy_uj", "parameters", "param_bytes", "final_widths",
    "final_decays", "train_seconds", "run_dir",
)


def run_dir(results: Path, method: str, dataset: str, width: float, seed: int) -> Path:
    """Folder of one run: ``results/runs/<method>/<dataset>/w<width>-s<seed>``."""
    return results / "runs" / method / dataset / f"w{width:g}-s{seed}"


def stage_runs_dir(results: Path, method: str) -> Path:
    """Folder holding every run of one train stage (its DVC output)."""
    return results / "runs" / method


def stage_record_path(results: Path, method: str) -> Path:
    """JSON list of the run records of one train stage."""
    return results / "train" / f"{method}.json"


def linear_record_path(results: Path, dataset: str) -> Path:
    """JSON record of the logistic-regression reference on one dataset."""
    return results / "linear" / f"{dataset}.json"

"""Where stages put their files, and the record each training run leaves for the later stages.

Paths (relative to the repository root)::

    results/runs/<method>/<dataset>/w<width>-s<seed>/   one run: config, environment, checkpoint, history, metrics
    results/train/<dataset>/<method>.json               the run records of one train stage (DVC metrics)
    results/runs.csv                                    every run record, one row each (evaluate)
    results/metrics.json                                accuracy mean ± std per dataset × method (DVC metrics)
    results/tables/, results/plots/                     tables (md, csv, tex) and figures (tables)
"""

from __future__ import annotations

from pathlib import Path

RESULTS = Path("results")
RUN_FIELDS = (
    "dataset", "method", "display_name", "synthetic", "width_init", "seed", "model", "time_steps", "epochs",
    "accuracy", "best_accuracy", "train_throughput", "inference_throughput", "peak_memory_bytes",
    "firing_rate", "activation_sparsity", "synops_dense", "synops_effective", "acs", "macs", "energy_uj",
    "parameters", "param_bytes", "final_widths", "train_seconds", "run_dir",
)


def run_dir(results: Path, method: str, dataset: str, width: float, seed: int) -> Path:
    """Folder of one run: ``results/runs/<method>/<dataset>/w<width>-s<seed>``."""
    return results / "runs" / method / dataset / f"w{width:g}-s{seed}"


def stage_runs_dir(results: Path, method: str, dataset: str) -> Path:
    """Folder holding every run of one train stage (its DVC output)."""
    return results / "runs" / method / dataset


def stage_record_path(results: Path, dataset: str, method: str) -> Path:
    """JSON list of the run records of one train stage."""
    return results / "train" / dataset / f"{method}.json"

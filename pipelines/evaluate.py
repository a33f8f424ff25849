"""Stage ``evaluate``: collect every run record, aggregate over seeds, write ``runs.csv`` and ``metrics.json``.

Per-run evaluation (test accuracy, throughput, firing rates, synaptic operations) happens at the end of each
training run, in the same process, because every DVC stage is a new Python process that imports torch
(≈ 3 s) and a stage per run would spend most of the CPU budget starting up (see docs/pipeline.md). This
stage turns those records into the suite's metrics:

* ``results/runs.csv`` — one row per run (:data:`pipelines.records.RUN_FIELDS`);
* ``results/metrics.json`` — for each dataset × method at its configured width: accuracy mean and std over
  seeds (sample std, ``ddof = 1``; 0 with one seed), and the mean of the other metrics; plus the robustness
  sweep as ``robustness.<dataset>.<method>.<width>``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from asgl.io import atomic_write_json, atomic_write_text
from pipelines.params import ParamsError, all_methods, load_params, main_widths
from pipelines.records import RESULTS, RUN_FIELDS, stage_record_path

MEAN_FIELDS = ("train_throughput", "inference_throughput", "firing_rate", "activation_sparsity",
               "synops_effective", "energy_uj", "parameters", "peak_memory_bytes")


def collect_records(results: Path, datasets: list[str], methods: list[str]) -> pd.DataFrame:
    """Read every ``results/train/<dataset>/<method>.json``; a missing one is an error naming it."""
    rows: list[dict[str, Any]] = []
    for dataset in datasets:
        for method in methods:
            path = stage_record_path(results, dataset, method)
            if not path.exists():
                raise FileNotFoundError(f"{path}: missing; run `dvc repro train@{dataset}-{method}` first")
            try:
                rows.extend(json.loads(path.read_text(encoding="utf-8")))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: not valid JSON ({exc}); rerun `dvc repro -f train@{dataset}-{method}`"
                                 ) from None
    frame = pd.DataFrame(rows)
    for name in RUN_FIELDS:
        if name not in frame.columns:
            frame[name] = None
    return frame[list(RUN_FIELDS)]


def _std(values: pd.Series) -> float:
    return float(values.std(ddof=1)) if len(values) > 1 else 0.0


def aggregate(runs: pd.DataFrame, main_widths: dict[str, float]) -> dict[str, Any]:
    """Summaries for ``metrics.json`` from the run table; ``main_widths[method]`` is its configured width."""
    summary: dict[str, Any] = {"main": {}, "robustness": {}}
    for (dataset, method), group in runs.groupby(["dataset", "method"], sort=True):
        main = group[group["width_init"] == main_widths.get(method, group["width_init"].iloc[0])]
        if len(main):
            entry = {"accuracy_mean": float(main["accuracy"].mean()), "accuracy_std": _std(main["accuracy"]),
                     "seeds": len(main), "width": float(main["width_init"].iloc[0])}
            for name in MEAN_FIELDS:
                numeric = pd.to_numeric(main[name], errors="coerce")
                entry[name] = None if numeric.isna().all() else float(numeric.mean())
            summary["main"].setdefault(dataset, {})[method] = entry
        for width, at_width in group.groupby("width_init"):
            summary["robustness"].setdefault(dataset, {}).setdefault(method, {})[f"{width:g}"] = {
                "accuracy_mean": float(at_width["accuracy"].mean()), "accuracy_std": _std(at_width["accuracy"]),
                "seeds": len(at_width)}
    return summary


def evaluate(params: dict[str, Any], results: Path = RESULTS) -> dict[str, Any]:
    """Collect, aggregate and write; returns the ``metrics.json`` content."""
    methods = all_methods(params)
    runs = collect_records(results, params["run"]["datasets"], methods)
    widths = main_widths(params)
    summary = aggregate(runs, widths)
    atomic_write_text(results / "runs.csv", runs.to_csv(index=False))
    atomic_write_json(results / "metrics.json", summary)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Aggregate the run records into results/metrics.json.")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    try:
        evaluate(load_params(args.params))
    except (ParamsError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {RESULTS / 'runs.csv'} and {RESULTS / 'metrics.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

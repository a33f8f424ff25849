"""Stage ``evaluate``: collect every run record, aggregate over seeds with 95 % CIs, write ``runs.csv`` and
``metrics.json``.

Per-run evaluation (test accuracy, throughput, firing rates, synaptic operations) happens at the end of each
training run, in the same process, because every DVC stage is a new Python process that imports torch
(≈ 3 s) and a stage per run would spend most of the CPU budget starting up (see docs/pipeline.md). This
stage turns those records into the suite's metrics (:mod:`pipelines.stats` for the intervals):

* ``runs.csv`` — one row per run (:data:`pipelines.records.RUN_FIELDS`);
* ``metrics.json`` —
  ``main.<dataset>.<method>``: at the method's configured width, accuracy mean, 95 % CI half-width and n
  over ``run.seeds``, the per-seed accuracies, the mean of the other metrics, and the paired difference to
  ASGL and to SG (same seeds);
  ``robustness.<dataset>.<method>.<width>``: accuracy mean, CI, n;
  ``paired.<dataset>.<width>``: ASGL − SG paired over seeds, with its CI and verdict;
  ``degradation.<dataset>.<method>``: accuracy at the narrowest minus the widest width, paired over seeds;
  ``linear.<dataset>``: the logistic-regression reference accuracy.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from asgl.io import atomic_write_json, atomic_write_text
from pipelines.params import ParamsError, all_methods, load_params, main_widths, results_dir
from pipelines.records import RUN_FIELDS, linear_record_path, stage_record_path
from pipelines.stats import Interval, mean_ci, paired_ci, verdict

MEAN_FIELDS = ("train_throughput", "inference_throughput", "firing_rate", "activation_sparsity",
               "synops_effective", "acs", "macs", "energy_uj", "strict_acs", "strict_macs", "strict_energy_uj",
               "parameters", "peak_memory_bytes", "train_accuracy")
PAIR_AGAINST = ("asgl", "sg")


def collect_records(results: Path, methods: list[str], datasets: list[str]) -> pd.DataFrame:
    """Read every ``<results>/train/<method>.json`` (rows of ``datasets`` only); a missing one is an error."""
    rows: list[dict[str, Any]] = []
    for method in methods:
        path = stage_record_path(results, method)
        if not path.exists():
            raise FileNotFoundError(f"{path}: missing; run `dvc repro train@{method}` first")
        try:
            rows.extend(r for r in json.loads(path.read_text(encoding="utf-8")) if r["dataset"] in datasets)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc}); rerun `dvc repro -f train@{method}`") from None
    frame = pd.DataFrame(rows)
    for name in RUN_FIELDS:
        if name not in frame.columns:
            frame[name] = None
    return frame[list(RUN_FIELDS)]


def collect_linear(results: Path, datasets: list[str]) -> dict[str, float]:
    """The logistic-regression accuracy per dataset (datasets without a record are left out)."""
    out = {}
    for dataset in datasets:
        path = linear_record_path(results, dataset)
        if path.exists():
            out[dataset] = float(json.loads(path.read_text(encoding="utf-8"))["accuracy"])
    return out


def by_seed(rows: pd.DataFrame) -> dict[int, float]:
    """``{seed: accuracy}`` of the rows of one cell."""
    return {int(s): float(a) for s, a in zip(rows["seed"], rows["accuracy"], strict=True)}


def finite(value: float) -> float | None:
    """``value``, or None where it is nan (JSON has no nan)."""
    return None if value is None or math.isnan(value) else float(value)


def interval_entry(interval: Interval) -> dict[str, Any]:
    """An interval as JSON-ready numbers, with its verdict when it is a difference."""
    return {"mean": finite(interval.mean), "ci95": finite(interval.half), "n": interval.n,
            "verdict": verdict(interval)}


def _main_cell(runs: pd.DataFrame, dataset: str, method: str, width: float) -> pd.DataFrame:
    rows = runs[(runs["dataset"] == dataset) & (runs["method"] == method)]
    return rows[rows["width_init"] == width]


def aggregate(runs: pd.DataFrame, widths: dict[str, float], linear: dict[str, float] | None = None
              ) -> dict[str, Any]:
    """Summaries for ``metrics.json`` from the run table; ``widths[method]`` is its configured width."""
    summary: dict[str, Any] = {"main": {}, "robustness": {}, "paired": {}, "degradation": {},
                               "linear": dict(linear or {})}
    for (dataset, method), group in runs.groupby(["dataset", "method"], sort=True):
        main = group[group["width_init"] == widths.get(method, group["width_init"].iloc[0])]
        if len(main):
            acc = mean_ci(main["accuracy"])
            entry: dict[str, Any] = {"accuracy_mean": acc.mean, "accuracy_ci95": finite(acc.half), "seeds": acc.n,
                                     "accuracy_by_seed": by_seed(main), "width": float(main["width_init"].iloc[0])}
            for name in MEAN_FIELDS:
                numeric = pd.to_numeric(main[name], errors="coerce")
                entry[name] = None if numeric.isna().all() else float(numeric.mean())
            for other in PAIR_AGAINST:
                partner = _main_cell(runs, dataset, other, widths.get(other, 1.0))
                if other != method and len(partner):
                    entry[f"minus_{other}"] = interval_entry(paired_ci(by_seed(main), by_seed(partner)))
            summary["main"].setdefault(dataset, {})[method] = entry
        cells = {float(w): rows for w, rows in group.groupby("width_init")}
        for width, rows in cells.items():
            acc = mean_ci(rows["accuracy"])
            summary["robustness"].setdefault(dataset, {}).setdefault(method, {})[f"{width:g}"] = {
                "accuracy_mean": acc.mean, "accuracy_ci95": finite(acc.half), "seeds": acc.n}
        if len(cells) > 1:
            low, high = min(cells), max(cells)
            summary["degradation"].setdefault(dataset, {})[method] = {
                "from_width": low, "to_width": high,
                **interval_entry(paired_ci(by_seed(cells[low]), by_seed(cells[high])))}
    for dataset, group in runs[runs["method"].isin(PAIR_AGAINST)].groupby("dataset"):
        asgl, sg = group[group["method"] == "asgl"], group[group["method"] == "sg"]
        for width in sorted(set(asgl["width_init"]) & set(sg["width_init"])):
            diff = paired_ci(by_seed(asgl[asgl["width_init"] == width]), by_seed(sg[sg["width_init"] == width]))
            summary["paired"].setdefault(dataset, {})[f"{width:g}"] = interval_entry(diff)
    return summary


def evaluate(params: dict[str, Any], results: Path | None = None) -> dict[str, Any]:
    """Collect, aggregate and write; returns the ``metrics.json`` content."""
    results = results_dir(params) if results is None else results
    datasets = params["run"]["datasets"]
    runs = collect_records(results, all_methods(params), datasets)
    summary = aggregate(runs, main_widths(params), collect_linear(results, datasets))
    atomic_write_text(results / "runs.csv", runs.to_csv(index=False))
    atomic_write_json(results / "metrics.json", summary)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Aggregate the run records into <results_dir>/metrics.json.")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    try:
        params = load_params(args.params)
        evaluate(params)
    except (ParamsError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = results_dir(params)
    print(f"wrote {out / 'runs.csv'} and {out / 'metrics.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

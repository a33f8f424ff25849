"""Stage ``evaluate``: collect every run record, check each against its own predictions, and compute every
interval the tables print.

Per-run evaluation (test accuracy and predictions, throughput, firing rates, synaptic operations) happens at
the end of each training run, in the same process (docs/pipeline.md). This stage turns those records into:

* ``runs.json`` — every run's whole record (:data:`pipelines.lib.records.RUN_RECORD`) and each dataset's test
  labels in the prepared data's order, with that data's sha256; ``runs.csv`` — the scalar fields;
* ``statistics.json`` — every interval (:mod:`pipelines.lib.stats`: seeds and test samples, paired on both):
  ``main.<dataset>.<method>``: accuracy at the method's configured width, the means of the other fields, the
  best-epoch accuracy, and the paired differences to ASGL, to SG and to logistic regression;
  ``robustness.<dataset>.<method>.<width>``; ``paired.<dataset>.<width>`` (ASGL − SG);
  ``degradation.<dataset>.<method>`` (narrowest minus widest width); ``linear.<dataset>``;
* ``metrics.json`` — the headline figures DVC shows and diffs (``dvc metrics show``): accuracy per dataset ×
  method at its configured width and ASGL − SG at the widest width.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from asgl.errors import UserError
from asgl.io import atomic_write_json, atomic_write_text
from asgl.metrics import prediction_codes
from pipelines.lib.entry import params_stage
from pipelines.lib.params import all_methods, data_root, main_widths, results_dir
from pipelines.lib.predictions import check_runs, correct_matrix, correct_row
from pipelines.lib.records import Runs, linear_record_path, run_key, runs_document, stage_record_path
from pipelines.lib.stats import Interval, accuracy_interval, difference_interval, mean_ci

MEAN_FIELDS = ("train_throughput", "inference_throughput", "firing_rate", "activation_sparsity",
               "synops_effective", "acs", "macs", "energy_uj", "strict_acs", "strict_macs", "strict_energy_uj",
               "parameters", "peak_memory_bytes", "train_accuracy", "train_seconds")
PAIR_AGAINST = ("asgl", "sg")


def collect_records(results: Path, methods: list[str], datasets: list[str]) -> list[dict[str, Any]]:
    """Every record of ``<results>/train/<method>.json`` for ``datasets``; a missing or corrupt file is named."""
    rows: list[dict[str, Any]] = []
    for method in methods:
        path = stage_record_path(results, method)
        if not path.exists():
            raise UserError(f"{path}: missing; run `dvc repro train@{method}` first")
        try:
            rows.extend(r for r in json.loads(path.read_text(encoding="utf-8")) if r["dataset"] in datasets)
        except (json.JSONDecodeError, TypeError, KeyError) as exc:
            raise UserError(f"{path}: not a list of run records ({exc}); rerun `dvc repro -f train@{method}`"
                            ) from None
    return rows


def test_labels(root: Path, datasets: list[str]) -> dict[str, dict[str, str]]:
    """Per dataset: the prepared data's sha256 and its test labels, encoded like predictions."""
    from asgl.data import load_prepared

    out = {}
    for dataset in datasets:
        data = load_prepared(root, dataset)
        out[dataset] = {"data_sha256": str(data.manifest.get("tensor_sha256")),
                        "test_labels": prediction_codes.encode(data.test_y.numpy())}
    return out


def cell(runs: Runs, dataset: str, method: str, width: float) -> dict[int, tuple[str, str, float, int]]:
    """``{seed: key}`` of one (dataset, method, width) cell."""
    return {k[3]: k for k in runs.records if k[0] == dataset and k[1] == method and k[2] == width}


def paired(runs: Runs, a: Mapping[int, tuple], b: Mapping[int, tuple]) -> Interval:
    """``A − B`` paired on the seeds both cells have and on the test samples."""
    seeds = sorted(set(a) & set(b))
    return difference_interval(correct_matrix(runs, [a[s] for s in seeds]),
                               correct_matrix(runs, [b[s] for s in seeds]))


def _mean_fields(runs: Runs, keys: list[tuple]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name in MEAN_FIELDS:
        values = [runs.records[k].get(name) for k in keys]
        values = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
        out[name] = sum(values) / len(values) if values else None
    return out


def _linear_vs(runs: Runs, keys: list[tuple], linear: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A cell minus logistic regression, paired on test samples (the reference has one deterministic fit)."""
    if not linear or not linear.get("test_predictions") or not keys:
        return None
    truth = prediction_codes.decode(runs.labels[keys[0][0]]["test_labels"])
    ref = correct_row(linear, truth)
    if ref.shape != truth.shape:
        return None
    mine = correct_matrix(runs, keys)
    return difference_interval(mine, np.broadcast_to(ref, mine.shape)).as_dict()


def aggregate(runs: Runs, widths: Mapping[str, float], linear: Mapping[str, Mapping[str, Any]] | None = None
              ) -> dict[str, Any]:
    """Every interval of the tables (see the module docstring); ``widths[method]`` is its configured width."""
    linear = dict(linear or {})
    summary: dict[str, Any] = {"main": {}, "robustness": {}, "paired": {}, "degradation": {}, "linear": {}}
    datasets = sorted({k[0] for k in runs.records})
    for dataset in datasets:
        ref = linear.get(dataset)
        if ref is not None:
            truth = prediction_codes.decode(runs.labels[dataset]["test_labels"])
            entry = {"accuracy": float(ref["accuracy"])}
            if ref.get("test_predictions"):
                entry["interval"] = accuracy_interval(correct_row(ref, truth)[None]).as_dict()
            summary["linear"][dataset] = entry
        methods = sorted({k[1] for k in runs.records if k[0] == dataset})
        for method in methods:
            all_widths = sorted({k[2] for k in runs.records if k[0] == dataset and k[1] == method})
            width = widths.get(method, all_widths[0])
            main = cell(runs, dataset, method, width)
            if main:
                keys = [main[s] for s in sorted(main)]
                entry: dict[str, Any] = {
                    "width": width, "seeds": sorted(main),
                    "accuracy": accuracy_interval(correct_matrix(runs, keys)).as_dict(),
                    "best_accuracy": mean_ci(runs.records[k].get("best_accuracy") for k in keys).as_dict(),
                    "backend": sorted({str(runs.records[k].get("backend")) for k in keys}),
                    **_mean_fields(runs, keys)}
                for other in PAIR_AGAINST:
                    partner = cell(runs, dataset, other, widths.get(other, 1.0))
                    if other != method and set(partner) & set(main):
                        entry[f"minus_{other}"] = paired(runs, main, partner).as_dict()
                entry["minus_linear"] = _linear_vs(runs, keys, ref)
                summary["main"].setdefault(dataset, {})[method] = entry
            for w in all_widths:
                keys = [k for _, k in sorted(cell(runs, dataset, method, w).items())]
                summary["robustness"].setdefault(dataset, {}).setdefault(method, {})[f"{w:g}"] = (
                    accuracy_interval(correct_matrix(runs, keys)).as_dict())
            if len(all_widths) > 1:
                low, high = all_widths[0], all_widths[-1]
                summary["degradation"].setdefault(dataset, {})[method] = {
                    "from_width": low, "to_width": high,
                    **paired(runs, cell(runs, dataset, method, low), cell(runs, dataset, method, high)).as_dict()}
        if "asgl" in methods and "sg" in methods:
            shared = sorted({k[2] for k in runs.records if k[0] == dataset and k[1] == "asgl"}
                            & {k[2] for k in runs.records if k[0] == dataset and k[1] == "sg"})
            for w in shared:
                summary["paired"].setdefault(dataset, {})[f"{w:g}"] = paired(
                    runs, cell(runs, dataset, "asgl", w), cell(runs, dataset, "sg", w)).as_dict()
    return summary


def headline(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The few dozen figures ``dvc metrics show`` prints: accuracy (mean, half-width) per dataset × method at
    its configured width, and ASGL − SG at the widest width with its verdict."""
    out: dict[str, Any] = {}
    for dataset, by_method in summary.get("main", {}).items():
        out[dataset] = {m: {"accuracy": round(e["accuracy"]["mean"], 2), "ci95": round(e["accuracy"]["half"], 2)}
                        for m, e in sorted(by_method.items())}
        widths = summary.get("paired", {}).get(dataset, {})
        if widths:
            widest = max(widths, key=float)
            d = widths[widest]
            out[dataset][f"asgl_minus_sg_w{widest}"] = {"mean": round(d["mean"], 2), "ci95": round(d["half"], 2),
                                                        "verdict": d["verdict"]}
    return out


def collect_linear(results: Path, datasets: list[str]) -> dict[str, dict[str, Any]]:
    """The logistic-regression record per dataset (datasets without one are left out)."""
    out = {}
    for dataset in datasets:
        path = linear_record_path(results, dataset)
        if path.exists():
            try:
                out[dataset] = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}: not valid JSON ({exc}); rerun `dvc repro -f linear`") from None
    return out


def evaluate(params: dict[str, Any], results: Path | None = None) -> dict[str, Any]:
    """Collect, check, aggregate and write; returns the ``statistics.json`` content."""
    results = results_dir(params) if results is None else results
    datasets = params["run"]["datasets"]
    records = collect_records(results, all_methods(params), datasets)
    labels = test_labels(data_root(params), sorted({r["dataset"] for r in records}))
    document = runs_document(records, labels)
    runs = Runs({run_key(r): r for r in document["runs"]}, labels, results / "runs.json")
    check_runs(runs)
    summary = aggregate(runs, main_widths(params), collect_linear(results, datasets))
    atomic_write_json(results / "runs.json", document)
    atomic_write_text(results / "runs.csv", runs.frame().to_csv(index=False))
    atomic_write_json(results / "statistics.json", summary)
    atomic_write_json(results / "metrics.json", headline(summary))
    return summary


def main(argv: list[str] | None = None) -> int:
    def work(params: dict[str, Any]) -> str:
        evaluate(params)
        return f"wrote {results_dir(params) / 'runs.json'}, runs.csv, statistics.json and metrics.json"

    return params_stage(argv, "Check every run record against its predictions and write <results_dir>/runs.json, "
                              "runs.csv, statistics.json and metrics.json.", work)


if __name__ == "__main__":
    sys.exit(main())

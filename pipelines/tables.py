"""Stage ``tables``: the comparison tables (Markdown, CSV, LaTeX) and the figures, from ``runs.csv`` and
``metrics.json``.

Tables written to ``<results_dir>/tables/``:

* ``main.*`` — per dataset × method at its configured width: accuracy mean ± 95 % CI half-width over the
  seeds (and n), the paired difference to SG (same seeds) with its CI, firing rate, synaptic operations and
  energy per sample (pooled spikes counted as accumulates; NeuroBench's strict count beside it),
  throughput, parameters, and the paper's figure where one is published. Each dataset ends with its
  ceilings, labelled: the same architecture with ReLU (a method row, family ``reference``) and logistic
  regression on the flattened features. Embedded sets that are generated are marked *(synthetic)*.
* ``robustness.*`` — rows: initial surrogate width; per dataset: SG and ASGL accuracy (mean ± CI) and the
  paired ASGL − SG difference with its CI; the paper's numbers beside them where they exist.
* ``claim.*`` — the paper's claim set by set: SG's and ASGL's loss from the narrowest to the widest width
  (paired over seeds) and ASGL − SG at the widest width, each with its CI and verdict.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from asgl.io import atomic_write_text
from pipelines.params import ParamsError, load_params, main_widths, results_dir
from pipelines.stats import Interval

REFERENCE_FILE = Path("reference_results.yaml")
LINEAR_LABEL = "Logistic regression (flattened features; reference)"


def _value(entry: dict[str, Any], name: str, fmt: str) -> str:
    """``entry[name]`` (a mean over seeds from ``metrics.json``) formatted, ``–`` when absent."""
    value = entry.get(name)
    return "–" if value is None else format(value, fmt)


def _diff(entry: dict[str, Any] | None) -> str:
    """``"+1.30 ± 0.90"`` for a paired difference (``–`` when absent)."""
    if not entry or entry.get("mean") is None:
        return "–"
    half = entry.get("ci95")
    return f"{entry['mean']:+.2f}" if half is None else f"{entry['mean']:+.2f} ± {half:.2f}"


def load_reference(path: Path = REFERENCE_FILE) -> dict[str, Any]:
    """The published numbers; an absent file gives an empty reference (tables still render)."""
    if not path.exists():
        return {"robustness": {}, "results": []}
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _paper_number(reference: dict[str, Any], dataset: str, method: str) -> str:
    hits = [r for r in reference.get("results", []) if r.get("dataset") == dataset and r.get("method") == method
            and isinstance(r.get("accuracy"), (int, float))]
    if hits:
        return ", ".join(f"{r['accuracy']:.2f} ({r['model']}, T={r['time_steps']})" for r in hits)
    return "not published" if method in (reference.get("not_published") or {}).get(dataset, []) else "–"


def main_table(runs: pd.DataFrame, metrics: dict[str, Any], widths: dict[str, float],
               reference: dict[str, Any]) -> pd.DataFrame:
    """One row per dataset × method at the method's configured width, then the dataset's ceiling rows; the
    figures are the seed means and intervals of ``metrics.json`` (computed once, by ``evaluate``)."""
    rows = []
    for dataset, by_dataset in runs.groupby("dataset", sort=True):
        synthetic = bool(by_dataset["synthetic"].iloc[0])
        label = f"{dataset} (synthetic)" if synthetic else dataset
        entries = metrics.get("main", {}).get(dataset, {})
        order = sorted(by_dataset["method"].unique(),
                       key=lambda m: (by_dataset[by_dataset["method"] == m]["family"].iloc[0] == "reference", m))
        for method in order:
            group = by_dataset[(by_dataset["method"] == method) & (by_dataset["width_init"] == widths.get(method))]
            if group.empty:
                continue
            entry = entries.get(method)
            if entry is None:
                continue
            half = entry["accuracy_ci95"]
            acc = Interval(entry["accuracy_mean"], math.nan if half is None else half, entry["seeds"])
            spiking = group["family"].iloc[0] != "reference"
            rows.append({
                "dataset": label, "method": group["display_name"].iloc[0],
                "accuracy % (95% CI)": acc.format(), "n": acc.n,
                "vs SG (paired)": _diff(entry.get("minus_sg")),
                "firing rate": _value(entry, "firing_rate", ".3f") if spiking else "–",
                "SynOps/sample": _value(entry, "synops_effective", ".3g"),
                "energy µJ/sample": _value(entry, "energy_uj", ".3g"),
                "energy µJ (strict)": _value(entry, "strict_energy_uj", ".3g"),
                "train samples/s": _value(entry, "train_throughput", ".0f"),
                "parameters": _value(entry, "parameters", ".0f"),
                "paper %": _paper_number(reference, dataset, method),
            })
        linear = metrics.get("linear", {}).get(dataset)
        if linear is not None:
            rows.append({"dataset": label, "method": LINEAR_LABEL, "accuracy % (95% CI)": f"{linear:.2f}",
                         "n": 1, **{k: "–" for k in ("vs SG (paired)", "firing rate", "SynOps/sample",
                                                      "energy µJ/sample", "energy µJ (strict)",
                                                      "train samples/s", "parameters", "paper %")}})
    return pd.DataFrame(rows)


def robustness_table(metrics: dict[str, Any], methods: list[str], reference: dict[str, Any]) -> pd.DataFrame:
    """Rows: width; per dataset the sweep methods' accuracy (mean ± CI) and the paired ASGL − SG difference."""
    table: dict[str, dict[float, str]] = {}
    for dataset, by_method in sorted(metrics.get("robustness", {}).items()):
        for method in methods:
            for width, cell in by_method.get(method, {}).items():
                half = cell.get("accuracy_ci95")
                text = f"{cell['accuracy_mean']:.2f}" + ("" if half is None else f" ± {half:.2f}")
                table.setdefault(f"{dataset} {method}", {})[float(width)] = text
        for width, entry in metrics.get("paired", {}).get(dataset, {}).items():
            table.setdefault(f"{dataset} asgl − sg", {})[float(width)] = _diff(entry)
    for dataset, entry in reference.get("robustness", {}).items():
        for method in methods:
            for width, accuracy in entry.get(method, {}).items():
                table.setdefault(f"{dataset} {method} (paper)", {})[float(width)] = f"{accuracy:.2f}"
    frame = pd.DataFrame(table).sort_index()
    frame.index.name = "width"
    return frame.fillna("–")


def claim_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """Per dataset: SG's and ASGL's accuracy loss across the sweep and ASGL − SG at the widest width."""
    rows = []
    for dataset, by_method in sorted(metrics.get("degradation", {}).items()):
        sg, asgl = by_method.get("sg"), by_method.get("asgl")
        if not sg or not asgl:
            continue
        widest = f"{sg['to_width']:g}"
        at_widest = metrics.get("paired", {}).get(dataset, {}).get(widest)
        rows.append({
            "dataset": dataset, "widths": f"{sg['from_width']:g} → {widest}",
            "SG loss (points)": _diff(sg), "ASGL loss (points)": _diff(asgl),
            f"ASGL − SG at w = {widest}": _diff(at_widest),
            "verdict at widest": (at_widest or {}).get("verdict", "–"),
            "n": sg["n"],
        })
    return pd.DataFrame(rows)


def write_table(frame: pd.DataFrame, stem: Path, index: bool) -> None:
    """Write ``stem.md``, ``stem.csv`` and ``stem.tex`` atomically."""
    atomic_write_text(stem.with_suffix(".md"), frame.to_markdown(index=index) + "\n")
    atomic_write_text(stem.with_suffix(".csv"), frame.to_csv(index=index))
    atomic_write_text(stem.with_suffix(".tex"), frame.to_latex(index=index, escape=True))


def _read_metrics(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; run `dvc repro evaluate` first")
    return json.loads(path.read_text(encoding="utf-8"))


def make_tables(params: dict[str, Any], results: Path | None = None, reference_file: Path = REFERENCE_FILE) -> None:
    """Render all tables and figures from ``runs.csv`` and ``metrics.json``."""
    from pipelines import plots

    results = results_dir(params) if results is None else results
    runs_csv = results / "runs.csv"
    if not runs_csv.exists():
        raise FileNotFoundError(f"{runs_csv}: missing; run `dvc repro evaluate` first")
    runs = pd.read_csv(runs_csv)
    metrics = _read_metrics(results / "metrics.json")
    reference = load_reference(reference_file)
    out = results / "tables"
    write_table(main_table(runs, metrics, main_widths(params), reference), out / "main", index=False)
    sweep_methods = (params.get("sweep") or {}).get("methods", [])
    if sweep_methods:
        write_table(robustness_table(metrics, sweep_methods, reference), out / "robustness", index=True)
        write_table(claim_table(metrics), out / "claim", index=False)
    plots.make_plots(runs, params, results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render <results_dir>/tables and <results_dir>/plots.")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    try:
        params = load_params(args.params)
        make_tables(params)
    except (ParamsError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = results_dir(params)
    print(f"wrote {out / 'tables'} and {out / 'plots'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

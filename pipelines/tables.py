"""Stage ``tables``: the comparison tables (Markdown, CSV, LaTeX) and the figures, from ``results/runs.csv``.

Tables written to ``results/tables/``:

* ``main.*`` — per dataset × method at its configured width: accuracy mean ± std over seeds, train and
  inference throughput (samples/s), firing rate, effective synaptic operations and energy per sample,
  parameters; embedded datasets are marked *(synthetic)* where they are generated, and the paper's number
  is shown where one is published for that dataset × method;
* ``robustness.*`` — rows: surrogate width; columns: SG and ASGL accuracy (mean ± std) per dataset, with the
  paper's published numbers beside them where they exist (``reference_results.yaml``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from asgl.io import atomic_write_text
from pipelines.params import ParamsError, load_params, main_widths
from pipelines.records import RESULTS

REFERENCE_FILE = Path("reference_results.yaml")


def _mean_std(values: pd.Series) -> str:
    values = pd.to_numeric(values, errors="coerce").dropna()
    if values.empty:
        return "–"
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.2f} ± {std:.2f}"


def _mean(values: pd.Series, fmt: str) -> str:
    values = pd.to_numeric(values, errors="coerce").dropna()
    return "–" if values.empty else format(values.mean(), fmt)


def load_reference(path: Path = REFERENCE_FILE) -> dict[str, Any]:
    """The published numbers; an absent file gives an empty reference (tables still render)."""
    if not path.exists():
        return {"robustness": {}, "results": []}
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _paper_number(reference: dict[str, Any], dataset: str, method: str) -> str:
    hits = [r for r in reference.get("results", []) if r["dataset"] == dataset and r["method"] == method]
    return ", ".join(f"{r['accuracy']:.2f} ({r['model']}, T={r['time_steps']})" for r in hits) or "–"


def main_table(runs: pd.DataFrame, main_widths: dict[str, float], reference: dict[str, Any]) -> pd.DataFrame:
    """One row per dataset × method at the method's configured width."""
    rows = []
    for (dataset, method), group in runs.groupby(["dataset", "method"], sort=True):
        group = group[group["width_init"] == main_widths.get(method, group["width_init"].iloc[0])]
        if group.empty:
            continue
        synthetic = bool(group["synthetic"].iloc[0])
        rows.append({
            "dataset": f"{dataset} (synthetic)" if synthetic else dataset,
            "method": group["display_name"].iloc[0],
            "accuracy %": _mean_std(group["accuracy"]),
            "seeds": len(group),
            "train samples/s": _mean(group["train_throughput"], ".0f"),
            "inference samples/s": _mean(group["inference_throughput"], ".0f"),
            "firing rate": _mean(group["firing_rate"], ".3f"),
            "SynOps/sample": _mean(group["synops_effective"], ".3g"),
            "energy µJ/sample": _mean(group["energy_uj"], ".3g"),
            "parameters": _mean(group["parameters"], ".0f"),
            "paper %": _paper_number(reference, dataset, method),
        })
    return pd.DataFrame(rows)


def robustness_table(runs: pd.DataFrame, methods: list[str], reference: dict[str, Any]) -> pd.DataFrame:
    """Rows: width; columns ``<dataset> <method>`` (mean ± std) and ``<dataset> <method> (paper)``."""
    sweep = runs[runs["method"].isin(methods)]
    table: dict[str, dict[float, str]] = {}
    for (dataset, method), group in sweep.groupby(["dataset", "method"], sort=True):
        column = table.setdefault(f"{dataset} {method}", {})
        for width, at_width in group.groupby("width_init"):
            column[float(width)] = _mean_std(at_width["accuracy"])
    for dataset, entry in reference.get("robustness", {}).items():
        for method in methods:
            for width, accuracy in entry.get(method, {}).items():
                table.setdefault(f"{dataset} {method} (paper)", {})[float(width)] = f"{accuracy:.2f}"
    frame = pd.DataFrame(table).sort_index()
    frame.index.name = "width"
    return frame.fillna("–")


def write_table(frame: pd.DataFrame, stem: Path, index: bool) -> None:
    """Write ``stem.md``, ``stem.csv`` and ``stem.tex`` atomically."""
    atomic_write_text(stem.with_suffix(".md"), frame.to_markdown(index=index) + "\n")
    atomic_write_text(stem.with_suffix(".csv"), frame.to_csv(index=index))
    atomic_write_text(stem.with_suffix(".tex"), frame.to_latex(index=index, escape=True))


def make_tables(params: dict[str, Any], results: Path = RESULTS, reference_file: Path = REFERENCE_FILE) -> None:
    """Render all tables and figures from ``results/runs.csv``."""
    from pipelines import plots

    runs_csv = results / "runs.csv"
    if not runs_csv.exists():
        raise FileNotFoundError(f"{runs_csv}: missing; run `dvc repro evaluate` first")
    runs = pd.read_csv(runs_csv)
    reference = load_reference(reference_file)
    widths = main_widths(params)
    out = results / "tables"
    write_table(main_table(runs, widths, reference), out / "main", index=False)
    sweep_methods = (params.get("sweep") or {}).get("methods", [])
    if sweep_methods:
        write_table(robustness_table(runs, sweep_methods, reference), out / "robustness", index=True)
    plots.make_plots(runs, params, results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render results/tables and results/plots.")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    try:
        make_tables(load_params(args.params))
    except (ParamsError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {RESULTS / 'tables'} and {RESULTS / 'plots'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

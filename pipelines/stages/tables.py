"""Stage ``tables``: the comparison tables (Markdown, CSV, LaTeX) and the README's results text, from
evaluate's ``statistics.json`` and ``runs.json`` (the figures are the ``plots`` stage's).

Tables written to ``<results_dir>/tables/``:

* ``main.*`` — per dataset × method at its configured width: accuracy mean ± 95 % half-width (seeds and test
  samples, :mod:`pipelines.lib.stats`), the paired difference to SG with its verdict and the probability of
  outperforming, the difference to logistic regression, firing rate, synaptic operations and energy, the
  backend and throughput, parameters, and a published figure where one was measured at the same width and T.
  Each dataset ends with its reference rows: the same architecture with ReLU (family ``reference``) and
  logistic regression. The paper profile adds the best-epoch accuracy (the authors' protocol).
* ``robustness.*`` — per dataset and width: SG, ASGL and ASGL − SG; long format (one row per dataset × width).
* ``claim.*`` — the paper's claim set by set: SG's and ASGL's loss across the widths and ASGL − SG at the
  widest width, each with its interval and verdict.
* ``published.*`` — every published figure with its kind (paper / authors' repository / later citation) and
  the width and T it was measured at.

The README's results text (between ``<!-- results:start -->`` and ``<!-- results:end -->``) is
:func:`pipelines.lib.claims.results_text` of the same statistics; this stage rewrites it when the README exists.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from asgl.errors import UserError
from asgl.io import atomic_write_text
from pipelines.lib.claims import update_readme
from pipelines.lib.entry import params_stage
from pipelines.lib.params import main_widths, results_dir
from pipelines.lib.records import load_runs, load_statistics
from pipelines.lib.stats import Interval, verdict

REFERENCE_FILE = Path("reference_results.yaml")
README = Path("README.md")
LINEAR_LABEL = "Logistic regression (flattened features; reference)"
KIND_LABEL = {"paper": "paper", "authors-repository": "authors' repository", "later-citation": "later citation"}


def interval(entry: Mapping[str, Any] | None) -> Interval:
    """An interval of ``statistics.json`` (an empty one when absent)."""
    return Interval.from_dict(entry) if entry else Interval(float("nan"), float("nan"), 0)


def _diff(entry: Mapping[str, Any] | None) -> str:
    """``"+1.30 ± 0.90 (better)"`` for a paired difference, ``–`` when absent."""
    iv = interval(entry)
    return "–" if iv.n == 0 else f"{iv.format(signed=True)} ({verdict(iv)})"


def _loss(entry: Mapping[str, Any] | None) -> str:
    """``"+12.96 ± 6.88 (lost)"``: accuracy at the narrowest minus the widest width, with what its interval
    says (``lost`` / ``gained`` when it excludes 0)."""
    iv = interval(entry)
    if iv.n == 0:
        return "–"
    word = {"better": "lost", "worse": "gained"}.get(verdict(iv), verdict(iv))
    return f"{iv.format(signed=True)} ({word})"


def _value(entry: Mapping[str, Any], name: str, fmt: str) -> str:
    value = entry.get(name)
    return "–" if value is None else format(value, fmt)


def load_reference(path: Path = REFERENCE_FILE) -> dict[str, Any]:
    """The published numbers; an absent file gives an empty reference (tables still render)."""
    if not path.exists():
        return {"robustness": {}, "results": []}
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({exc}); restore it from git") from None


def published_figure(reference: Mapping[str, Any], dataset: str, method: str, width: float,
                     time_steps: int | None) -> str:
    """The published figures measured at this row's width and T, each with its kind; ``not published`` or
    ``–`` otherwise. A figure whose source does not state the width is shown with that said."""
    hits = []
    for r in reference.get("results") or []:
        if r.get("dataset") != dataset or r.get("method") != method:
            continue
        if r.get("time_steps") is not None and time_steps is not None and int(r["time_steps"]) != int(time_steps):
            continue
        if r.get("width") is not None and float(r["width"]) != float(width):
            continue
        setting = "width not stated" if r.get("width") is None else f"w = {float(r['width']):g}"
        hits.append(f"{r['accuracy']:.2f} ({KIND_LABEL.get(r.get('kind'), r.get('kind'))}; {setting}, "
                    f"T = {r.get('time_steps')})")
    if hits:
        return "; ".join(hits)
    return "not published" if method in (reference.get("not_published") or {}).get(dataset, []) else "–"


# What a row's test set measures, where its name does not say it (docs/datasets.md).
SPLIT_NOTES = {"fsdd": "within-speaker", "fsdd-speakers": "held-out speakers"}


def dataset_label(dataset: str, synthetic: bool) -> str:
    """``"fsdd (within-speaker)"``, ``"synth-instruments (synthetic)"``: the dataset with what its rows are."""
    notes = [n for n in (SPLIT_NOTES.get(dataset), "synthetic" if synthetic else None) if n]
    return f"{dataset} ({', '.join(notes)})" if notes else dataset


def main_table(runs: pd.DataFrame, statistics: Mapping[str, Any], widths: Mapping[str, float],
               reference: Mapping[str, Any], best_epoch: bool = False) -> pd.DataFrame:
    """One row per dataset × method at its configured width, then the dataset's reference rows."""
    rows = []
    for dataset, by_dataset in runs.groupby("dataset", sort=True):
        label = dataset_label(dataset, bool(by_dataset["synthetic"].iloc[0]))
        entries = statistics.get("main", {}).get(dataset, {})
        order = sorted(entries, key=lambda m: (by_dataset[by_dataset["method"] == m]["family"].iloc[0]
                                               == "reference", m))
        for method in order:
            entry = entries[method]
            group = by_dataset[(by_dataset["method"] == method) & (by_dataset["width_init"] == entry["width"])]
            spiking = group["family"].iloc[0] != "reference"
            acc = interval(entry["accuracy"])
            row = {"dataset": label, "method": group["display_name"].iloc[0],
                   "accuracy % (95% CI)": acc.format(), "n": acc.n,
                   "vs SG (paired)": _diff(entry.get("minus_sg")),
                   "P(> SG)": "–" if not entry.get("minus_sg") else f"{entry['minus_sg']['p_better']:.2f}",
                   "vs logistic regression": _diff(entry.get("minus_linear"))}
            if best_epoch:
                row["best-epoch % (authors' protocol, test-selected)"] = interval(entry["best_accuracy"]).format()
            row.update({
                "firing rate": _value(entry, "firing_rate", ".3f") if spiking else "–",
                "SynOps/sample": _value(entry, "synops_effective", ".3g"),
                "energy µJ/sample": _value(entry, "energy_uj", ".3g"),
                "train samples/s": _value(entry, "train_throughput", ".0f"),
                "backend": ", ".join(entry.get("backend") or []) or "–",
                "parameters": _value(entry, "parameters", ".0f"),
                "published %": published_figure(reference, dataset, method, entry["width"],
                                                group["time_steps"].iloc[0] if group["time_steps"].notna().any()
                                                else None),
            })
            rows.append(row)
        linear = statistics.get("linear", {}).get(dataset)
        if linear is not None:
            text = interval(linear.get("interval")).format() if linear.get("interval") else f"{linear['accuracy']:.2f}"
            filler = {k: "–" for k in (rows[-1] if rows else {})}
            rows.append({**filler, "dataset": label, "method": LINEAR_LABEL, "accuracy % (95% CI)": text, "n": 1})
    return pd.DataFrame(rows)


def robustness_table(statistics: Mapping[str, Any], methods: list[str]) -> pd.DataFrame:
    """One row per dataset × width: each sweep method's accuracy and ASGL − SG (paired), with its verdict."""
    rows = []
    for dataset, by_method in sorted(statistics.get("robustness", {}).items()):
        widths = sorted({float(w) for m in methods for w in by_method.get(m, {})})
        for width in widths:
            row: dict[str, Any] = {"dataset": dataset, "width": f"{width:g}"}
            for method in methods:
                row[f"{method} %"] = interval(by_method.get(method, {}).get(f"{width:g}")).format()
            row["ASGL − SG (paired)"] = _diff(statistics.get("paired", {}).get(dataset, {}).get(f"{width:g}"))
            rows.append(row)
    return pd.DataFrame(rows)


def claim_table(statistics: Mapping[str, Any]) -> pd.DataFrame:
    """Per dataset: SG's and ASGL's accuracy loss across the sweep and ASGL − SG at the widest width."""
    rows = []
    for dataset, by_method in sorted(statistics.get("degradation", {}).items()):
        sg, asgl = by_method.get("sg"), by_method.get("asgl")
        if not sg or not asgl:
            continue
        widest = f"{sg['to_width']:g}"
        at_widest = statistics.get("paired", {}).get(dataset, {}).get(widest)
        rows.append({"dataset": dataset, "widths": f"{sg['from_width']:g} → {widest}",
                     "SG loss (points)": _loss(sg), "ASGL loss (points)": _loss(asgl),
                     "ASGL − SG at widest": _diff(at_widest), "n": sg["n"]})
    return pd.DataFrame(rows)


def published_table(reference: Mapping[str, Any]) -> pd.DataFrame:
    """Every published figure with its kind, source and setting."""
    rows = [{"dataset": r.get("dataset"), "method": r.get("method"), "accuracy %": r.get("accuracy"),
             "kind": KIND_LABEL.get(r.get("kind"), r.get("kind")), "source": r.get("source"),
             "model": r.get("model"), "T": r.get("time_steps"),
             "width": "not stated" if r.get("width") is None else f"{float(r['width']):g}",
             "note": r.get("note", "")} for r in reference.get("results") or []]
    sources = reference.get("sources") or {}
    for dataset, entry in sorted((reference.get("robustness") or {}).items()):
        for method in ("sg", "asgl"):
            for width, accuracy in (entry.get(method) or {}).items():
                rows.append({"dataset": dataset, "method": method, "accuracy %": accuracy,
                             "kind": KIND_LABEL["authors-repository"], "source": entry.get("source"),
                             "model": "resnet18", "T": 2, "width": f"{float(width):g}",
                             "note": f"robustness table ({sources.get(entry.get('source'), '')})"})
    return pd.DataFrame(rows)


def write_table(frame: pd.DataFrame, stem: Path, index: bool = False) -> None:
    """Write ``stem.md``, ``stem.csv`` and ``stem.tex`` atomically."""
    atomic_write_text(stem.with_suffix(".md"), frame.to_markdown(index=index) + "\n")
    atomic_write_text(stem.with_suffix(".csv"), frame.to_csv(index=index))
    atomic_write_text(stem.with_suffix(".tex"), frame.to_latex(index=index, escape=True))


def make_tables(params: dict[str, Any], results: Path | None = None, reference_file: Path = REFERENCE_FILE,
                readme: Path | None = README) -> None:
    """Render all tables and (when ``readme`` exists) the README's results text."""
    results = results_dir(params) if results is None else results
    frame = load_runs(results).frame()
    statistics = load_statistics(results)
    reference = load_reference(reference_file)
    out = results / "tables"
    paper = params.get("profile") == "paper"
    write_table(main_table(frame, statistics, main_widths(params), reference, best_epoch=paper), out / "main")
    write_table(published_table(reference), out / "published")
    sweep_methods = (params.get("sweep") or {}).get("methods", [])
    if sweep_methods:
        write_table(robustness_table(statistics, sweep_methods), out / "robustness")
        write_table(claim_table(statistics), out / "claim")
    if readme is not None and readme.exists() and params.get("profile") == "embedded":
        update_readme(readme, statistics)


def main(argv: list[str] | None = None) -> int:
    def work(params: dict[str, Any]) -> str:
        make_tables(params)
        return f"wrote {results_dir(params) / 'tables'}"

    return params_stage(argv, "Render <results_dir>/tables and the README's results text.", work)


if __name__ == "__main__":
    sys.exit(main())

"""``asgl-bench compare METHOD``: train one method as the table does, then compare it with the table's runs.

The method is trained with the table's own machinery (:mod:`pipelines.lib.runs`: the same run settings, run
identity, trainer and executor), on the datasets, seeds and budgets of the active ``params.yaml``, into its
own results folder (``<results_dir>/compare/<method>/``, never the table's). It is then compared, per
dataset, with the committed reference runs (``<results_dir>/runs.json``: every run's record and per-sample
test predictions):

* accuracy: mean over seeds with its 95 % interval over seeds and test samples
  (:func:`pipelines.lib.stats.accuracy_interval`);
* the difference against ASGL and against SG at their main-table widths, paired on the seeds both have and on
  the test samples (:func:`pipelines.lib.stats.difference_interval`), the probability of outperforming, and a
  verdict at 95 %: ``better`` / ``no different at n = …`` / ``worse`` (:func:`pipelines.lib.stats.verdict`);
* mean firing rate and energy per sample (µJ), with the references' alongside.

With ``sweep``, every width of ``sweep.widths`` is trained and compared with ASGL and SG at that width.
A cut-down budget (fewer datasets, seeds or epochs) is recorded in the output and flagged: the references
were trained at the table's budget, so such a comparison checks that a method runs, not how good it is.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from asgl.errors import UserError
from asgl.metrics import prediction_codes
from pipelines.lib.params import ParamsError, main_widths, results_dir
from pipelines.lib.predictions import correct_row
from pipelines.lib.records import Runs, load_runs
from pipelines.lib.stats import accuracy_interval, difference_interval, mean_ci, verdict

REFERENCES = ("asgl", "sg")


class CompareError(ValueError, UserError):
    """A comparison cannot be made (missing reference file or column, unknown dataset); one line, what to do."""


def compare_params(params: Mapping[str, Any], method: str, source: str, *, datasets: Sequence[str] | None = None,
                   seeds: Sequence[int] | None = None, epochs: int | None = None, sweep: bool = False,
                   workers: int | None = None) -> dict[str, Any]:
    """A copy of ``params`` that runs ``method`` (from ``source``) only, with the optional cut-down budget."""
    out = copy.deepcopy(dict(params))
    run = out["run"]
    known = list(run["datasets"])
    if datasets:
        unknown = [d for d in datasets if d not in known]
        if unknown:
            raise CompareError(f"--datasets {unknown}: not in run.datasets of params.yaml ({', '.join(known)})")
        run["datasets"] = list(datasets)
    if seeds:
        run["seeds"] = [int(s) for s in seeds]
    if workers is not None:
        run["workers"] = int(workers)
    if epochs is not None:
        if epochs < 1:
            raise CompareError(f"--epochs must be >= 1, got {epochs}")
        for d in run["datasets"]:
            train = out["datasets"][d]["train"]
            train["epochs"] = int(epochs)
            train["eval_every"] = min(int(train.get("eval_every", 1)), int(epochs))
    run["methods"] = {method: source}
    out["methods"] = {method: dict((params.get("methods") or {}).get(method) or {})}
    if sweep:
        widths = (params.get("sweep") or {}).get("widths")
        if not widths:
            raise CompareError("--sweep: params.yaml has no sweep.widths")
        out["sweep"] = {"methods": [method], "widths": list(widths)}
    else:
        out.pop("sweep", None)
    return out


def budget(params: Mapping[str, Any], table: Mapping[str, Any]) -> dict[str, Any]:
    """What was run, and whether it differs from the table's budget (``table`` = the unmodified params)."""
    run = params["run"]
    epochs = {d: params["datasets"][d]["train"]["epochs"] for d in run["datasets"]}
    full = {d: table["datasets"][d]["train"]["epochs"] for d in run["datasets"]}
    cut = (epochs != full or list(run["seeds"]) != list(table["run"]["seeds"])
           or list(run["datasets"]) != list(table["run"]["datasets"]))
    return {"datasets": list(run["datasets"]), "seeds": list(run["seeds"]), "epochs": epochs,
            "table_epochs": full, "table_seeds": list(table["run"]["seeds"]), "cut_down": cut}


def read_reference(path: Path) -> Runs:
    """The reference runs (a results folder, or its ``runs.json`` / ``runs.csv``) with their predictions."""
    try:
        return load_runs(path)
    except UserError as exc:
        raise CompareError(f"{exc}; run `make benchmark` (or `dvc repro`) to produce them, or pass --reference"
                           ) from None


def compare_cell(new: Mapping[int, Mapping[str, Any]], refs: Mapping[str, Mapping[int, Mapping[str, Any]]],
                 truth: np.ndarray) -> dict[str, Any]:
    """One dataset (× width): the new method's runs (by seed) against each reference's runs, paired on the
    seeds both have and on the test samples (:func:`pipelines.lib.stats.difference_interval`)."""
    seeds = sorted(new)
    cell: dict[str, Any] = {
        "seeds": seeds, "accuracy_per_seed": {str(s): new[s]["accuracy"] for s in seeds},
        "accuracy": accuracy_interval(np.stack([correct_row(new[s], truth) for s in seeds])).as_dict(),
        "firing_rate": mean_ci(r.get("firing_rate") for r in new.values()).as_dict(),
        "energy_uj": mean_ci(r.get("energy_uj") for r in new.values()).as_dict(), "against": {}}
    for name, rows in refs.items():
        shared = sorted(set(new) & set(rows))
        entry: dict[str, Any] = {"paired_seeds": shared}
        if rows:
            rows_correct = np.stack([correct_row(rows[s], truth) for s in sorted(rows)])
            entry["accuracy"] = accuracy_interval(rows_correct).as_dict()
            entry["firing_rate"] = mean_ci(r.get("firing_rate") for r in rows.values()).as_dict()
            entry["energy_uj"] = mean_ci(r.get("energy_uj") for r in rows.values()).as_dict()
        if shared:
            diff = difference_interval(np.stack([correct_row(new[s], truth) for s in shared]),
                                       np.stack([correct_row(rows[s], truth) for s in shared]))
            entry.update(difference=diff.as_dict(), verdict=verdict(diff), p_better=diff.p_better)
        cell["against"][name] = entry
    return cell


def compare_records(records: Sequence[Mapping[str, Any]], reference: Runs, ref_widths: Mapping[str, float]
                    ) -> list[dict[str, Any]]:
    """One entry per (dataset, width) of ``records`` (run records of :func:`pipelines.lib.runs.run_one`).

    A record with ``main_width`` true (the method's configured width) is compared with each reference at its
    main-table width (``ref_widths``); a sweep width with each reference at that same width. The new runs must
    be on the reference's prepared data (same sha256: same test samples in the same order).
    """
    by_cell: dict[tuple[str, float, bool], dict[int, Mapping[str, Any]]] = {}
    for r in records:
        labels = reference.labels.get(r["dataset"])
        if labels is None or labels["data_sha256"] != r.get("data_sha256"):
            raise CompareError(f"{reference.source}: no runs on the prepared {r['dataset']} data this run used "
                               f"(sha256 {str(r.get('data_sha256'))[:12]}…); rerun `make benchmark` first")
        key = (r["dataset"], float(r["width_init"]), bool(r.get("main_width", True)))
        by_cell.setdefault(key, {})[int(r["seed"])] = r
    out = []
    for (dataset, width, is_main), new in sorted(by_cell.items(), key=lambda kv: (kv[0][0], not kv[0][2], kv[0][1])):
        truth = prediction_codes.decode(reference.labels[dataset]["test_labels"])
        refs = {m: {k[3]: rec for k, rec in reference.records.items() if k[0] == dataset and k[1] == m
                    and math.isclose(k[2], ref_widths[m] if is_main else width)} for m in ref_widths}
        out.append({"dataset": dataset, "width": width, "main": is_main, **compare_cell(new, refs, truth)})
    return out


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def _fmt(iv: Mapping[str, Any], digits: int = 2) -> str:
    if not iv or iv.get("n", 0) == 0 or iv.get("mean") is None:
        return "–"
    if iv.get("half") is None:
        return f"{iv['mean']:.{digits}f} (n={iv['n']})"
    return f"{iv['mean']:.{digits}f} ± {iv['half']:.{digits}f} (n={iv['n']})"


def markdown(report: Mapping[str, Any]) -> str:
    """The comparison as a Markdown table (also what the terminal shows)."""
    refs = list(REFERENCES)
    head = ["dataset", "width", f"{report['method']} acc. (%)"]
    for m in refs:
        head += [f"{m.upper()} acc. (%)", f"Δ vs {m.upper()} (paired)", "verdict"]
    head += ["firing rate", "energy (µJ)"]
    lines = [f"### {report['display_name']} (`{report['method']}`) against the table", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in report["rows"]:
        cells = [row["dataset"], f"{row['width']:g}" + ("" if row["main"] else " (sweep)"), _fmt(row["accuracy"])]
        for m in refs:
            a = row["against"].get(m, {})
            cells += [_fmt(a.get("accuracy", {})), _fmt(a.get("difference", {})), a.get("verdict", "–")]
        cells += [_fmt(row["firing_rate"], 3), _fmt(row["energy_uj"], 3)]
        lines.append("| " + " | ".join(cells) + " |")
    b = report["budget"]
    lines += ["", f"Mean ± 95 % interval over seeds {b['seeds']} (n) and the test samples; Δ = difference paired on "
              "seeds and test samples with its 95 % interval; "
              "verdict at 95 %. References: " + ", ".join(f"{m} at width {w:g}"
                                                          for m, w in report["reference_widths"].items())
              + f", from `{report['reference']}`."]
    if b["cut_down"]:
        lines.append(f"**Cut-down budget** (epochs {b['epochs']}, table: {b['table_epochs']}; seeds {b['seeds']}, "
                     f"table: {b['table_seeds']}): the references were trained at the table's budget, so this "
                     "checks that the method runs, not how good it is.")
    return "\n".join(lines) + "\n"


def progress_line(record: Mapping[str, Any], started: float) -> str:
    return (f"  done {record['dataset']} width={record['width_init']:g} seed={record['seed']}: "
            f"{record['accuracy']:.2f}% ({time.perf_counter() - started:.0f} s)")


def run_and_report(job: dict[str, Any]) -> dict[str, Any]:
    """:func:`pipelines.lib.runs.run_one`, printing one progress line when the run finishes (picklable)."""
    from pipelines.lib.runs import run_one

    started = time.perf_counter()
    record = run_one(job)
    print(progress_line(record, started), file=sys.stderr, flush=True)
    return record


def compare(table_params: Mapping[str, Any], method: str, source: str, *, results: Path | None = None,
            reference: Path | None = None, **cut: Any) -> dict[str, Any]:
    """Train ``method`` (see :func:`compare_params` for ``cut``) and compare it; writes and returns the report.

    Files in ``results`` (default ``<results_dir>/compare/<method>``): ``runs/…`` (the runs),
    ``records.json``, ``comparison.json`` and ``comparison.md``.
    """
    from asgl.data import prepare_dataset
    from asgl.io import atomic_write_json, atomic_write_text
    from pipelines.lib.executors import gpu_count, run_jobs, workers_for
    from pipelines.lib.identity import load_method
    from pipelines.lib.params import data_root
    from pipelines.lib.runs import stage_jobs

    params = compare_params(table_params, method, source, **cut)
    results = Path(results) if results is not None else results_dir(table_params) / "compare" / method
    reference = Path(reference) if reference is not None else results_dir(table_params)
    ref_rows = read_reference(reference)
    spec = load_method(method, source)
    spec.resolve_params(params["methods"][method])
    root = data_root(params)
    for d in params["run"]["datasets"]:
        prepare_dataset(d, root, **(params["datasets"][d].get("prepare") or {}))
    jobs = stage_jobs(params, method, results)
    main_width = float(spec.resolve_params(params["methods"][method]).get("width", 1.0))
    workers = min(workers_for(params["run"], gpu_count() if params["run"].get("device") != "cpu" else 0), len(jobs))
    print(f"training {len(jobs)} run(s) of {method} on {', '.join(params['run']['datasets'])} "
          f"(seeds {params['run']['seeds']}, {workers} worker(s)) into {results}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    records = run_jobs(run_and_report, jobs, params["run"])
    for r in records:
        r["main_width"] = math.isclose(float(r["width_init"]), main_width)
    atomic_write_json(results / "records.json", records)
    widths = {m: w for m, w in main_widths(table_params).items() if m in REFERENCES}
    missing = [m for m in REFERENCES if m not in widths]
    if missing:
        raise ParamsError(f"params.yaml: run.methods has no {missing}; the comparison needs the table's references")
    report = {"method": method, "display_name": spec.display_name, "source": source,
              "results": str(results), "reference": str(reference), "reference_widths": widths,
              "budget": budget(params, table_params),
              "train_seconds": round(time.perf_counter() - started, 1),
              "rows": compare_records(records, ref_rows, widths)}
    atomic_write_json(results / "comparison.json", report)
    atomic_write_text(results / "comparison.md", markdown(report))
    return report

"""Check a fresh benchmark run against the published table, run by run: a verdict that cannot pass a run that
did not reproduce.

What is reproducible, precisely:

* **On one machine** a rerun is bit-identical: same seeds, batch order, kernels and summation order, so every
  run predicts every test sample the same. The check says ``bit-identical``.
* **Across machines** it is not: CPU kernels sum in a processor-dependent order and training amplifies the
  last bits into different weights. What must hold is that the fresh runs are draws from the same
  distribution as the published ones.

The check, in order (each failure exits 1 and names its cause):

1. Both sides are read whole (``runs.json``) and each is checked against itself: every run's accuracy must be
   what its per-sample predictions score on its dataset's test labels (a reference that disagrees with its
   own predictions is refused).
2. **Complete**: every (dataset, method, width, seed) of the reference is in the fresh run and the reverse;
   otherwise ``INCOMPLETE``, listing what is missing and what is extra. ``--only`` narrows both sides and the
   output says what was left out.
3. **Same experiment**: run by run, the settings (model, budget, method parameters, seed, prepare block),
   the prepared data's sha256 and the code fingerprint must be equal; a difference is refused with the
   differing key. Only what the machine decides may differ.
4. **Paired comparison**: each fresh run is paired with the reference run of the same key (same seed, same
   test samples), ``d_ri = [fresh ŷ_ri = y_i] − [reference ŷ_ri = y_i]``, and
   :func:`pipelines.lib.stats.difference_interval` gives each dataset × method cell's shift with its 95 %
   interval over runs and test samples; :func:`pipelines.lib.stats.pooled` combines a dataset's cells.
5. **Verdict**: ``reproduced`` when every dataset's shift lies within ±δ points with 95 % confidence (its whole
   interval inside; an equivalence test, so an empty, broken or noisy run cannot pass by "not being
   rejected") and no dataset × method cell differs from 0 at a family-wise 95 % level (Holm over the cells);
   else ``NOT REPRODUCED``, naming the datasets and cells and the overall shift.

δ = :data:`MARGIN` was measured (docs/pipeline.md, "Reproducing the table"): the published runs against the
same runs with their floating-point summation order changed (torch's and oneDNN's CPU kernels limited to
AVX2, as on another processor). A dataset × method cell holds 3 runs (15 for the sweep methods), so its own
interval is several points wide; equivalence is therefore asked of datasets, and of cells only "not
clearly different".
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from asgl.errors import UserError
from pipelines.lib.entry import run_main
from pipelines.lib.params import load_params, results_dir
from pipelines.lib.predictions import check_runs, correct_matrix
from pipelines.lib.records import Runs, key_text, load_runs
from pipelines.lib.stats import Interval, difference_interval, pooled

MARGIN = 1.5
PUBLISHED = Path(__file__).resolve().parents[1] / "published"
MACHINE_KEYS = frozenset({"device", "resume", "progress", "eval_batch_size", "ddp"})


class Refused(UserError):
    """The fresh run and the reference are not the same experiment (or a reference contradicts itself)."""


def default_reference(profile: str) -> Path:
    """The published table of ``profile`` shipped with the package (``pipelines/published/<profile>``)."""
    return PUBLISHED / profile


def narrow(runs: Runs, only: Iterable[str]) -> Runs:
    """Keep the runs of ``only`` (``DATASET`` or ``DATASET/METHOD`` items); all when ``only`` is empty."""
    wanted = [item.split("/", 1) for item in only]
    if not wanted:
        return runs
    keep = {k: r for k, r in runs.records.items()
            if any(k[0] == w[0] and (len(w) == 1 or k[1] == w[1]) for w in wanted)}
    return Runs(keep, runs.labels, runs.source)


def completeness(fresh: Runs, reference: Runs) -> tuple[list, list]:
    """(keys of the reference missing from the fresh run, keys of the fresh run the reference lacks)."""
    return sorted(set(reference.records) - set(fresh.records)), sorted(set(fresh.records) - set(reference.records))


def _flatten(value, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def settings_difference(fresh: dict, reference: dict) -> str | None:
    """The first key in which two runs' settings differ (machine-decided keys excepted), with both values."""
    a, b = _flatten(fresh.get("settings") or {}), _flatten(reference.get("settings") or {})
    for key in sorted(set(a) | set(b)):
        if key.rsplit(".", 1)[-1] in MACHINE_KEYS:
            continue
        if a.get(key) != b.get(key):
            return f"{key}: {a.get(key)!r} here, {b.get(key)!r} in the reference"
    if fresh.get("data_sha256") != reference.get("data_sha256"):
        return f"data_sha256: {fresh.get('data_sha256')} here, {reference.get('data_sha256')} in the reference"
    return None


def label_errors(runs: Runs) -> list[str]:
    """Runs whose key disagrees with their own settings (a mislabelled seed, width, method or dataset)."""
    out = []
    for key, record in runs.records.items():
        settings = record.get("settings") or {}
        recorded = (settings.get("dataset"), settings.get("method"), settings.get("width"), settings.get("seed"))
        if recorded != (key[0], key[1], key[2], key[3]):
            out.append(f"{key_text(key)} was trained as {recorded[0]}/{recorded[1]} w={recorded[2]} "
                       f"seed {recorded[3]}")
    return out


def bit_identical(fresh: Runs, reference: Runs) -> bool:
    """Every run predicts every test sample as in the reference, and records the same accuracy."""
    return all(fresh.records[k]["test_predictions"] == r["test_predictions"] and
               fresh.records[k]["accuracy"] == r["accuracy"] for k, r in reference.records.items())


@dataclass(frozen=True)
class Shift:
    """The fresh − reference accuracy shift of one dataset × method cell, or of a dataset (``method`` None)."""

    dataset: str
    method: str | None
    interval: Interval
    holm_differs: bool = False


def cell_shifts(fresh: Runs, reference: Runs) -> list[Shift]:
    """Per dataset × method: the paired shift over all its runs (widths × seeds) and test samples."""
    cells: dict[tuple[str, str], list] = {}
    for key in sorted(reference.records):
        cells.setdefault((key[0], key[1]), []).append(key)
    return [Shift(d, m, difference_interval(correct_matrix(fresh, keys), correct_matrix(reference, keys)))
            for (d, m), keys in sorted(cells.items())]


def holm(shifts: list[Shift]) -> list[Shift]:
    """Mark the cells whose shift differs from 0 at a family-wise 5 % level (Holm's step-down on the two-sided
    p-values of ``mean / (half / t)`` with each interval's degrees of freedom)."""
    from scipy.stats import t

    def p_value(iv: Interval) -> float:
        q = t.ppf(0.975, iv.df) if math.isfinite(iv.df) else 1.959964
        se = iv.half / q
        return float(2 * t.sf(abs(iv.mean) / se, iv.df if math.isfinite(iv.df) else 1e9)) if se > 0 else 1.0

    order = sorted(range(len(shifts)), key=lambda i: p_value(shifts[i].interval))
    flagged = set()
    for rank, i in enumerate(order):
        if p_value(shifts[i].interval) > 0.05 / (len(shifts) - rank):
            break
        flagged.add(i)
    return [Shift(s.dataset, s.method, s.interval, i in flagged) for i, s in enumerate(shifts)]


def dataset_shifts(cells: list[Shift]) -> list[Shift]:
    """Per dataset: the inverse-variance pooled shift of its cells."""
    by_dataset: dict[str, list[Interval]] = {}
    for c in cells:
        by_dataset.setdefault(c.dataset, []).append(c.interval)
    return [Shift(d, None, pooled(ivs)) for d, ivs in sorted(by_dataset.items())]


def detectable(interval: Interval, margin: float = MARGIN) -> str:
    """What this dataset's noise lets the check see: a true shift beyond ±margin fails with ≥ 97.5 %
    probability, one beyond ±(margin − half) half the time; when half ≥ margin no run can pass."""
    smallest = margin - interval.half
    if smallest <= 0:
        return f"too noisy to confirm (± {interval.half:.2f} ≥ δ = {margin:g}): more seeds are needed"
    return f"smallest detectable shift {smallest:.2f} points (beyond ±{margin:g}: ≥ 97.5 % of the time)"


def verdict(datasets: list[Shift], cells: list[Shift], margin: float = MARGIN) -> tuple[bool, list[str]]:
    """(reproduced?, the lines naming what failed)."""
    failures = [f"{s.dataset}: shift {s.interval.format(signed=True)} points is not within ±{margin:g}"
                for s in datasets if not (s.interval.low >= -margin and s.interval.high <= margin)]
    failures += [f"{c.dataset}/{c.method}: shift {c.interval.format(signed=True)} points differs from 0 "
                 "(family-wise 95 %)" for c in cells if c.holm_differs]
    return not failures, failures


def check(fresh: Runs, reference: Runs, only: list[str], margin: float = MARGIN) -> tuple[int, list[str]]:
    """Run the whole check; returns (exit status, lines to print)."""
    try:
        check_runs(reference)
    except UserError as exc:
        raise Refused(f"reference refused: {exc}") from None
    check_runs(fresh)
    lines = []
    if only:
        left = sorted({k[0] for k in reference.records} - {w.split("/")[0] for w in only})
        lines.append(f"only {', '.join(only)}: left out {', '.join(left) or 'nothing else'}")
        fresh, reference = narrow(fresh, only), narrow(reference, only)
        if not reference.records:
            raise UserError(f"--only {' '.join(only)}: the reference has no such runs")
    missing, extra = completeness(fresh, reference)
    if missing or extra:
        lines += [f"missing: {key_text(k)}" for k in missing[:20]] + [f"extra: {key_text(k)}" for k in extra[:20]]
        if len(missing) > 20 or len(extra) > 20:
            lines.append(f"({len(missing)} missing and {len(extra)} extra in all)")
        lines.append(f"INCOMPLETE: {len(missing)} runs of the reference are missing and {len(extra)} are extra")
        return 1, lines
    mislabelled = label_errors(fresh) + [f"reference: {e}" for e in label_errors(reference)]
    if mislabelled:
        raise Refused(f"{fresh.source}: {mislabelled[0]} ({len(mislabelled)} such runs); a run's key must "
                      "match its settings")
    for key, ref in sorted(reference.records.items()):
        diff = settings_difference(fresh.records[key], ref)
        if diff:
            raise Refused(f"{key_text(key)}: not the reference's experiment ({diff}); reproduce with the "
                          "reference's code, data and settings")
    if bit_identical(fresh, reference):
        lines.append(f"bit-identical: all {len(reference.records)} runs predict every test sample as the "
                     "reference")
        return 0, lines
    cells = holm(cell_shifts(fresh, reference))
    datasets = dataset_shifts(cells)
    for s in datasets:
        lines.append(f"{s.dataset}: shift {s.interval.format(signed=True)} points (fresh − reference, 95 %); "
                     f"{detectable(s.interval, margin)}")
    overall = pooled([c.interval for c in cells])
    ok, failures = verdict(datasets, cells, margin)
    if ok:
        lines.append(f"reproduced: every dataset within ±{margin:g} points (95 %) and no dataset × method cell "
                     f"different (family-wise 95 %); overall shift {overall.format(signed=True)}")
        return 0, lines
    lines += failures
    lines.append(f"NOT REPRODUCED: {len(failures)} failures; overall shift {overall.format(signed=True)} points")
    return 1, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Check a fresh benchmark run against the published table, run by run (paired on seeds and "
                    "test samples): bit-identical, reproduced, NOT REPRODUCED or INCOMPLETE.")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--fresh", type=Path, help="results folder (or its runs.json / runs.csv) of the fresh "
                                                   "run (default: the profile's results_dir)")
    parser.add_argument("--reference", type=Path,
                        help="results folder (or runs.csv / runs.json) to check against (default: the table as "
                             "published with this version, pipelines/published/<profile>)")
    parser.add_argument("--only", nargs="+", default=[], metavar="DATASET[/METHOD]",
                        help="compare only these datasets (or dataset/method cells), on both sides")
    args = parser.parse_args(argv)
    return run_main(lambda: _check_and_report(args))


def _check_and_report(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    fresh_path = args.fresh or results_dir(params)
    reference_path = args.reference or default_reference(str(params.get("profile", "embedded")))
    only = [item for value in args.only for item in value.split(",") if item]
    status, lines = check(load_runs(fresh_path), load_runs(reference_path), only)
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())

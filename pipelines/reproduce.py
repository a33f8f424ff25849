"""Compare a fresh benchmark run with the committed results: is every cell within seed-to-seed variation?

What is reproducible, precisely:

* **On one machine** a rerun is bit-identical: same seeds, same batch order, same kernels, same summation
  order, so every run's accuracy matches to the last digit.
* **Across machines** it is not: CPU convolution and matrix kernels sum in a processor-dependent order, and
  training amplifies the last-bit differences into different weights. What must hold is that each cell's
  seeds are draws from the same distribution.

For each cell (dataset, method, initial width) with at least 2 seeds on both sides this runs Welch's
two-sample t test of equal mean accuracy (:func:`pipelines.stats.welch`). At 95 % about 5 % of cells differ
by chance even when nothing changed, so the verdict for the whole table compares the number of differing
cells with the 95th percentile of ``Binomial(cells, 0.05)``::

    consistent      differing cells ≤ that percentile (or every run identical: "bit-identical")
    NOT consistent  more cells differ than chance explains — the list names them

``python -m pipelines.reproduce`` compares ``<results_dir>/runs.csv`` (the fresh run) with the version
committed in git (``git show HEAD:<results_dir>/runs.csv``); ``--reference FILE`` names another.
"""

from __future__ import annotations

import argparse
import io
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines.params import ParamsError, load_params, results_dir
from pipelines.stats import welch

CELL = ["dataset", "method", "width_init"]
ALPHA = 0.05


@dataclass(frozen=True)
class CellComparison:
    """One cell: the fresh and reference means, Welch's p-value, whether it differs at 95 %."""

    dataset: str
    method: str
    width: float
    fresh: float
    reference: float
    p_value: float
    differs: bool


def binomial_upper(n: int, p: float = ALPHA, level: float = 0.95) -> int:
    """The smallest ``k`` with ``P(Binomial(n, p) ≤ k) ≥ level``."""
    total, k = 0.0, 0
    while k <= n:
        total += math.comb(n, k) * p ** k * (1 - p) ** (n - k)
        if total >= level:
            return k
        k += 1
    return n


def compare_runs(fresh: pd.DataFrame, reference: pd.DataFrame) -> list[CellComparison]:
    """Welch's test per cell present on both sides with ≥ 2 runs each."""
    out = []
    ref_cells = {key: group for key, group in reference.groupby(CELL)}
    for key, group in fresh.groupby(CELL):
        ref = ref_cells.get(key)
        if ref is None or len(group) < 2 or len(ref) < 2:
            continue
        test = welch(group["accuracy"], ref["accuracy"])
        out.append(CellComparison(key[0], key[1], float(key[2]), float(group["accuracy"].mean()),
                                  float(ref["accuracy"].mean()), test.p_value, test.p_value < ALPHA))
    return out


def identical(fresh: pd.DataFrame, reference: pd.DataFrame) -> bool:
    """Every run (dataset, method, width, seed) has the same accuracy on both sides, and no run is missing."""
    keys = [*CELL, "seed"]
    a = fresh.set_index(keys)["accuracy"].sort_index()
    b = reference.set_index(keys)["accuracy"].sort_index()
    return a.index.equals(b.index) and bool((a == b).all())


def verdict(cells: list[CellComparison], same: bool) -> str:
    """The one-line verdict for the whole table (see the module docstring)."""
    if same:
        return "bit-identical: every run's accuracy equals the committed one"
    differing = sum(c.differs for c in cells)
    allowed = binomial_upper(len(cells))
    if differing <= allowed:
        return (f"consistent: {differing} of {len(cells)} cells differ at 95 % (up to {allowed} expected by "
                "chance)")
    return f"NOT consistent: {differing} of {len(cells)} cells differ at 95 % (chance explains up to {allowed})"


def committed_runs(path: Path) -> pd.DataFrame:
    """``path`` as committed at git ``HEAD``; a one-line error when git or the file is not there."""
    try:
        text = subprocess.run(["git", "show", f"HEAD:{path.as_posix()}"], check=True, capture_output=True,
                              text=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise FileNotFoundError(f"{path}: no committed version to compare with ({exc}); pass --reference FILE"
                                ) from None
    return pd.read_csv(io.StringIO(text))


def report(cells: list[CellComparison]) -> str:
    """A Markdown table of the differing cells (empty when none differ)."""
    rows = [c for c in cells if c.differs]
    if not rows:
        return ""
    frame = pd.DataFrame([{"dataset": c.dataset, "method": c.method, "width": c.width, "fresh %": c.fresh,
                           "committed %": c.reference, "p": c.p_value} for c in rows])
    return frame.to_markdown(index=False, floatfmt=".3g")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compare a fresh benchmark run with the committed results, "
                                                 "cell by cell (Welch's t test at 95 %), with a one-line verdict.")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--fresh", type=Path, help="runs.csv of the fresh run (default: <results_dir>/runs.csv)")
    parser.add_argument("--reference", type=Path,
                        help="runs.csv to compare with (default: <results_dir>/runs.csv as committed in git)")
    args = parser.parse_args(argv)
    try:
        runs_csv = results_dir(load_params(args.params)) / "runs.csv"
        fresh_path = args.fresh or runs_csv
        if not fresh_path.exists():
            raise FileNotFoundError(f"{fresh_path}: missing; run `make benchmark` first")
        fresh = pd.read_csv(fresh_path)
        reference = pd.read_csv(args.reference) if args.reference else committed_runs(runs_csv)
    except (ParamsError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cells = compare_runs(fresh, reference)
    table = report(cells)
    if table:
        print(table)
    line = verdict(cells, identical(fresh, reference))
    print(line)
    return 1 if line.startswith("NOT") else 0


if __name__ == "__main__":
    sys.exit(main())

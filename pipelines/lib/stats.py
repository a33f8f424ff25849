"""Intervals and verdicts that count both sources of noise: which seed trained the model, and which samples
happen to be in the test set.

Every accuracy of the suite is a mean over runs ``r = 1..R`` (seeds) of a mean over test samples
``i = 1..N`` of a per-sample score ``x_ri``: ``x_ri = [ŷ_ri = y_i]`` for one method's accuracy, or
``x_ri = [ŷ^A_ri = y_i] − [ŷ^B_ri = y_i]`` for the difference between two methods that share seeds and test
samples (paired on both). The estimate is ``x̄ = (1/RN) Σ_ri x_ri``; it varies with the seeds drawn and with
the test set drawn, two crossed random factors (Bouthillier et al., "Accounting for Variance in Machine
Learning Benchmarks", MLSys 2021, name both; the crossed-factor variance below is Cameron, Gelbach & Miller's
two-way estimator, JBES 2011)::

    V_seed = s²(x̄_r·) / R        spread of the per-run means
    V_test = s²(x̄_·i) / N        spread of the per-sample means (over runs)
    V_cell = s²(x_ri) / (R N)     the part both terms count once each
    V      = max(V_seed + V_test − V_cell, V_seed, V_test)
    CI₉₅   = x̄ ± t_{0.975, ν} √V,  ν = V² / (V_seed²/(R−1) + V_test²/(N−1))   (Welch–Satterthwaite)

With three seeds the seed term carries 2 degrees of freedom, so a difference whose seeds disagree gets the
wide t quantile it deserves, while one decided by many test samples gets a narrow one.

**No interval has zero width.** Three seeds that differ by exactly the same 4 of 450 samples have
``V_seed = 0`` but not ``V_test = 0``. Where even the samples agree (two methods with identical predictions,
or 100 % accuracy everywhere) the per-sample spread is computed with two pseudo-samples added, one at each end
of the score's range (the add-two rule of Agresti & Coull, 1998), so the interval is small but never empty.

**Verdicts.** ``better`` / ``worse`` only when the interval of a difference excludes 0; otherwise
``no different at n = R``, which is what three seeds and one test set can say, not a proof of equality.
:func:`p_better` adds Bouthillier et al.'s probability of outperforming: the chance that one more paired run
(a new seed, a new test set of the same size) has ``A`` ahead, ``Φ(x̄ / √(s²(x̄_r·) + s²(x̄_·i)/N))``.

**Calibration** (:mod:`pipelines.commands.calibration`, docs/pipeline.md "Statistics"): on simulated runs with a known
truth and this table's noise, these intervals cover the truth in 93–97 % of 2 000 simulations per scenario and
say ``better`` under no difference in at most 5 %.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np


def t_quantile(df: float) -> float:
    """``t_{0.975, df}``: the two-sided 95 % quantile of Student's t with ``df`` degrees of freedom."""
    if df <= 0 or math.isnan(df):
        return math.nan
    from scipy.stats import t

    return float(t.ppf(0.975, df))


@dataclass(frozen=True)
class Interval:
    """A mean (in points, i.e. %) with its 95 % half-width; ``n`` runs (seeds) over ``items`` test samples.

    ``p_better`` is the probability of outperforming (differences only; ``None`` for a single method).
    ``half`` is nan only when nothing was measured (``n == 0``) or, for values without per-sample scores
    (:func:`mean_ci`), when ``n < 2``.
    """

    mean: float
    half: float
    n: int
    items: int = 0
    df: float = math.nan
    p_better: float | None = None

    @property
    def low(self) -> float:
        return self.mean - self.half

    @property
    def high(self) -> float:
        return self.mean + self.half

    def as_dict(self) -> dict[str, float | int | str | None]:
        """JSON-ready: ``mean``, ``half``, ``low``, ``high``, ``n``, ``items``, ``df``, ``p_better``, ``verdict``
        (nan as None)."""
        out = {**asdict(self), "low": self.low, "high": self.high, "verdict": verdict(self)}
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}

    @classmethod
    def from_dict(cls, entry: Mapping[str, object]) -> Interval:
        """The inverse of :meth:`as_dict` (None back to nan)."""
        def num(key: str) -> float:
            value = entry.get(key)
            return math.nan if value is None else float(value)  # type: ignore[arg-type]
        return cls(num("mean"), num("half"), int(entry.get("n") or 0), int(entry.get("items") or 0), num("df"),
                   None if entry.get("p_better") is None else float(entry["p_better"]))  # type: ignore[arg-type]

    def format(self, digits: int = 2, signed: bool = False) -> str:
        """``"91.30 ± 1.20"`` (``"+1.30 ± 0.90"`` when ``signed``), the mean alone when the half-width is
        undefined, ``–`` when nothing was measured."""
        if self.n == 0 or math.isnan(self.mean):
            return "–"
        mean = f"{self.mean:+.{digits}f}" if signed else f"{self.mean:.{digits}f}"
        return mean if math.isnan(self.half) else f"{mean} ± {self.half:.{digits}f}"


def _components(scores: np.ndarray, pseudo: tuple[float, float]) -> tuple[float, float, float]:
    """``V_seed``, ``V_test``, ``V_cell`` of a ``[R, N]`` score array (the module docstring's formulas)."""
    runs, items = scores.shape
    row = scores.mean(axis=1)
    col = np.concatenate([scores.mean(axis=0), pseudo])
    v_seed = float(row.var(ddof=1)) / runs if runs > 1 else 0.0
    v_test = float(col.var(ddof=1)) / items
    v_cell = float(scores.var(ddof=1)) / scores.size if scores.size > 1 else 0.0
    return v_seed, v_test, v_cell


def _interval(scores: np.ndarray, pseudo: tuple[float, float], difference: bool) -> Interval:
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] == 0:
        raise ValueError(f"per-sample scores must be [runs, samples] with samples > 0, got {scores.shape}")
    runs, items = scores.shape
    if runs == 0:
        return Interval(math.nan, math.nan, 0, items)
    v_seed, v_test, v_cell = _components(scores, pseudo)
    var = max(v_seed + v_test - v_cell, v_seed, v_test)
    denom = (v_seed ** 2 / (runs - 1) if runs > 1 else 0.0) + v_test ** 2 / (items - 1 if items > 1 else 1)
    df = var ** 2 / denom if denom > 0 else math.inf
    mean = float(scores.mean())
    half = t_quantile(df) * math.sqrt(var) if math.isfinite(df) else 1.959964 * math.sqrt(var)
    p_better = None
    if difference:
        spread = math.sqrt(v_seed * runs + v_test)
        p_better = float(0.5 * math.erfc(-mean / (spread * math.sqrt(2))))
    return Interval(100.0 * mean, 100.0 * half, runs, items, df, p_better)


def accuracy_interval(correct: np.ndarray) -> Interval:
    """Mean accuracy (points) of a ``[R, N]`` 0/1 array (run ``r`` got sample ``i`` right) with its 95 %
    interval over seeds and test samples."""
    return _interval(correct, (0.0, 1.0), difference=False)


def difference_interval(correct_a: np.ndarray, correct_b: np.ndarray) -> Interval:
    """``A − B`` in points, paired on seeds (row ``r`` of both is the same seed) and test samples (column
    ``i`` the same sample), with its 95 % interval and the probability of outperforming."""
    a, b = np.asarray(correct_a, dtype=np.float64), np.asarray(correct_b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired scores need equal shapes, got {a.shape} and {b.shape}")
    return _interval(a - b, (-1.0, 1.0), difference=True)


def verdict(diff: Interval) -> str:
    """``better`` / ``worse`` if the 95 % interval of a difference excludes 0, else ``no different at n = R``."""
    if diff.n == 0 or math.isnan(diff.half):
        return "not measured" if diff.n == 0 else f"undecided (n = {diff.n})"
    if diff.low > 0:
        return "better"
    if diff.high < 0:
        return "worse"
    return f"no different at n = {diff.n}"


def pooled(intervals: Sequence[Interval]) -> Interval:
    """Inverse-variance weighted mean of independent intervals (cells of one dataset): weights
    ``w_c = 1 / V_c`` with ``V_c = (half_c / t_c)²``, ``V = 1 / Σ w_c``, Welch–Satterthwaite ν."""
    usable = [iv for iv in intervals if iv.n and iv.half > 0 and not math.isnan(iv.half)]
    if not usable:
        return Interval(math.nan, math.nan, 0)
    var = [(iv.half / t_quantile(iv.df) if math.isfinite(iv.df) else iv.half / 1.959964) ** 2 for iv in usable]
    weights = [1.0 / v for v in var]
    total = sum(weights)
    mean = sum(w * iv.mean for w, iv in zip(weights, usable, strict=True)) / total
    v = 1.0 / total
    denom = sum((w / total) ** 4 * vc ** 2 / iv.df for w, vc, iv in zip(weights, var, usable, strict=True)
                if math.isfinite(iv.df))
    df = v ** 2 / denom if denom > 0 else math.inf
    half = (t_quantile(df) if math.isfinite(df) else 1.959964) * math.sqrt(v)
    return Interval(mean, half, sum(iv.n for iv in usable), max(iv.items for iv in usable), df)


def _clean(values: Iterable[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]


def mean_ci(values: Iterable[float | None]) -> Interval:
    """Mean of per-run values that have no per-sample scores (e.g. a learned width), with Student's t 95 %
    half-width over runs; nan for fewer than 2 values."""
    xs = _clean(values)
    n = len(xs)
    if n == 0:
        return Interval(math.nan, math.nan, 0)
    mean = sum(xs) / n
    if n < 2:
        return Interval(mean, math.nan, n)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    return Interval(mean, t_quantile(n - 1) * sd / math.sqrt(n), n, 0, n - 1)

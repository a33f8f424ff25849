"""Confidence intervals for the tables: a mean over seeds, and a paired difference between two methods.

Every cell of a table is a mean over the same seeds ``s = 1..n``. Two methods run with the same seed share
the initial weights and the batch order, so their difference is measured per seed and the interval is
built on those differences (a paired t interval), which is far tighter than comparing two unpaired means.

For values ``x_1..x_n`` (``n ≥ 2``) with mean ``x̄`` and sample standard deviation ``s`` (``ddof = 1``)::

    CI₉₅ = x̄ ± t_{0.975, n−1} · s / √n

and for a paired difference ``d_s = a_s − b_s`` the same formula on ``d``. With one value the interval is
undefined (reported as ``nan``). Student's t quantile comes from :mod:`scipy.stats` when available and from
a short table otherwise, so nothing here needs more than the standard library.

:func:`verdict` turns a paired interval into words: ``better`` / ``worse`` when the interval excludes 0,
``no different`` when it contains 0. :func:`welch` is the two-sample test used to compare a fresh run with
committed results (different machines share no per-seed pairing once floating-point order differs).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

# Two-sided 95 % quantiles t_{0.975, df} for small df (Student's t); beyond the table, the normal 1.96 plus a
# first-order correction, which is within 0.2 % of the exact value for df > 30.
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
         11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093,
         20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048,
         29: 2.045, 30: 2.042}


def t_quantile(df: float) -> float:
    """``t_{0.975, df}``: the two-sided 95 % quantile of Student's t with ``df`` degrees of freedom."""
    if df <= 0 or math.isnan(df):
        return math.nan
    try:
        from scipy.stats import t

        return float(t.ppf(0.975, df))
    except ImportError:  # pragma: no cover - scipy ships with scikit-learn
        if float(df).is_integer() and int(df) in _T975:
            return _T975[int(df)]
        return 1.96 + 2.4 / df


@dataclass(frozen=True)
class Interval:
    """A mean with its 95 % confidence half-width over ``n`` values (``half`` is nan when ``n < 2``)."""

    mean: float
    half: float
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.half

    @property
    def high(self) -> float:
        return self.mean + self.half

    def as_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "low": self.low, "high": self.high}

    def format(self, digits: int = 2) -> str:
        """``"91.30 ± 1.20"``, or the mean alone when the interval is undefined."""
        if self.n == 0:
            return "–"
        if math.isnan(self.half):
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {self.half:.{digits}f}"


def _clean(values: Iterable[float]) -> list[float]:
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]


def mean_ci(values: Iterable[float]) -> Interval:
    """Mean of ``values`` with its t-based 95 % half-width (``nan`` for fewer than 2 values)."""
    xs = _clean(values)
    n = len(xs)
    if n == 0:
        return Interval(math.nan, math.nan, 0)
    mean = sum(xs) / n
    if n < 2:
        return Interval(mean, math.nan, n)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    return Interval(mean, t_quantile(n - 1) * sd / math.sqrt(n), n)


def paired_ci(a: Mapping[int, float], b: Mapping[int, float]) -> Interval:
    """95 % interval of the mean paired difference ``a_s − b_s`` over the seeds ``s`` present in both."""
    seeds = sorted(set(a) & set(b))
    return mean_ci(a[s] - b[s] for s in seeds)


def verdict(diff: Interval) -> str:
    """``better`` / ``worse`` if the 95 % interval of a difference excludes 0, else ``no different``."""
    if diff.n < 2 or math.isnan(diff.half):
        return "undecided (n < 2)"
    if diff.low > 0:
        return "better"
    if diff.high < 0:
        return "worse"
    return "no different"


@dataclass(frozen=True)
class WelchResult:
    """Welch's two-sample t test of equal means: difference of means, its 95 % half-width, p-value."""

    diff: float
    half: float
    p_value: float
    df: float


def welch(a: Iterable[float], b: Iterable[float]) -> WelchResult:
    """Welch's t test between two samples (unequal variances); needs at least 2 values in each.

    ``t = (ā − b̄) / √(s_a²/n_a + s_b²/n_b)``, Welch–Satterthwaite degrees of freedom. When both samples have
    zero variance the test is decided by equality of the means (p = 1 if equal, 0 otherwise).
    """
    xa, xb = _clean(a), _clean(b)
    if len(xa) < 2 or len(xb) < 2:
        raise ValueError(f"welch needs at least 2 values per sample, got {len(xa)} and {len(xb)}")
    ma, mb = sum(xa) / len(xa), sum(xb) / len(xb)
    va = sum((x - ma) ** 2 for x in xa) / (len(xa) - 1) / len(xa)
    vb = sum((x - mb) ** 2 for x in xb) / (len(xb) - 1) / len(xb)
    se2 = va + vb
    if se2 == 0:
        return WelchResult(ma - mb, 0.0, 1.0 if ma == mb else 0.0, math.inf)
    df = se2 ** 2 / ((va ** 2) / (len(xa) - 1) + (vb ** 2) / (len(xb) - 1))
    t_stat = (ma - mb) / math.sqrt(se2)
    try:
        from scipy.stats import t

        p = float(2 * t.sf(abs(t_stat), df))
    except ImportError:  # pragma: no cover
        p = math.erfc(abs(t_stat) / math.sqrt(2))
    return WelchResult(ma - mb, t_quantile(df) * math.sqrt(se2), p, df)

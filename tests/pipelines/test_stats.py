"""Confidence intervals, paired differences and verdicts against values computed by hand and by scipy."""

import math

import pytest

from pipelines.stats import mean_ci, paired_ci, t_quantile, verdict, welch


def test_t_quantile_matches_the_table():
    assert t_quantile(2) == pytest.approx(4.303, abs=1e-3)
    assert t_quantile(4) == pytest.approx(2.776, abs=1e-3)
    assert math.isnan(t_quantile(0))


def test_mean_ci_by_hand():
    # values 90, 92, 94: mean 92, s = 2, half = t(0.975, 2) * 2 / sqrt(3) = 4.303 * 1.1547 = 4.968
    interval = mean_ci([90.0, 92.0, 94.0])
    assert interval.mean == pytest.approx(92.0) and interval.n == 3
    assert interval.half == pytest.approx(4.3027 * 2 / math.sqrt(3), rel=1e-4)
    assert interval.format() == "92.00 ± 4.97"
    single = mean_ci([91.0])
    assert single.n == 1 and math.isnan(single.half) and single.format() == "91.00"
    assert mean_ci([]).format() == "–"


def test_paired_ci_uses_the_per_seed_differences():
    a = {0: 91.0, 1: 93.0, 2: 95.0}
    b = {0: 90.0, 1: 91.5, 2: 93.6, 3: 10.0}  # seed 3 has no partner and is left out
    diff = paired_ci(a, b)
    assert diff.n == 3 and diff.mean == pytest.approx((1.0 + 1.5 + 1.4) / 3)
    unpaired = mean_ci(a.values()).half + mean_ci(list(b.values())[:3]).half
    assert diff.half < unpaired / 5, "pairing removes the seed-to-seed variation both methods share"
    assert verdict(diff) == "better"
    assert verdict(paired_ci(b, a)) == "worse"
    assert verdict(paired_ci({0: 1.0, 1: 2.0}, {0: 2.0, 1: 1.0})) == "no different"
    assert verdict(paired_ci({0: 1.0}, {0: 2.0})).startswith("undecided")


def test_welch_agrees_with_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    a, b = [91.0, 92.5, 90.8], [89.0, 90.1, 88.7, 90.4]
    result = welch(a, b)
    expected = scipy_stats.ttest_ind(a, b, equal_var=False)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-6)
    assert welch([1.0, 1.0], [1.0, 1.0]).p_value == 1.0
    with pytest.raises(ValueError, match="at least 2"):
        welch([1.0], [1.0, 2.0])

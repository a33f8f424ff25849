"""Intervals over seeds and test samples, paired differences and verdicts, against values computed by hand."""

import math

import numpy as np
import pytest

from pipelines.lib.stats import Interval, accuracy_interval, difference_interval, mean_ci, pooled, t_quantile, verdict


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


def test_identical_seeds_still_carry_the_test_sets_noise():
    """Three seeds that each get exactly 432 of 450 right (96 %): the seed term is 0, the test-set term is not;
    it is close to the binomial √(p(1−p)/N) at 96 %, ±1.8 points."""
    correct = np.ones((3, 450))
    correct[:, :18] = 0
    iv = accuracy_interval(correct)
    assert iv.mean == pytest.approx(96.0)
    assert 1.5 < iv.half < 2.2
    assert iv.n == 3 and iv.items == 450


def test_a_difference_of_the_same_four_samples_is_not_certain():
    """ASGL − SG = +4 of 450 on every seed (the same samples): +0.89 points, and an interval that is not 0 wide
    and includes 0 — four samples are not evidence."""
    sg = np.ones((3, 450))
    sg[:, :20] = 0
    asgl = sg.copy()
    asgl[:, :4] = 1
    iv = difference_interval(asgl, sg)
    assert iv.mean == pytest.approx(400 / 450)
    assert iv.half > 0.5
    assert verdict(iv) == "no different at n = 3"
    assert 0.5 < iv.p_better < 1.0


def test_no_interval_has_zero_width():
    same = np.ones((3, 100))
    assert accuracy_interval(same).half > 0
    assert difference_interval(same, same).half > 0
    assert verdict(difference_interval(same, same)) == "no different at n = 3"


def test_a_large_consistent_difference_is_better():
    rng = np.random.default_rng(0)
    b = (rng.random((3, 400)) < 0.80).astype(float)
    a = np.maximum(b, (rng.random((3, 400)) < 0.5).astype(float))  # A fixes about half of B's errors
    iv = difference_interval(a, b)
    assert verdict(iv) == "better" and iv.low > 0
    assert verdict(difference_interval(b, a)) == "worse"
    assert iv.p_better > 0.95


def test_seed_disagreement_widens_the_interval():
    """The same mean difference, once agreed on by every seed and once from seeds that disagree: the second
    interval is wider (the seed term, with 2 degrees of freedom)."""
    base = np.zeros((3, 300))
    agree = base.copy()
    agree[:, :9] = 1  # +3 points on every seed
    disagree = base.copy()
    disagree[0, :27] = 1  # +9 points on one seed, 0 on the others: the same +3 on average
    assert difference_interval(disagree, base).half > 2 * difference_interval(agree, base).half


def test_pooled_weights_by_inverse_variance():
    narrow, wide = Interval(1.0, 0.5, 3, 100, 1e9), Interval(5.0, 5.0, 3, 100, 1e9)
    p = pooled([narrow, wide])
    assert 1.0 < p.mean < 1.1
    assert p.half < narrow.half
    assert math.isnan(pooled([]).mean)


def test_interval_round_trips_through_json():
    iv = difference_interval(np.ones((2, 10)), np.zeros((2, 10)))
    back = Interval.from_dict(iv.as_dict())
    assert back == iv
    assert iv.as_dict()["verdict"] == "better"

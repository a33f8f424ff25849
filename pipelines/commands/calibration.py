"""Calibration of :mod:`pipelines.lib.stats` on simulated benchmark runs whose truth is known.

Model (a probit model of "run ``r`` of method ``m`` gets test sample ``i`` right")::

    x^m_ri = [a_m + z_i + u^m_i + b^m_r + e^m_ri > 0]
    z_i ~ N(0, σ_item²)        how hard sample i is (shared by both methods)
    u^m_i ~ N(0, σ_method²)     what method m finds hard that the other does not
    b^m_r = ρ c_r + √(1−ρ²) c^m_r,  c ~ N(0, σ_seed²)   the seed's effect, correlated across methods sharing it
    e^m_ri ~ N(0, σ_cell²)      everything else

The true accuracy of ``m`` over seeds and test sets is ``Φ(a_m / √(σ_item² + σ_method² + σ_seed² + σ_cell²))``;
``a_m`` is set so that ``B`` has the scenario's accuracy and ``A`` that plus the scenario's difference. Each
simulation draws a test set of ``N`` samples and ``R`` = 3 seeds per method, builds the paired interval of
:func:`pipelines.lib.stats.difference_interval`, and checks whether it covers the true difference and whether its
verdict says ``better``. The scenarios span this table's noise: accuracy 84–97 %, 300–450 test samples,
seed-to-seed spread of one method's accuracy 0.5–2.5 points (the committed runs: 0.1–1.5 at width 1, up to 6
at width 10).

``python -m pipelines.commands.calibration`` prints the figures docs/pipeline.md quotes; tests/pipelines/
test_calibration.py keeps them.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from pipelines.lib.stats import difference_interval, verdict


@dataclass(frozen=True)
class Scenario:
    """One noise setting; ``difference`` is the true ``A − B`` in accuracy (fraction)."""

    name: str
    accuracy: float
    items: int
    sd_seed: float
    sd_cell: float = 0.5
    sd_item: float = 1.0
    sd_method: float = 0.5
    rho: float = 0.5
    seeds: int = 3


SCENARIOS = (
    Scenario("digits-like (96 %, N = 450, seed sd ≈ 1)", 0.96, 450, 0.15),
    Scenario("wide seeds (96 %, N = 450, seed sd ≈ 1.7)", 0.96, 450, 0.30),
    Scenario("fsdd-like (97 %, N = 300)", 0.97, 300, 0.30, sd_cell=0.7),
    Scenario("instruments-like (84 %, N = 400)", 0.84, 400, 0.10, sd_cell=0.3),
)
DIFFERENCES = (0.0, 0.02)


def _draw(rng: np.random.Generator, s: Scenario, difference: float) -> tuple[np.ndarray, np.ndarray]:
    total = math.sqrt(s.sd_item ** 2 + s.sd_method ** 2 + s.sd_seed ** 2 + s.sd_cell ** 2)
    a_b = norm.ppf(s.accuracy) * total
    a_a = norm.ppf(s.accuracy + difference) * total
    z = rng.normal(0.0, s.sd_item, s.items)
    shared = rng.normal(0.0, s.sd_seed, s.seeds)

    def method(a: float) -> np.ndarray:
        seed = s.rho * shared + math.sqrt(1 - s.rho ** 2) * rng.normal(0.0, s.sd_seed, s.seeds)
        own = rng.normal(0.0, s.sd_method, s.items)
        cell = rng.normal(0.0, s.sd_cell, (s.seeds, s.items))
        return (a + z[None] + own[None] + seed[:, None] + cell > 0).astype(np.float64)

    return method(a_a), method(a_b)


@dataclass(frozen=True)
class Calibration:
    """Of ``sims`` simulations: % whose interval covered the truth, % that said ``better``, median
    half-width (points)."""

    scenario: str
    difference: float
    sims: int
    coverage: float
    said_better: float
    median_half: float


def calibrate(scenario: Scenario, difference: float, sims: int = 2000, seed: int = 0) -> Calibration:
    """Simulate ``sims`` paired comparisons of ``scenario`` with a true difference ``difference``."""
    rng = np.random.default_rng(seed)
    truth = 100.0 * difference
    covered = better = 0
    halves = []
    for _ in range(sims):
        a, b = _draw(rng, scenario, difference)
        iv = difference_interval(a, b)
        covered += iv.low <= truth <= iv.high
        better += verdict(iv) == "better"
        halves.append(iv.half)
    return Calibration(scenario.name, difference, sims, 100.0 * covered / sims, 100.0 * better / sims,
                       float(np.median(halves)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Coverage of the paired 95 % intervals on simulated runs.")
    parser.add_argument("--sims", type=int, default=2000)
    args = parser.parse_args(argv)
    print("| scenario | true A − B | coverage % | 'better' % | median ± |")
    print("|---|---|---|---|---|")
    for scenario in SCENARIOS:
        for difference in DIFFERENCES:
            c = calibrate(scenario, difference, args.sims)
            print(f"| {c.scenario} | {100 * difference:+.0f} | {c.coverage:.1f} | {c.said_better:.1f} | "
                  f"{c.median_half:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

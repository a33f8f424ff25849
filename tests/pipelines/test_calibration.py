"""The paired intervals are calibrated: on simulated runs with a known truth they cover it 93–97 % of the time
and say "better" under no difference at most 5 % of the time (figures in docs/pipeline.md, "Statistics")."""

import pytest

from pipelines.commands.calibration import SCENARIOS, calibrate


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name.split(" ")[0])
@pytest.mark.parametrize("difference", [0.0, 0.02])
def test_intervals_cover_the_truth(scenario, difference):
    result = calibrate(scenario, difference, sims=1000, seed=1)
    assert 93.0 <= result.coverage <= 97.0, result
    if difference == 0.0:
        assert result.said_better <= 5.0, result
    else:
        assert result.said_better > 5.0, result  # a real 2-point difference is found more often than by chance

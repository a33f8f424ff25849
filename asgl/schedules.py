"""Schedules of method hyper-parameters over training progress.

Progress ``s = epoch / epochs ∈ [0, 1)`` is the fraction of training completed when an epoch starts.

:class:`NoiseRateSchedule` is the authors' step schedule of ASGL's analog fraction ``p``. Their scheduler
(``model/scheduler.py``, ``MutiStepNoisyRateScheduler``, called by ``experiment/*/main.py`` after each epoch's
training and test) turns each milestone fraction ``m`` into the epoch ``⌊m·E⌋`` and multiplies ``p`` by ``γ``
at the end of that (0-based) epoch, so the factor first applies to the epoch after it. Epoch ``e`` of ``E``
therefore trains with::

    p_e = p₀ · γ^{k_e},   k_e = #{ ⌊m·E⌋ : m ∈ milestones, ⌊m·E⌋ < e }   (distinct epochs)

Milestones that fall on the same epoch (short runs) apply ``γ`` once, as their loop stops at the first
match. In progress terms (``⌊x⌋ < e ⇔ x < e`` for an integer ``e``, milestones on distinct epochs)
``p(s) = p₀ · γ^{#{m : m < s}}``: a milestone at ``0`` applies its factor from the second epoch, not the
first. Default milestones
``(0, .2, .4, .6, .8, .95)`` (their ``--ns_milestone``); the published runs use ``γ = 1`` (constant ``p``),
where the milestones have no effect. Schedules are pure functions of the epoch: resuming a run at epoch
``e`` gives the same value as an uninterrupted run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

AUTHORS_MILESTONES = (0.0, 0.2, 0.4, 0.6, 0.8, 0.95)


def check_progress(progress: float) -> float:
    """Validate a training progress fraction in ``[0, 1]``."""
    if not (isinstance(progress, (int, float)) and 0.0 <= progress <= 1.0):
        raise ValueError(f"progress must be a fraction of training in [0, 1], got {progress!r}")
    return float(progress)


@dataclass(frozen=True)
class NoiseRateSchedule:
    """``p_e = p₀ · γ^{k_e}``, ``k_e`` the distinct milestone epochs ``⌊m·E⌋ < e`` (module docstring).

    Args:
        p0: initial analog fraction in ``[0, 1]``.
        gamma: factor applied at each milestone, ``≥ 0``; every value of ``p`` must stay in ``[0, 1]``.
        milestones: increasing fractions of training in ``[0, 1]``.
    """

    p0: float
    gamma: float = 1.0
    milestones: tuple[float, ...] = AUTHORS_MILESTONES

    def __post_init__(self) -> None:
        if not (isinstance(self.p0, (int, float)) and 0.0 <= self.p0 <= 1.0):
            raise ValueError(f"p0 must be in [0, 1], got {self.p0!r}")
        if not (isinstance(self.gamma, (int, float)) and math.isfinite(self.gamma) and self.gamma >= 0.0):
            raise ValueError(f"gamma must be a finite number >= 0, got {self.gamma!r}")
        milestones = tuple(float(m) for m in self.milestones)
        if any(not 0.0 <= m <= 1.0 for m in milestones) or list(milestones) != sorted(milestones):
            raise ValueError(f"milestones must be increasing fractions in [0, 1], got {self.milestones!r}")
        object.__setattr__(self, "milestones", milestones)
        largest = self.p0 * max(self.gamma ** k for k in range(len(milestones) + 1))
        if largest > 1.0:
            raise ValueError(f"p0={self.p0} with gamma={self.gamma} over {len(milestones)} milestones "
                             f"reaches p={largest:.3g} > 1")

    def at(self, progress: float) -> float:
        """``p`` at training progress ``progress ∈ [0, 1]``: ``p₀ · γ^{#{m : m < s}}``."""
        s = check_progress(progress)
        k = sum(1 for m in self.milestones if m < s)
        return float(self.p0 * self.gamma ** k)

    def at_epoch(self, epoch: int, epochs: int) -> float:
        """``p`` for the (0-based) ``epoch`` of ``epochs``: ``p₀ · γ^{#{⌊m·epochs⌋ < epoch}}`` (distinct epochs)."""
        if not (isinstance(epochs, int) and epochs >= 1 and isinstance(epoch, int) and 0 <= epoch < epochs):
            raise ValueError(f"need 0 <= epoch < epochs, got epoch={epoch!r}, epochs={epochs!r}")
        k = len({math.floor(m * epochs) for m in self.milestones} & set(range(epoch)))
        return float(self.p0 * self.gamma ** k)

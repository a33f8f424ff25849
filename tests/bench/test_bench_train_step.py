"""One training step (forward, loss, backward, optimiser step) per small model, ASGL and SG.

Models, inputs and the step itself come from ``scripts/bench_e2e.py`` (batch 64, the embedded profile's
shapes) through ``cases.py``, so this suite, the regression check and the end-to-end script measure the same
thing."""

from __future__ import annotations

import pytest

from tests.bench import cases

pytestmark = pytest.mark.bench


@pytest.mark.parametrize("method", list(cases.TRAIN_METHODS))
@pytest.mark.parametrize("model", list(cases.MODELS))
def test_train_step(bench_ratio, model: str, method: str) -> None:
    bench_ratio(cases.train_step(model, method), rounds=cases.MODEL_ROUNDS[model], model=model, method=method,
                batch_size=64)

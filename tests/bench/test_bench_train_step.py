"""One training step (forward, loss, backward, optimiser step) per small model, ASGL and SG.

Models, inputs and the step itself come from ``scripts/bench_e2e.py`` (batch 64, the embedded profile's
shapes), so this suite and the end-to-end script measure the same thing."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.bench

MODELS = ("resnet_tiny", "vgg_tiny", "mlp_snn", "audio_convnet_tiny")
ROUNDS = {"resnet_tiny": 13, "vgg_tiny": 7, "mlp_snn": 13, "audio_convnet_tiny": 9}


@pytest.mark.parametrize("method", ["asgl", "sg"])
@pytest.mark.parametrize("model", MODELS)
def test_train_step(bench_ratio, bench_e2e, model: str, method: str) -> None:
    step = bench_e2e.make_train_step(model, method, batch_size=64)
    bench_ratio(step, rounds=ROUNDS[model], model=model, method=method, batch_size=64)

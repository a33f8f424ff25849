"""Data preparation throughput of the embedded datasets (generation + features + writing the cache).

Reduced sizes keep the suite short; ``extra_info["samples_per_s"]`` is the throughput of the median round."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.bench

REDUCED = {
    "digits": {},  # fixed size (the scikit-learn digits, 1797 images)
    "digits-dvs": {"max_per_class": 20},
    "synth-speech": {"per_class": 16},
    "synth-instruments": {"per_class": 10},
}


@pytest.mark.parametrize("dataset", list(REDUCED))
def test_prepare(bench_ratio, benchmark, tmp_path, dataset: str) -> None:
    from asgl.data import load_prepared, prepare_dataset

    options = REDUCED[dataset]

    def prepare() -> None:
        prepare_dataset(dataset, tmp_path, force=True, allow_download=False, **options)

    bench_ratio(prepare, rounds=3, warmup_rounds=1, dataset=dataset, options=options)
    counts = load_prepared(tmp_path, dataset).manifest["counts"]
    samples = sum(counts.values())
    benchmark.extra_info["samples"] = samples
    if getattr(benchmark, "stats", None) is not None and not benchmark.disabled:
        benchmark.extra_info["samples_per_s"] = samples / benchmark.stats.stats.median

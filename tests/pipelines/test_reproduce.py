"""The reproduction check on a real pair of runs, kept together as a fixture: the published table's runs of
three datasets (``tests/data/reproduce/reference``, as published when the pair was made) and the same runs
retrained with another floating-point summation order (``tests/data/reproduce/avx2``: torch's and oneDNN's CPU
kernels limited to AVX2, as on another processor; ``scripts/rerun_avx2.sh``). The pair is fixed, so a later
change of the code or the published table leaves it valid. Each injected failure must fail and name its cause;
the unchanged rerun must say bit-identical and the perturbed one reproduced. The tests of the command itself
use the table published now (``pipelines/published/embedded``)."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest

from asgl.errors import UserError
from asgl.metrics import prediction_codes
from pipelines.commands import reproduce
from pipelines.lib.records import Runs, load_runs

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT / "pipelines" / "published" / "embedded"
PERTURBED = ROOT / "tests" / "data" / "reproduce" / "avx2"
REFERENCE = ROOT / "tests" / "data" / "reproduce" / "reference"


@pytest.fixture(scope="module")
def published() -> Runs:
    return load_runs(PUBLISHED)


@pytest.fixture(scope="module")
def perturbed() -> Runs:
    return load_runs(PERTURBED)


@pytest.fixture(scope="module")
def reference() -> Runs:
    """The runs the perturbed rerun repeats, as published when it was made (three datasets of the five)."""
    return load_runs(REFERENCE)


def clone(runs: Runs) -> Runs:
    return Runs(copy.deepcopy(runs.records), copy.deepcopy(runs.labels), runs.source)


def shift(runs: Runs, points: float, dataset: str | None = None) -> Runs:
    """Make every run (of ``dataset``) get ``points`` % of the test samples it got right wrong instead."""
    out = clone(runs)
    for key, record in out.records.items():
        if dataset is not None and key[0] != dataset:
            continue
        truth = prediction_codes.decode(out.labels[key[0]]["test_labels"])
        predicted = prediction_codes.decode(record["test_predictions"]).copy()
        right = np.flatnonzero(predicted == truth)
        count = math.ceil(points / 100 * truth.size)
        flip = right[:: max(1, len(right) // count)][:count]
        predicted[flip] = (truth[flip] + 1) % (int(truth.max()) + 1)
        record["test_predictions"] = prediction_codes.encode(predicted)
        record["accuracy"] = 100.0 * float((predicted == truth).mean())
    return out


def run(fresh: Runs, reference: Runs, only: list[str] | None = None) -> tuple[int, str]:
    status, lines = reproduce.check(fresh, reference, only or [])
    return status, "\n".join(lines)


def test_an_unchanged_rerun_is_bit_identical(published):
    status, text = run(clone(published), published)
    assert status == 0 and text.startswith("bit-identical")


def test_another_summation_order_is_reproduced(reference, perturbed):
    """How δ is measured (docs/pipeline.md): the same runs, another processor's summation order."""
    assert not reproduce.bit_identical(perturbed, reference), "the perturbation changed the runs"
    status, text = run(perturbed, reference)
    assert status == 0, text
    assert "reproduced: every dataset within" in text


def test_a_missing_cell_is_incomplete(reference, perturbed):
    fresh = clone(perturbed)
    dataset, method = next(iter(fresh.records))[:2]
    fresh.records = {k: r for k, r in fresh.records.items() if k[:2] != (dataset, method)}
    status, text = run(fresh, reference)
    assert status == 1 and "INCOMPLETE" in text and f"missing: {dataset}/{method}" in text


def test_a_dropped_seed_is_incomplete(reference, perturbed):
    fresh = clone(perturbed)
    fresh.records = {k: r for k, r in fresh.records.items() if k[3] != 2}
    status, text = run(fresh, reference)
    assert status == 1 and "INCOMPLETE" in text and "seed 2" in text


def test_an_extra_run_is_incomplete(reference, perturbed):
    fresh = clone(perturbed)
    key, record = next(iter(fresh.records.items()))
    fresh.records[(key[0], key[1], key[2], 99)] = {**record, "seed": 99}
    status, text = run(fresh, reference)
    assert status == 1 and "extra:" in text and "seed 99" in text


def test_a_swapped_seed_label_is_refused(reference, perturbed):
    fresh = clone(perturbed)
    keys = sorted(k for k in fresh.records if k[:3] == next(iter(sorted(fresh.records)))[:3])
    a, b = keys[0], keys[1]
    fresh.records[a], fresh.records[b] = fresh.records[b], fresh.records[a]
    with pytest.raises(reproduce.Refused, match="seed"):
        run(fresh, reference)


def test_a_one_point_shift_on_one_dataset_is_not_reproduced(reference, perturbed):
    """On top of another processor's rerun, one dataset loses a point (a broken augmentation, a wrong split):
    whichever dataset it is, the check fails and names that dataset only."""
    for dataset in sorted({k[0] for k in reference.records}):
        status, text = run(shift(perturbed, 1.0, dataset), reference)
        assert status == 1 and "NOT REPRODUCED" in text, text
        failures = [line for line in text.splitlines() if "not within" in line or "differs from 0" in line]
        assert failures and all(line.startswith(dataset) for line in failures), text


def test_a_two_point_shift_everywhere_is_not_reproduced(reference, perturbed):
    status, text = run(shift(perturbed, 2.0), reference)
    assert status == 1 and "NOT REPRODUCED" in text
    datasets = {k[0] for k in reference.records}
    assert all(f"{d}: shift" in text for d in datasets)


def test_a_changed_prepare_setting_is_refused_with_its_key(reference, perturbed):
    fresh = clone(perturbed)
    key = next(iter(sorted(fresh.records)))
    fresh.records[key]["settings"]["data"]["prepare"]["seed"] = 12345
    with pytest.raises(reproduce.Refused, match=r"data\.prepare\.seed"):
        run(fresh, reference)


def test_a_reference_that_contradicts_its_predictions_is_refused(reference, perturbed):
    reference = clone(reference)
    key = next(iter(sorted(reference.records)))
    reference.records[key]["accuracy"] += 1.0
    with pytest.raises(reproduce.Refused, match=r"reference refused.*predictions score"):
        run(perturbed, reference)


def test_only_narrows_both_sides_and_says_what_was_left_out(published):
    dataset = sorted({k[0] for k in published.records})[0]
    fresh = clone(published)
    fresh.records = {k: r for k, r in fresh.records.items() if k[0] == dataset}
    status, text = run(fresh, published)
    assert status == 1 and "INCOMPLETE" in text
    status, text = run(fresh, published, [dataset])
    assert status == 0 and "left out" in text and "bit-identical" in text


def test_the_command_line_defaults_to_the_published_table(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status = reproduce.main(["--fresh", str(PUBLISHED)])
    assert status == 0 and "bit-identical" in capsys.readouterr().out
    with pytest.raises(UserError, match=r"runs\.json"):
        reproduce.check(load_runs(tmp_path), load_runs(PUBLISHED), [])

"""``pipelines.commands.compare``'s pure parts: which reference cells a run is paired with, and the cut-down params."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from asgl.metrics import prediction_codes
from pipelines.commands.compare import CompareError, compare_params, compare_records, markdown
from pipelines.lib.records import Runs, run_key

LABELS = np.arange(100) % 10
SHA = "a" * 64


def predictions(accuracy: int, shift: int = 0) -> str:
    """Predictions that get the first ``accuracy`` of 100 samples right (rotated by ``shift``)."""
    wrong = np.roll(np.arange(100) >= accuracy, shift)
    return prediction_codes.encode(np.where(wrong, (LABELS + 1) % 10, LABELS))


def ref_record(method, width, seed, acc):
    return {"dataset": "digits", "method": method, "width_init": width, "seed": seed, "accuracy": float(acc),
            "firing_rate": 0.1, "energy_uj": 1.0, "data_sha256": SHA, "test_predictions": predictions(acc, seed)}


REF = Runs({run_key(r): r for m, w, accs in (("asgl", 1.0, (90, 92, 94)), ("sg", 1.0, (80, 81, 82)),
                                             ("asgl", 5.0, (89, 91, 93)), ("sg", 5.0, (60, 62, 64)))
            for r in (ref_record(m, w, s, a) for s, a in enumerate(accs))},
           {"digits": {"data_sha256": SHA, "test_labels": prediction_codes.encode(LABELS)}}, Path("runs.json"))


def record(width, seed, acc, main):
    return {"dataset": "digits", "width_init": width, "seed": seed, "accuracy": float(acc), "firing_rate": 0.2,
            "energy_uj": 2.0, "main_width": main, "data_sha256": SHA, "test_predictions": predictions(acc, seed)}


def test_main_cells_pair_with_the_main_widths_and_sweep_cells_with_their_width():
    records = [record(1.0, s, 85 + s, True) for s in (0, 1, 2)] + [record(5.0, s, 70, False) for s in (0, 1)]
    main, sweep = compare_records(records, REF, {"asgl": 1.0, "sg": 1.0})
    assert main["main"] and main["width"] == 1.0 and not sweep["main"] and sweep["width"] == 5.0
    # main: d_s = (85 + s) − (90 + 2s) = −5 − s  → mean −6; the same samples wrong on both sides → worse
    assert math.isclose(main["against"]["asgl"]["difference"]["mean"], -6.0)
    assert main["against"]["asgl"]["verdict"] == "worse"
    assert main["against"]["asgl"]["p_better"] < 0.05
    # sweep at width 5 pairs with sg at width 5: d = 70 − 60, 70 − 62 → +10, +8
    diff = sweep["against"]["sg"]["difference"]
    assert sweep["against"]["sg"]["paired_seeds"] == [0, 1] and math.isclose(diff["mean"], 9.0)
    assert sweep["against"]["sg"]["verdict"] == ("better" if diff["low"] > 0 else "no different at n = 2")
    assert "(sweep)" in markdown({"method": "x", "display_name": "X", "rows": [main, sweep],
                                  "reference_widths": {"asgl": 1.0, "sg": 1.0}, "reference": "runs.json",
                                  "budget": {"seeds": [0, 1, 2], "cut_down": False}})


def test_one_shared_seed_still_counts_the_test_set():
    (row,) = compare_records([record(1.0, 7, 85, True), record(1.0, 0, 85, True)], REF, {"asgl": 1.0})
    against = row["against"]["asgl"]
    assert against["paired_seeds"] == [0]
    assert against["difference"]["half"] > 0 and against["verdict"] in ("worse", "no different at n = 1")


def test_runs_on_other_data_are_refused():
    other = {**record(1.0, 0, 85, True), "data_sha256": "b" * 64}
    with pytest.raises(CompareError, match="prepared digits data"):
        compare_records([other], REF, {"asgl": 1.0})


def test_cut_down_params():
    table = {"run": {"datasets": ["digits", "fsdd"], "seeds": [0, 1, 2], "methods": {"sg": "asgl/methods.py"}},
             "sweep": {"methods": ["sg"], "widths": [1.0, 5.0]},
             "datasets": {d: {"train": {"epochs": 30, "eval_every": 5}} for d in ("digits", "fsdd")},
             "methods": {"sg": {}, "new": {"width": 2.0}}}
    out = compare_params(table, "new", "new.py", datasets=["digits"], seeds=[0, 1], epochs=1, sweep=True)
    assert out["run"]["methods"] == {"new": "new.py"} and out["methods"] == {"new": {"width": 2.0}}
    assert out["run"]["datasets"] == ["digits"] and out["run"]["seeds"] == [0, 1]
    assert out["datasets"]["digits"]["train"] == {"epochs": 1, "eval_every": 1}
    assert out["sweep"] == {"methods": ["new"], "widths": [1.0, 5.0]}
    assert table["datasets"]["digits"]["train"]["epochs"] == 30, "the table's params are not modified"
    assert "sweep" not in compare_params(table, "new", "new.py")
    with pytest.raises(CompareError, match=r"--datasets \['nope'\]"):
        compare_params(table, "new", "new.py", datasets=["nope"])

"""``pipelines.compare``'s pure parts: which reference cells a run is paired with, and the cut-down params."""

from __future__ import annotations

import math

import pytest

from pipelines.compare import CompareError, compare_params, compare_records, markdown

REF = [{"dataset": "digits", "method": m, "seed": s, "width": w, "accuracy": acc, "firing_rate": 0.1,
        "energy_uj": 1.0}
       for m, w, accs in (("asgl", 1.0, (90, 92, 94)), ("sg", 1.0, (80, 81, 82)), ("asgl", 5.0, (89, 91, 93)),
                          ("sg", 5.0, (60, 62, 64)))
       for s, acc in enumerate(accs)]


def record(width, seed, acc, main):
    return {"dataset": "digits", "width_init": width, "seed": seed, "accuracy": acc, "firing_rate": 0.2,
            "energy_uj": 2.0, "main_width": main}


def test_main_cells_pair_with_the_main_widths_and_sweep_cells_with_their_width():
    records = [record(1.0, s, 85.0 + s, True) for s in (0, 1, 2)] + [record(5.0, s, 70.0, False) for s in (0, 1)]
    main, sweep = compare_records(records, REF, {"asgl": 1.0, "sg": 1.0})
    assert main["main"] and main["width"] == 1.0 and not sweep["main"] and sweep["width"] == 5.0
    # main: d_s = (85 + s) − (90 + 2s) = −5 − s  → mean −6, every d < 0 → worse
    assert math.isclose(main["against"]["asgl"]["difference"]["mean"], -6.0)
    assert main["against"]["asgl"]["verdict"] == "worse"
    # sweep at width 5 pairs with sg at width 5: d = 70 − 60, 70 − 62 → +10, +8: better only if the CI says so
    diff = sweep["against"]["sg"]["difference"]
    assert sweep["against"]["sg"]["paired_seeds"] == [0, 1] and math.isclose(diff["mean"], 9.0)
    assert sweep["against"]["sg"]["verdict"] == ("better" if diff["low"] > 0 else "no different")
    assert "(sweep)" in markdown({"method": "x", "display_name": "X", "rows": [main, sweep],
                                  "reference_widths": {"asgl": 1.0, "sg": 1.0}, "reference": "runs.csv",
                                  "budget": {"seeds": [0, 1, 2], "cut_down": False}})


def test_one_shared_seed_gives_no_verdict():
    (row,) = compare_records([record(1.0, 7, 85.0, True), record(1.0, 0, 85.0, True)], REF, {"asgl": 1.0})
    assert row["against"]["asgl"]["paired_seeds"] == [0]
    assert row["against"]["asgl"]["verdict"] == "undecided (n < 2)"


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

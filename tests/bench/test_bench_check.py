"""Unit tests of the regression comparator ``scripts/bench_check.py`` (fast; part of the default suite)."""

from __future__ import annotations

import json

import pytest


def test_regression_beyond_margin_fails(bench_check) -> None:
    rows = bench_check.compare({"a": 10.0}, {"a": 12.6}, margin=0.25)
    assert [r.verdict for r in rows] == [bench_check.REGRESSED]
    assert rows[0].change == pytest.approx(0.26)
    assert bench_check.failures(rows) == rows


def test_within_margin_passes(bench_check) -> None:
    rows = bench_check.compare({"a": 10.0, "b": 4.0}, {"a": 12.4, "b": 3.5}, margin=0.25)
    assert [r.verdict for r in rows] == [bench_check.OK, bench_check.OK]
    assert bench_check.failures(rows) == []


def test_margin_is_configurable(bench_check) -> None:
    assert bench_check.compare({"a": 10.0}, {"a": 11.0}, margin=0.05)[0].verdict == bench_check.REGRESSED
    assert bench_check.compare({"a": 10.0}, {"a": 14.0}, margin=0.5)[0].verdict == bench_check.OK


def test_missing_benchmark_is_reported(bench_check) -> None:
    rows = bench_check.compare({"a": 1.0, "gone": 2.0}, {"a": 1.0}, margin=0.25)
    missing = [r for r in rows if r.name == "gone"]
    assert missing and missing[0].verdict == bench_check.MISSING and missing[0].current is None
    assert bench_check.failures(rows) == missing
    assert bench_check.failures(rows, allow_missing=True) == []
    assert "MISSING" in bench_check.format_table(rows)


def test_improvement_passes(bench_check) -> None:
    rows = bench_check.compare({"a": 10.0}, {"a": 5.0}, margin=0.25)
    assert rows[0].verdict == bench_check.IMPROVED
    assert bench_check.failures(rows) == []


def test_new_benchmark_passes(bench_check) -> None:
    rows = bench_check.compare({}, {"fresh": 3.0})
    assert [(r.name, r.verdict) for r in rows] == [("fresh", bench_check.NEW)]
    assert bench_check.failures(rows) == []


def _write_run(path, ratios: dict[str, float]) -> None:
    benchmarks = [{"name": n, "extra_info": {"ratio_to_clone": r, "ratio_to_clone_min": r / 2}}
                  for n, r in ratios.items()]
    path.write_text(json.dumps({"datetime": "2025-01-01T00:00:00", "machine_info": {}, "benchmarks": benchmarks}))


def test_main_update_then_check(bench_check, tmp_path, capsys) -> None:
    run, baseline = tmp_path / "run.json", tmp_path / "baseline.json"
    _write_run(run, {"x": 2.0, "y": 8.0})
    assert bench_check.main([str(run), "--baseline", str(baseline), "--update"]) == 0
    doc = json.loads(baseline.read_text())
    assert doc["benchmarks"]["x"]["ratio_to_clone"] == 2.0 and doc["command"] and doc["date"]
    assert bench_check.main([str(run), "--baseline", str(baseline)]) == 0
    _write_run(run, {"x": 2.0, "y": 11.0})
    assert bench_check.main([str(run), "--baseline", str(baseline)]) == 1
    out = capsys.readouterr().out
    assert "REGRESSED" in out and "+37.5%" in out and "FAIL" in out
    assert bench_check.main([str(run), "--baseline", str(baseline), "--margin", "0.5"]) == 0
    assert bench_check.main([str(run), "--baseline", str(baseline), "--stat", "min", "--margin", "0.5"]) == 0


def test_run_without_ratios_is_an_input_error(bench_check, tmp_path) -> None:
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"benchmarks": [{"name": "x", "extra_info": {}}]}))
    assert bench_check.main([str(run), "--baseline", str(tmp_path / "none.json")]) == 2


def test_several_runs_are_merged_by_median(bench_check, tmp_path) -> None:
    paths = []
    for i, r in enumerate((1.0, 9.0, 2.0)):
        paths.append(tmp_path / f"run{i}.json")
        _write_run(paths[-1], {"x": r})
    merged = bench_check.merge_runs(bench_check.load_current(p) for p in paths)
    assert merged["x"]["ratio_to_clone"] == 2.0
    baseline = tmp_path / "baseline.json"
    assert bench_check.main([*map(str, paths), "--baseline", str(baseline), "--update"]) == 0
    assert json.loads(baseline.read_text())["runs"] == 3

"""Unit tests of the regression check ``scripts/bench_check.py`` (fast; part of the default suite)."""

from __future__ import annotations

import json
import subprocess

import pytest


def test_processes_alternate_abba_then_baab(bench_check) -> None:
    assert bench_check.process_order(1) == ["base", "head"]
    assert bench_check.process_order(3) == ["base", "head", "head", "base", "base", "head"]
    with pytest.raises(bench_check.BenchInputError, match="--pairs"):
        bench_check.process_order(0)


def test_slower_in_every_pair_beyond_the_threshold_fails(bench_check) -> None:
    base = [{"a": 1.0}, {"a": 2.0}, {"a": 1.5}]
    head = [{"a": 1.2}, {"a": 2.5}, {"a": 1.8}]
    (verdict,), lacking = bench_check.compare(base, head, threshold=0.10)
    assert verdict.ratios == pytest.approx((1.2, 1.25, 1.2)) and verdict.median == pytest.approx(1.2)
    assert verdict.verdict == bench_check.FAIL and lacking == []
    assert bench_check.overall([verdict]) == bench_check.FAIL


def test_within_the_threshold_passes_and_a_disagreeing_pair_is_inconclusive(bench_check) -> None:
    assert bench_check.decide([1.05, 1.12, 0.97], 0.10) == bench_check.PASS
    assert bench_check.decide([0.7, 0.8], 0.10) == bench_check.PASS  # faster passes
    assert bench_check.decide([1.3, 0.98, 1.25], 0.10) == bench_check.INCONCLUSIVE
    assert bench_check.decide([1.3, 0.98, 1.25], 0.30) == bench_check.PASS


def test_the_answer_is_the_worst_verdict(bench_check) -> None:
    v = bench_check.Verdict
    ok, unsure, bad = (v("a", (1.0,), 1.0, "pass"), v("b", (1.3,), 1.3, "inconclusive"),
                       v("c", (1.4,), 1.4, "fail"))
    assert bench_check.overall([ok]) == bench_check.PASS
    assert bench_check.overall([ok, unsure]) == bench_check.INCONCLUSIVE
    assert bench_check.overall([ok, unsure, bad]) == bench_check.FAIL
    assert bench_check.EXIT == {"pass": 0, "fail": 1, "inconclusive": 3}


def test_benchmarks_on_one_side_only_are_listed_not_compared(bench_check) -> None:
    verdicts, lacking = bench_check.compare([{"a": 1.0, "old": 1.0}], [{"a": 1.0, "new": 2.0}], 0.1)
    assert [v.name for v in verdicts] == ["a"] and lacking == ["new", "old"]
    with pytest.raises(bench_check.BenchInputError, match="as many base as head"):
        bench_check.compare([{"a": 1.0}], [], 0.1)
    with pytest.raises(bench_check.BenchInputError, match="--threshold"):
        bench_check.compare([{"a": 1.0}], [{"a": 1.0}], -0.1)


def test_a_run_file_gives_medians_raw_samples_and_the_imported_tree(bench_check, tmp_path) -> None:
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"benchmarks": [{"name": "x", "stats": {"median": 0.5, "data": [0.4, 0.5, 0.6]},
                                               "extra_info": {"asgl_root": "/tree"}}]}))
    assert bench_check.load_run(run) == {"x": {"median": 0.5, "data": [0.4, 0.5, 0.6], "asgl_root": "/tree"}}
    run.write_text(json.dumps({"benchmarks": [{"name": "x", "stats": {}}]}))
    with pytest.raises(bench_check.BenchInputError, match=r"'x' in .* has no stats\.median"):
        bench_check.load_run(run)
    run.write_text("{")
    with pytest.raises(bench_check.BenchInputError, match="cannot read benchmark results"):
        bench_check.load_run(run)


def test_source_hash_follows_the_python_sources_only(bench_check, tmp_path) -> None:
    (tmp_path / "asgl").mkdir()
    (tmp_path / "asgl" / "a.py").write_text("x = 1\n")
    first = bench_check.source_hash(tmp_path)
    (tmp_path / "asgl" / "notes.txt").write_text("ignored")
    assert bench_check.source_hash(tmp_path) == first
    (tmp_path / "asgl" / "a.py").write_text("x = 2\n")
    assert bench_check.source_hash(tmp_path) != first


def test_the_injected_slowdown_wraps_the_fused_lif_of_a_copy(bench_check, tmp_path) -> None:
    target = tmp_path / "asgl" / "kernels" / "fused.py"
    target.parent.mkdir(parents=True)
    target.write_text("class FusedLIF:\n    @staticmethod\n    def backward(x):\n        return x\n\n\n"
                      "def fused_lif(x):\n    return x\n")
    bench_check.inject_slowdown(tmp_path, 0.2)
    namespace: dict = {}
    exec(compile(target.read_text(), str(target), "exec"), namespace)
    assert namespace["fused_lif"](3) == 3 and namespace["FusedLIF"].backward(4) == 4
    assert "factor=0.2" in target.read_text()
    with pytest.raises(bench_check.BenchInputError, match="must be > 0"):
        bench_check.inject_slowdown(tmp_path, 0.0)


def test_bad_arguments_are_one_line_errors(bench_check, capsys) -> None:
    assert bench_check.main(["--inject-lif-slowdown", "0.2"]) == 2
    assert "give --head REF" in capsys.readouterr().err
    assert bench_check.main(["--base", "no-such-ref-anywhere"]) == 2
    assert "git merge-base HEAD no-such-ref-anywhere" in capsys.readouterr().err


def test_a_worktree_is_made_with_commit_times_and_removed(bench_check, tmp_path) -> None:
    path, sha = bench_check.add_worktree("HEAD", "base", tmp_path)
    try:
        assert (path / "scripts" / "bench_check.py").exists() and len(sha) == 40
        stamp = int(subprocess.run(["git", "show", "-s", "--format=%ct", sha], capture_output=True, text=True,
                                   cwd=bench_check.REPO_ROOT).stdout)
        assert int((path / "asgl" / "kernels" / "lif_numba.py").stat().st_mtime) == stamp
    finally:
        bench_check.remove_worktree(path)
    assert not path.exists()
    listed = subprocess.run(["git", "worktree", "list"], capture_output=True, text=True, cwd=bench_check.REPO_ROOT)
    assert str(path) not in listed.stdout

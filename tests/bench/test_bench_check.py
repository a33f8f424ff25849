"""Unit tests of the regression check ``scripts/bench_check.py`` (fast; part of the default suite)."""

from __future__ import annotations

import subprocess

import pytest


def test_calls_alternate_abba_within_a_process_and_baab_in_the_next(bench_check) -> None:
    first = [bench_check.pair_order(i, 0) for i in range(4)]
    assert first == [("base", "head"), ("head", "base"), ("base", "head"), ("head", "base")]
    assert [bench_check.pair_order(i, 1) for i in range(2)] == [("head", "base"), ("base", "head")]


def test_the_median_bounds_are_binomial_order_statistics(bench_check) -> None:
    assert bench_check.median_bounds(range(20)) == (5, 14)  # P(Bin(20, ½) ≤ 5) = 0.021 ≤ 0.025 < P(≤ 6)
    assert bench_check.median_bounds(range(60)) == (21, 38)
    assert bench_check.median_bounds([3.0, 1.0, 2.0]) == (1.0, 3.0)  # too few pairs: the range


def test_slower_beyond_the_threshold_in_most_pairs_fails(bench_check) -> None:
    base = [1.0] * 20
    head = [1.2, 1.25, 1.3, 1.15, 0.95, 1.22, 1.18, 1.28, 1.21, 1.19] * 2
    v = bench_check.verdict("a", base, head, threshold=0.10)
    assert v.median == pytest.approx(1.205) and v.low > 1.0 and v.verdict == bench_check.FAIL
    assert bench_check.overall([v]) == bench_check.FAIL


def test_pass_needs_the_upper_bound_within_the_threshold(bench_check) -> None:
    tight = [1.0, 1.02, 0.98, 1.05, 0.97, 1.01, 1.03, 0.99, 1.04, 0.96] * 2
    assert bench_check.decide(tight, 0.10) == bench_check.PASS
    assert bench_check.decide([0.7, 0.8] * 10, 0.10) == bench_check.PASS  # faster passes
    noisy = [0.6, 1.5, 0.9, 1.3, 1.0, 1.6, 0.7, 1.2, 1.05, 0.8] * 2  # median ≈ 1, but the data allow +30 %
    assert bench_check.decide(noisy, 0.10) == bench_check.INCONCLUSIVE
    assert bench_check.decide(noisy, 0.40) == bench_check.PASS
    slow_or_noise = [1.3, 0.9, 1.25, 0.95, 1.4] * 4  # median above τ, but head no slower in many pairs
    assert bench_check.decide(slow_or_noise, 0.10) == bench_check.INCONCLUSIVE
    with pytest.raises(bench_check.BenchInputError, match="--threshold"):
        bench_check.decide([1.0], -0.1)
    with pytest.raises(bench_check.BenchInputError, match="as many base as head"):
        bench_check.verdict("a", [1.0], [], 0.1)


def test_a_sample_repeats_short_calls_to_last_the_sample_time(bench_check) -> None:
    assert bench_check.calls_per_sample(0.010, 0.05) == 5
    assert bench_check.calls_per_sample(0.2, 0.05) == 1
    assert bench_check.calls_per_sample(0.0, 0.05) >= 1


def test_the_answer_is_the_worst_verdict(bench_check) -> None:
    def v(name: str, verdict: str):
        return bench_check.Verdict(name, (1.0,), 1.0, 1.0, 1.0, verdict)

    ok, unsure, bad = v("a", "pass"), v("b", "inconclusive"), v("c", "fail")
    assert bench_check.overall([ok]) == bench_check.PASS
    assert bench_check.overall([ok, unsure]) == bench_check.INCONCLUSIVE
    assert bench_check.overall([ok, unsure, bad]) == bench_check.FAIL
    assert bench_check.EXIT == {"pass": 0, "fail": 1, "inconclusive": 3}


def test_a_worker_in_this_tree_builds_and_times_cases(bench_check) -> None:
    worker = bench_check.Worker("head", bench_check.REPO_ROOT, threads=1, numba_cache=None)
    try:
        assert "test_lif_backend[autograd-8x32x4096]" in worker.cases
        assert worker.ask(op="build", name="test_lif_backend[autograd-8x32x4096]")
        times = worker.ask(op="time", calls=2)["times"]
        assert len(times) == 2 and all(t > 0 for t in times)
        with pytest.raises(bench_check.BenchInputError, match="KeyError: 'nope'"):
            worker.ask(op="build", name="nope")
    finally:
        worker.close()


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
    assert bench_check.main(["--pairs", "0"]) == 2
    assert "--pairs must be at least 1" in capsys.readouterr().err


def test_a_worktree_is_made_with_commit_times_and_removed(bench_check, tmp_path) -> None:
    path, sha = bench_check.add_worktree("HEAD", "base", tmp_path)
    assert path == tmp_path / "base"
    try:
        assert (path / "scripts" / "bench_check.py").exists() and len(sha) == 40
        stamp = int(subprocess.run(["git", "log", "-1", "--format=%ct", sha, "--", "asgl/kernels/lif_numba.py"],
                                   capture_output=True, text=True, cwd=bench_check.REPO_ROOT).stdout)
        assert int((path / "asgl" / "kernels" / "lif_numba.py").stat().st_mtime) == stamp
    finally:
        bench_check.remove_worktree(path)
    assert not path.exists()
    listed = subprocess.run(["git", "worktree", "list"], capture_output=True, text=True, cwd=bench_check.REPO_ROOT)
    assert str(path) not in listed.stdout


def test_follow_up_rounds_time_only_the_undecided_cases_in_later_processes(bench_check, monkeypatch) -> None:
    """``measure(only=…, first_process=…)`` adds samples of the named cases only, continuing the ABBA/BAAB
    alternation from the process number it is given."""
    orders: list[tuple[int, str, str]] = []

    class FakeWorker:
        def __init__(self, side, tree, threads, numba_cache) -> None:
            self.side, self.cases, self.name = side, ["a", "b"], None

        def ask(self, op, **request):
            if op == "build":
                self.name = request["name"]
                return {"built": self.name}
            orders.append((len(orders), self.side, self.name))
            return {"times": [0.01 if self.side == "base" else 0.02] * request["calls"]}

        def close(self) -> None:
            pass

    monkeypatch.setattr(bench_check, "Worker", FakeWorker)
    times = {side: {} for side in bench_check.SIDES}
    raw = {side: {} for side in bench_check.SIDES}
    trees = {"base": None, "head": None}
    chosen, _ = bench_check.measure(trees, trees, "", 1, 2, 1, 0.0, times, raw)
    assert chosen == ["a", "b"] and len(times["head"]["a"]) == len(times["head"]["b"]) == 2
    orders.clear()
    bench_check.measure(trees, trees, "", 1, 2, 1, 0.0, times, raw, first_process=1, only=["b"])
    timed = [(side, name) for _, side, name in orders]
    assert {name for _, name in timed} == {"b"}
    assert timed[1:] == [("head", "b"), ("base", "b"), ("base", "b"), ("head", "b")]  # probe, then BAAB
    assert len(times["head"]["a"]) == 2 and len(times["head"]["b"]) == 4
    verdicts = bench_check.judge(times, chosen, 0.10)
    assert [v.verdict for v in verdicts] == [bench_check.FAIL, bench_check.FAIL]

"""The local pool started before the jobs are known (:class:`pipelines.lib.executors.StageExecutor`): its workers
import what they are told before the first job, the jobs then run on those same workers, results come back in
job order, the first failure in job order is raised named after its run, and a dead worker still breaks the
pool."""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from pipelines.lib import executors
from pipelines.lib.executors import StageExecutor
from tests.scaling import jobs as J
from tests.scaling import pool_jobs as P

POOL = {"executor": "local", "workers": 2, "threads_per_worker": 1, "device": "cpu"}


def _marker_lines(path: Path, count: int, timeout: float = 120.0) -> list[list[str]]:
    """The marker file's lines once it has ``count`` of them (fails after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().split("\n")[:-1] if path.exists() else []
        if len(lines) >= count:
            return [line.split() for line in lines]
        time.sleep(0.1)
    pytest.fail(f"{path}: {count} worker(s) did not import the warm-up module within {timeout:.0f} s")


def test_started_workers_import_before_the_jobs_and_then_run_them(tmp_path, monkeypatch):
    marker = tmp_path / "imports.txt"
    monkeypatch.setenv("ASGL_TEST_WARM_MARKER", str(marker))
    with StageExecutor(warm_up=("tests.scaling.warm_marker",)) as executor:
        executor.start(POOL)
        warmed = {int(pid) for pid, _ in _marker_lines(marker, 2)}  # both, before any job exists
        with multiprocessing.get_context("spawn").Manager() as manager:
            barrier = manager.Barrier(2)  # each worker holds one job, so each one reports
            seen = executor.run_jobs(J.environment, [{"barrier": barrier}, {"barrier": barrier}], POOL)
    assert len(warmed) == 2 and os.getpid() not in warmed
    assert {s["pid"] for s in seen} == warmed, "the jobs ran on the workers started early"


def test_results_come_back_in_job_order():
    jobs = [P.job(i, sleep=0.4 * (3 - i)) for i in range(4)]  # later jobs finish first
    with StageExecutor() as executor:
        executor.start(POOL)
        results = executor.run_jobs(P.value_after_sleep, jobs, POOL)
    assert [r["value"] for r in results] == [0, 1, 2, 3]
    assert len({r["pid"] for r in results}) == 2 and os.getpid() not in {r["pid"] for r in results}


def test_the_first_failure_in_job_order_is_raised_named_after_its_run(tmp_path):
    jobs = [P.job(0), P.job(1, sleep=1.0, fail=True), P.job(2), P.job(3, fail=True)]  # run 3 fails first
    with StageExecutor() as executor:
        executor.start(POOL)
        with pytest.raises(ValueError, match=r"^run m/d/w1-s1: bad value 1$"):
            executor.run_jobs(P.value_after_sleep, jobs, POOL)


def test_a_worker_that_dies_breaks_the_pool():
    with pytest.raises(BrokenProcessPool, match=r"^run m/d/w1-s0: "):
        executors.run_jobs(P.kill_own_worker, [P.job(0), P.job(1)], POOL)


def test_a_pool_started_for_another_run_block_is_not_used():
    one = {**POOL, "workers": 1}
    with StageExecutor() as executor:
        executor.start(POOL)
        results = executor.run_jobs(P.value_after_sleep, [P.job(0), P.job(1)], one)
    assert {r["pid"] for r in results} == {os.getpid()}, "run.workers: 1 runs the jobs in this process"


@pytest.mark.parametrize(("run", "workers"), [
    (POOL, 2),
    ({**POOL, "workers": "auto"}, len(os.sched_getaffinity(0))),
    ({**POOL, "workers": 1}, 1),
    ({**POOL, "device": "auto"}, 0),  # counting GPUs imports torch
    ({**POOL, "device": "cuda"}, 0),
    ({**POOL, "executor": "ray"}, 0),
    ({**POOL, "workers": "all"}, 0),  # left to the checks, which name the key
    ({**POOL, "workers": True}, 0),
    ({**POOL, "threads_per_worker": 0}, 0),
    ("not a mapping", 0),
    (None, 0),
], ids=["two", "auto", "one", "device-auto", "cuda", "ray", "bad-workers", "bool-workers", "bad-threads",
        "not-a-mapping", "none"])
def test_only_a_plain_local_cpu_pool_starts_before_the_checks(run, workers):
    assert executors._early_workers(run) == workers


def test_workers_skip_the_interpreter_teardown(tmp_path):
    """The teardown would free the object that a job kept in a module, which writes its file when freed."""
    path = tmp_path / "freed.txt"
    pids = executors.run_jobs(P.keep_until_teardown, [{"path": str(path)}] * 2, POOL)
    assert os.getpid() not in pids and not path.exists()


def test_what_a_job_leaves_to_print_at_exit_is_printed(capfd, monkeypatch):
    """Printed by an exit handler that runs before the worker's quick exit, into a buffer it must flush."""
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)  # so the workers buffer stdout, as wherever it is unset
    executors.run_jobs(P.print_at_exit, [{"text": f"left by job {i}"} for i in range(2)], POOL)
    out = capfd.readouterr().out
    assert "left by job 0" in out and "left by job 1" in out

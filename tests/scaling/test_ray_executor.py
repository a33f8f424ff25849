"""``run.executor: ray`` on a real Ray instance (2 CPUs, loopback): same records as the local pool, a run
whose worker is killed resumes from its checkpoint, ordinary errors are not retried and name the run."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from pipelines.lib.executors import run_jobs
from pipelines.lib.runs import run_one
from tests.scaling import jobs as J
from tests.scaling.stage import comparable, same_weights

pytestmark = [pytest.mark.ray, pytest.mark.slow]  # ~75 s on 2 busy cores: `pytest -m ray tests/scaling`
RAY = {"executor": "ray", "threads_per_worker": 1, "device": "cpu",
       "ray": {"address": None, "cpus_per_run": 1, "max_retries": 2}}


def test_ray_stage_equals_the_local_pool(ray_instance, stage, local_records, tmp_path):
    records = run_jobs(run_one, stage(tmp_path), RAY)
    assert [(r["method"], r["seed"]) for r in records] == [(r["method"], r["seed"]) for r in local_records]
    for ours, local in zip(records, local_records, strict=True):
        assert comparable(ours) == comparable(local)
        assert Path(ours["run_dir"]).is_relative_to(tmp_path)
        assert same_weights(ours, local)


def test_killed_worker_is_retried_and_the_run_resumes_identically(ray_instance, stage, local_records, tmp_path):
    job = {**stage(tmp_path)[0], "pid_file": str(tmp_path / "pids")}
    out: dict = {}
    thread = threading.Thread(target=lambda: out.update(records=run_jobs(J.run_one_noting_pid, [job], RAY)),
                              daemon=True)
    thread.start()
    deadline = time.monotonic() + 300
    pids = J.attempts(job["pid_file"])
    while not (pids and J.stopped(pids[0][0])) and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
        pids = J.attempts(job["pid_file"])
    assert pids and J.stopped(pids[0][0]), "the first attempt did not reach its first checkpoint"
    first_pid = pids[0][0]
    os.kill(first_pid, signal.SIGKILL)  # the worker dies after epoch 1 of 3
    thread.join(timeout=600)
    assert not thread.is_alive()

    attempts = J.attempts(job["pid_file"])
    assert len(attempts) == 2 and attempts[0] == [first_pid, 0], attempts
    assert attempts[1][0] != first_pid and attempts[1][1] == 1  # a new worker resumed from epoch 1
    assert comparable(out["records"][0]) == comparable(local_records[0])
    assert same_weights(out["records"][0], local_records[0])


def test_an_ordinary_error_is_not_retried_and_names_the_run(ray_instance, stage, tmp_path):
    job = {**stage(tmp_path)[1], "pid_file": str(tmp_path / "pids"), "value": 7}
    with pytest.raises(ValueError, match=r"^run sg/digits/w1-s1: bad value 7$"):
        run_jobs(J.fail, [job], RAY)
    assert len(J.attempts(job["pid_file"])) == 1


def test_a_ddp_run_is_one_ray_task_on_two_processes(ray_instance, tmp_path):
    import torch

    from tests.unit import ddp_worker

    job = {"out": str(tmp_path), "settings": {"train": {"ddp": 2}}}  # asks Ray for 2 × cpus_per_run
    [result] = run_jobs(ddp_worker.job, [job], RAY)
    assert result["world_size"] == 2
    rank1 = torch.load(tmp_path / "plain_rank1.pt", weights_only=True)
    assert all(torch.equal(result["plain"][k], rank1[k]) for k in rank1)


def test_a_run_without_gpus_sees_none(ray_instance):
    [seen] = run_jobs(J.environment, [{}], RAY)
    assert seen["cuda"] == ""

"""The local executor gives pool worker ``i`` of ``N`` the GPU ``i mod G`` through ``CUDA_VISIBLE_DEVICES``
(checked with a fake GPU count: what matters is the environment each worker sees)."""

from __future__ import annotations

import multiprocessing

import pytest

from pipelines.lib import executors
from tests.scaling import jobs as J


def _seen(workers: int, gpus: int, device: str = "cuda") -> list[dict]:
    """Each worker's ``{"pid", "cuda"}``; one job per worker, all held at a barrier so that each worker runs one."""
    with multiprocessing.get_context("spawn").Manager() as manager:
        barrier = manager.Barrier(workers)
        jobs = [{"barrier": barrier} for _ in range(workers)]
        return executors.run_local(J.environment, jobs, {"workers": workers, "device": device}, gpus=gpus)


def test_each_worker_sees_its_own_gpu(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7")  # this process may use GPUs 5 and 7
    seen = _seen(workers=2, gpus=2)
    assert len({s["pid"] for s in seen}) == 2  # two workers, one job each …
    assert sorted(s["cuda"] for s in seen) == ["5", "7"]  # … each on its own GPU


def test_more_workers_than_gpus_share_them_round_robin():
    assert executors.gpu_plan(5, ["0", "1"]) == ["0", "1", "0", "1", "0"]
    assert executors.gpu_plan(2, ["3", "4", "6"]) == ["3", "4"]


def test_visible_gpus_come_from_this_process_list(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5, 7,GPU-abc")
    assert executors.visible_gpus(2) == ["5", "7"]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert executors.visible_gpus(3) == ["0", "1", "2"]


@pytest.mark.parametrize(("run", "gpus", "expected"), [
    ({"workers": "auto", "device": "cuda"}, 4, 4),
    ({"workers": "auto"}, 3, 3),
    ({"workers": "auto", "device": "cpu", "threads_per_worker": 1}, 8, None),
    ({"workers": "auto", "threads_per_worker": 1}, 0, None),
    ({"workers": 5, "device": "cuda"}, 2, 5),
], ids=["cuda", "auto-device-with-gpus", "cpu-ignores-gpus", "auto-device-no-gpu", "explicit"])
def test_auto_workers(run, gpus, expected):
    import os

    cores = len(os.sched_getaffinity(0))
    assert executors.workers_for(run, gpus) == (cores if expected is None else expected)


def test_auto_workers_on_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(ValueError, match=r"run\.workers: auto with run\.device: cuda found no visible GPU"):
        executors.workers_for({"workers": "auto", "device": "cuda"}, 0)

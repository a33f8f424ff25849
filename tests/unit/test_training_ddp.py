"""Data-parallel training with two CPU processes (gloo) against one process on the same global batch, launched
the way the train stage launches a ``train.ddp: 2`` run: ``run_jobs`` → torchrun (:mod:`pipelines.lib.ddp_launch`)."""

import pickle
import sys

import pytest
import torch

from asgl.training import DistContext
from pipelines.lib import ddp_launch
from pipelines.lib.executors import run_jobs
from tests.unit import ddp_worker

LOCAL_CPU = {"executor": "local", "workers": 1, "threads_per_worker": 1, "device": "cpu"}


def test_two_process_ddp_matches_one_process(tmp_path):
    job = {"out": str(tmp_path), "settings": {"train": {"ddp": 2}}}
    [result] = run_jobs(ddp_worker.job, [job], LOCAL_CPU)
    assert result["world_size"] == 2  # rank 0's return value, from a run on two processes

    for name, batch_norm in (("plain", False), ("bn", True)):
        single = ddp_worker.run(batch_norm, tmp_path / f"single_{name}", DistContext()).model.state_dict()
        ranks = [torch.load(tmp_path / f"{name}_rank{r}.pt", weights_only=True) for r in (0, 1)]
        for key, value in single.items():
            torch.testing.assert_close(result[name][key], ranks[0][key], rtol=0, atol=0)
            # identical across ranks (gradients and SyncBatchNorm statistics are synchronised) …
            torch.testing.assert_close(ranks[0][key], ranks[1][key], rtol=0, atol=0, msg=f"{name}: {key}")
            # … and equal to one process on the same global batch, within float tolerance
            if value.dtype.is_floating_point:
                torch.testing.assert_close(ranks[0][key], value, rtol=1e-4, atol=1e-5, msg=f"{name}: {key}")
            else:
                assert torch.equal(ranks[0][key], value), f"{name}: {key}"
        assert "bn.running_mean" not in single or not torch.equal(single["bn.running_mean"], torch.zeros(10))

    masks = [torch.load(tmp_path / f"mask_rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert not torch.equal(masks[0], masks[1])  # ASGL noise differs across ranks (seed + rank)


def test_the_torchrun_command():
    cmd = ddp_launch.torchrun_command(4, "pipelines.lib.runs:run_one", "job.pkl", "out.pkl", 2)
    assert cmd == [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "4",
                   "-m", "pipelines.lib.ddp_launch", "pipelines.lib.runs:run_one", "job.pkl", "out.pkl", "2"]
    assert ddp_launch.resolve(ddp_launch.function_ref(ddp_worker.job)) is ddp_worker.job
    with pytest.raises(ValueError, match="module-level function"):
        ddp_launch.function_ref(lambda job: job)


def test_rank_zero_reports_its_error(tmp_path, monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    (tmp_path / "job.pkl").write_bytes(pickle.dumps({"value": 3}))
    with pytest.raises(ValueError):
        ddp_launch.main(["tests.unit.ddp_worker:fail", str(tmp_path / "job.pkl"), str(tmp_path / "out.pkl"), "1"])
    ok, error = pickle.loads((tmp_path / "out.pkl").read_bytes())
    assert not ok and isinstance(error, ValueError) and str(error) == "bad value 3"

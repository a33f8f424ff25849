"""Data-parallel training with two CPU processes (torchrun, gloo) against one process on the same global batch."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import torch

from asgl.training import DistContext

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _worker():
    spec = importlib.util.spec_from_file_location("ddp_worker", HERE / "ddp_worker.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_process_ddp_matches_one_process(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    env.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(HERE / "ddp_worker.py"), str(tmp_path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    worker = _worker()
    for name, batch_norm in (("plain", False), ("bn", True)):
        single = worker.run(batch_norm, tmp_path / f"single_{name}", DistContext()).model.state_dict()
        ranks = [torch.load(tmp_path / f"{name}_rank{r}.pt", weights_only=True) for r in (0, 1)]
        for key, value in single.items():
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

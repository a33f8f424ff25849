"""Data-parallel training under ``torchrun`` (DDP): process group, model wrapping, batch sharding.

Launched as ``torchrun --nproc_per_node N script.py``, each process sees ``WORLD_SIZE``, ``RANK`` and
``LOCAL_RANK``; :meth:`DistContext.from_environment` reads them (the only place the trainer reads the
environment) and a world size of 1 means plain single-process training.

Conventions:

* backend ``gloo`` on CPU, ``nccl`` on CUDA (``cuda:LOCAL_RANK``);
* batch norm layers compute statistics over the global batch: :class:`torch.nn.SyncBatchNorm` on CUDA,
  :class:`~asgl.training.sync_batchnorm.DistributedBatchNorm` on CPU (PyTorch's is CUDA-only);
* a global batch of indices ``b`` (the same on every rank, from the seeded permutation) is split as
  ``b[rank::world_size]`` — DistributedSampler's interleaving applied per batch — so ranks see disjoint
  samples whose union is the single-process batch;
* each rank seeds torch's generator with ``seed + rank``: ASGL's noise masks differ across ranks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from asgl.training.sync_batchnorm import convert_batchnorm


@dataclass(frozen=True)
class DistContext:
    """Rank, world size and local rank of this process (``world_size == 1``: not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_environment(cls, env: dict[str, str] | None = None) -> DistContext:
        """Read ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK`` (as set by torchrun)."""
        env = dict(os.environ if env is None else env)
        world = int(env.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        return cls(rank=int(env["RANK"]), world_size=world, local_rank=int(env.get("LOCAL_RANK", "0")))

    def device(self, requested: str) -> torch.device:
        """The device of this rank for ``requested`` in ``{"auto", "cpu", "cuda"}``."""
        use_cuda = requested == "cuda" or (requested == "auto" and torch.cuda.is_available())
        if requested == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("train.device is 'cuda' but no CUDA device is available")
        return torch.device("cuda", self.local_rank) if use_cuda else torch.device("cpu")

    def init(self, device: torch.device) -> None:
        """Initialise the default process group (``nccl`` on CUDA, ``gloo`` on CPU) if needed."""
        if not self.enabled or dist.is_initialized():
            return
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo",
                                rank=self.rank, world_size=self.world_size)

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """Synchronised batch norm and DDP wrapping (identity when not distributed).

        On CUDA batch norm becomes :class:`torch.nn.SyncBatchNorm`; PyTorch's version refuses CPU modules, so
        on CPU it becomes :class:`asgl.training.sync_batchnorm.DistributedBatchNorm` (same statistics).
        """
        if not self.enabled:
            return model
        convert = nn.SyncBatchNorm.convert_sync_batchnorm if device.type == "cuda" else convert_batchnorm
        model = convert(model)
        ids = [device.index] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def shard(self, batch: torch.Tensor) -> torch.Tensor:
        """This rank's share ``batch[rank::world_size]`` of a global batch of indices."""
        return batch[self.rank::self.world_size] if self.enabled else batch

    def all_reduce_sum(self, values: torch.Tensor) -> torch.Tensor:
        """Sum of ``values`` over ranks (a copy; unchanged when not distributed)."""
        out = values.clone()
        if self.enabled:
            dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out

    def all_gather_object(self, obj: Any) -> list[Any]:
        """``[obj from rank 0, obj from rank 1, …]``."""
        if not self.enabled:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def broadcast_object(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if not self.enabled:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a DDP wrapper (or ``model`` itself)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model

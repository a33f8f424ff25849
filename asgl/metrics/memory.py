"""Peak memory of a block of code.

* CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats`` at entry — the peak of
  tensor memory allocated by PyTorch on that device during the block (kind ``"cuda_max_allocated"``).
* CPU: the growth of the process's peak resident set size, ``ru_maxrss(exit) − ru_maxrss(entry)`` from
  ``resource.getrusage`` (kind ``"cpu_peak_rss_delta"``). It counts everything the process touched (Python
  objects, libraries), and is a lower bound: it reads 0 when an earlier peak was already higher.
"""

from __future__ import annotations

import resource
import sys

import torch


def _max_rss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss) if sys.platform == "darwin" else int(rss) * 1024


class PeakMemory:
    """Context manager; after exit ``peak_bytes`` and ``kind`` hold the result (see the module docstring)."""

    def __init__(self, device: torch.device | str) -> None:
        self.device = torch.device(device)
        self.peak_bytes = 0
        self.kind = "cuda_max_allocated" if self.device.type == "cuda" else "cpu_peak_rss_delta"
        self._start = 0

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            self._start = _max_rss_bytes()
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak_bytes = int(torch.cuda.max_memory_allocated(self.device))
        else:
            self.peak_bytes = max(0, _max_rss_bytes() - self._start)

    def summary(self, prefix: str = "") -> dict[str, int | str]:
        return {f"{prefix}peak_memory_bytes": self.peak_bytes, f"{prefix}peak_memory_kind": self.kind}

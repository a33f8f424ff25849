"""Reused output buffers of the CPU kernels: memory that is already mapped, so a call pays no page faults.

Every forward of the fused LIF writes two ``[T, N]`` float32 arrays (``y`` and the saved ``v``) and every
backward one (``g_x``). Allocated afresh, an array of a few MiB comes from ``mmap`` (glibc's default for blocks
over its threshold) and goes back to the kernel when freed, so each call first-touches every 4 KiB page: a
page fault and the kernel zeroing the page, which cost more than the kernel's own reads and writes
(``docs/performance.md``, "The LIF at its floor").

:class:`BufferPool` keeps the flat arrays it hands out and hands one out again once nothing outside the pool
refers to it any more. Torch tensors made with ``torch.from_numpy`` hold a reference to their array (through
any reshape or view), so an array is free exactly when every tensor on it is gone: an output the caller
still holds, or a ``v`` autograd still saves, is never handed out twice. The pool keeps at most ``per_size``
arrays per length and allocates beyond that without keeping; it holds the memory of its arrays until
:meth:`BufferPool.clear` (at most the peak of simultaneously live buffers, ``per_size`` per length).
"""

from __future__ import annotations

import sys
import threading

import numpy as np


def _refs_in_loop(arrays: list[np.ndarray]) -> int:
    """``sys.getrefcount`` of an array seen as :meth:`BufferPool.take` sees it when only the list holds it."""
    for i in range(len(arrays)):
        array = arrays[i]
        return sys.getrefcount(array)
    raise ValueError("empty list")


class BufferPool:
    """Flat float32 arrays by length, reused once no tensor or array outside the pool refers to them.

    Args:
        per_size: the most arrays kept per length (the rest are allocated and let go as usual).
    """

    def __init__(self, per_size: int = 32) -> None:
        self.per_size = per_size
        self._arrays: dict[int, list[np.ndarray]] = {}
        self._lock = threading.Lock()
        self._idle = _refs_in_loop([np.empty(1, dtype=np.float32)])

    def take(self, numel: int) -> np.ndarray:
        """A float32 array of ``numel`` elements (contents undefined) that nothing else uses."""
        with self._lock:
            arrays = self._arrays.setdefault(numel, [])
            for i in range(len(arrays)):
                array = arrays[i]
                if sys.getrefcount(array) == self._idle:
                    return array
            array = np.empty(numel, dtype=np.float32)
            if len(arrays) < self.per_size:
                arrays.append(array)
            return array

    def held_bytes(self) -> int:
        """Bytes of all arrays the pool keeps (in use or free)."""
        with self._lock:
            return sum(a.nbytes for arrays in self._arrays.values() for a in arrays)

    def clear(self) -> None:
        """Forget every array (those still in use stay valid; their memory is freed with their last user)."""
        with self._lock:
            self._arrays.clear()


POOL = BufferPool()

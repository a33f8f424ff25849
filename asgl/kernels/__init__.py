"""Fused LIF kernels: numba on the CPU (:mod:`.lif_numba`), Triton on the GPU (:mod:`.lif_triton`), the autograd
wrapper and backend choice (:mod:`.fused`), and the numba kernel cache (:mod:`.cache`).

``warm_cache()`` compiles or loads the CPU kernels once, ahead of a run (see :mod:`.cache`).
"""

from asgl.kernels.cache import warm_cache

__all__ = ["warm_cache"]

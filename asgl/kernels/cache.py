"""numba's on-disk cache of the CPU LIF kernels: what is in it, and filling it ahead of the first training step.

Each flag set ``(primitive, reset, scale, noisy)`` is one pair of kernels (:func:`asgl.kernels.lif_numba.kernels`).
The first process on a machine that runs a flag set compiles the pair (a few seconds) and numba writes it to
its cache folder; every later process loads it (tens of milliseconds) and writes nothing. The folder is
``NUMBA_CACHE_DIR`` when that is set, else ``asgl/kernels/__pycache__`` (ignored by git, Docker and DVC);
an entry is specific to the CPU model and the numba version, and is rebuilt when the kernel source changes.

:func:`warm_cache` compiles or loads the flag sets a run will use, so a pipeline can pay the compilation once,
before its runs start, instead of inside the first epoch of every run.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import numpy as np

FlagSet = tuple[str, str, bool, bool]  # (primitive, reset, scale_output, noisy)


def all_flag_sets() -> list[FlagSet]:
    """Every flag set the fused kernels implement: primitives with a kernel code × reset × scale × noisy."""
    from asgl.functional import PRIMITIVES

    names = [name for name, prim in PRIMITIVES.items() if prim.kernel_code is not None]
    return list(itertools.product(names, ("soft", "hard"), (False, True), (False, True)))


def flag_sets_of(module) -> list[FlagSet]:
    """The flag sets the numba kernels run for ``module``'s LIF layers on a float32 CPU input, in order.

    For each :class:`asgl.LIF` inside ``module`` whose backend resolves to ``"numba"``: the spike's fused
    spec in ``train()`` mode (``noisy`` when its ``p > 0``); for a mixture ``0 < p < 1`` also the same
    primitive at ``p = 0``, where ASGL's schedule ends; and the spec in ``eval()`` mode (pure spikes, or
    Whetstone sharpening's step). ``p = 1`` (always smooth while training, as sharpening is) gets no ``p = 0``
    variant. A neuron that no kernel implements (snnTorch's, a ReLU) contributes nothing. The module's
    train/eval mode is restored. A run may still meet a set not listed here (a method whose spec changes
    in other ways during training); it then compiles that set itself, as it would without a warm cache.
    """
    import torch

    from asgl.kernels.fused import resolve_backend
    from asgl.neuron import LIF

    probe = torch.zeros(2, 1, 1)
    found: list[FlagSet] = []
    was_training = module.training
    try:
        for lif in (m for m in module.modules() if isinstance(m, LIF)):
            for training in (True, False):
                lif.train(training)
                spec = lif.spike.fused_spec()
                if spec is None or resolve_backend(lif.backend, probe, lif.spike, spec) != "numba":
                    continue
                p = float(spec.p) if training else 0.0
                used = (spec.primitive, lif.reset, bool(lif.scale_output), p > 0.0)
                annealed = (spec.primitive, lif.reset, bool(lif.scale_output), False)
                for flags in (used, annealed) if 0.0 < p < 1.0 else (used,):
                    if flags not in found:
                        found.append(flags)
    finally:
        module.train(was_training)
    return found


def warm_cache(flag_sets: Iterable[FlagSet] | None = None) -> dict[str, int]:
    """Compile (first time on this machine) or load (afterwards) the numba kernels of ``flag_sets``.

    Args:
        flag_sets: ``(primitive, reset, scale_output, noisy)`` tuples, e.g. ``("sigmoid", "soft", False, True)``
            for ASGL with ``p > 0``; ``noisy=False`` is the kernel of ``p = 0`` (the SG control, and every
            model in ``eval()``). ``None`` means all of :func:`all_flag_sets`: 8 sets per primitive with a
            kernel (sigmoid, rectangle, Dspike, step: 32 sets, 64 kernels), about 5 CPU seconds of
            compilation per set on a cold cache (measured on a loaded 2-core machine), a few seconds once warm.

    Returns:
        ``{"loaded": kernels found in the cache, "compiled": kernels compiled now (and saved)}``; kernels this
        process already had in memory count in neither.
    """
    from asgl.functional import PRIMITIVES

    sets = all_flag_sets() if flag_sets is None else list(flag_sets)
    for primitive, reset, _, _ in sets:
        if primitive not in PRIMITIVES or PRIMITIVES[primitive].kernel_code is None:
            raise ValueError(f"warm_cache: no fused kernel for primitive {primitive!r}")
        if reset not in ("soft", "hard"):
            raise ValueError(f"warm_cache: reset must be 'soft' or 'hard', got {reset!r}")
    from asgl.kernels import lif_numba

    counts = {"loaded": 0, "compiled": 0}
    for primitive, reset, scale, noisy in sets:
        pair = lif_numba.kernels(PRIMITIVES[primitive].kernel_code, reset == "hard", bool(scale), bool(noisy))
        before = [_stats(kernel) for kernel in pair]
        _call_once(*pair, p=0.5 if noisy else 0.0)
        for kernel, (hits, misses) in zip(pair, before, strict=True):
            now_hits, now_misses = _stats(kernel)
            counts["loaded"] += now_hits - hits
            counts["compiled"] += now_misses - misses
    return counts


def _stats(kernel) -> tuple[int, int]:
    """numba's running totals for one kernel in this process: ``(cache hits, cache misses)``."""
    return sum(kernel.stats.cache_hits.values()), sum(kernel.stats.cache_misses.values())


def _call_once(forward, backward, p: float) -> None:
    """Run both kernels once on a tiny input with the argument types :mod:`asgl.kernels.fused` passes."""
    n_steps, n = 2, 8
    x = np.zeros(n_steps * n, dtype=np.float32)
    y, v, gx = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    w, decay, theta = np.ones(1, np.float32), np.full(1, 0.5, np.float32), np.ones(1, np.float32)
    scalars = (np.float32(p), np.int64(0))
    forward(x, n_steps, w, n, decay, theta, *scalars, y, v)
    backward(x, v, n_steps, w, n, decay, theta, *scalars, gx)

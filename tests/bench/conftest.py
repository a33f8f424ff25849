"""Shared fixtures of the performance suite (``make bench``; see docs/performance.md).

Every benchmark is also expressed as a ratio to ``x.clone()`` of a fixed memory-bound reference tensor measured
in the same run (:class:`CloneReference`), so that results from machines of different speeds can be set side by
side; the regression check (``scripts/bench_check.py``) compares the times of base and head measured in
alternating processes on one machine instead. The ``bench_ratio`` fixture runs a callable
under ``benchmark.pedantic`` and records ``ratio_to_clone`` (median / median) and ``ratio_to_clone_min``
(min / min) in ``benchmark.extra_info``.

``ASGL_BENCH_THREADS`` sets the torch and numba threads (default 2); every benchmark records the tree its
``asgl`` was imported from (``extra_info["asgl_root"]``), which the check verifies.
``ASGL_BENCH_INJECT_SLOWDOWN=F`` (opt-in, for demonstrating the regression check) makes every benchmarked
callable sleep ``F`` times its own duration after each call; library code has no such hook.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch

from tests.bench.cases import load_script

THREADS_ENV = "ASGL_BENCH_THREADS"
CLONE_NUMEL = 8 * 2**20  # 32 MiB of float32: far beyond the per-core caches, so clone is memory-bound
SLOWDOWN_ENV = "ASGL_BENCH_INJECT_SLOWDOWN"
REPO_ROOT = Path(__file__).resolve().parents[2]
ASGL_ROOT = str(Path(importlib.util.find_spec("asgl").origin).resolve().parents[1])  # the tree asgl comes from


def bench_threads_from_env() -> int:
    """Threads for torch and numba: :data:`THREADS_ENV` (set by ``scripts/bench_check.py --threads``), else 2."""
    raw = os.environ.get(THREADS_ENV, "").strip() or "2"
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{THREADS_ENV} must be a positive integer, got {raw!r}")
    return int(raw)


def injected_slowdown() -> float:
    """The factor from :data:`SLOWDOWN_ENV` (0 when unset); a malformed value raises."""
    raw = os.environ.get(SLOWDOWN_ENV, "").strip()
    if not raw:
        return 0.0
    factor = float(raw)
    if factor < 0:
        raise ValueError(f"{SLOWDOWN_ENV} must be >= 0, got {raw!r}")
    return factor


def with_slowdown(fn: Callable[[], Any], factor: float) -> Callable[[], Any]:
    """``fn`` followed by a sleep of ``factor`` times its duration (``fn`` itself when ``factor`` is 0)."""
    if factor <= 0:
        return fn

    def slowed() -> Any:
        start = time.perf_counter()
        result = fn()
        time.sleep(factor * (time.perf_counter() - start))
        return result

    return slowed


class CloneReference:
    """Timer of ``x.clone()``'s copy for a fixed float32 tensor of :data:`CLONE_NUMEL` elements.

    The copy goes into a buffer kept across calls (``out.copy_(x)``): the same bytes read and written as
    ``x.clone()``, without the allocation. A fresh 32 MiB clone was bimodal between runs (about 2 ms when the
    C allocator reused freed pages, about 9 ms when the kernel had to zero fresh ones), which swung every
    ratio 4× from one run to the next.

    Each :meth:`measure` adds one sample (the median of ``calls`` timed clones, after two warm-up calls) and
    keeps every raw time; :attr:`seconds` is the median of the samples, :attr:`min_seconds` the fastest call.
    Measured at session start and again after every benchmark, so the reference follows the machine's load.
    """

    def __init__(self, numel: int = CLONE_NUMEL, calls: int = 9) -> None:
        self.x = torch.ones(numel, dtype=torch.float32)
        self.out = torch.empty_like(self.x)
        self.calls = calls
        self.samples: list[float] = []
        self.raw: list[float] = []

    def measure(self, rounds: int = 1) -> None:
        for _ in range(rounds):
            for _ in range(2):
                self.out.copy_(self.x)
            times = []
            for _ in range(self.calls):
                start = time.perf_counter()
                self.out.copy_(self.x)
                times.append(time.perf_counter() - start)
            self.raw.extend(times)
            self.samples.append(statistics.median(times))

    @property
    def seconds(self) -> float:
        return statistics.median(self.samples)

    @property
    def min_seconds(self) -> float:
        return min(self.raw)


@pytest.fixture(scope="session")
def bench_threads():
    """Torch and numba at :func:`bench_threads_from_env` threads for the session (restored afterwards)."""
    threads = bench_threads_from_env()
    previous_torch = torch.get_num_threads()
    torch.set_num_threads(threads)
    previous_numba = None
    try:
        import numba

        previous_numba = numba.get_num_threads()
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    except (ImportError, ValueError):
        pass
    yield threads
    torch.set_num_threads(previous_torch)
    if previous_numba is not None:
        import numba

        numba.set_num_threads(previous_numba)


@pytest.fixture(scope="session")
def clone_reference(bench_threads) -> CloneReference:
    ref = CloneReference()
    ref.measure(rounds=5)
    return ref


@pytest.fixture
def bench_ratio(benchmark, clone_reference: CloneReference, bench_threads: int):
    """``run(fn, rounds=…, warmup_rounds=…)``: benchmark ``fn`` and record its ratios to ``x.clone()``."""
    factor = injected_slowdown()

    def run(fn: Callable[[], Any], *, rounds: int, warmup_rounds: int = 2, **info: Any) -> Any:
        result = benchmark.pedantic(with_slowdown(fn, factor), rounds=rounds, warmup_rounds=warmup_rounds,
                                    iterations=1)
        clone_reference.measure()
        benchmark.extra_info.update(info)
        benchmark.extra_info.update(threads=bench_threads, clone_ms=clone_reference.seconds * 1e3,
                                    clone_numel=clone_reference.x.numel(), injected_slowdown=factor,
                                    asgl_root=ASGL_ROOT)
        stats = getattr(benchmark, "stats", None)
        if stats is not None and not benchmark.disabled:
            benchmark.extra_info["ratio_to_clone"] = stats.stats.median / clone_reference.seconds
            benchmark.extra_info["ratio_to_clone_min"] = stats.stats.min / clone_reference.min_seconds
        return result

    return run


@pytest.fixture(scope="session")
def bench_e2e() -> ModuleType:
    """``scripts/bench_e2e.py`` (the model cases and the training step shared with the end-to-end script)."""
    return load_script("bench_e2e")


@pytest.fixture(scope="session")
def bench_check() -> ModuleType:
    """``scripts/bench_check.py`` (the regression comparator)."""
    return load_script("bench_check")

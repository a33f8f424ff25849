"""Compile, ahead of the train stages, the CPU kernels the benchmark's runs will use.

``python -m pipelines.commands.warm_kernels [--params params.yaml]`` (``asgl-bench warm-kernels``) builds
one neuron of every method × dataset of ``params.yaml`` (with the parameters its runs get), asks it which
numba kernel flag sets it runs (:func:`asgl.kernels.cache.flag_sets_of`) and compiles or loads each set once,
in the order of ``run.methods`` (the train stages' order), into numba's on-disk cache
(:mod:`asgl.kernels.cache`). Every later process loads them in tens of milliseconds.

Why: on a machine without the cache, each of a train stage's two workers compiled its method's kernels at
the same time inside its first epochs, about 6 s per flag set, so that both cores did the same work once per
stage (about 30 s of the benchmark's wall time on 2 cores, docs/pipeline.md). ``make benchmark`` starts this
command in the background next to ``dvc repro``: its fetch and prepare stages are single processes, so the
compilation runs on the core they leave idle. It is only a cache: a run that finds a set missing compiles it
itself, and the numbers are the same either way. Nothing is compiled for CUDA runs (``run.device: cuda``).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from pipelines.lib.entry import run_main
from pipelines.lib.params import load_params


def benchmark_flag_sets(params: dict[str, Any]) -> list[tuple[str, str, bool, bool]]:
    """The numba flag sets of every method × dataset of ``params``, first use first (``run.methods`` order)."""
    from asgl.kernels.cache import flag_sets_of
    from pipelines.lib.identity import load_method
    from pipelines.lib.runs import resolved_method_params

    found: list[tuple[str, str, bool, bool]] = []
    for method, source in params["run"]["methods"].items():
        spec = load_method(method, source)
        for dataset in params["run"]["datasets"]:
            neuron = spec.make_neuron(resolved_method_params(params, dataset, method), channels=1)
            found += [flags for flags in flag_sets_of(neuron) if flags not in found]
    return found


def warm(params: dict[str, Any]) -> str:
    """Compile or load the kernels of ``params``' runs; a one-line summary."""
    if params["run"].get("device") == "cuda":
        return "kernels: run.device is cuda; the CPU kernels are not needed"
    from asgl.kernels.cache import warm_cache

    start = time.perf_counter()
    sets = benchmark_flag_sets(params)
    counts = warm_cache(sets)
    return (f"kernels: {len(sets)} flag sets ready ({counts['compiled']} kernels compiled, {counts['loaded']} "
            f"loaded from the cache) in {time.perf_counter() - start:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compile the CPU kernels the benchmark's runs use, once, "
                                                 "into numba's on-disk cache (make benchmark runs it).")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    return run_main(lambda: print(warm(load_params(args.params)), flush=True))


if __name__ == "__main__":
    sys.exit(main())

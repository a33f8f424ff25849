"""Stage ``linear``: the logistic-regression reference of every dataset (a labelled row of the tables).

A spiking model below a linear classifier on the same features is under-trained or unfit for its task, so the
tables show this floor beside every dataset. Features are the prepared samples flattened to
``[N, D]`` (``D = prod(x_shape)``, every time step of a sequence), standardised with the training set's
mean and standard deviation per feature. The model is multinomial logistic regression,

    minimise   (1/N) Σ_i CE(W x_i + b, y_i) + ‖W‖² / (2 C N),

which is scikit-learn's ``LogisticRegression(C=C)`` objective divided by ``N``, solved with full-batch
L-BFGS in float64 (deterministic; a few seconds on 2 cores where scikit-learn's solver took minutes on the
1 024-feature audio sets). ``C = 0.05`` as in ``asgl.data.sanity``.

The datasets are fitted in parallel, each in a single-threaded ``spawn`` worker process (one per core, at
most one per dataset), largest first: the fits are independent, and on 2 cores two one-thread fits side by
side finish sooner than two-thread fits one after another. The records are written in ``run.datasets`` order,
as before, and are byte-identical to the two-thread ones (L-BFGS gives the same bits on one thread as on two
here). With one worker the fits run in this process, also on one thread.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from asgl.data.cache import cache_paths
from asgl.io import atomic_write_json
from asgl.metrics import prediction_codes
from pipelines.lib.entry import run_main
from pipelines.lib.params import data_root, load_params, results_dir
from pipelines.lib.records import linear_record_path

C = 0.05
MAX_ITER = 500


def fit_logistic(train_x, train_y, test_x, test_y, c: float = C, max_iter: int = MAX_ITER) -> dict[str, float]:
    """Train/test accuracy (%) of L2 logistic regression on flattened, standardised features, and every test
    sample's predicted class (``test_predictions``, :mod:`asgl.metrics.prediction_codes`)."""
    import torch

    xtr = train_x.reshape(len(train_x), -1).double()
    xte = test_x.reshape(len(test_x), -1).double()
    mean, std = xtr.mean(0), xtr.std(0).clamp_min(1e-8)
    xtr, xte = (xtr - mean) / std, (xte - mean) / std
    classes = int(max(train_y.max(), test_y.max())) + 1
    weight = torch.zeros(xtr.shape[1], classes, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=max_iter, tolerance_grad=1e-9,
                                  tolerance_change=1e-12, history_size=20, line_search_fn="strong_wolfe")
    n = len(xtr)

    def closure():
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(xtr @ weight + bias, train_y) + (weight ** 2).sum() / (2 * c * n)
        loss.backward()
        return loss

    optimiser.step(closure)
    with torch.no_grad():
        train_acc = ((xtr @ weight + bias).argmax(1) == train_y).double().mean().item()
        predicted = (xte @ weight + bias).argmax(1)
        test_acc = (predicted == test_y).double().mean().item()
    return {"train_accuracy": 100.0 * train_acc, "accuracy": 100.0 * test_acc,
            "test_predictions": prediction_codes.encode(predicted.numpy())}


def linear_reference(root: Path, dataset: str) -> dict[str, Any]:
    """The reference record of one prepared dataset (accuracy, C, the data's digest)."""
    from asgl.data import load_prepared

    data = load_prepared(root, dataset)
    result = fit_logistic(data.train_x.float(), data.train_y, data.test_x.float(), data.test_y)
    return {"dataset": dataset, "model": "logistic regression (flattened, standardised)", "C": C, **result,
            "data_sha256": data.manifest.get("tensor_sha256")}


def linear_stage(params: dict[str, Any]) -> list[dict[str, Any]]:
    """Fit every dataset of ``run.datasets`` and write ``<results_dir>/linear/<dataset>.json``, in that order."""
    datasets = params["run"]["datasets"]
    records = []
    for dataset, record in zip(datasets, _fitted(data_root(params), datasets), strict=True):
        atomic_write_json(linear_record_path(results_dir(params), dataset), record)
        records.append(record)
    return records


def _fitted(root: Path, datasets: list[str]) -> Iterator[dict[str, Any]]:
    """Each dataset's record in the order of ``datasets``, fitted on up to one worker per core.

    A failed fit is raised when its turn comes, so the records before it are written, as when the fits ran one
    after another; the fits not yet started are cancelled.
    """
    workers = min(len(datasets), len(os.sched_getaffinity(0)))
    if workers <= 1:
        for dataset in datasets:
            yield _named(dataset, partial(_single_threaded_reference, root, dataset))
        return
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = {d: pool.submit(_single_threaded_reference, root, d) for d in _largest_first(root, datasets)}
        try:
            for dataset in datasets:
                yield _named(dataset, futures[dataset].result)
        finally:
            for future in futures.values():
                future.cancel()


def _largest_first(root: Path, datasets: list[str]) -> list[str]:
    """``datasets`` by the size of their prepared tensor file, largest first: the longest fits start first, so
    no worker is left with a long one at the end (sizes, not names, decide; a missing file counts as empty)."""
    def size(dataset: str) -> int:
        tensors, _ = cache_paths(root, dataset)
        return tensors.stat().st_size if tensors.is_file() else 0

    return sorted(datasets, key=size, reverse=True)


def _named(dataset: str, fit: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``fit()``, with the dataset named in a failure's traceback (a user error's one-line message names it
    already; a worker that died, or a bug, would not)."""
    try:
        return fit()
    except Exception as exc:
        exc.add_note(f"linear: the logistic-regression fit of {dataset!r} did not finish")
        raise


def _single_threaded_reference(root: Path, dataset: str) -> dict[str, Any]:
    """:func:`linear_reference` on one torch and one BLAS thread: the workers share the cores, more threads
    than cores slow every fit down, and the records then do not depend on how many cores a machine has."""
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            return linear_reference(root, dataset)
    finally:
        torch.set_num_threads(threads)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fit the logistic-regression reference of every dataset.")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    return run_main(lambda: _report(linear_stage(load_params(args.params))))


def _report(records: list[dict[str, Any]]) -> None:
    for r in records:
        print(f"{r['dataset']}: logistic regression {r['accuracy']:.2f}% (train {r['train_accuracy']:.2f}%)")


if __name__ == "__main__":
    sys.exit(main())

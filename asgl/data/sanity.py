"""Learnability check of prepared datasets with non-spiking scikit-learn baselines.

``python -m asgl.data.sanity <data_root> <id> [<id> ...]`` prepares each id (timed) and prints the test
accuracy of a LogisticRegression and a small MLP on the flattened samples ``[N, prod(x_shape)]``.
"""

from __future__ import annotations

import sys
import time
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from asgl.data.cache import load_prepared
from asgl.data.prepare import prepare_dataset


def check(data_root: str, dataset_id: str) -> dict[str, float]:
    """{"prepare_s", "logreg", "mlp"} for ``dataset_id`` (a fresh prepare is forced for the timing)."""
    start = time.perf_counter()
    prepare_dataset(dataset_id, data_root, force=True)
    prep = time.perf_counter() - start
    d = load_prepared(data_root, dataset_id)
    xtr, xte = (x.reshape(len(x), -1).float().numpy() for x in (d.train_x, d.test_x))
    ytr, yte = d.train_y.numpy(), d.test_y.numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        logreg = LogisticRegression(max_iter=500, C=0.05).fit(xtr, ytr).score(xte, yte)
        mlp = MLPClassifier((128,), max_iter=200, alpha=1e-3, random_state=0).fit(xtr, ytr).score(xte, yte)
    return {"prepare_s": round(prep, 1), "logreg": round(logreg, 3), "mlp": round(mlp, 3)}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    for dataset_id in args[1:]:
        print(dataset_id, check(args[0], dataset_id), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

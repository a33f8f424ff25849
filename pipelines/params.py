"""Read and validate ``params.yaml``: the single source of truth for every stage.

Layout (see ``profiles/embedded.yaml`` for a full example)::

    profile: embedded            # name of the profile this file was made from
    data_root: data              # overridden by the environment variable ASGL_DATA_ROOT
    run:      {datasets: [...], methods: [...], seeds: [...], workers: 2, threads_per_worker: 1}
    sweep:    {methods: [sg, asgl], widths: [0.5, 1, 2.5, 5, 10], seeds: [0, 1]}
    datasets: {<id>: {prepare: {...}, model: <builder>, model_kwargs: {...}, train: {...},
                      method_overrides: {<method>: {...}}}}   # e.g. the authors' p = 0.1 on DVS
    methods:  {<method name>: {...}}   # the method's params section (its registry defaults fill the rest)

Unknown keys anywhere in this skeleton are errors that name the key; the ``train`` block is checked by
:class:`asgl.training.config.TrainConfig` and each method block by its registry entry.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

PARAMS_FILE = Path("params.yaml")
TOP_KEYS = {"profile", "data_root", "run", "sweep", "datasets", "methods"}
RUN_KEYS = {"datasets", "methods", "seeds", "workers", "threads_per_worker", "device"}
SWEEP_KEYS = {"methods", "widths", "seeds"}
DATASET_KEYS = {"prepare", "model", "model_kwargs", "train", "method_overrides"}


class ParamsError(ValueError):
    """``params.yaml`` is malformed; the message names the file and the key."""


def _check_keys(where: str, block: Any, allowed: set[str], required: set[str] = frozenset()) -> None:
    if not isinstance(block, Mapping):
        raise ParamsError(f"params.yaml: {where} must be a mapping, got {type(block).__name__}")
    unknown = sorted(set(block) - allowed)
    if unknown:
        raise ParamsError(f"params.yaml: unknown key(s) {unknown} in {where}; allowed: {sorted(allowed)}")
    missing = sorted(required - set(block))
    if missing:
        raise ParamsError(f"params.yaml: missing key(s) {missing} in {where}")


def _check_list(where: str, value: Any, kind: type | tuple[type, ...]) -> None:
    if not isinstance(value, list) or not value or not all(isinstance(v, kind) and not isinstance(v, bool)
                                                             for v in value):
        raise ParamsError(f"params.yaml: {where} must be a non-empty list of {kind}, got {value!r}")


def validate(params: Mapping[str, Any]) -> dict[str, Any]:
    """Check the skeleton of a parsed ``params.yaml`` and return it as a plain dict."""
    _check_keys("the top level", params, TOP_KEYS, {"run", "datasets", "methods"})
    run = params["run"]
    _check_keys("run", run, RUN_KEYS, {"datasets", "methods", "seeds"})
    _check_list("run.datasets", run["datasets"], str)
    _check_list("run.methods", run["methods"], str)
    _check_list("run.seeds", run["seeds"], int)
    sweep = params.get("sweep") or {}
    if sweep:
        _check_keys("sweep", sweep, SWEEP_KEYS, SWEEP_KEYS)
        _check_list("sweep.methods", sweep["methods"], str)
        _check_list("sweep.widths", sweep["widths"], (int, float))
        _check_list("sweep.seeds", sweep["seeds"], int)
        if any(w <= 0 for w in sweep["widths"]):
            raise ParamsError(f"params.yaml: sweep.widths must all be > 0, got {sweep['widths']!r}")
    datasets = params["datasets"]
    for dataset in run["datasets"]:
        if dataset not in datasets:
            raise ParamsError(f"params.yaml: run.datasets lists {dataset!r} but datasets.{dataset} is missing")
        _check_keys(f"datasets.{dataset}", datasets[dataset], DATASET_KEYS, {"model", "train"})
    methods = params["methods"]
    if not isinstance(methods, Mapping):
        raise ParamsError("params.yaml: methods must be a mapping of method name to its params section")
    for method in set(run["methods"]) | set(sweep.get("methods", [])):
        if method not in methods:
            raise ParamsError(f"params.yaml: method {method!r} is run but has no section methods.{method}")
    _check_blocks(run["datasets"], datasets, sorted(set(run["methods"]) | set(sweep.get("methods", []))), methods)
    return dict(params)


def _check_blocks(dataset_ids: list[str], datasets: Mapping[str, Any], method_names: list[str],
                  methods: Mapping[str, Any]) -> None:
    """The ``train``, ``prepare`` and method blocks against their owners (trainer, data registry, method
    registry), so a mistyped key fails here, naming it, instead of stages later."""
    import baselines  # noqa: F401  (registers the baseline methods)
    from asgl.data import get_spec
    from asgl.data.errors import UnknownDatasetError
    from asgl.registry import get_method
    from asgl.training.config import TrainConfig

    for dataset in dataset_ids:
        block = datasets[dataset]
        try:
            defaults = get_spec(dataset).defaults
        except UnknownDatasetError as exc:
            raise ParamsError(f"params.yaml: datasets.{dataset}: {exc}") from None
        prepare = block.get("prepare") or {}
        _check_keys(f"datasets.{dataset}.prepare", prepare, set(defaults))
        try:
            TrainConfig.from_dict(block["train"])
        except (ValueError, TypeError) as exc:
            raise ParamsError(f"params.yaml: datasets.{dataset}.{exc}") from None
    for method in method_names:
        try:
            get_method(method).resolve_params(methods[method] or {})
        except (ValueError, TypeError) as exc:
            raise ParamsError(f"params.yaml: methods.{method}: {exc}") from None


def load_params(path: str | os.PathLike = PARAMS_FILE) -> dict[str, Any]:
    """Parse and validate ``path``; a missing file or YAML syntax error is one clear :class:`ParamsError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(f"{path}: not found; run `python -m pipelines.profile embedded` to create it") from None
    try:
        params = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML ({exc.__class__.__name__}: {exc}); fix the file") from None
    if not isinstance(params, Mapping):
        raise ParamsError(f"{path}: expected a mapping at the top level")
    return validate(params)


def data_root(params: Mapping[str, Any]) -> Path:
    """The data root: ``$ASGL_DATA_ROOT`` if set, else ``params.data_root``, else ``data``."""
    return Path(os.environ.get("ASGL_DATA_ROOT") or params.get("data_root") or "data")


def runs_of(params: Mapping[str, Any], dataset: str, method: str) -> list[tuple[float | None, int]]:
    """The ``(width, seed)`` runs of one dataset × method: the main seeds at the method's own width, plus
    the width sweep when the method takes part in it. ``width`` None = the method's configured width."""
    runs: list[tuple[float | None, int]] = []
    if method in params["run"]["methods"]:
        runs += [(None, seed) for seed in params["run"]["seeds"]]
    sweep = params.get("sweep") or {}
    if method in sweep.get("methods", []):
        base = params["methods"][method].get("width")
        for width in sweep["widths"]:
            for seed in sweep["seeds"]:
                same_as_main = base is not None and float(width) == float(base) and (None, seed) in runs
                if not same_as_main:
                    runs.append((float(width), seed))
    return runs


def all_methods(params: Mapping[str, Any]) -> list[str]:
    """Every method that runs: ``run.methods`` and ``sweep.methods``, sorted."""
    return sorted(set(params["run"]["methods"]) | set((params.get("sweep") or {}).get("methods", [])))


def main_widths(params: Mapping[str, Any]) -> dict[str, float]:
    """Each running method's configured width (its main-table width; 1.0 when the section has none)."""
    return {m: float(params["methods"][m].get("width", 1.0)) for m in all_methods(params)}

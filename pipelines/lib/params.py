"""Read and validate ``params.yaml``: the single source of truth for every stage.

Layout (see ``profiles/embedded.yaml`` for a full example)::

    profile: embedded            # name of the profile this file was made from
    data_root: data              # overridden by the environment variable ASGL_DATA_ROOT
    results_dir: results         # where the runs, tables and plots of this profile go
    run:      {datasets: [...], methods: {<name>: <source file>}, seeds: [...], workers: 2, threads_per_worker: 1}
    sweep:    {methods: [sg, asgl], widths: [0.5, 1, 2.5, 5, 10]}     # at run.seeds, like every other cell
    datasets: {<id>: {prepare: {...}, model: <builder>, model_kwargs: {...}, train: {...},
                      method_overrides: {<method>: {...}}}}   # e.g. the authors' p = 0.1 on DVS
    methods:  {<method name>: {...}}   # the method's params section (its registry defaults fill the rest)

Unknown keys anywhere in this skeleton are errors that name the key; the ``train`` block is checked by
:class:`asgl.training.config.TrainConfig` and each method block by its registry entry.

``run.methods`` maps each method to the source file that registers it (``asgl/methods.py`` for the paper's
two, ``baselines/<module>.py`` for the others, any ``.py`` file for a plugin). The file is what the method's
train stage depends on in ``dvc.yaml`` and part of its runs' identity, so adding or editing one method
retrains that method only. Every cell of every table uses the same seeds, ``run.seeds``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from asgl.errors import UserError

PARAMS_FILE = Path("params.yaml")
TOP_KEYS = {"profile", "data_root", "results_dir", "run", "sweep", "datasets", "methods"}
RUN_KEYS = {"datasets", "methods", "seeds", "workers", "threads_per_worker", "device", "executor", "ray"}
SWEEP_KEYS = {"methods", "widths"}
DATASET_KEYS = {"prepare", "model", "model_kwargs", "train", "method_overrides"}


class ParamsError(ValueError, UserError):
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
    _check_sources(run["methods"])
    _check_list("run.seeds", run["seeds"], int)
    _check_executor(run)
    sweep = params.get("sweep") or {}
    if sweep:
        if "seeds" in sweep:
            raise ParamsError("params.yaml: sweep.seeds is no longer used: every cell runs at run.seeds "
                              "(delete sweep.seeds)")
        _check_keys("sweep", sweep, SWEEP_KEYS, SWEEP_KEYS)
        _check_list("sweep.methods", sweep["methods"], str)
        _check_list("sweep.widths", sweep["widths"], (int, float))
        if any(w <= 0 for w in sweep["widths"]):
            raise ParamsError(f"params.yaml: sweep.widths must all be > 0, got {sweep['widths']!r}")
        outside = sorted(set(sweep["methods"]) - set(run["methods"]))
        if outside:
            raise ParamsError(f"params.yaml: sweep.methods {outside} must also be in run.methods "
                              "(with the file that registers them)")
    datasets = params["datasets"]
    for dataset in run["datasets"]:
        if dataset not in datasets:
            raise ParamsError(f"params.yaml: run.datasets lists {dataset!r} but datasets.{dataset} is missing")
        _check_keys(f"datasets.{dataset}", datasets[dataset], DATASET_KEYS, {"model", "train"})
    methods = params["methods"]
    if not isinstance(methods, Mapping):
        raise ParamsError("params.yaml: methods must be a mapping of method name to its params section")
    for method in run["methods"]:
        if method not in methods:
            raise ParamsError(f"params.yaml: method {method!r} is run but has no section methods.{method}")
    _check_blocks(run["datasets"], datasets, dict(run["methods"]), methods)
    return dict(params)


def _check_executor(run: Mapping[str, Any]) -> None:
    """``run.executor``, ``run.workers``, ``run.threads_per_worker``, ``run.device``, ``run.ray``
    (:mod:`pipelines.lib.executor_config`)."""
    from pipelines.lib.executor_config import check_run_block

    try:
        check_run_block(run)
    except ValueError as exc:
        raise ParamsError(f"params.yaml: {exc}") from None


def _check_sources(sources: Any) -> None:
    """``run.methods`` is a non-empty mapping of method name to an existing ``.py`` file."""
    if isinstance(sources, list):
        raise ParamsError("params.yaml: run.methods must map each method to the file that registers it, "
                          "e.g. `run.methods: {asgl: asgl/methods.py, sharpen: baselines/sharpen.py}`")
    if not isinstance(sources, Mapping) or not sources:
        raise ParamsError(f"params.yaml: run.methods must be a non-empty mapping of method name to source file, "
                          f"got {sources!r}")
    for name, source in sources.items():
        if not isinstance(source, str) or not source.endswith(".py"):
            raise ParamsError(f"params.yaml: run.methods.{name} must be the path of the .py file that registers "
                              f"the method, got {source!r}")
        from pipelines.lib.identity import resolve_source

        if not resolve_source(source).is_file():
            raise ParamsError(f"params.yaml: run.methods.{name}: {source} not found (a path relative to the "
                              "repository root)")


def _check_blocks(dataset_ids: list[str], datasets: Mapping[str, Any], sources: Mapping[str, str],
                  methods: Mapping[str, Any]) -> None:
    """The ``train``, ``prepare`` and method blocks against their owners (trainer, data registry, method
    registry), so a mistyped key fails here, naming it, instead of stages later."""
    from asgl.data import get_spec
    from asgl.data.errors import UnknownDatasetError
    from asgl.training.config import TrainConfig
    from pipelines.lib.identity import load_method

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
    for method, source in sources.items():
        try:
            spec = load_method(method, source)
            spec.resolve_params(methods[method] or {})
        except (ValueError, TypeError) as exc:
            message = str(exc)
            raise ParamsError(message if message.startswith("params") else f"params.yaml: methods.{method}: "
                              f"{message}") from None


def load_params(path: str | os.PathLike = PARAMS_FILE) -> dict[str, Any]:
    """Parse and validate ``path``; a missing file or YAML syntax error is one clear :class:`ParamsError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(f"{path}: not found; run `asgl-bench profile embedded` to create it"
                          ) from None
    try:
        params = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None) or type(exc).__name__
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ParamsError(f"{path}: not valid YAML{where} ({problem}); fix the file") from None
    if not isinstance(params, Mapping):
        raise ParamsError(f"{path}: expected a mapping at the top level")
    return validate(params)


def data_root(params: Mapping[str, Any]) -> Path:
    """The data root: ``$ASGL_DATA_ROOT`` if set, else ``params.data_root``, else ``data``."""
    return Path(os.environ.get("ASGL_DATA_ROOT") or params.get("data_root") or "data")


def results_dir(params: Mapping[str, Any]) -> Path:
    """Where this profile's runs, tables and plots go: ``params.results_dir``, else ``results``."""
    return Path(params.get("results_dir") or "results")


def runs_of(params: Mapping[str, Any], dataset: str, method: str) -> list[tuple[float | None, int]]:
    """The ``(width, seed)`` runs of one dataset × method: the main seeds at the method's own width, plus
    the width sweep when the method takes part in it. ``width`` None = the method's configured width."""
    runs: list[tuple[float | None, int]] = []
    seeds = params["run"]["seeds"]
    if method in params["run"]["methods"]:
        runs += [(None, seed) for seed in seeds]
    sweep = params.get("sweep") or {}
    if method in sweep.get("methods", []):
        base = params["methods"][method].get("width")
        for width in sweep["widths"]:
            for seed in seeds:
                same_as_main = base is not None and float(width) == float(base) and (None, seed) in runs
                if not same_as_main:
                    runs.append((float(width), seed))
    return runs


def all_methods(params: Mapping[str, Any]) -> list[str]:
    """Every method that runs (the keys of ``run.methods``; the sweep's are among them), sorted."""
    return sorted(params["run"]["methods"])


def main_widths(params: Mapping[str, Any]) -> dict[str, float]:
    """Each running method's configured width (its main-table width; 1.0 when the section has none)."""
    return {m: float(params["methods"][m].get("width", 1.0)) for m in all_methods(params)}

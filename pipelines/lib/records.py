"""Where stages put their files, and the one run record: declared once here, filled from a run's metrics by
:func:`make_record`, read by evaluate, tables, plots, compare and reproduce through :func:`load_runs`
(and evaluate's intervals through :func:`load_statistics`).

Paths, under the profile's ``results_dir`` (``results`` for the embedded profile)::

    runs/<method>/<dataset>/w<width>-s<seed>/   one run: config, environment, checkpoint, history, metrics
    train/<method>.json                         the run records of one train stage
    linear/<dataset>.json                       the logistic-regression reference of one dataset
    runs.csv                                    every run's scalar fields, one row each (evaluate)
    runs.json                                   every run's whole record (structured fields and per-sample
                                                predictions) and each dataset's test labels (evaluate)
    statistics.json                             every interval of every table (evaluate)
    metrics.json                                the headline figures DVC shows (evaluate)
    tables/                                     tables: md, csv, tex (tables)
    plots/                                      figures (PNG) and the CSV data behind them (plots)

A field's ``source`` is the key of the trainer's metrics (:func:`asgl.training.trainer.final_metrics`) or of
the run's settings it comes from, and ``scale`` the one unit conversion on the way (fraction → %, pJ → µJ).
Nothing renames a field after this table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asgl.errors import UserError


@dataclass(frozen=True)
class Field:
    """One field of the run record: name, unit, type, meaning; ``source`` the metrics key it is read from
    (``None``: computed by :func:`make_record`), ``scale`` a factor applied on the way; ``scalar`` False for
    structured fields that live in ``runs.json`` only."""

    name: str
    unit: str
    kind: type
    meaning: str
    source: str | None = None
    scale: float = 1.0
    scalar: bool = True


RUN_RECORD: tuple[Field, ...] = (
    Field("dataset", "", str, "dataset id"),
    Field("method", "", str, "method name (its key under run.methods)"),
    Field("display_name", "", str, "the method's name in tables"),
    Field("family", "", str, "'spiking', or 'reference' for the ReLU twin"),
    Field("synthetic", "", bool, "the dataset is generated, not recorded"),
    Field("width_init", "", float, "initial surrogate width w"),
    Field("seed", "", int, "seed of weights, batch order and noise"),
    Field("model", "", str, "model name (asgl.models)"),
    Field("time_steps", "steps", int, "simulation time steps T (empty for static models)"),
    Field("epochs", "", int, "epochs trained", "epochs"),
    Field("accuracy", "%", float, "top-1 test accuracy after the last epoch", "test_accuracy", 100.0),
    Field("best_accuracy", "%", float, "best test accuracy over the evaluated epochs (chosen on the test set)",
          "best_test_accuracy", 100.0),
    Field("best_epoch", "", int, "epoch of best_accuracy", "best_epoch"),
    Field("train_accuracy", "%", float, "training accuracy of the last epoch", "train_accuracy", 100.0),
    Field("train_throughput", "samples/s", float, "training samples per second, last epoch", "train_samples_per_s"),
    Field("inference_throughput", "samples/s", float, "inference samples per second", "inference_samples_per_s"),
    Field("backend", "", str, "the LIF implementation the run trained on", "backend"),
    Field("peak_memory_bytes", "B", float, "peak training memory", "train_peak_memory_bytes"),
    Field("firing_rate", "spikes/neuron/step", float, "mean firing rate over spiking layers", "firing_rate"),
    Field("activation_sparsity", "", float, "fraction of zero activations", "activation_sparsity"),
    Field("synops_dense", "ops/sample", float, "synaptic operations if every input were non-zero",
          "dense_synops"),
    Field("synops_effective", "ops/sample", float, "accumulates + multiply-accumulates actually needed"),
    Field("acs", "ops/sample", float, "accumulates (pooled spikes folded)", "effective_acs"),
    Field("macs", "ops/sample", float, "multiply-accumulates", "effective_macs"),
    Field("energy_uj", "µJ/sample", float, "energy estimate, pooled spikes folded", "energy_pj_per_sample", 1e-6),
    Field("strict_acs", "ops/sample", float, "accumulates by NeuroBench's strict rule", "strict_acs"),
    Field("strict_macs", "ops/sample", float, "multiply-accumulates by the strict rule", "strict_macs"),
    Field("strict_energy_uj", "µJ/sample", float, "energy by the strict rule", "strict_energy_pj_per_sample",
          1e-6),
    Field("parameters", "", int, "trainable parameters", "parameter_count"),
    Field("param_bytes", "B", int, "parameter footprint", "footprint_bytes"),
    Field("train_seconds", "s", float, "wall time of the training epochs", "train_seconds"),
    Field("data_sha256", "", str, "sha256 of the prepared tensors (fixes the test samples' order)"),
    Field("settings_digest", "", str, "sha256 of the run's settings other than code (what reproduce pairs on)"),
    Field("run_dir", "", str, "the run's folder"),
    Field("layers", "", dict, "per spiking layer: final width, decay, firing rate", scalar=False),
    Field("settings", "", dict, "everything that decided the run (pipelines.lib.runs.run_settings)", scalar=False),
    Field("test_predictions", "", str, "every test sample's predicted class (asgl.metrics.prediction_codes)",
          "test_predictions", scalar=False),
)
SCALAR_FIELDS = tuple(f.name for f in RUN_RECORD if f.scalar)
KEY = ("dataset", "method", "width_init", "seed")


def _layers(metrics: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """``{layer: {"width", "decay", "firing_rate"}}`` from the trainer's ``width/<layer>``-style keys."""
    out: dict[str, dict[str, float]] = {}
    for key, value in metrics.items():
        kind, sep, layer = key.partition("/")
        if sep and kind in ("width", "decay", "firing_rate") and value is not None:
            out.setdefault(layer, {})[kind] = float(value)
    return out


def settings_digest(settings: Mapping[str, Any]) -> str:
    """sha256 of a run's settings without its code fingerprint (canonical JSON)."""
    import hashlib

    text = json.dumps({k: v for k, v in settings.items() if k != "code"}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_record(settings: Mapping[str, Any], display_name: str, family: str, metrics: Mapping[str, Any],
                folder: Path) -> dict[str, Any]:
    """The run record of one run from its settings and its ``metrics.json``, field by field of
    :data:`RUN_RECORD`."""
    computed: dict[str, Callable[[], Any]] = {
        "dataset": lambda: settings["dataset"], "method": lambda: settings["method"],
        "display_name": lambda: display_name, "family": lambda: family,
        "synthetic": lambda: bool(settings["synthetic"]), "width_init": lambda: float(settings["width"]),
        "seed": lambda: int(settings["seed"]), "model": lambda: settings["model"],
        "time_steps": lambda: settings["model_kwargs"].get("time_steps"),
        "synops_effective": lambda: (None if metrics.get("effective_acs") is None
                                     else metrics["effective_acs"] + (metrics.get("effective_macs") or 0.0)),
        "data_sha256": lambda: (settings.get("data") or {}).get("sha256"),
        "settings_digest": lambda: settings_digest(settings), "run_dir": lambda: str(folder),
        "layers": lambda: _layers(metrics), "settings": lambda: dict(settings),
    }
    record: dict[str, Any] = {}
    for f in RUN_RECORD:
        if f.source is None:
            record[f.name] = computed[f.name]()
        else:
            value = metrics.get(f.source)
            record[f.name] = value * f.scale if f.scale != 1.0 and value is not None else value
    return record


def run_key(record: Mapping[str, Any]) -> tuple[str, str, float, int]:
    """``(dataset, method, width_init, seed)``: what identifies a run within a table."""
    return (str(record["dataset"]), str(record["method"]), float(record["width_init"]), int(record["seed"]))


def key_text(key: tuple[str, str, float, int]) -> str:
    """``"digits/sg w=1 seed 0"``."""
    return f"{key[0]}/{key[1]} w={key[2]:g} seed {key[3]}"


@dataclass
class Runs:
    """A results folder's runs: ``records`` (whole records by :func:`run_key`) and ``labels`` (per dataset:
    ``{"data_sha256", "test_labels"}``, the labels encoded like predictions)."""

    records: dict[tuple[str, str, float, int], dict[str, Any]]
    labels: dict[str, dict[str, str]]
    source: Path

    def frame(self):
        """The scalar fields as a pandas DataFrame, one row per run (the content of ``runs.csv``)."""
        import pandas as pd

        rows = [{name: r.get(name) for name in SCALAR_FIELDS} for r in self.records.values()]
        return pd.DataFrame(rows, columns=list(SCALAR_FIELDS))


def runs_document(records: list[Mapping[str, Any]], labels: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """The content of ``runs.json``."""
    return {"format": 1, "datasets": {k: dict(v) for k, v in sorted(labels.items())},
            "runs": sorted((dict(r) for r in records), key=run_key)}


def load_runs(path: Path) -> Runs:
    """Read ``runs.json`` (``path`` is the file or a results folder holding it); one-line errors."""
    path = Path(path)
    file = path if path.suffix in (".json", ".csv") else path / "runs.json"
    if file.name == "runs.csv":
        file = file.with_name("runs.json")
    if not file.exists():
        raise UserError(f"{file}: missing; a results folder holds runs.json, written by the evaluate stage "
                        "(run `dvc repro evaluate`, or `make benchmark`)")
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
        records = {run_key(r): r for r in doc["runs"]}
        labels = dict(doc.get("datasets") or {})
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{file}: not a runs.json written by evaluate ({type(exc).__name__}: {exc}); "
                        "regenerate it with `dvc repro evaluate`") from None
    if len(records) != len(doc["runs"]):
        raise UserError(f"{file}: a run appears twice; regenerate it with `dvc repro evaluate`")
    return Runs(records, labels, file)


def load_statistics(results: Path) -> dict[str, Any]:
    """``<results>/statistics.json``, the intervals evaluate wrote; one-line errors when missing or corrupt."""
    path = Path(results) / "statistics.json"
    if not path.exists():
        raise UserError(f"{path}: missing; run `dvc repro evaluate` first")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc}); rerun `dvc repro -f evaluate`") from None


def run_dir(results: Path, method: str, dataset: str, width: float, seed: int) -> Path:
    """Folder of one run: ``results/runs/<method>/<dataset>/w<width>-s<seed>``."""
    return results / "runs" / method / dataset / f"w{width:g}-s{seed}"


def stage_runs_dir(results: Path, method: str) -> Path:
    """Folder holding every run of one train stage (its DVC output)."""
    return results / "runs" / method


def stage_record_path(results: Path, method: str) -> Path:
    """JSON list of the run records of one train stage."""
    return results / "train" / f"{method}.json"


def linear_record_path(results: Path, dataset: str) -> Path:
    """JSON record of the logistic-regression reference on one dataset."""
    return results / "linear" / f"{dataset}.json"

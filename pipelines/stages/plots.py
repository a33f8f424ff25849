"""Stage ``plots``: the figures (matplotlib, PNG) and their data as CSV for ``dvc plots``, from evaluate's
``runs.json`` and ``statistics.json`` and the run folders' ``history.csv``.

* ``accuracy_vs_width`` — accuracy (mean and its 95 % interval over seeds and test samples, from
  ``statistics.json``) against the initial surrogate width, SG and ASGL, one panel per dataset (the paper's
  robustness claim);
* ``learned_width`` — ASGL's learned width over epochs (mean of its layers), one colour per initial width:
  the mean over seeds and the seeds' range;
* ``firing_rate`` — firing rate per layer for each method (mean over seeds, configured width);
* ``training_curves`` — training loss and accuracy over epochs per method (seed 0, configured width): the
  evidence that the budget is enough (the curves flatten before the last epoch).

The PNGs are DVC image plots (``dvc plots show`` opens offline); the CSV twins hold the same data.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from asgl.io import atomic_write_bytes, atomic_write_text
from pipelines.lib.entry import params_stage
from pipelines.lib.params import all_methods, main_widths, results_dir
from pipelines.lib.records import load_runs, load_statistics


def _figure(n_panels: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(4, max(1, n_panels))
    rows = (n_panels + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    return fig, axes.ravel()


def _label(ax, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)


def _save(fig, path: Path, axes=(), used: int = 0) -> None:
    """Hide the panels past the first ``used`` of ``axes``, then write the figure as PNG."""
    import matplotlib.pyplot as plt

    for ax in list(axes)[used:]:
        ax.set_visible(False)
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def _history(run_dir: str) -> pd.DataFrame | None:
    path = Path(run_dir) / "history.csv"
    return pd.read_csv(path) if path.exists() else None


def accuracy_vs_width(statistics: dict[str, Any], methods: list[str], out: Path) -> pd.DataFrame:
    """Plot and return ``dataset, method, width, accuracy_mean, accuracy_low, accuracy_high, seeds``: the
    robustness intervals evaluate wrote (seeds and test samples)."""
    rows = []
    for dataset, by_method in sorted(statistics.get("robustness", {}).items()):
        for method in methods:
            for width, entry in by_method.get(method, {}).items():
                rows.append({"dataset": dataset, "method": method, "width": float(width),
                             "accuracy_mean": entry["mean"], "accuracy_low": entry["low"],
                             "accuracy_high": entry["high"], "seeds": entry["n"]})
    data = pd.DataFrame(rows, columns=["dataset", "method", "width", "accuracy_mean", "accuracy_low",
                                       "accuracy_high", "seeds"]).sort_values(["dataset", "method", "width"])
    datasets = sorted(data["dataset"].unique())
    fig, axes = _figure(max(1, len(datasets)))
    for ax, dataset in zip(axes, datasets, strict=False):
        for method, group in data[data["dataset"] == dataset].groupby("method"):
            err = [group["accuracy_mean"] - group["accuracy_low"], group["accuracy_high"] - group["accuracy_mean"]]
            ax.errorbar(group["width"], group["accuracy_mean"], yerr=err, marker="o", capsize=3, label=method)
        ax.set_xscale("log")
        _label(ax, dataset, "surrogate width w (initial)", "test accuracy % (95 % CI: seeds, test set)")
    _save(fig, out / "accuracy_vs_width.png", axes, len(datasets))
    return data


def learned_width(runs: pd.DataFrame, out: Path) -> pd.DataFrame:
    """ASGL's learned width over epochs (mean over its layers), one colour per initial width: the mean over
    seeds as a line, the seeds' range as a band."""
    rows = []
    for _, run in runs[runs["method"] == "asgl"].iterrows():
        history = _history(run["run_dir"])
        if history is None:
            continue
        columns = [c for c in history.columns if c.startswith("width/")]
        if not columns:
            continue
        for epoch, value in zip(history["epoch"], history[columns].mean(axis=1), strict=True):
            rows.append({"dataset": run["dataset"], "width_init": run["width_init"], "seed": run["seed"],
                         "epoch": epoch, "width": value})
    data = pd.DataFrame(rows, columns=["dataset", "width_init", "seed", "epoch", "width"])
    datasets = sorted(data["dataset"].unique())
    fig, axes = _figure(max(1, len(datasets)))
    for ax, dataset in zip(axes, datasets, strict=False):
        for w0, group in data[data["dataset"] == dataset].groupby("width_init"):
            by_epoch = group.groupby("epoch")["width"]
            line, = ax.plot(by_epoch.mean().index, by_epoch.mean(), label=f"w₀ = {w0:g}")
            ax.fill_between(by_epoch.min().index, by_epoch.min(), by_epoch.max(), color=line.get_color(), alpha=0.2)
            ax.axhline(w0, color=line.get_color(), linestyle=":", linewidth=0.8)
        ax.set_yscale("log")
        _label(ax, f"{dataset}: ASGL's learned width (mean of layers)", "epoch", "width w (dotted: initial)")
    _save(fig, out / "learned_width.png", axes, len(datasets))
    return data


def firing_rates(records: dict, main_widths: dict[str, float], out: Path) -> pd.DataFrame:
    """Mean firing rate per layer (the records' ``layers``), per dataset × method, at the configured width."""
    rows = []
    for key, record in records.items():
        if key[2] != main_widths.get(key[1], key[2]):
            continue
        for layer, state in (record.get("layers") or {}).items():
            if "firing_rate" in state:
                rows.append({"dataset": key[0], "method": key[1], "layer": layer, "firing_rate": state["firing_rate"]})
    data = pd.DataFrame(rows, columns=["dataset", "method", "layer", "firing_rate"])
    data = data.groupby(["dataset", "method", "layer"], sort=False, as_index=False)["firing_rate"].mean()
    datasets = sorted(data["dataset"].unique())
    fig, axes = _figure(max(1, len(datasets)))
    for ax, dataset in zip(axes, datasets, strict=False):
        for method, group in data[data["dataset"] == dataset].groupby("method"):
            ax.plot(range(len(group)), group["firing_rate"], marker=".", label=method)
        _label(ax, f"{dataset}: firing rate per layer", "spiking layer (input → output)", "spikes per neuron per step")
    _save(fig, out / "firing_rate.png", axes, len(datasets))
    return data


def training_curves(runs: pd.DataFrame, main_widths: dict[str, float], out: Path) -> pd.DataFrame:
    """Loss and test accuracy over epochs (first seed, configured width) per dataset × method."""
    rows = []
    first = runs[runs["seed"] == runs["seed"].min()]
    for _, run in first.iterrows():
        if run["width_init"] != main_widths.get(run["method"], run["width_init"]):
            continue
        history = _history(run["run_dir"])
        if history is None:
            continue
        for _, h in history.iterrows():
            rows.append({"dataset": run["dataset"], "method": run["method"], "epoch": h["epoch"],
                         "loss": h["loss"], "train_accuracy": h.get("train_accuracy"),
                         "test_accuracy": h.get("test_accuracy")})
    data = pd.DataFrame(rows, columns=["dataset", "method", "epoch", "loss", "train_accuracy", "test_accuracy"])
    datasets = sorted(data["dataset"].unique())
    fig, axes = _figure(max(1, 2 * len(datasets)))
    for i, dataset in enumerate(datasets):
        loss_ax, acc_ax = axes[2 * i], axes[2 * i + 1]
        for method, group in data[data["dataset"] == dataset].groupby("method"):
            loss_ax.plot(group["epoch"], group["loss"], label=method)
            line, = acc_ax.plot(group["epoch"], 100 * group["train_accuracy"], label=f"{method} train")
            tested = group.dropna(subset=["test_accuracy"])
            acc_ax.plot(tested["epoch"], 100 * tested["test_accuracy"], "o--", color=line.get_color(), ms=3)
        loss_ax.set_title(f"{dataset}: training loss")
        loss_ax.set_xlabel("epoch")
        loss_ax.set_ylabel("loss")
        loss_ax.set_yscale("log")
        loss_ax.legend(fontsize=6)
        acc_ax.set_title(f"{dataset}: accuracy (train —, test o)")
        acc_ax.set_xlabel("epoch")
        acc_ax.set_ylabel("accuracy %")
    _save(fig, out / "training_curves.png")
    return data


def make_plots(runs, statistics: dict[str, Any], params: dict[str, Any], results: Path) -> None:
    """Write every figure and its CSV twin to ``results/plots`` (``runs``: :class:`pipelines.lib.records.Runs`)."""
    out = results / "plots"
    methods = all_methods(params)
    widths = main_widths(params)
    sweep_methods = (params.get("sweep") or {}).get("methods", []) or methods
    frame = runs.frame()
    tables = {
        "accuracy_vs_width": accuracy_vs_width(statistics, sweep_methods, out),
        "learned_width": learned_width(frame, out),
        "firing_rate": firing_rates(runs.records, widths, out),
        "training_curves": training_curves(frame, widths, out),
    }
    for name, frame in tables.items():
        atomic_write_text(out / f"{name}.csv", frame.to_csv(index=False))


def main(argv: list[str] | None = None) -> int:
    def work(params: dict[str, Any]) -> str:
        results = results_dir(params)
        make_plots(load_runs(results), load_statistics(results), params, results)
        return f"wrote {results / 'plots'}"

    return params_stage(argv, "Render the figures of <results_dir>/plots and their CSV data from evaluate's "
                              "runs.json and statistics.json and the run folders' histories.", work)


if __name__ == "__main__":
    sys.exit(main())

"""End to end: an installed plugin (entry point metadata on sys.path) compared with the table by
``asgl-bench compare`` on a cut-down budget (digits, 2 seeds, 1 epoch), against a reference ``runs.json`` whose
per-sample predictions are made here, so every number of the comparison can be recomputed."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from asgl.metrics import prediction_codes
from pipelines.lib.identity import REPO_ROOT
from pipelines.lib.records import runs_document
from pipelines.lib.stats import accuracy_interval, difference_interval, verdict
from tests.cli.plugin_fixture import METHOD, write_plugin

REFERENCE = {("asgl", 0): 0.80, ("asgl", 1): 0.82, ("sg", 0): 0.10, ("sg", 1): 0.11}


def write_params(folder: Path) -> Path:
    params = yaml.safe_load((REPO_ROOT / "profiles" / "embedded.yaml").read_text(encoding="utf-8"))
    params["run"].update(methods={"asgl": "asgl/methods.py", "sg": "asgl/methods.py"}, workers=1)
    params["sweep"] = {"methods": ["sg", "asgl"], "widths": [1.0, 5.0]}
    # a smaller budget than the table's (the test checks the plumbing, not the method): fewer, larger steps
    params["datasets"]["digits"]["train"].update(batch_size=256, metrics_samples=64)
    params["methods"] = {"asgl": params["methods"].get("asgl", {}), "sg": params["methods"].get("sg", {})}
    params.update(results_dir=str(folder / "results"), data_root=str(folder / "data"))
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(params), encoding="utf-8")
    return path


def write_reference(folder: Path, params: Path) -> tuple[Path, np.ndarray, dict]:
    """Prepare digits in the test's data root, then a reference whose run ``(m, s)`` gets the first
    ``REFERENCE[(m, s)]`` of the test samples right; returns the folder, the labels and the 0/1 arrays."""
    from asgl.data import load_prepared, prepare_dataset

    root = folder / "data"
    prepare_dataset("digits", root, **yaml.safe_load(params.read_text())["datasets"]["digits"]["prepare"])
    data = load_prepared(root, "digits")
    labels = data.test_y.numpy()
    sha = data.manifest["tensor_sha256"]
    records, correct = [], {}
    for (method, seed), fraction in REFERENCE.items():
        right = np.arange(labels.size) < round(fraction * labels.size)
        correct[(method, seed)] = right.astype(float)
        records.append({"dataset": "digits", "method": method, "seed": seed, "width_init": 1.0,
                        "accuracy": 100.0 * right.mean(), "firing_rate": 0.2, "energy_uj": 0.5,
                        "data_sha256": sha,
                        "test_predictions": prediction_codes.encode(np.where(right, labels, (labels + 1) % 10))})
    out = folder / "reference"
    out.mkdir()
    doc = runs_document(records, {"digits": {"data_sha256": sha, "test_labels": prediction_codes.encode(labels)}})
    (out / "runs.json").write_text(json.dumps(doc), encoding="utf-8")
    return out, labels, correct


def test_compare_an_entry_point_plugin(tmp_path):
    plugin = write_plugin(tmp_path / "site")
    params = write_params(tmp_path)
    reference, labels, ref_correct = write_reference(tmp_path, params)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin), str(REPO_ROOT)])}
    env.pop("ASGL_DATA_ROOT", None)
    cmd = [sys.executable, "-m", "pipelines.commands.cli", "compare", METHOD, "--params", str(params), "--reference",
           str(reference), "--results", str(out), "--datasets", "digits", "--seeds", "0", "1", "--epochs", "1"]
    done = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "done digits" in done.stderr, "progress is shown while training"
    assert "Δ vs ASGL" in done.stdout and "Cut-down budget" in done.stdout

    report = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert report["method"] == METHOD and report["source"].endswith("asgl_rect_plugin.py")
    assert report["budget"]["cut_down"] and report["budget"]["seeds"] == [0, 1]
    assert (out / "comparison.md").read_text(encoding="utf-8").startswith("### Rectangle SG (`rect-sg`)")
    assert not (tmp_path / "results" / "runs").exists(), "the table's results folder is never written"
    (row,) = report["rows"]
    assert row["dataset"] == "digits" and row["main"] and row["seeds"] == [0, 1]
    records = {r["seed"]: r for r in json.loads((out / "records.json").read_text(encoding="utf-8"))}
    mine = np.stack([prediction_codes.decode(records[s]["test_predictions"]) == labels for s in (0, 1)]).astype(float)
    assert math.isclose(row["accuracy"]["mean"], accuracy_interval(mine).mean)
    for ref in ("asgl", "sg"):
        against = row["against"][ref]
        theirs = np.stack([ref_correct[(ref, s)] for s in (0, 1)])
        expected = difference_interval(mine, theirs)
        assert against["paired_seeds"] == [0, 1]
        assert math.isclose(against["difference"]["mean"], expected.mean)
        assert math.isclose(against["difference"]["half"], expected.half, rel_tol=1e-9)
        assert against["difference"]["half"] > 0
        assert against["verdict"] == verdict(expected)
        assert math.isclose(against["accuracy"]["mean"], accuracy_interval(theirs).mean)
    records = json.loads((out / "records.json").read_text(encoding="utf-8"))
    assert sorted(r["seed"] for r in records) == [0, 1]
    assert all(Path(r["run_dir"]).is_relative_to(out) for r in records)

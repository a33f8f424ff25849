"""End to end: an installed plugin (entry point metadata on sys.path) compared with the table by
``asgl-bench compare`` on a cut-down budget (digits, 2 seeds, 1 epoch), against a reference ``runs.csv`` whose
values are known here, so every number of the comparison can be recomputed."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import yaml

from pipelines.identity import REPO_ROOT
from pipelines.stats import t_quantile
from tests.cli.plugin_fixture import METHOD, write_plugin

REFERENCE = {("asgl", 0): 80.0, ("asgl", 1): 82.0, ("sg", 0): 10.0, ("sg", 1): 11.0}


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


def write_reference(path: Path) -> Path:
    lines = ["dataset,method,seed,width_init,accuracy,firing_rate,energy_uj"]
    lines += [f"digits,{m},{s},1.0,{acc},0.2,0.5" for (m, s), acc in REFERENCE.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_compare_an_entry_point_plugin(tmp_path):
    plugin = write_plugin(tmp_path / "site")
    params = write_params(tmp_path)
    reference = write_reference(tmp_path / "runs.csv")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin), str(REPO_ROOT)])}
    env.pop("ASGL_DATA_ROOT", None)
    cmd = [sys.executable, "-m", "pipelines.cli", "compare", METHOD, "--params", str(params), "--reference",
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
    acc = {int(s): a for s, a in row["accuracy_per_seed"].items()}
    assert math.isclose(row["accuracy"]["mean"], (acc[0] + acc[1]) / 2)
    for ref in ("asgl", "sg"):
        against = row["against"][ref]
        d = [acc[s] - REFERENCE[(ref, s)] for s in (0, 1)]
        assert against["paired_seeds"] == [0, 1]
        assert math.isclose(against["difference"]["mean"], sum(d) / 2)
        # n = 2: s = |d0 − d1| / √2, half-width = t(0.975, 1) · s / √2 = t · |d0 − d1| / 2
        assert math.isclose(against["difference"]["half"], t_quantile(1) * abs(d[0] - d[1]) / 2, rel_tol=1e-9)
        low, high = against["difference"]["low"], against["difference"]["high"]
        expected = "better" if low > 0 else "worse" if high < 0 else "no different"
        assert against["verdict"] == expected
        assert math.isclose(against["accuracy"]["mean"], (REFERENCE[(ref, 0)] + REFERENCE[(ref, 1)]) / 2)
    records = json.loads((out / "records.json").read_text(encoding="utf-8"))
    assert sorted(r["seed"] for r in records) == [0, 1]
    assert all(Path(r["run_dir"]).is_relative_to(out) for r in records)

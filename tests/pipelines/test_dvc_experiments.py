"""DVC as docs/dvc.md shows it: ``dvc exp run -S``, ``dvc params diff`` and ``dvc metrics diff`` on the real
``dvc.yaml`` with a cut-down profile, in a scratch git repository (slow: the whole pipeline runs twice)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.lib.identity import REPO_ROOT

pytestmark = pytest.mark.slow
COPIED = ("asgl", "baselines", "pipelines", "dvc.yaml", "reference_results.yaml")
SETTING = "datasets.digits.train.epochs"


def tiny_profile() -> dict:
    """The embedded profile on digits only: SG and ASGL, two seeds, two widths, one small epoch."""
    params = yaml.safe_load((REPO_ROOT / "profiles" / "embedded.yaml").read_text(encoding="utf-8"))
    params["run"].update(datasets=["digits"], methods={"asgl": "asgl/methods.py", "sg": "asgl/methods.py"},
                         seeds=[0, 1], workers=1)
    params["sweep"] = {"methods": ["sg", "asgl"], "widths": [1.0, 10.0]}
    digits = params["datasets"]["digits"]
    digits["model_kwargs"]["width"] = 4
    digits["train"].update(epochs=1, eval_every=1, metrics_samples=32)
    params["datasets"] = {"digits": digits}
    params["methods"] = {k: params["methods"][k] for k in ("asgl", "sg")}
    return params


def run(folder: Path, *args: str) -> str:
    """Run a command in ``folder`` with this environment first on the PATH; its stdout (fails on an error)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "DVC_NO_ANALYTICS": "1"}
    env.pop("ASGL_DATA_ROOT", None)
    done = subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_an_experiment_changes_one_setting_and_the_diffs_show_what_moved(tmp_path):
    for name in COPIED:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, tmp_path / name)
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "README").write_text("no shipped data in this scratch copy\n", encoding="utf-8")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_profile(), sort_keys=False), encoding="utf-8")
    (tmp_path / ".gitignore").write_text("/data/\n/results/runs/\n__pycache__/\n", encoding="utf-8")
    run(tmp_path, "git", "init", "-q")
    run(tmp_path, "dvc", "init", "-q")
    run(tmp_path, "dvc", "repro", "-q")
    run(tmp_path, "git", "add", "-A")
    run(tmp_path, "git", "commit", "-q", "-m", "baseline")

    run(tmp_path, "dvc", "exp", "run", "-S", f"{SETTING}=2")

    params = json.loads(run(tmp_path, "dvc", "params", "diff", "--json"))
    assert list(params["params.yaml"]) == [SETTING], "only the setting given with -S changed"
    assert params["params.yaml"][SETTING]["old"] == 1 and params["params.yaml"][SETTING]["new"] == 2
    metrics = json.loads(run(tmp_path, "dvc", "metrics", "diff", "--json"))
    moved = metrics["results/metrics.json"]
    assert moved, "the aggregated accuracies were recomputed from the retrained runs"
    assert all(set(change) >= {"old", "new"} for change in moved.values())
    history = (tmp_path / "results" / "runs" / "sg" / "digits" / "w1-s0" / "history.csv").read_text()
    assert len(history.strip().splitlines()) == 1 + 2, "the run retrained with the new budget (two epochs)"
    assert run(tmp_path, "dvc", "exp", "list", "--name-only").split(), "the experiment is recorded by name"

"""The train stage starts its pool's workers before it checks the params and lists the jobs, from the run block
read as plain YAML, and then runs its jobs on that same pool."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import yaml

from asgl.data import prepare_dataset
from pipelines.lib import executors
from pipelines.stages import train

ROOT = Path(__file__).resolve().parents[2]
POOL = {"workers": 2, "threads_per_worker": 1, "device": "cpu"}


def _params(tmp_path: Path) -> Path:
    """A params file: sg on digits, 2 seeds of 1 epoch, on a pool of 2 workers (data under ``tmp_path``)."""
    params = yaml.safe_load((ROOT / "profiles" / "embedded.yaml").read_text())
    params.update(data_root=str(tmp_path / "data"), results_dir=str(tmp_path / "results"))
    params["run"].update(datasets=["digits"], methods={"sg": "asgl/methods.py"}, seeds=[0, 1], **POOL)
    params["sweep"] = {}
    digits = params["datasets"]["digits"]
    digits["model_kwargs"]["width"] = 4
    digits["train"].update(epochs=1, metrics_samples=16)
    params["datasets"] = {"digits": digits}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_importing_the_stage_does_not_import_torch():
    """Else the workers would start only after torch is imported in the stage (2.2 s on 2 cores)."""
    code = "import sys, pipelines.stages.train; assert 'torch' not in sys.modules, 'torch was imported'"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_the_run_block_is_read_unchecked_or_not_at_all(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("run: {workers: 2}\n")
    assert train.unchecked_run_block(str(path)) == {"workers": 2}
    for text in ("run: [unclosed\n", "- a list\n", "other: 1\n", ""):
        path.write_text(text)
        assert train.unchecked_run_block(str(path)) is None, text
    assert train.unchecked_run_block(str(tmp_path / "missing.yaml")) is None


def _count_pools(monkeypatch) -> list[int]:
    """A list that gets one item per pool the executors open (its number of workers)."""
    opened: list[int] = []
    open_pool = executors.StageExecutor._open

    def counted(self, run, workers, *rest):
        opened.append(workers)
        open_pool(self, run, workers, *rest)

    monkeypatch.setattr(executors.StageExecutor, "_open", counted)
    return opened


def test_the_stage_starts_its_one_pool_before_checking_the_params(tmp_path, monkeypatch):
    params_file = _params(tmp_path)
    prepare_dataset("digits", tmp_path / "data")
    opened, seen_by_load = _count_pools(monkeypatch), []
    load = train.load_params

    def noting_load(path):
        seen_by_load.append(len(opened))
        return load(path)

    monkeypatch.setattr(train, "load_params", noting_load)
    assert train.main(["--method", "sg", "--params", str(params_file)]) == 0
    assert seen_by_load == [1], "the pool was opened before the params were checked"
    assert opened == [2], "the jobs ran on the pool opened early, not on a second one"
    records = json.loads((tmp_path / "results/train/sg.json").read_text())
    assert [r["seed"] for r in records] == [0, 1]


def test_a_stage_that_fails_before_its_jobs_ends_its_early_pool(tmp_path, capsys, monkeypatch):
    opened = _count_pools(monkeypatch)
    assert train.main(["--method", "asgl", "--params", str(_params(tmp_path))]) == 2
    assert "run.methods has no 'asgl'" in capsys.readouterr().err
    assert opened == [2] and multiprocessing.active_children() == []


def test_the_stage_process_keeps_its_status_and_output(tmp_path):
    """It ends without the interpreter's teardown, and so do its workers: what they print and its exit status
    must survive that, with stdout a buffer (no PYTHONUNBUFFERED), as when it is not a terminal."""
    params_file = _params(tmp_path)
    prepare_dataset("digits", tmp_path / "data")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}

    def stage(method: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pipelines.stages.train", "--method", method, "--params",
                               str(params_file)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)

    done = stage("sg")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("digits sg width=") == 2, done.stdout
    assert done.stderr.count("epoch 1/1") == 2, "the workers' progress lines"
    failed = stage("asgl")
    assert failed.returncode == 2 and "run.methods has no 'asgl'" in failed.stderr

"""Every stage this suite runs answers a corrupt input, a full disk and a missing package with one ``error:``
line and exit status 2 (:func:`pipelines.lib.entry.run_main`), never a traceback.

The full disk is real ENOSPC from ``os.fsync`` (every atomic write of :mod:`asgl.io` syncs before it renames),
or from the writer of a format :mod:`asgl.io` does not write (NIR's HDF5). A missing package is a real
``ModuleNotFoundError`` from Python's import system (its ``sys.modules`` entry set to ``None``), raised at
the first step of the stage's work when the stage has no optional import of its own. ``plan`` writes no file,
so a full disk does not concern it; ``export`` is driven through :func:`pipelines.commands.export.export_run`, the work
``asgl-bench export`` runs.
"""

from __future__ import annotations

import errno
import importlib
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import torch
import yaml

from asgl.data import prepare_dataset
from pipelines.commands import plan, profile
from pipelines.lib.entry import run_main
from pipelines.stages import fetch, linear, prepare, train

ROOT = Path(__file__).resolve().parents[2]
BROKEN_YAML = "run: {datasets: [digits\n"


def _status(main, argv) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # an argument error: argparse's own exit
        return exc.code


def _one_error_line(capsys, *needles: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A scratch folder with prepared ``digits`` and a tiny params file naming them (``sg``, 1 seed)."""
    params = yaml.safe_load((ROOT / "profiles" / "embedded.yaml").read_text())
    params.update(data_root=str(tmp_path / "data"), results_dir=str(tmp_path / "results"))
    params["run"].update(datasets=["digits"], methods={"sg": "asgl/methods.py"}, seeds=[0], workers=1)
    params["sweep"] = {}
    params["datasets"]["digits"]["train"].update(epochs=1, metrics_samples=16)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "broken.yaml").write_text(BROKEN_YAML)
    prepare_dataset("digits", tmp_path / "data", **params["datasets"]["digits"].get("prepare", {}))
    shutil.copytree(ROOT / "profiles", tmp_path / "profiles")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def full_disk(monkeypatch):
    def fsync(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", fsync)


def _missing(monkeypatch, package: str):
    """A function that imports ``package``, which is made missing: Python raises ``ModuleNotFoundError``."""
    monkeypatch.setitem(sys.modules, package, None)

    def needs_it(*args, **kwargs):
        importlib.import_module(package)

    return needs_it


STAGES = {  # stage: (main, argv with params.yaml, argv with a corrupt params file)
    "fetch": (fetch.main, ["digits", "--data-root", "data"], ["digits", "--params", "broken.yaml"]),
    "prepare": (prepare.main, ["digits", "--params", "params.yaml", "--force"], ["digits", "--params", "broken.yaml"]),
    "train": (train.main, ["--method", "sg"], ["--method", "sg", "--params", "broken.yaml"]),
    "linear": (linear.main, [], ["--params", "broken.yaml"]),
    "plan": (plan.main, ["--steps", "1"], ["--params", "broken.yaml"]),
    "profile": (profile.main, ["broken"], None),
}


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_a_corrupt_input_is_one_line(stage, workspace, capsys):
    main, _, corrupt = STAGES[stage]
    if corrupt is None:  # profile: the corrupt file is a profile
        shutil.copy(workspace / "broken.yaml", workspace / "profiles" / "broken.yaml")
        corrupt = ["broken"]
    assert _status(main, corrupt) == 2
    _one_error_line(capsys, "broken.yaml", "not valid YAML")


@pytest.mark.parametrize("stage", ["fetch", "prepare", "train", "linear", "profile"])
def test_a_full_disk_is_one_line(stage, workspace, full_disk, capsys):
    main, argv, _ = STAGES[stage]
    if stage == "profile":
        argv = ["embedded"]
    assert _status(main, argv) == 2
    _one_error_line(capsys, "no space left")


FIRST_STEP = {"fetch": "get_spec", "prepare": "prepare_dataset", "linear": "linear_reference",
              "plan": "load_profile", "profile": "validate"}


@pytest.mark.parametrize("stage", sorted(FIRST_STEP))
def test_a_missing_package_is_one_line(stage, workspace, monkeypatch, capsys):
    main, argv, _ = STAGES[stage]
    monkeypatch.setattr(sys.modules[main.__module__], FIRST_STEP[stage], _missing(monkeypatch, "mirdata"))
    if stage == "profile":
        argv = ["embedded"]
    assert _status(main, argv) == 2
    _one_error_line(capsys, "'mirdata' is not installed")


def test_train_without_a_methods_package_is_one_line(workspace, monkeypatch, capsys):
    """The snnTorch baselines need ``snntorch``: their stage stops before training, naming the pip command."""
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["run"]["methods"] = {"snntorch-atan": "baselines/snntorch_leaky.py"}
    params["methods"]["snntorch-atan"] = {}
    (workspace / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.setitem(sys.modules, "snntorch", None)
    assert _status(train.main, ["--method", "snntorch-atan"]) == 2
    _one_error_line(capsys, "snntorch", "pip install")


def _run_folder(tmp_path: Path) -> Path:
    from asgl.models import build_model
    from asgl.registry import get_method
    from asgl.training.checkpoint import save_checkpoint

    kwargs = {"in_channels": 1, "time_steps": 2, "width": 4}
    model = build_model("resnet_tiny", get_method("sg").neuron_factory(), **kwargs)
    run = tmp_path / "run"
    run.mkdir()
    settings = {"method": "sg", "source": "asgl/methods.py", "dataset": "digits", "model": "resnet_tiny",
                "method_params": get_method("sg").resolve_params(), "model_kwargs": kwargs}
    (run / "config.json").write_text(json.dumps({"meta": {"settings": settings}}), encoding="utf-8")
    save_checkpoint(run, {"epoch": 1, "model": model.state_dict()})
    return run


@pytest.mark.parametrize("fault", ["corrupt", "full-disk", "missing-package"])
def test_export_faults_are_one_line(fault, tmp_path, monkeypatch, capsys):
    from pipelines.commands.export import export_run

    run = _run_folder(tmp_path)
    needle = {"corrupt": "config.json", "full-disk": "no space left", "missing-package": "'nir' is not installed"}
    if fault == "corrupt":
        (run / "config.json").write_text('{"meta": {"settings": ')
    elif fault == "full-disk":
        import nir

        def write(path, graph):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

        monkeypatch.setattr(nir, "write", write)
    else:
        monkeypatch.setitem(sys.modules, "nir", None)
    torch.manual_seed(0)
    assert run_main(lambda: print(export_run(run, tmp_path / "out.nir"))) == 2
    _one_error_line(capsys, needle[fault])

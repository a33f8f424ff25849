"""Running the container on a part of a profile: docker/select_runs.py narrows params.yaml to some datasets
and methods, keeps the profile's order and recipes, and refuses names the profile does not have."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
sys.path.insert(0, str(ROOT / "docker"))
import select_runs  # noqa: E402

sys.path.pop(0)

PAPER = yaml.safe_load((ROOT / "profiles" / "paper.yaml").read_text(encoding="utf-8"))


def test_names_split_on_commas_and_spaces():
    assert select_runs.names(" cifar10, shd  dvs-gesture,") == ["cifar10", "shd", "dvs-gesture"]
    assert select_runs.names("") == [] and select_runs.names(None) == []


def test_narrowing_keeps_the_profile_order_and_everything_else():
    out = select_runs.narrow(PAPER, ["shd", "cifar10"], ["sg", "snntorch-atan"])
    assert out["run"]["datasets"] == ["cifar10", "shd"]  # the profile's order, not the request's
    assert out["run"]["methods"] == {"sg": "asgl/methods.py", "snntorch-atan": "baselines/snntorch_leaky.py"}
    assert out["sweep"]["methods"] == ["sg"] and out["sweep"]["widths"] == PAPER["sweep"]["widths"]
    assert out["datasets"] == PAPER["datasets"] and out["methods"] == PAPER["methods"]
    assert {k: v for k, v in out["run"].items() if k not in ("datasets", "methods")} == {
        k: v for k, v in PAPER["run"].items() if k not in ("datasets", "methods")}
    assert PAPER["run"]["datasets"][0] == "cifar10" and len(PAPER["run"]["methods"]) == 6  # input untouched


def test_an_empty_list_keeps_all():
    out = select_runs.narrow(PAPER, [], ["asgl"])
    assert out["run"]["datasets"] == PAPER["run"]["datasets"] and list(out["run"]["methods"]) == ["asgl"]


@pytest.mark.parametrize(("datasets", "methods", "variable", "name"),
                         [(["cifar11"], [], "ASGL_DATASETS", "'cifar11'"),
                          ([], ["dspike"], "ASGL_METHODS", "'dspike'")])
def test_a_name_outside_the_profile_is_refused_in_one_line(tmp_path, capsys, datasets, methods, variable, name):
    params = tmp_path / "params.yaml"
    shutil.copy(ROOT / "profiles" / "paper.yaml", params)
    before = params.read_text(encoding="utf-8")
    status = select_runs.main(["--params", str(params), "--datasets", ",".join(datasets),
                               "--methods", ",".join(methods)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1
    assert err[0].startswith(f"select-runs: error: {variable} names {name}") and "choose among" in err[0]
    assert params.read_text(encoding="utf-8") == before


def test_the_file_is_narrowed_in_place_and_still_valid(tmp_path):
    from pipelines.lib.params import load_params

    params = tmp_path / "params.yaml"
    shutil.copy(ROOT / "profiles" / "paper.yaml", params)
    assert select_runs.main(["--params", str(params), "--datasets", "cifar10-dvs", "--methods", "asgl sg"]) == 0
    loaded = load_params(params)
    assert loaded["run"]["datasets"] == ["cifar10-dvs"] and list(loaded["run"]["methods"]) == ["asgl", "sg"]
    assert loaded["datasets"]["cifar10-dvs"] == PAPER["datasets"]["cifar10-dvs"]


def test_the_entrypoint_applies_a_changed_profile_and_a_subset_without_writing_the_profile(tmp_path):
    """The container's start: profiles/ comes from the host (here a folder with an edited paper profile),
    params.yaml is built from it and narrowed; the profile file is left as it was."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    app, bin_dir, log = tmp_path / "app", tmp_path / "bin", tmp_path / "calls.log"
    for folder in (app / ".dvc" / "cache", app / "results", app / "data", app / "profiles", app / "docker",
                   bin_dir):
        folder.mkdir(parents=True)
    edited = {**PAPER, "run": {**PAPER["run"], "workers": 3}}
    (app / "profiles" / "paper.yaml").write_text(yaml.safe_dump(edited, sort_keys=False), encoding="utf-8")
    (app / "profiles" / "paper.yaml").chmod(0o444)
    shutil.copy(ROOT / "profiles" / "embedded.yaml", app / "profiles" / "embedded.yaml")
    (app / "docker" / "select_runs.py").symlink_to(ROOT / "docker" / "select_runs.py")
    (bin_dir / "dvc").write_text(f'#!/bin/sh\necho "dvc $*" >> "{log}"\n', encoding="utf-8")
    (bin_dir / "dvc").chmod(0o755)
    env = {"PATH": f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin", "ASGL_APP_DIR": str(app),
           "ASGL_DATA_ROOT": str(app / "data"), "ASGL_GPU_PREFLIGHT": "0", "ASGL_DVC_LOCK_STORE": "",
           "ASGL_PROFILE": "paper", "ASGL_DATASETS": "shd,cifar10", "ASGL_METHODS": "asgl",
           "PYTHONPATH": str(ROOT)}
    result = subprocess.run(["bash", str(ENTRYPOINT)], cwd=app, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    params = yaml.safe_load((app / "params.yaml").read_text(encoding="utf-8"))
    assert params["run"]["datasets"] == ["cifar10", "shd"] and list(params["run"]["methods"]) == ["asgl"]
    assert params["run"]["workers"] == 3  # the edited profile, not the one shipped
    assert yaml.safe_load((app / "profiles" / "paper.yaml").read_text(encoding="utf-8")) == edited
    assert log.read_text(encoding="utf-8").splitlines()[-1] == "dvc repro"

"""Bad input: params typos, out-of-range values, unknown ids, empty folders, non-finite losses, a full disk.
Each gives one clear error naming the key, value, id or file, and leaves earlier results as they were."""

from __future__ import annotations

import copy
import dataclasses
import errno
import json
import os
import socket
import subprocess
from pathlib import Path

import pytest
import torch
import yaml

from asgl.data import load_prepared, prepare_dataset, registry
from asgl.data.cache import CorruptCacheError, cache_paths
from asgl.data.errors import DatasetUnavailableError, UnknownDatasetError
from asgl.io import WriteError
from asgl.registry import get_method
from asgl.training import Callback, NonFiniteLossError, train
from asgl.training.checkpoint import load_checkpoint
from pipelines.lib.params import ParamsError, validate
from pipelines.stages import fetch as fetch_cli
from pipelines.stages import prepare as prepare_cli
from pipelines.stages import train as train_cli

from . import plan
from . import train_script as script
from .conftest import REPO, one_line


def _params(table):
    return [plan.mode_param(mode, item, id=f"{mode}-{item}") for mode in plan.MODES for item in table[mode]]


def _train(run_dir: Path, callbacks=(), epochs: int = 3):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, cbs = script.build("autograd")
        return train(model, *script.make_data(), script.config(epochs), run_dir, [*cbs, *callbacks])
    finally:
        torch.set_num_threads(threads)


# ------------------------------------------------------------------ params.yaml

TYPOS = {  # where -> (path to the mapping, mistyped key)
    "top": ((), "profil"),
    "run": (("run",), "seed"),
    "sweep": (("sweep",), "width"),
    "datasets.<id>": (("datasets", "digits"), "modle_kwargs"),
    "datasets.<id>.train": (("datasets", "digits", "train"), "lrr"),
    "datasets.<id>.prepare": (("datasets", "digits", "prepare"), "sed"),
    "methods.asgl": (("methods", "asgl"), "widht"),
}


@pytest.mark.parametrize("where", _params(plan.PARAMS_TYPOS))
def test_mistyped_params_key_is_named(where):
    params = yaml.safe_load((REPO / "profiles" / "embedded.yaml").read_text())
    validate(copy.deepcopy(params))
    path, key = TYPOS[where]
    block = params
    for part in path:
        block = block[part]
    block[key] = 1
    with pytest.raises(ParamsError) as info:
        validate(params)
    assert repr(key) in str(info.value) and one_line(str(info.value)), str(info.value)


# ------------------------------------------------------------------ values and ids

VALUES = {"width=0": {"width": 0.0}, "width=-1": {"width": -1.0}, "p=-0.1": {"p": -0.1}, "p=1.5": {"p": 1.5},
          "width=nan": {"width": float("nan")}, "width=inf": {"width": float("inf")}, "p=nan": {"p": float("nan")}}


@pytest.mark.parametrize("case", _params(plan.BAD_VALUES))
def test_out_of_range_width_or_p_is_a_value_error(case):
    (key, value), = VALUES[case].items()
    spec = get_method("asgl")
    with pytest.raises(ValueError, match=rf"{key}.*{value}") as info:
        spec.neuron_factory(spec.resolve_params({key: value}))()
    assert one_line(str(info.value))


@pytest.mark.parametrize("case", _params(plan.UNKNOWN_IDS))
def test_unknown_method_or_dataset_is_named(case, tmp_path, capsys):
    if case == "method":
        with pytest.raises(ValueError, match=r"'asgll'.*known methods"):
            get_method("asgll")
    elif case == "dataset":
        with pytest.raises(UnknownDatasetError, match=r"'cifar11'.*known ids"):
            registry.get_spec("cifar11")
    elif case == "method-cli":  # a run list naming a method nobody registered
        params = yaml.safe_load((REPO / "profiles" / "embedded.yaml").read_text())
        params["run"]["methods"]["asgll"] = "asgl/methods.py"
        params["methods"]["asgll"] = {}
        with pytest.raises(ParamsError, match=r"methods\.asgll.*'asgll'"):
            validate(params)
    else:
        for main in (fetch_cli.main, prepare_cli.main):
            assert main(["cifar11", "--data-root", str(tmp_path)]) == 2
            err = capsys.readouterr().err
            assert "'cifar11'" in err and one_line(err), err


# ------------------------------------------------------------------ empty dataset folder


@pytest.fixture()
def closed_url():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/"


@pytest.mark.parametrize("dataset_id", _params(plan.EMPTY_FOLDERS))
def test_empty_dataset_folder_names_the_folder_and_files(dataset_id, tmp_path, closed_url, monkeypatch, capsys):
    spec = registry.REGISTRY[dataset_id]
    remotes = tuple(dataclasses.replace(r, url=closed_url + r.filename) for r in spec.remotes)
    monkeypatch.setitem(registry.REGISTRY, dataset_id, dataclasses.replace(spec, remotes=remotes, embedded=False))
    folder = tmp_path / "raw" / dataset_id
    folder.mkdir(parents=True)
    with pytest.raises(DatasetUnavailableError) as info:
        prepare_dataset(dataset_id, tmp_path)
    message = str(info.value)
    assert str(folder) in message and spec.expected_files[0] in message and one_line(message), message
    assert prepare_cli.main([dataset_id, "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(folder) in err and one_line(err)
    assert not (tmp_path / "prepared").exists()


# ------------------------------------------------------------------ non-finite loss


class Poison(Callback):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value, self.before = value, None

    def on_epoch_start(self, ctx) -> None:
        if ctx.epoch == 1:
            self.before = (Path(self.run_dir) / "checkpoint.pt").read_bytes()
            with torch.no_grad():
                ctx.model.fc2.weight.fill_(self.value)


@pytest.mark.parametrize("value", _params(plan.NON_FINITE))
def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(value, tmp_path):
    poison = Poison(float(value))
    poison.run_dir = tmp_path
    with pytest.raises(NonFiniteLossError, match=r"epoch 2, step 1") as info:
        _train(tmp_path, [poison])
    assert one_line(str(info.value)) and str(tmp_path / "checkpoint.pt") in str(info.value)
    assert (tmp_path / "checkpoint.pt").read_bytes() == poison.before
    assert load_checkpoint(tmp_path)["epoch"] == 1 and not (tmp_path / "metrics.json").exists()


# ------------------------------------------------------------------ full disk


class ArmAt(Callback):
    def __init__(self, arm, name: str, epoch: int, files: list[Path]) -> None:
        super().__init__()
        self.arm, self.name, self.epoch, self.files, self.before = arm, name, epoch, files, {}

    def on_epoch_start(self, ctx) -> None:
        if ctx.epoch == self.epoch:
            self.before = {p: p.read_bytes() for p in self.files if p.exists()}
            self.arm(self.name)


def _no_temporaries(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("target", _params(plan.FULL_DISK))
def test_full_disk_is_one_clear_error_and_earlier_files_stay(target, tmp_path, full_disk, capsys):
    if target in ("checkpoint", "history"):
        name = {"checkpoint": "checkpoint.pt", "history": "history.csv"}[target]
        files = [tmp_path / "checkpoint.pt", tmp_path / "history.csv"]
        arm = ArmAt(full_disk, name, 1, files)
        with pytest.raises(WriteError, match=rf"{name}: no space left on device") as info:
            _train(tmp_path, [arm])
        assert one_line(str(info.value))
        if target == "checkpoint":  # the epoch-1 files are untouched
            assert {p: p.read_bytes() for p in files} == arm.before
        else:  # the checkpoint of epoch 2 went through; the history write failed and left epoch 1's
            assert (tmp_path / "history.csv").read_bytes() == arm.before[tmp_path / "history.csv"]
        _no_temporaries(tmp_path)
    elif target == "metrics":
        _train(tmp_path, epochs=2)
        before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
        full_disk("metrics.json")
        with pytest.raises(WriteError, match=r"metrics\.json: no space left"):
            _train(tmp_path, epochs=2)  # resumes after the last epoch, rewrites the final metrics
        after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name in before}
        assert after["metrics.json"] == before["metrics.json"] and after["checkpoint.pt"] == before["checkpoint.pt"]
        _no_temporaries(tmp_path)
    elif target in ("prepared-pt", "manifest"):
        prepare_dataset("digits", tmp_path, seed=0)
        pt, manifest = cache_paths(tmp_path, "digits")
        before = {pt: pt.read_bytes(), manifest: manifest.read_bytes()}
        full_disk(pt.name if target == "prepared-pt" else manifest.name)
        assert prepare_cli.main(["digits", "--data-root", str(tmp_path), "--set", "seed=1"]) == 2
        err = capsys.readouterr().err
        failed = pt if target == "prepared-pt" else manifest
        assert f"{failed}: no space left on device" in err and one_line(err), err
        _no_temporaries(pt.parent)
        if target == "prepared-pt":
            assert {p: p.read_bytes() for p in before} == before
        else:  # new tensors, old manifest: never taken for the old parameters, rebuilt on the next prepare
            assert manifest.read_bytes() == before[manifest]
            with pytest.raises(CorruptCacheError):
                load_prepared(tmp_path, "digits")
            full_disk.rules.clear()  # space freed
            prepare_dataset("digits", tmp_path, seed=0)
            assert pt.read_bytes() == before[pt]
            timing = ("prepare_seconds", "manifest_sha256")
            assert {k: v for k, v in json.loads(manifest.read_text()).items() if k not in timing} == {
                k: v for k, v in json.loads(before[manifest]).items() if k not in timing}
    elif target == "tmpfs-checkpoint":
        _real_full_disk(tmp_path)
    else:
        raise AssertionError(target)


def _real_full_disk(tmp_path: Path) -> None:
    """A real ENOSPC: a 256 KiB tmpfs (needs root and mount rights; skipped otherwise)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        from asgl.io import atomic_save

        path = mount / "checkpoint.pt"
        atomic_save(path, lambda h: torch.save({"w": torch.zeros(10)}, h))
        before = path.read_bytes()
        with pytest.raises(WriteError) as info:
            atomic_save(path, lambda h: torch.save({"w": torch.zeros(1 << 20)}, h))
        assert info.value.errno == errno.ENOSPC and str(path) in str(info.value)
        assert path.read_bytes() == before and [p.name for p in mount.iterdir()] == ["checkpoint.pt"]
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_train_stage_cli_reports_a_full_disk_in_one_line(monkeypatch, capsys):
    def full(*args, **kwargs):
        raise WriteError(errno.ENOSPC, "results/x/checkpoint.pt: no space left on device; free space and rerun")

    monkeypatch.setattr(train_cli, "train_stage", full)
    monkeypatch.setattr(train_cli, "load_params", lambda path: {"run": {"methods": {"asgl": "asgl/methods.py"}}})
    monkeypatch.setattr(train_cli, "unchecked_run_block", lambda path: None)  # no pool from the real params.yaml
    assert train_cli.main(["--method", "asgl"]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.pt: no space left" in err and one_line(err)

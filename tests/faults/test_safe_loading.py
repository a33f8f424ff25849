"""Pickles that would run code: refused by ``torch.load(weights_only=True)`` (checkpoints, prepared caches) and
by the restricted unpickler (CIFAR batches), before anything runs."""

from __future__ import annotations

import builtins
import json
import os
import pickle
import subprocess

import pytest
import torch

from asgl.data import load_prepared, prepare_dataset
from asgl.data.cache import CorruptCacheError, _manifest_digest, cache_paths
from asgl.data.download import file_digest
from asgl.data.errors import UnsafePickleError
from asgl.training.checkpoint import CheckpointError, load_checkpoint

from . import plan
from .conftest import one_line
from .raw_files import write_raw


class Marker:
    """Not plain data: a weights_only or restricted load must refuse the class itself."""

    def __init__(self, path) -> None:
        self.path = str(path)


def _payload(kind: str, marker) -> object:
    cmd = f"touch {marker}"

    class Reduce:
        def __init__(self, func, args) -> None:
            self.func, self.args = func, args

        def __reduce__(self):
            return self.func, self.args

    if kind == "os.system":
        return Reduce(os.system, (cmd,))
    if kind == "eval":
        return Reduce(builtins.eval, (f"__import__('os').system({cmd!r})",))
    if kind == "subprocess":
        return Reduce(subprocess.call, (["touch", str(marker)],))
    if kind == "custom-class":
        return Marker(marker)
    raise ValueError(kind)


def _cases():
    return [plan.mode_param(m, c, id=f"{m}-{c}") for m in plan.MODES for c in plan.MALICIOUS_PICKLES[m]]


@pytest.mark.parametrize("case", _cases())
def test_malicious_pickle_is_refused_before_it_runs(case, tmp_path):
    target, kind = case.split(":")
    marker = tmp_path / "pwned"
    if target == "checkpoint":
        run_dir = tmp_path / "run"
        run_dir.mkdir()
        torch.save({"format": 2, "epoch": 1, "model": {"w": torch.zeros(2)}, "evil": _payload(kind, marker)},
                   run_dir / "checkpoint.pt")
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(run_dir)
        assert str(run_dir / "checkpoint.pt") in str(info.value)
    elif target == "prepared":
        prepare_dataset("digits", tmp_path, seed=0)
        pt, manifest_path = cache_paths(tmp_path, "digits")
        torch.save({"train_x": torch.zeros(1), "evil": _payload(kind, marker)}, pt)
        manifest = json.loads(manifest_path.read_text())  # a manifest that vouches for the file: only the
        manifest["tensor_sha256"] = file_digest(pt)       # weights_only loader stands in the way
        manifest["manifest_sha256"] = _manifest_digest(manifest)
        manifest_path.write_text(json.dumps(manifest))
        with pytest.raises(CorruptCacheError, match="weights_only") as info:
            load_prepared(tmp_path, "digits")
        assert str(pt) in str(info.value)
    else:
        batch = write_raw("cifar-pickle", tmp_path)
        if kind == "protocol0":
            batch.write_bytes(f"cposix\nsystem\n(S'touch {marker}'\ntR.".encode())
        else:
            batch.write_bytes(pickle.dumps(_payload(kind, marker), protocol=2))
        with pytest.raises(UnsafePickleError) as info:
            prepare_dataset("cifar10", tmp_path)
        assert batch.name in str(info.value) and "refusing" in str(info.value)
    assert one_line(str(info.value)), str(info.value)
    assert not marker.exists()

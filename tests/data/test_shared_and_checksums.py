"""A second id for the same data (``cifar10-t4``) shares raw files and prepared tensors; published digests
have the real formats and https sources; unpublished ones are recorded on first use and enforced after."""

from __future__ import annotations

import json
import re

import pytest
import torch

from asgl.data import fetch_dataset, load_prepared, prepare_dataset
from asgl.data.errors import ChecksumMismatchError
from asgl.data.raw import FIRST_USE_FILE, ensure_raw
from asgl.data.registry import REGISTRY, RemoteFile

from .formats import write_cifar10

HEX = {"md5": re.compile(r"[0-9a-f]{32}"), "sha256": re.compile(r"[0-9a-f]{64}")}


def test_t4_entry_reuses_the_raw_files_and_hard_links_the_prepared_tensors(tmp_path, rng):
    write_cifar10(tmp_path / "raw" / "cifar10", rng)
    assert fetch_dataset("cifar10-t4", tmp_path) == tmp_path / "raw" / "cifar10"
    note = json.loads((tmp_path / "raw" / "cifar10-t4" / "SHARED.json").read_text())
    assert note["shares"] == "cifar10" and len(list((tmp_path / "raw" / "cifar10-t4").iterdir())) == 1
    shared = prepare_dataset("cifar10-t4", tmp_path)  # prepares cifar10 first, then links it
    base = tmp_path / "prepared" / "cifar10.pt"
    assert base.exists() and shared.stat().st_ino == base.stat().st_ino
    a, b = load_prepared(tmp_path, "cifar10"), load_prepared(tmp_path, "cifar10-t4")
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.test_y, b.test_y)
    assert b.manifest["dataset_id"] == "cifar10-t4" and b.manifest["shares"] == "cifar10"
    stamp = shared.stat().st_mtime_ns
    assert prepare_dataset("cifar10-t4", tmp_path).stat().st_mtime_ns == stamp  # up to date: reused


def test_t4_entry_with_other_options_builds_its_own_tensors(tmp_path, rng):
    write_cifar10(tmp_path / "raw" / "cifar10", rng)
    prepare_dataset("cifar10", tmp_path)
    own = prepare_dataset("cifar10-t4", tmp_path, dtype="float16")
    assert own.stat().st_ino != (tmp_path / "prepared" / "cifar10.pt").stat().st_ino
    assert load_prepared(tmp_path, "cifar10-t4").train_x.dtype == torch.float16
    assert load_prepared(tmp_path, "cifar10").train_x.dtype == torch.float32  # the shared cache is untouched


@pytest.mark.parametrize("dataset_id", sorted(i for i, s in REGISTRY.items() if s.remotes))
def test_published_digests_have_their_real_format_and_sources_use_https(dataset_id):
    for remote in REGISTRY[dataset_id].remotes:
        assert remote.url.startswith("https://"), f"{dataset_id}: {remote.url} is not https"
        for algorithm in ("md5", "sha256"):
            digest = getattr(remote, algorithm)
            assert digest is None or HEX[algorithm].fullmatch(digest), f"{dataset_id}: bad {algorithm} {digest!r}"


def test_shd_is_checked_against_the_publishers_md5():
    assert all(remote.md5 for remote in REGISTRY["shd"].remotes)


def test_unpublished_digest_is_recorded_on_first_use_and_enforced_later(tmp_path, http_server, override_spec):
    url, files, _ = http_server
    files["/a.bin"] = b"first copy"
    spec = override_spec("ssc", remotes=(RemoteFile("a.bin", url + "/a.bin", extract=False),), markers=("a.bin",))
    folder = ensure_raw(spec, tmp_path)
    record = json.loads((folder / FIRST_USE_FILE).read_text())["a.bin"]
    assert record["trust"] == "first use" and record["url"] == url + "/a.bin"
    assert HEX["sha256"].fullmatch(record["sha256"])
    (folder / "a.bin").unlink()
    ensure_raw(spec, tmp_path)  # the same bytes again: accepted
    (folder / "a.bin").unlink()
    files["/a.bin"] = b"changed copy"
    with pytest.raises(ChecksumMismatchError, match="first use"):
        ensure_raw(spec, tmp_path)

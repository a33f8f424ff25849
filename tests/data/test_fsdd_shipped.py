"""FSDD shipped with the repository: digest, offline prepare, split, class balance, shipped = downloaded.

The fast tests use a subset archive of real recordings (4 per digit) cut from the shipped one and put in its
place with ``SHIPPED`` patched; the full 3 000-recording prepare is marked ``slow``.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from asgl.data import DataError, load_prepared, prepare_dataset, registry, shipped
from asgl.data.download import file_digest
from asgl.data.registry import RemoteFile
from asgl.data.speech import build_fsdd, fsdd_recordings, fsdd_split
from pipelines.stages import fetch as fetch_cli
from pipelines.stages import prepare as prepare_cli

from .formats import write_tone
from .shipped_archive import register_shipped_archive

ENTRY = shipped.SHIPPED["fsdd"]
FOLDER = shipped.REPO_ROOT / "datasets" / "fsdd"
SUBSET = [f"recordings/{d}_george_{i}.wav" for d in range(10) for i in (0, 4, 5, 49)]
ZIP_TOP = "free-spoken-digit-dataset-1.0.10"
TENSORS = ("train_x", "train_y", "test_x", "test_y")


def _names(archive: Path) -> list[str]:
    with tarfile.open(archive) as tar:
        return [m.name for m in tar.getmembers() if m.isfile()]


@pytest.fixture(scope="module")
def subset_wavs() -> dict[str, bytes]:
    """The bytes of the :data:`SUBSET` recordings, read from the shipped archive."""
    wanted, found = set(SUBSET), {}
    with tarfile.open(ENTRY.location(), "r|gz") as tar:  # one pass over the stream
        for member in tar:
            if member.name in wanted:
                found[member.name] = tar.extractfile(member).read()
    return {name: found[name] for name in SUBSET}


@pytest.fixture()
def shipped_subset(tmp_path, monkeypatch, subset_wavs):
    """A tar.gz of the subset in the shipped layout, registered as fsdd's shipped archive (absolute path)."""
    return register_shipped_archive(monkeypatch, "fsdd", tmp_path / "shipped" / "fsdd-subset.tar.gz", subset_wavs)


def _upstream_zip(wavs: dict[str, bytes]) -> bytes:
    """The GitHub release zip's layout: ``free-spoken-digit-dataset-1.0.10/recordings/<name>.wav``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in wavs.items():
            zf.writestr(f"{ZIP_TOP}/{name}", data)
    return buffer.getvalue()


def test_shipped_archive_matches_its_constant_readme_and_licence():
    assert ENTRY.location() == FOLDER / "fsdd-recordings.tar.gz"
    assert file_digest(ENTRY.location()) == ENTRY.sha256
    readme = (FOLDER / "README.md").read_text()
    assert re.findall(r"`([0-9a-f]{64})`", readme) == [ENTRY.sha256]
    licence = (shipped.REPO_ROOT / ENTRY.licence_file).read_text()
    assert "Attribution-ShareAlike 4.0" in licence and "creativecommons.org/licenses/by-sa/4.0" in licence


def test_fsdd_is_embedded_real_speech():
    spec = registry.get_spec("fsdd")
    assert spec.embedded and not spec.synthetic and shipped.is_shipped("fsdd")
    assert "fsdd" in registry.EMBEDDED_IDS and "fsdd" not in registry.REAL_IDS
    assert spec.remotes[0].url.endswith("v1.0.10.zip")  # the upstream path stays available


def test_split_and_class_balance_of_the_shipped_recordings(tmp_path):
    names = _names(ENTRY.location())
    assert len(names) == 3000 and all(n.startswith("recordings/") for n in names)
    for name in names:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).touch()
    split = fsdd_split(fsdd_recordings(tmp_path))
    for key, per_digit in (("test", 30), ("train", 270)):
        paths, labels = split[key]
        assert len(paths) == 10 * per_digit
        assert np.bincount(labels, minlength=10).tolist() == [per_digit] * 10
    assert all(int(p.stem.rsplit("_", 1)[1]) <= 4 for p in split["test"][0])
    assert all(int(p.stem.rsplit("_", 1)[1]) >= 5 for p in split["train"][0])


def test_prepare_from_a_fresh_root_without_network(tmp_path, shipped_subset, no_network):
    prepare_dataset("fsdd", tmp_path / "fresh", allow_download=False, time_steps=24)
    d = load_prepared(tmp_path / "fresh", "fsdd")
    assert d.train_x.shape == (20, 24, 32) and d.test_x.shape == (20, 24, 32)
    assert d.test_y.tolist() == sorted(list(range(10)) * 2) == d.train_y.tolist()
    assert d.manifest["embedded"] is True and d.manifest["synthetic"] is False
    assert torch.isfinite(d.train_x).all()


def test_shipped_fetch_and_download_give_identical_tensors(tmp_path, shipped_subset, subset_wavs, http_server,
                                                           override_spec):
    url, files, log = http_server
    files[f"/{ZIP_TOP}.zip"] = _upstream_zip(subset_wavs)
    prepare_dataset("fsdd", tmp_path / "shipped")  # embedded: the builder reads the shipped archive
    assert fetch_cli.main(["fsdd", "--data-root", str(tmp_path / "fetched")]) == 0
    assert sorted(p.name for p in (tmp_path / "fetched/raw/fsdd").iterdir()) == ["SOURCE.json", "recordings"]
    assert not log
    upstream = RemoteFile(f"{ZIP_TOP}.zip", f"{url}/{ZIP_TOP}.zip")
    override_spec("fsdd", remotes=(upstream,))
    assert fetch_cli.main(["fsdd", "--download", "--data-root", str(tmp_path / "downloaded")]) == 0
    assert [entry["path"] for entry in log] == [f"/{ZIP_TOP}.zip"]
    assert (tmp_path / f"downloaded/raw/fsdd/{ZIP_TOP}/recordings/0_george_0.wav").exists()
    override_spec("fsdd", embedded=False)  # read <root>/raw/fsdd as a downloaded dataset
    for root in ("fetched", "downloaded"):
        prepare_dataset("fsdd", tmp_path / root)
    reference = load_prepared(tmp_path / "shipped", "fsdd")
    for root in ("fetched", "downloaded"):
        other = load_prepared(tmp_path / root, "fsdd")
        for key in TENSORS:
            assert torch.equal(getattr(reference, key), getattr(other, key)), (root, key)


def test_tampered_or_missing_archive_is_refused_in_one_line(tmp_path, shipped_subset, monkeypatch, capsys):
    monkeypatch.setitem(shipped.SHIPPED, "fsdd", dataclasses.replace(shipped_subset, sha256="0" * 64))
    with pytest.raises(shipped.ShippedDataError, match="restore it from git"):
        prepare_dataset("fsdd", tmp_path)
    assert prepare_cli.main(["fsdd", "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and shipped_subset.path in err and "0" * 64 in err
    assert fetch_cli.main(["fsdd", "--data-root", str(tmp_path)]) == 2
    assert "restore it from git" in capsys.readouterr().err
    assert not (tmp_path / "prepared").exists() and not list((tmp_path / "raw/fsdd").glob("recordings"))
    monkeypatch.setitem(shipped.SHIPPED, "fsdd", dataclasses.replace(shipped_subset, path=str(tmp_path / "gone")))
    with pytest.raises(DataError, match=r"missing; restore it from git .* --download"):
        shipped.verified_archive("fsdd")


def test_fetch_replaces_an_older_shipped_copy_but_keeps_files_supplied_by_hand(tmp_path, shipped_subset):
    old = tmp_path / "old/raw/fsdd"
    for name in ("0_george_0.wav", "9_gone_7.wav"):
        (old / "recordings").mkdir(parents=True, exist_ok=True)
        (old / "recordings" / name).write_bytes(b"older copy")
    note = {"source": "shipped with the repository", "sha256": "f" * 64, "extracted": ["recordings"]}
    (old / shipped.SOURCE_NOTE).write_text(json.dumps(note))
    assert fetch_cli.main(["fsdd", "--data-root", str(tmp_path / "old")]) == 0
    assert sorted(p.name for p in (old / "recordings").iterdir()) == sorted(Path(n).name for n in SUBSET)
    assert json.loads((old / shipped.SOURCE_NOTE).read_text())["sha256"] == shipped_subset.sha256
    by_hand = tmp_path / "by-hand/raw/fsdd/recordings/0_theo_0.wav"
    by_hand.parent.mkdir(parents=True)
    by_hand.write_bytes(b"supplied")
    assert fetch_cli.main(["fsdd", "--data-root", str(tmp_path / "by-hand")]) == 0
    assert [p.name for p in by_hand.parent.parent.iterdir()] == ["recordings"] and by_hand.read_bytes() == b"supplied"


def test_two_copies_of_a_recording_are_refused(tmp_path, rng):
    for top in ("recordings", f"{ZIP_TOP}/recordings"):
        write_tone(tmp_path / top / "3_theo_7.wav", 8000, 0.1, 300, rng)
    with pytest.raises(DataError, match=r"second copy of 3_theo_7\.wav"):
        build_fsdd(tmp_path, registry.get_spec("fsdd").defaults)


@pytest.mark.slow
def test_full_prepare_offline_with_the_benchmark_settings(tmp_path, no_network):
    prepare_dataset("fsdd", tmp_path, allow_download=False, time_steps=24)
    d = load_prepared(tmp_path, "fsdd")
    assert d.train_x.shape == (2700, 24, 32) and d.test_x.shape == (300, 24, 32)
    assert np.bincount(d.test_y.numpy()).tolist() == [30] * 10
    assert np.bincount(d.train_y.numpy()).tolist() == [270] * 10
    assert d.manifest["speakers"] == ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]

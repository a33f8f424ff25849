"""N-MNIST shipped with the repository: digest, decoding, framing, splits, offline prepare, refused archives.

The fast tests use a subset archive of real recordings (3 per digit from the training writers, every test
writer recording of digits 0 and 1) cut from the shipped one and registered in its place; the full prepare
is marked ``slow``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from asgl.data import load_prepared, prepare_dataset, registry, shipped
from asgl.data.download import file_digest
from asgl.data.errors import CorruptFileError, DataError
from asgl.data.nmnist import frame_events, read_events, read_labels, recordings, split_indices
from pipelines.stages import fetch as fetch_cli
from pipelines.stages import prepare as prepare_cli

from .shipped_archive import register_shipped_archive

ENTRY = shipped.SHIPPED["nmnist-small"]
FOLDER = shipped.REPO_ROOT / "datasets" / "nmnist-small"


def decode_by_hand(data: bytes) -> list[tuple[int, int, int, int]]:
    """(x, y, t µs, p) of every 5-byte event, written out from the format description (no overflow events)."""
    out = []
    for i in range(0, len(data), 5):
        b0, b1, b2, b3, b4 = data[i:i + 5]
        out.append((b0, b1, ((b2 & 0x7F) << 16) | (b3 << 8) | b4, b2 >> 7))
    return out


@pytest.fixture(scope="module")
def members() -> dict[str, bytes]:
    """Every file of the shipped archive, by name."""
    with tarfile.open(ENTRY.location(), "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def _labels(text: bytes) -> list[tuple[int, int]]:
    rows = [line.split() for line in text.decode().splitlines()[1:] if line.strip()]
    return [(int(a), int(b)) for a, b in rows]


@pytest.fixture()
def shipped_subset(tmp_path, monkeypatch, members):
    """A tar.gz of a subset in the shipped layout, registered as nmnist-small's shipped archive."""
    train = [r for d in range(10) for r in [r for r in _labels(members["nmnist-small/train1K.txt"]) if r[1] == d][:3]]
    test = [r for r in _labels(members["nmnist-small/test100.txt"]) if r[1] in (0, 1)]
    files = {f"nmnist-small/{s}.bs2": members[f"nmnist-small/{s}.bs2"] for s, _ in train + test}
    for name, rows in (("train1K.txt", train), ("test100.txt", test)):
        files[f"nmnist-small/{name}"] = ("#sample #class\r\n" + "".join(f"{s}\t{d}\r\n" for s, d in rows)).encode()
    entry = register_shipped_archive(monkeypatch, "nmnist-small", tmp_path / "shipped" / "nmnist-subset.tar.gz",
                                     files)
    return {"entry": entry, "train": train, "test": test}


def test_shipped_archive_matches_its_constant_readme_and_licence():
    assert ENTRY.location() == FOLDER / "nmnist-small.tar.gz"
    assert file_digest(ENTRY.location()) == ENTRY.sha256
    assert re.findall(r"`([0-9a-f]{64})`", (FOLDER / "README.md").read_text()) == [ENTRY.sha256]
    licence = (shipped.REPO_ROOT / ENTRY.licence_file).read_text()
    assert "Attribution-ShareAlike 4.0" in licence and "Orchard" in licence
    spec = registry.get_spec("nmnist-small")
    assert spec.embedded and not spec.synthetic and spec.modality == "events"


def test_tonic_reader_matches_the_bytes_decoded_by_hand(tmp_path, members):
    for name in ("nmnist-small/1.bs2", "nmnist-small/60100.bs2"):
        data = members[name]
        path = tmp_path / Path(name).name
        path.write_bytes(data)
        events = read_events(path)
        by_hand = decode_by_hand(data)
        assert len(events) == len(by_hand) == len(data) // 5
        assert [tuple(int(e[k]) for k in ("x", "y", "t", "p")) for e in events] == by_hand
        assert events["x"].max() < 34 and events["y"].max() < 34 and set(np.unique(events["p"])) == {0, 1}


def test_a_written_recording_decodes_and_frames_as_expected(tmp_path):
    # (x, y, t, p): an OFF event at t=0, ON events at 33, 0 and 100 000 µs, the last one at 2**23 - 1
    rows = [(0, 0, 0, 0), (33, 5, 0, 1), (1, 2, 100_000, 1), (33, 33, 2**23 - 1, 1)]
    data = b"".join(bytes([x, y, (p << 7) | (t >> 16), (t >> 8) & 0xFF, t & 0xFF]) for x, y, t, p in rows)
    path = tmp_path / "written.bs2"
    path.write_bytes(data)
    events = read_events(path)
    assert [tuple(int(e[k]) for k in ("x", "y", "t", "p")) for e in events] == rows
    frames = frame_events(events, 2)
    assert frames.shape == (2, 2, 34, 34) and frames.dtype == torch.uint8
    assert frames[0, 0, 0, 0] == 1 and frames[0, 1, 5, 33] == 1 and frames[0, 1, 2, 1] == 1
    assert int(frames.sum()) in (3, 4)  # tonic bins [t_first, t_last): the last event may fall outside
    small = frame_events(events, 1, size=17)
    assert small.shape == (1, 2, 17, 17) and small[0, 1, 2, 16] == 1 and small[0, 1, 1, 0] == 1


def test_bad_recordings_and_label_files_are_named(tmp_path):
    (tmp_path / "short.bs2").write_bytes(b"\x00" * 7)
    with pytest.raises(CorruptFileError, match=r"short\.bs2.*5-byte events"):
        read_events(tmp_path / "short.bs2")
    with pytest.raises(CorruptFileError, match=r"missing\.bs2"):
        read_events(tmp_path / "missing.bs2")
    (tmp_path / "labels.txt").write_text("#sample #class\n1\tseven\n")
    with pytest.raises(CorruptFileError, match=r"labels\.txt.*line 2"):
        read_labels(tmp_path / "labels.txt")
    with pytest.raises(DataError, match="split='random'"):
        split_indices("random", {"train": [], "test": []}, 0.25, 0)


def test_split_and_class_balance_of_the_shipped_recordings(tmp_path, members):
    for name in ("train1K.txt", "test100.txt"):
        (tmp_path / name).write_bytes(members[f"nmnist-small/{name}"])
    parts = recordings(tmp_path)
    assert len(parts["train"]) == 1000 and len(parts["test"]) == 100
    labels = np.array([d for _, d in parts["train"] + parts["test"]])
    train, test = split_indices("stratified", parts, 0.25, 0)
    assert len(train) == 825 and len(test) == 275 and not set(train) & set(test)
    per_class = np.bincount(labels, minlength=10)
    assert np.bincount(labels[test], minlength=10).tolist() == [round(n * 0.25) for n in per_class]
    assert (np.bincount(labels[train], minlength=10) >= 60).all()
    train, test = split_indices("writers", parts, 0.25, 0)
    ids = [p.stem for p, _ in parts["train"] + parts["test"]]
    assert {int(ids[i]) for i in test} == set(range(60001, 60101))
    assert {int(ids[i]) for i in train} == set(range(1, 1001))


def test_prepare_from_a_fresh_root_without_network(tmp_path, shipped_subset, no_network):
    prepare_dataset("nmnist-small", tmp_path / "fresh", allow_download=False, time_steps=3, size=17)
    d = load_prepared(tmp_path / "fresh", "nmnist-small")
    n = len(shipped_subset["train"]) + len(shipped_subset["test"])
    assert d.train_x.shape[1:] == (3, 2, 17, 17) and len(d.train_x) + len(d.test_x) == n
    assert d.train_x.dtype == torch.uint8 and int(d.train_x.sum()) > 0
    assert d.manifest["embedded"] is True and d.manifest["synthetic"] is False
    assert d.manifest["layout"] == "N,T,2,H,W"
    prepare_dataset("nmnist-writers", tmp_path / "fresh", allow_download=False)
    w = load_prepared(tmp_path / "fresh", "nmnist-writers")
    assert len(w.test_y) == len(shipped_subset["test"]) and set(w.test_y.tolist()) == {0, 1}
    assert sorted(int(i) for i in w.manifest["test_ids"]) == sorted(s for s, _ in shipped_subset["test"])


def test_fetch_unpacks_offline_and_download_is_refused(tmp_path, shipped_subset, no_network, capsys):
    assert fetch_cli.main(["nmnist-small", "--data-root", str(tmp_path)]) == 0
    folder = tmp_path / "raw/nmnist-small"
    assert (folder / "nmnist-small/train1K.txt").is_file()
    assert json.loads((folder / shipped.SOURCE_NOTE).read_text())["sha256"] == shipped_subset["entry"].sha256
    assert fetch_cli.main(["nmnist-writers", "--data-root", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "raw/nmnist-writers/SHARED.json").read_text())["shares"] == "nmnist-small"
    capsys.readouterr()
    assert fetch_cli.main(["nmnist-small", "--download", "--data-root", str(tmp_path)]) != 0
    assert capsys.readouterr().err.count("\n") == 1


def test_tampered_or_missing_archive_is_refused_in_one_line(tmp_path, shipped_subset, monkeypatch, capsys):
    entry = shipped_subset["entry"]
    monkeypatch.setitem(shipped.SHIPPED, "nmnist-small", dataclasses.replace(entry, sha256="0" * 64))
    assert prepare_cli.main(["nmnist-small", "--data-root", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and entry.path in err and "0" * 64 in err and "restore it from git" in err
    assert not (tmp_path / "prepared").exists()
    monkeypatch.setitem(shipped.SHIPPED, "nmnist-small", dataclasses.replace(entry, path=str(tmp_path / "gone.tgz")))
    assert fetch_cli.main(["nmnist-small", "--data-root", str(tmp_path / "other")]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "gone.tgz is missing" in err and "--download" not in err


@pytest.mark.slow
def test_full_prepare_offline_with_the_defaults(tmp_path, no_network):
    prepare_dataset("nmnist-small", tmp_path, allow_download=False)
    d = load_prepared(tmp_path, "nmnist-small")
    assert d.train_x.shape == (825, 3, 2, 34, 34) and d.test_x.shape == (275, 3, 2, 34, 34)
    assert np.bincount(d.test_y.numpy(), minlength=10).min() >= 22

"""HTTP download: resume via Range, checksum verification, mismatch, no network."""

from __future__ import annotations

import hashlib

import pytest

from asgl.data.download import download
from asgl.data.errors import ChecksumMismatchError, DatasetUnavailableError

PAYLOAD = bytes(range(256)) * 400


def test_full_download_verifies_md5_and_sha256(http_server, tmp_path):
    url, files, log = http_server
    files["/a.bin"] = PAYLOAD
    dest = tmp_path / "a.bin"
    sha = download(url + "/a.bin", dest, dataset_id="x", expected=["a.bin"],
                   md5=hashlib.md5(PAYLOAD).hexdigest(), sha256=hashlib.sha256(PAYLOAD).hexdigest())
    assert dest.read_bytes() == PAYLOAD and sha == hashlib.sha256(PAYLOAD).hexdigest()
    assert log[-1]["range"] is None


def test_resume_sends_range_and_appends(http_server, tmp_path):
    url, files, log = http_server
    files["/a.bin"] = PAYLOAD
    dest = tmp_path / "a.bin"
    (tmp_path / "a.bin.part").write_bytes(PAYLOAD[:1000])
    download(url + "/a.bin", dest, dataset_id="x", expected=["a.bin"], md5=hashlib.md5(PAYLOAD).hexdigest())
    assert log[-1]["range"] == "bytes=1000-"
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "a.bin.part").exists()


def test_complete_part_file_is_accepted(http_server, tmp_path):
    url, files, _ = http_server
    files["/a.bin"] = PAYLOAD
    (tmp_path / "a.bin.part").write_bytes(PAYLOAD)
    download(url + "/a.bin", tmp_path / "a.bin", dataset_id="x", expected=["a.bin"],
             sha256=hashlib.sha256(PAYLOAD).hexdigest())
    assert (tmp_path / "a.bin").read_bytes() == PAYLOAD


def test_checksum_mismatch_leaves_nothing(http_server, tmp_path):
    url, files, _ = http_server
    files["/a.bin"] = PAYLOAD
    with pytest.raises(ChecksumMismatchError, match=r"a\.bin"):
        download(url + "/a.bin", tmp_path / "a.bin", dataset_id="x", expected=["a.bin"], md5="0" * 32)
    assert list(tmp_path.iterdir()) == []


def test_no_network_gives_clear_error(closed_port_url, tmp_path):
    with pytest.raises(DatasetUnavailableError) as info:
        download(closed_port_url, tmp_path / "f.bin", dataset_id="shd", expected=["f.bin", "g.bin"], timeout=5)
    msg = str(info.value)
    assert "shd" in msg and closed_port_url in msg and "f.bin, g.bin" in msg and str(tmp_path) in msg
    assert "\n" not in msg


def test_http_404_is_unavailable(http_server, tmp_path):
    url, _, _ = http_server
    with pytest.raises(DatasetUnavailableError, match="404"):
        download(url + "/nope", tmp_path / "n.bin", dataset_id="x", expected=["n.bin"])

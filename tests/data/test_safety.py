"""Archive traversal refusal and the restricted unpickler."""

from __future__ import annotations

import io
import os
import pickle
import tarfile
import zipfile

import numpy as np
import pytest

from asgl.data.archive import safe_extract
from asgl.data.errors import CorruptFileError, UnsafeArchiveError, UnsafePickleError
from asgl.data.safe_pickle import load_pickle, restricted_loads


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name, data=b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name, target, kind):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


@pytest.mark.parametrize("member", [
    _file("../evil.txt"), _file("/abs/evil.txt"), _file("ok/../../evil.txt"),
    _link("lnk", "/etc/passwd", tarfile.SYMTYPE), _link("lnk", "../../outside", tarfile.SYMTYPE),
    _link("hard", "../outside", tarfile.LNKTYPE),
])
def test_tar_traversal_refused(tmp_path, member):
    archive = _tar(tmp_path / "bad.tar.gz", [_file("fine.txt"), member])
    target = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError):
        safe_extract(archive, target)
    assert not (tmp_path / "evil.txt").exists()
    assert not (target / "fine.txt").exists()  # validation happens before anything is written


def test_tar_device_refused(tmp_path):
    info = tarfile.TarInfo("dev")
    info.type = tarfile.CHRTYPE
    archive = _tar(tmp_path / "dev.tar.gz", [(info, None)])
    with pytest.raises(UnsafeArchiveError, match="device"):
        safe_extract(archive, tmp_path / "out")


def test_zip_traversal_refused(tmp_path):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("good.txt", "ok")
        zf.writestr("../evil.txt", "boom")
    with pytest.raises(UnsafeArchiveError):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


def test_zip_symlink_refused(tmp_path):
    archive = tmp_path / "link.zip"
    info = zipfile.ZipInfo("link")
    info.external_attr = (0o120777 << 16)
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(UnsafeArchiveError):
        safe_extract(archive, tmp_path / "out")


def test_good_archives_extract(tmp_path):
    archive = _tar(tmp_path / "ok.tar.gz", [_file("a/b.txt", b"hello"), _link("a/l", "b.txt", tarfile.SYMTYPE)])
    safe_extract(archive, tmp_path / "out")
    assert (tmp_path / "out/a/b.txt").read_bytes() == b"hello"
    assert os.path.islink(tmp_path / "out/a/l")


def test_truncated_archive_is_corrupt(tmp_path):
    archive = _tar(tmp_path / "ok.tar.gz", [_file("a.bin", os.urandom(50_000))])
    archive.write_bytes(archive.read_bytes()[:2000])
    with pytest.raises(CorruptFileError, match=r"ok\.tar\.gz"):
        safe_extract(archive, tmp_path / "out")


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_unpickler_refuses_os_system():
    with pytest.raises(UnsafePickleError, match="system"):
        restricted_loads(pickle.dumps(_Evil(), protocol=2))


def test_unpickler_refuses_eval_builtin():
    payload = pickle.dumps({"k": 1}).replace(b"builtins", b"builtins")
    evil = b"cbuiltins\neval\n(S'1+1'\ntR."
    assert restricted_loads(payload) == {"k": 1}
    with pytest.raises(UnsafePickleError, match="eval"):
        restricted_loads(evil)


def test_unpickler_accepts_cifar_like_batch(tmp_path):
    obj = {b"data": np.arange(12, dtype=np.uint8).reshape(2, 6), b"labels": [1, 2], b"name": b"x"}
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps(obj, protocol=2))
    out = load_pickle(path)
    assert np.array_equal(out[b"data"], obj[b"data"]) and out[b"labels"] == [1, 2]


def test_truncated_pickle_is_corrupt(tmp_path):
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps({b"data": np.zeros(1000)}, protocol=2)[:100])
    with pytest.raises(CorruptFileError, match="batch"):
        load_pickle(path)

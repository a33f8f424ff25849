"""A shipped archive made for one test: what the shipped-data tests of N-MNIST and FSDD share."""

from __future__ import annotations

import dataclasses
import io
import tarfile
from pathlib import Path


def register_shipped_archive(monkeypatch, dataset_id: str, archive: Path, files: dict[str, bytes]):
    """Write ``files`` (member name → bytes) as the tar.gz ``archive`` and register it, with its sha256, as the
    shipped archive of ``dataset_id`` for this test; returns the registered :class:`asgl.data.shipped` entry."""
    from asgl.data import shipped
    from asgl.data.download import file_digest

    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    entry = dataclasses.replace(shipped.SHIPPED[dataset_id], path=str(archive), sha256=file_digest(archive))
    monkeypatch.setitem(shipped.SHIPPED, dataset_id, entry)
    return entry

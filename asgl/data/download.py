"""HTTP download with resume (``Range``) and md5/sha256 verification, standard library only.

A download goes to ``<dest>.part``; an interrupted run resumes from the bytes already there. The file is
renamed to ``dest`` only after its digest matches, so ``dest`` is never a partial file.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path

from asgl.data.errors import ChecksumMismatchError, DatasetUnavailableError

CHUNK = 1 << 20
USER_AGENT = "asgl-bench-data/0.1"


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def verify_file(path: Path, md5: str | None = None, sha256: str | None = None) -> str:
    """Check ``path`` against the given digests; return its sha256. Raises :class:`ChecksumMismatchError`."""
    actual_sha = file_digest(path, "sha256")
    if sha256 and actual_sha != sha256.lower():
        raise ChecksumMismatchError(path, "sha256", sha256, actual_sha)
    if md5:
        actual_md5 = file_digest(path, "md5")
        if actual_md5 != md5.lower():
            raise ChecksumMismatchError(path, "md5", md5, actual_md5)
    return actual_sha


def _open(url: str, start: int, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if start:
        request.add_header("Range", f"bytes={start}-")
    return urllib.request.urlopen(request, timeout=timeout)


def download(url: str, dest: Path, *, dataset_id: str, expected: list[str], md5: str | None = None,
             sha256: str | None = None, timeout: float = 30.0) -> str:
    """Download ``url`` to ``dest`` (resuming ``dest.part``), verify it and return its sha256.

    Raises :class:`DatasetUnavailableError` for any network failure (naming the dataset, URL, the files
    expected and the folder to put them in) and :class:`ChecksumMismatchError` for a bad digest (the
    partial file is removed so the next run starts clean).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.exists() else 0
    try:
        try:
            response = _open(url, start, timeout)
        except urllib.error.HTTPError as exc:
            if exc.code != 416 or not start:  # 416: the .part already holds the whole file
                raise
            response = None
        if response is not None:
            with response:
                resumed = start and response.status == 206
                mode = "ab" if resumed else "wb"
                with open(part, mode) as out:
                    for block in iter(lambda: response.read(CHUNK), b""):
                        out.write(block)
    except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DatasetUnavailableError(dataset_id, url, expected, dest.parent, str(reason)) from None
    try:
        digest = verify_file(part, md5=md5, sha256=sha256)
    except ChecksumMismatchError as exc:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
        raise ChecksumMismatchError(dest, exc.algorithm, exc.expected, exc.actual) from None
    os.replace(part, dest)
    return digest


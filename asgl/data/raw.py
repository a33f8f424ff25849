"""Raw-file stage: make ``<data_root>/raw/<id>/`` hold the files a builder reads.

If every marker glob of the spec already matches, nothing is downloaded (files you already have win).
Otherwise each remote file is taken from the folder (verified) or downloaded (resumed, verified), then
extracted safely; nested per-class archives are extracted too.

A remote without a published digest is verified by trust on first use: the sha256 of the first copy seen is
written to ``FIRST_USE_FILE`` in the raw folder (with the URL and the date), and a later copy with another
digest is refused with :class:`ChecksumMismatchError`. This detects a changed or damaged file, not a file that
was already wrong the first time.

An entry that ``shares`` another's data reads the other's raw folder.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from asgl.data.archive import safe_extract
from asgl.data.download import download, file_digest, verify_file
from asgl.data.errors import ChecksumMismatchError, CorruptFileError, DatasetUnavailableError
from asgl.data.registry import DatasetSpec, RemoteFile, get_spec
from asgl.data.shipped import SHIPPED, ShippedDataError, extract_shipped, is_shipped, read_note
from asgl.io import atomic_write_json

DIGEST_CACHE = ".sha256.json"
FIRST_USE_FILE = "first-use-digests.json"


def raw_dir(data_root: str | Path, dataset_id: str) -> Path:
    """``<data_root>/raw/<id>``."""
    return Path(data_root) / "raw" / dataset_id


def data_source(spec: DatasetSpec) -> DatasetSpec:
    """The spec whose raw files ``spec`` reads: the shared entry's, or ``spec`` itself."""
    return get_spec(spec.shares) if spec.shares else spec


def check_first_use(folder: Path, remote: RemoteFile, sha256: str) -> None:
    """Record ``sha256`` for an unpublished remote the first time; afterwards require the same digest."""
    record_path = folder / FIRST_USE_FILE
    try:
        records = json.loads(record_path.read_text())
    except (OSError, ValueError):
        records = {}
    known = records.get(remote.filename)
    if known is not None:
        if known.get("sha256") != sha256:
            raise ChecksumMismatchError(folder / remote.filename, "sha256 (recorded on first use in "
                                        f"{record_path.name})", str(known.get("sha256")), sha256)
        return
    records[remote.filename] = {"sha256": sha256, "url": remote.url, "trust": "first use",
                                "recorded": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    atomic_write_json(record_path, records)


def reads_raw_files(spec: DatasetSpec) -> bool:
    """False only for an id generated locally (embedded and not shipped); every other id is built from
    ``raw/<id>/`` (a shipped one after its archive is unpacked there)."""
    return not spec.embedded or data_source(spec).id in SHIPPED


def markers_present(spec: DatasetSpec, folder: Path) -> bool:
    """True when every marker glob of ``spec`` matches at least one path under ``folder``."""
    return bool(spec.markers) and all(next(folder.glob(m), None) is not None for m in spec.markers)


def ensure_raw(spec: DatasetSpec, data_root: str | Path, *, allow_download: bool = True,
               timeout: float = 30.0) -> Path:
    """Return the raw folder of ``spec`` once its markers are present, downloading/extracting if needed.

    Raises :class:`DatasetUnavailableError` (no network, downloads disabled, archive without the expected
    files), :class:`ChecksumMismatchError` and :class:`CorruptFileError`. For an entry that shares another's
    data, the other's folder is returned.
    """
    spec = data_source(spec)
    folder = raw_dir(data_root, spec.id)
    downloaded = any((folder / r.filename).exists() for r in spec.remotes)
    if spec.embedded and spec.id in SHIPPED and not downloaded and (is_shipped(spec.id) or not spec.remotes):
        return fetch_shipped(spec, data_root)  # the verified archive in the repository, no network
    if markers_present(spec, folder):
        return folder
    for remote in spec.remotes:
        path = folder / remote.filename
        if path.exists() and not path.is_file():
            raise CorruptFileError(path, f"expected the downloaded file {remote.filename}")
        if path.exists():
            digest = verify_file(path, md5=remote.md5, sha256=remote.sha256)
        elif allow_download:
            digest = download(remote.url, path, dataset_id=spec.id, expected=spec.expected_files,
                              md5=remote.md5, sha256=remote.sha256, timeout=timeout)
        else:
            raise DatasetUnavailableError(spec.id, None, spec.expected_files, folder, "downloads disabled")
        if not (remote.md5 or remote.sha256):
            check_first_use(folder, remote, digest)
        if remote.extract:
            safe_extract(path, folder / remote.extract_to)
    for pattern in spec.nested_archives:
        for nested in sorted(folder.glob(pattern)):
            safe_extract(nested, nested.parent)
    if not markers_present(spec, folder):
        raise DatasetUnavailableError(spec.id, None, list(spec.markers), folder,
                                      "the raw files do not contain the expected layout")
    return folder


def fetch_shipped(spec: DatasetSpec, data_root: str | Path) -> Path:
    """Make ``<data_root>/raw/<id>/`` hold the shipped files of ``spec``, with no network; return the folder.

    Files already there whose markers match are kept (a download or a copy supplied by hand wins, as for any
    dataset), unless its ``SOURCE.json`` says they were unpacked from a shipped archive with another sha256:
    that older copy is removed and the current archive, verified, is unpacked in its place. A missing or
    changed archive raises :class:`asgl.data.shipped.ShippedDataError` naming the file.
    """
    entry = SHIPPED[spec.id]
    folder = raw_dir(data_root, spec.id)
    note = read_note(folder)
    stale = note.get("source") == "shipped with the repository" and note.get("sha256") != entry.sha256
    if stale:
        for name in note.get("extracted", []):
            if name and PurePosixPath(name).name == name and name not in (".", ".."):
                shutil.rmtree(folder / name, ignore_errors=True)
    elif markers_present(spec, folder):
        return folder
    extract_shipped(spec.id, folder)
    if not markers_present(spec, folder):
        raise ShippedDataError(f"shipped archive {entry.location()} does not hold {', '.join(spec.markers)}; "
                               f"restore it from git (git restore {entry.path})")
    return folder


def _cached_sha256(path: Path, cache: dict[str, Any]) -> str:
    st = path.stat()
    key = f"{path.name}:{st.st_size}:{st.st_mtime_ns}"
    if key not in cache:
        cache[key] = file_digest(path)
    return cache[key]


def source_checksums(spec: DatasetSpec, folder: Path) -> dict[str, Any]:
    """Checksums identifying the raw data: sha256 of each downloaded archive present (with the published
    digest, None where none is known), or — for a folder supplied without its archives — a sha256 over the
    sorted list of (relative path, size) of every file. Digests are memoised in ``.sha256.json``."""
    if not reads_raw_files(spec):
        return {}
    cache_path = folder / DIGEST_CACHE
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    before = dict(cache)
    out: dict[str, Any] = {}
    for remote in spec.remotes:
        path = folder / remote.filename
        if path.exists():
            out[remote.filename] = {"sha256": _cached_sha256(path, cache),
                                    "published": remote.sha256 or remote.md5, "url": remote.url}
    if not out:
        h = hashlib.sha256()
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
            h.update(f"{path.relative_to(folder).as_posix()}\t{path.stat().st_size}\n".encode())
        out["listing"] = {"sha256": h.hexdigest(), "published": None, "url": None}
    if cache != before:
        atomic_write_json(cache_path, cache)
    return out

"""Raw data shipped inside the repository (``datasets/<id>/``): locate it, verify it, extract it.

A shipped dataset needs no network. Its archive sits in the source tree next to its licence; the archive's
sha256 is a constant here, so a changed or damaged file is refused before use (the remedy: restore it from
git). Extraction goes through :func:`asgl.data.archive.safe_extract` into ``<data_root>/raw/<id>/``, the
same folder a download would fill, so a builder cannot tell where its files came from.

:data:`SHIPPED` is static: which ids ship an archive does not depend on the checkout, and this module
imports neither the registry nor :mod:`asgl.data.raw` (which unpacks a shipped archive into the raw folder,
:func:`asgl.data.raw.fetch_shipped`). A builder called without a raw folder (``pipelines.commands.plan``) reads
:func:`shipped_files`, the same verified archive unpacked into a temporary folder.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from asgl.data.archive import safe_extract
from asgl.data.download import file_digest
from asgl.data.errors import DataError
from asgl.io import atomic_write_json

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_NOTE = "SOURCE.json"


class ShippedDataError(DataError):
    """The shipped archive is missing or does not match its recorded sha256."""


@dataclass(frozen=True)
class ShippedArchive:
    """One archive in the source tree. ``path``: relative to the repository root; ``sha256``: its digest;
    ``has_upstream``: the dataset can also be downloaded (``pipelines.stages.fetch <id> --download``)."""

    dataset_id: str
    path: str
    sha256: str
    licence_file: str
    has_upstream: bool = False

    def location(self, root: Path = REPO_ROOT) -> Path:
        return Path(root) / self.path


SHIPPED: dict[str, ShippedArchive] = {
    "fsdd": ShippedArchive(
        "fsdd", "datasets/fsdd/fsdd-recordings.tar.gz",
        "9076f86e44dcac4b769d320a6ea9fde244e2521a2609f8795475351c659437d0", "datasets/fsdd/LICENSE",
        has_upstream=True),
    "nmnist-small": ShippedArchive(
        "nmnist-small", "datasets/nmnist-small/nmnist-small.tar.gz",
        "40f2d8c37985271f437a6189bc205d1b4f90ca3b2ce4ad10160ba509f95e0f65", "datasets/nmnist-small/LICENSE"),
}


def is_shipped(dataset_id: str, root: Path = REPO_ROOT) -> bool:
    """True when ``dataset_id`` has an archive in :data:`SHIPPED` and that file exists under ``root``."""
    entry = SHIPPED.get(dataset_id)
    return entry is not None and entry.location(root).is_file()


def verified_archive(dataset_id: str, root: Path = REPO_ROOT) -> Path:
    """The shipped archive of ``dataset_id`` after checking its sha256; :class:`ShippedDataError` otherwise."""
    entry = SHIPPED.get(dataset_id)
    if entry is None:
        raise ShippedDataError(f"dataset {dataset_id!r} has no shipped archive; shipped ids: {', '.join(SHIPPED)}")
    path = entry.location(root)
    if not path.is_file():
        upstream = (f" or fetch the upstream files with `python -m pipelines.stages.fetch {dataset_id} --download`"
                    if entry.has_upstream else "")
        raise ShippedDataError(f"shipped archive {path} is missing; restore it from git "
                               f"(git restore {entry.path}){upstream}")
    actual = file_digest(path)
    if actual != entry.sha256:
        raise ShippedDataError(f"shipped archive {path} has sha256 {actual}, expected {entry.sha256}; "
                               f"it was changed or damaged: restore it from git (git restore {entry.path})")
    return path


def _top_level_names(archive: Path) -> list[str]:
    import tarfile

    with tarfile.open(archive) as tar:
        return sorted({PurePosixPath(name).parts[0] for name in tar.getnames() if PurePosixPath(name).parts})


def extract_shipped(dataset_id: str, target: str | Path, root: Path = REPO_ROOT) -> Path:
    """Verify the shipped archive of ``dataset_id``, extract it into ``target`` and leave a ``SOURCE.json``
    note there (archive path, sha256, licence file, the top-level names extracted); return ``target``."""
    archive = verified_archive(dataset_id, root)
    entry = SHIPPED[dataset_id]
    target = Path(target)
    safe_extract(archive, target)
    atomic_write_json(target / SOURCE_NOTE, {"dataset_id": dataset_id, "source": "shipped with the repository",
                                             "archive": entry.path, "sha256": entry.sha256,
                                             "licence": entry.licence_file, "extracted": _top_level_names(archive)})
    return target


def read_note(folder: Path) -> dict:
    """The ``SOURCE.json`` note in ``folder`` (``{}`` when absent or unreadable)."""
    try:
        note = json.loads((Path(folder) / SOURCE_NOTE).read_text())
    except (OSError, ValueError):
        return {}
    return note if isinstance(note, dict) else {}


@contextmanager
def shipped_files(dataset_id: str, root: Path = REPO_ROOT) -> Iterator[Path]:
    """A temporary folder holding the verified, extracted shipped files of ``dataset_id`` (removed on exit)."""
    folder = Path(tempfile.mkdtemp(prefix=f"asgl-{dataset_id}-"))
    try:
        yield extract_shipped(dataset_id, folder, root)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def raw_or_shipped(raw_dir: Path | None, dataset_id: str) -> Iterator[Path]:
    """``raw_dir`` itself, or when it is None (how :func:`asgl.data.prepare.prepare_dataset` calls an embedded
    id's builder) the verified shipped files of ``dataset_id`` in a temporary folder (:func:`shipped_files`)."""
    if raw_dir is not None:
        yield Path(raw_dir)
        return
    with shipped_files(dataset_id) as folder:
        yield folder

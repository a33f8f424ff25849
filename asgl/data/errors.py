"""Error types of the data layer; each carries a one-line, actionable message."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from asgl.errors import UserError


class DataError(UserError):
    """Base class: a dataset problem the user can fix; ``str(err)`` is a complete one-line explanation."""


class UnknownDatasetError(DataError, KeyError):
    """An id that is not in the registry."""

    def __init__(self, dataset_id: str, known: Sequence[str]):
        self.dataset_id = dataset_id
        super().__init__(f"unknown dataset id {dataset_id!r}; known ids: {', '.join(known)}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


def describe_path(path: Path) -> str:
    """What is at ``path``, in words: nothing, a file of n bytes, a folder of n entries, or a symlink to one."""
    path = Path(path)
    link = f"a symlink to {path.resolve()}, " if path.is_symlink() else ""
    if not path.exists():
        return f"{link}nothing (a broken symlink)" if link else "nothing"
    if path.is_dir():
        try:
            count = sum(1 for _ in path.iterdir())
        except OSError:
            count = "?"
        return f"{link}a folder of {count} entries"
    return f"{link}a file of {path.stat().st_size} bytes"


class DatasetUnavailableError(DataError):
    """The raw files are neither on disk nor downloadable."""

    def __init__(self, dataset_id: str, url: str | None, expected: Sequence[str], where: Path,
                 reason: str = ""):
        self.dataset_id, self.url, self.expected, self.where = dataset_id, url, list(expected), Path(where)
        tried = f"could not download {url}" if url else "no download source"
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"dataset {dataset_id!r} unavailable: {tried}{why}; expected files: {', '.join(expected)}; "
            f"found at {where}: {describe_path(where)}; download them by hand and put them in {where}/"
        )


class ChecksumMismatchError(DataError):
    """A file whose digest differs from the published one."""

    def __init__(self, path: Path, algorithm: str, expected: str, actual: str):
        self.path, self.algorithm, self.expected, self.actual = Path(path), algorithm, expected, actual
        super().__init__(
            f"checksum mismatch for {path}: {algorithm} {actual} != expected {expected}; "
            "delete the file and fetch it again (or replace it with an intact copy)"
        )


class CorruptFileError(DataError):
    """A raw file that exists but cannot be read (truncated, wrong format)."""

    def __init__(self, path: Path, detail: str):
        self.path = Path(path)
        found = describe_path(self.path)
        if self.path.is_dir():
            advice = (f"expected a file, found {found}; put the file itself there (or, for a folder of "
                      "recordings, its contents in the dataset's raw folder)")
        else:
            advice = f"found {found}; the file looks truncated or corrupted — delete it and fetch it again"
        super().__init__(f"cannot read {path}: {detail}; {advice}")


class UnsafeArchiveError(DataError):
    """An archive member that would escape the extraction folder or is not a regular file/folder."""


class UnsafePickleError(DataError):
    """A pickle that asks for something other than plain data."""

"""Safe extraction of zip, tar(.gz/.bz2/.xz) and single-file .gz archives.

Every member is checked before anything is written: absolute paths, ``..`` components, links (symbolic or
hard) whose target leaves the destination, and device/FIFO members are refused with
:class:`UnsafeArchiveError` naming the archive and the member.
"""

from __future__ import annotations

import gzip
import os
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from asgl.data.errors import CorruptFileError, UnsafeArchiveError


def _check_name(archive: Path, name: str) -> PurePosixPath:
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"{archive}: refusing absolute member path {name!r}")
    if ".." in posix.parts:
        raise UnsafeArchiveError(f"{archive}: refusing member path with '..': {name!r}")
    return posix


def _inside(target: Path, candidate: Path) -> bool:
    base = os.path.realpath(target)
    return os.path.commonpath([base, os.path.realpath(candidate)]) == base


def _check_tar(archive: Path, tar: tarfile.TarFile, target: Path) -> list[tarfile.TarInfo]:
    members = tar.getmembers()
    for m in members:
        rel = _check_name(archive, m.name)
        if m.ischr() or m.isblk() or m.isfifo() or m.isdev():
            raise UnsafeArchiveError(f"{archive}: refusing device/fifo member {m.name!r}")
        if m.issym():
            link_target = (target / rel.parent / m.linkname)
            if os.path.isabs(m.linkname) or not _inside(target, link_target):
                raise UnsafeArchiveError(
                    f"{archive}: refusing symlink {m.name!r} -> {m.linkname!r} outside target")
        if m.islnk():
            _check_name(archive, m.linkname)
            if not _inside(target, target / m.linkname):
                raise UnsafeArchiveError(
                    f"{archive}: refusing hardlink {m.name!r} -> {m.linkname!r} outside target")
    return members


def _check_zip(archive: Path, zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    infos = zf.infolist()
    for info in infos:
        _check_name(archive, info.filename)
        mode = info.external_attr >> 16
        if mode and (stat.S_ISLNK(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)):
            raise UnsafeArchiveError(f"{archive}: refusing link/device member {info.filename!r}")
    return infos


def safe_extract(archive: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Extract ``archive`` into ``target`` after validating every member; return ``target``.

    Supported: ``.zip``, ``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2``, ``.tar.xz`` and plain ``.gz`` (one
    file, written as the archive name without ``.gz``). Raises :class:`UnsafeArchiveError` for a
    dangerous member and :class:`CorruptFileError` for an unreadable archive.
    """
    archive, target = Path(archive), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    name = archive.name.lower()
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                for info in _check_zip(archive, zf):
                    zf.extract(info, target)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tar:
                members = _check_tar(archive, tar, target)
                tar.extractall(target, members=members, filter="tar")
        elif name.endswith(".gz"):
            out = target / archive.name[:-3]
            tmp = out.with_name(out.name + ".partial")
            with gzip.open(archive, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            os.replace(tmp, out)
        else:
            raise CorruptFileError(archive, "not a zip, tar or gzip archive")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, gzip.BadGzipFile, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise
        raise CorruptFileError(archive, f"archive unreadable ({type(exc).__name__}: {exc})") from None
    return target

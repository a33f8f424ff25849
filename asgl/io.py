"""Atomic file writing: a reader never sees a partial file, and a failed write leaves the old file intact.

Pattern: write to a temporary file in the destination folder, flush and ``fsync`` it, ``os.replace`` it over
the destination (atomic on POSIX), then ``fsync`` the folder so the rename itself survives a crash.

A process killed mid-write (SIGKILL, power loss) cannot remove its temporary file. Temporary names carry the
writer's PID (``.<name>.<pid>.<random>.tmp``), and the next write to the same destination removes those
whose writer no longer exists and that have not changed for :data:`STALE_AFTER_S` seconds (the age guard
keeps a write from another machine sharing the folder, whose PID means nothing here, safe).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from asgl.errors import UserError

STALE_AFTER_S = 600.0


class WriteError(OSError, UserError):
    """A write that could not complete; the destination was left as it was."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(dest: Path, now: float | None = None) -> list[Path]:
    """Delete ``dest``'s leftover temporary files from dead writers (see the module docstring); return them."""
    pattern = re.compile(rf"^\.{re.escape(dest.name)}\.(\d+)\.[^.]+\.tmp$")
    now = time.time() if now is None else now
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(dest.parent):
            match = pattern.match(entry.name)
            if not match or _pid_alive(int(match.group(1))):
                continue
            with contextlib.suppress(OSError):
                if now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER_S:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path`` for writing; on success it replaces ``path`` atomically.

    On any exception the temporary file is removed and ``path`` is untouched. A full disk surfaces as
    :class:`WriteError` naming the file.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open supports modes 'wb' and 'w', not {mode!r}")
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(dest)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.{os.getpid()}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise WriteError(exc.errno, f"{dest}: no space left on device; free space and rerun "
                             "(the previous version of the file is unchanged)") from exc
        raise
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


class _RecordingWriter:
    """A file handle that remembers the ``OSError`` its ``write`` raised (torch.save turns it into a
    ``RuntimeError`` such as "enforce fail ... unexpected pos", which would hide a full disk)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self._handle.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


def atomic_save(path: str | os.PathLike, save: Callable[[IO[bytes]], None]) -> None:
    """Call ``save(handle)`` on a temporary file and move it over ``path`` (e.g. ``lambda f: torch.save(obj, f)``).

    A write that fails inside ``save`` re-raises its ``OSError`` (so a full disk is a :class:`WriteError`) even
    when ``save`` wrapped it in another exception.
    """
    with atomic_open(path, "wb") as handle:
        writer = _RecordingWriter(handle)
        try:
            save(writer)  # type: ignore[arg-type]
        except Exception as exc:
            if writer.error is not None and exc is not writer.error:
                raise writer.error from exc
            raise

"""Atomic writes: leftovers of writers killed mid-write are removed by the next write, and nothing else is."""

import os
import subprocess
import sys
import time

from asgl.io import STALE_AFTER_S, atomic_write_text, remove_stale_temporaries


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _temporary(folder, name, pid, age_s):
    path = folder / f".{name}.{pid}.abc123xy.tmp"
    path.write_bytes(b"half a checkpoint")
    old = time.time() - age_s
    os.utime(path, (old, old))
    return path


def test_next_write_removes_old_temporaries_of_dead_writers(tmp_path):
    stale = _temporary(tmp_path, "checkpoint.pt", _dead_pid(), STALE_AFTER_S + 60)
    atomic_write_text(tmp_path / "checkpoint.pt", "new")
    assert not stale.exists()
    assert (tmp_path / "checkpoint.pt").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_live_writers_recent_files_and_other_destinations_are_kept(tmp_path):
    dead = _dead_pid()
    live = _temporary(tmp_path, "checkpoint.pt", os.getpid(), STALE_AFTER_S + 60)
    recent = _temporary(tmp_path, "checkpoint.pt", dead, 5)
    other = _temporary(tmp_path, "metrics.json", dead, STALE_AFTER_S + 60)
    unrelated = tmp_path / ".checkpoint.pt.notapid.tmp"
    unrelated.write_bytes(b"x")
    assert remove_stale_temporaries(tmp_path / "checkpoint.pt") == []
    assert live.exists() and recent.exists() and other.exists() and unrelated.exists()
    assert remove_stale_temporaries(tmp_path / "metrics.json") == [other]


def test_temporary_names_carry_the_writer_pid(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append(os.path.basename(src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    atomic_write_text(tmp_path / "a.json", "{}")
    assert seen and seen[0].startswith(f".a.json.{os.getpid()}.") and seen[0].endswith(".tmp")

"""Fault-injection helpers: subprocesses to kill, a slow local HTTP server, corrupting files, a full disk."""

from __future__ import annotations

import errno
import json
import os
import queue
import random
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch

from tests.http_ranges import send_range_headers

REPO = Path(__file__).resolve().parents[2]

# Metrics and history columns that measure time or memory, not results.
TIMING_METRICS = ("train_samples_per_s", "inference_samples_per_s", "train_peak_memory_bytes", "train_seconds")
TIMING_HISTORY = ("epoch_time_s", "train_samples_per_s")


class Proc:
    """A child ``python`` process whose stdout lines are read by a thread (so waiting can time out)."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
        self._err = open(log, "ab")  # noqa: SIM115  (closed in wait/kill)
        self.popen = subprocess.Popen([sys.executable, *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                                      stderr=self._err, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.popen.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def wait_for(self, text: str, timeout: float = 120.0) -> bool:
        """Block until a stdout line equals ``text`` (True) or the process ends first (False)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {text!r} within {timeout} s; stderr in {self.log}") from None
            if line is None:
                return False
            self.seen.append(line)
            if line == text:
                return True

    def kill(self) -> bool:
        """SIGKILL; True when the process was still running."""
        alive = self.popen.poll() is None
        if alive:
            self.popen.kill()
        self.popen.wait()
        self._err.close()
        return alive

    def wait(self, timeout: float = 300.0) -> int:
        code = self.popen.wait(timeout)
        while self.lines.get() is not None:
            pass
        self._err.close()
        return code

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")


def truncate(path: Path, fraction: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


def flip_bit(path: Path, seed: int) -> int:
    """Flip one bit at a position drawn with ``seed``; returns the byte offset."""
    data = bytearray(path.read_bytes())
    rng = random.Random(seed)
    offset = rng.randrange(len(data))
    data[offset] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))
    return offset


def one_line(message: str) -> bool:
    return "\n" not in message.strip() and "Traceback" not in message


def strip_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if k not in TIMING_METRICS}


def strip_history(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k not in TIMING_HISTORY} for row in rows]


def assert_same_tree(a: Any, b: Any, where: str = "") -> None:
    """Exact equality of nested dicts/lists of tensors and plain values."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for k in a:
            assert_same_tree(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_tree(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_same_run(reference: Path, run: Path) -> None:
    """Final weights, optimiser state, history and metrics of two run folders are identical (timing aside)."""
    from asgl.training.checkpoint import load_checkpoint

    ref, got = load_checkpoint(reference), load_checkpoint(run)
    assert got["epoch"] == ref["epoch"]
    for key in ("model", "optim"):
        assert_same_tree(ref[key], got[key], key)
    assert strip_history(ref["history"]) == strip_history(got["history"])
    metrics = [json.loads((d / "metrics.json").read_text()) for d in (reference, run)]
    assert strip_metrics(metrics[0]) == strip_metrics(metrics[1])


# ------------------------------------------------------------------ slow HTTP server


class _SlowHandler(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}
    log: ClassVar[list[dict]] = []
    settings: ClassVar[dict[str, Any]] = {}

    def do_GET(self):
        body = self.files.get(self.path)
        rng = self.headers.get("Range") if self.settings["ranges"] else None
        self.log.append({"path": self.path, "range": self.headers.get("Range")})
        start = send_range_headers(self, body, rng)
        if start is None:
            return
        chunk, delay = self.settings["chunk"], self.settings["delay"]
        try:
            for i in range(start, len(body), chunk):
                self.wfile.write(body[i:i + chunk])
                if delay:
                    time.sleep(delay)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


@pytest.fixture()
def slow_server():
    """(base URL, files, request log, settings): ``settings`` = chunk bytes, delay per chunk, ranges on/off."""
    handler = type("Handler", (_SlowHandler,), {"files": {}, "log": [],
                                                "settings": {"chunk": 1 << 16, "delay": 0.0, "ranges": True}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler.files, handler.log, handler.settings
    server.shutdown()
    server.server_close()


# ------------------------------------------------------------------ a full disk


class _FullFile:
    """A file object whose writes fail with ENOSPC once ``budget`` bytes went through."""

    def __init__(self, handle, budget: int) -> None:
        self._handle, self._left = handle, budget

    def write(self, data):
        if len(data) > self._left:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._left -= len(data)
        return self._handle.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._handle.__exit__(*exc)

    def __getattr__(self, name):
        return getattr(self._handle, name)


@pytest.fixture()
def full_disk(monkeypatch):
    """``full_disk(name_part, budget=0)``: writes through :mod:`asgl.io` to a file whose name contains
    ``name_part`` fail with ENOSPC after ``budget`` bytes (the temporary sibling's name contains it)."""
    import asgl.io

    real_fdopen = os.fdopen
    real_mkstemp = asgl.io.tempfile.mkstemp
    targets: dict[int, int] = {}
    rules: list[tuple[str, int]] = []

    def mkstemp(*args, **kwargs):
        fd, name = real_mkstemp(*args, **kwargs)
        for part, budget in rules:
            if part in Path(name).name:
                targets[fd] = budget
        return fd, name

    def fdopen(fd, *args, **kwargs):
        handle = real_fdopen(fd, *args, **kwargs)
        return _FullFile(handle, targets.pop(fd)) if fd in targets else handle

    monkeypatch.setattr(asgl.io.tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(asgl.io.os, "fdopen", fdopen)

    def arm(name_part: str, budget: int = 0) -> None:
        rules.append((name_part, budget))

    arm.rules = rules  # clear() frees the space
    return arm

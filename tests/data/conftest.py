"""Fixtures: a threaded local HTTP server with Range support, seeded RNG, a registry override helper."""

from __future__ import annotations

import dataclasses
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from asgl.data import registry
from tests.http_ranges import send_range_headers


class _Handler(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}
    log: ClassVar[list[dict]] = []

    def do_GET(self):
        body = self.files.get(self.path)
        rng = self.headers.get("Range")
        self.log.append({"path": self.path, "range": rng})
        start = send_range_headers(self, body, rng)
        if start is not None:
            self.wfile.write(body[start:])

    def log_message(self, *args):
        pass


@pytest.fixture()
def http_server():
    """(base URL, files dict to fill, request log); serves on 127.0.0.1 in a background thread."""
    handler = type("Handler", (_Handler,), {"files": {}, "log": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler.files, handler.log
    server.shutdown()
    server.server_close()


@pytest.fixture()
def closed_port_url():
    """A URL on a localhost port with nothing listening."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/missing.bin"


@pytest.fixture()
def rng():
    return np.random.default_rng(1234)


@pytest.fixture()
def override_spec(monkeypatch):
    """Replace fields of a registry spec for one test: ``override_spec("shd", remotes=(...))``."""

    def apply(dataset_id: str, **changes):
        spec = dataclasses.replace(registry.REGISTRY[dataset_id], **changes)
        monkeypatch.setitem(registry.REGISTRY, dataset_id, spec)
        return spec

    return apply


def prepared_files(root: Path) -> list[str]:
    folder = root / "prepared"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture()
def no_network(monkeypatch):
    """Any socket or download attempt fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("network used")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr("asgl.data.download.download", refuse)
    monkeypatch.setattr("asgl.data.raw.download", refuse)


"""The Range-request half of the test HTTP servers (tests/data and tests/faults): status line and headers."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler


def send_range_headers(handler: BaseHTTPRequestHandler, body: bytes | None, range_header: str | None) -> int | None:
    """Answer 404 (no body), 416 (start past the end), 206 with Content-Range, or 200; send the headers.

    Returns the byte offset the body must be written from, or None when no body is to be written.
    """
    if body is None:
        handler.send_error(404)
        return None
    start = int(range_header.split("=")[1].split("-")[0]) if range_header else 0
    if range_header and start >= len(body):
        handler.send_response(416)
        handler.end_headers()
        return None
    handler.send_response(206 if range_header else 200)
    if range_header:
        handler.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
    handler.send_header("Content-Length", str(len(body) - start))
    handler.end_headers()
    return start

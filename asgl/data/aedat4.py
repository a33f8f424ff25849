"""Reader for AEDAT 4.0 event files (the format of the CIFAR10-DVS ``.aedat4`` recordings).

Layout: ``#!AER-DAT4.0\\r\\n``; uint32 size + a size-prefixed flatbuffer ``IOHeader`` (identifier ``IOHE``:
compression enum, ``dataTablePosition`` int64, XML ``infoNode`` naming the streams); then packets of
``int32 streamId, int32 size`` + payload (compressed per the header: none, LZ4 frame; ZSTD needs the
``zstandard`` package). A decompressed event payload is a size-prefixed flatbuffer with identifier
``EVTS`` whose root table holds a vector of 16-byte ``Event`` structs ``(int64 t, int16 x, int16 y,
bool on, 3 pad)``. Packets end at ``dataTablePosition`` (or EOF when -1).
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from asgl.data.errors import CorruptFileError

MAGIC = b"#!AER-DAT4.0\r\n"
EVENT_STRUCT = np.dtype({"names": ["t", "x", "y", "p"], "formats": ["<i8", "<i2", "<i2", "u1"],
                         "offsets": [0, 8, 10, 12], "itemsize": 16})
OUT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("p", np.int8), ("t", np.int64)])
COMPRESSION = {0: "NONE", 1: "LZ4", 2: "LZ4_HIGH", 3: "ZSTD", 4: "ZSTD_HIGH"}


def _u32(buf: bytes, off: int) -> int:
    return struct.unpack_from("<I", buf, off)[0]


def _table_field(buf: bytes, table: int, field: int) -> int | None:
    """Absolute offset of ``field`` in the flatbuffer table at ``table``; None when absent."""
    vtable = table - struct.unpack_from("<i", buf, table)[0]
    vt_size = struct.unpack_from("<H", buf, vtable)[0]
    slot = 4 + 2 * field
    if slot >= vt_size:
        return None
    rel = struct.unpack_from("<H", buf, vtable + slot)[0]
    return table + rel if rel else None


def _root(buf: bytes, base: int = 0) -> int:
    return base + _u32(buf, base)


def parse_ioheader(buf: bytes) -> tuple[int, int, str]:
    """(compression code, data table position, info XML) from an IOHeader flatbuffer (no size prefix)."""
    table = _root(buf)
    f = _table_field(buf, table, 0)
    compression = struct.unpack_from("<i", buf, f)[0] if f is not None else 0
    f = _table_field(buf, table, 1)
    position = struct.unpack_from("<q", buf, f)[0] if f is not None else -1
    f = _table_field(buf, table, 2)
    info = ""
    if f is not None:
        s = f + _u32(buf, f)
        info = buf[s + 4: s + 4 + _u32(buf, s)].decode("utf-8")
    return compression, position, info


def _event_streams(info: str) -> dict[int, tuple[int, int]]:
    """{stream id: (sizeX, sizeY)} for every ``EVTS`` output described in the info XML."""
    root = ET.fromstring(info)
    streams = {}
    for out in root.iter("node"):
        if out.get("name") != "outInfo":
            continue
        for stream in out.findall("node"):
            attrs = {a.get("key"): a.text for a in stream.findall("attr")}
            if attrs.get("typeIdentifier") != "EVTS":
                continue
            info_node = {a.get("key"): a.text for n in stream.findall("node") for a in n.findall("attr")}
            streams[int(stream.get("name"))] = (int(info_node.get("sizeX", 0)), int(info_node.get("sizeY", 0)))
    return streams


def _decompress(payload: bytes, compression: int, path: Path) -> bytes:
    name = COMPRESSION.get(compression)
    if name == "NONE":
        return payload
    if name in ("LZ4", "LZ4_HIGH"):
        import lz4.frame

        return lz4.frame.decompress(payload)
    if name in ("ZSTD", "ZSTD_HIGH"):
        try:
            import zstandard
        except ImportError:
            raise CorruptFileError(path, "ZSTD-compressed aedat4 needs the 'zstandard' package") from None
        return zstandard.ZstdDecompressor().decompress(payload, max_output_size=1 << 30)
    raise CorruptFileError(path, f"unknown aedat4 compression code {compression}")


def _packet_events(buf: bytes) -> np.ndarray:
    if buf[8:12] != b"EVTS":
        raise ValueError(f"packet identifier {buf[8:12]!r} is not EVTS")
    table = _root(buf, 4)
    f = _table_field(buf, table, 0)
    if f is None:
        return np.empty(0, EVENT_STRUCT)
    vec = f + _u32(buf, f)
    n = _u32(buf, vec)
    return np.frombuffer(buf, EVENT_STRUCT, count=n, offset=vec + 4)


def read_aedat4(path: str | Path) -> tuple[np.ndarray, tuple[int, int]]:
    """(events as structured ``(x, y, p, t[µs])`` array sorted by t, (width, height)) of the first event stream.

    Raises :class:`CorruptFileError` for a wrong magic number, a truncated header/packet or a bad payload.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        if not data.startswith(MAGIC):
            raise ValueError("not an AEDAT 4.0 file (bad magic)")
        pos = len(MAGIC)
        size = _u32(data, pos)
        header = data[pos + 4: pos + 4 + size]
        if len(header) != size:
            raise ValueError("truncated IOHeader")
        compression, table_pos, info = parse_ioheader(header)
        streams = _event_streams(info)
        if not streams:
            raise ValueError("no event stream in the file description")
        target = min(streams)
        pos += 4 + size
        end = table_pos if table_pos >= 0 else len(data)
        chunks = []
        while pos < end:
            if pos + 8 > len(data):
                raise ValueError("truncated packet header")
            stream_id, length = struct.unpack_from("<iI", data, pos)
            payload = data[pos + 8: pos + 8 + length]
            if len(payload) != length:
                raise ValueError("truncated packet")
            pos += 8 + length
            if stream_id == target:
                chunks.append(_packet_events(_decompress(payload, compression, path)))
    except (ValueError, struct.error, ET.ParseError, RuntimeError) as exc:
        raise CorruptFileError(path, f"aedat4 unreadable ({exc})") from None
    raw = np.concatenate(chunks) if chunks else np.empty(0, EVENT_STRUCT)
    out = np.empty(len(raw), OUT_DTYPE)
    out["x"], out["y"], out["p"] = raw["x"], raw["y"], raw["p"] != 0
    out["t"] = raw["t"] - (raw["t"].min() if len(raw) else 0)
    return out[np.argsort(out["t"], kind="stable")], streams[target]

"""Writers of small files in the real on-disk formats of each dataset (test fixtures only)."""

from __future__ import annotations

import gzip
import pickle
import struct
import tarfile
from pathlib import Path

import h5py
import numpy as np
import soundfile as sf

# ---------------------------------------------------------------- AEDAT 4.0 (flatbuffers laid out by hand)


def _pad(buf: bytearray, align: int) -> None:
    buf.extend(b"\0" * (-len(buf) % align))


def ioheader_flatbuffer(info_xml: str, compression: int, data_table_position: int) -> bytes:
    """IOHeader flatbuffer with identifier IOHE: compression int32, dataTablePosition int64, infoNode string."""
    buf = bytearray(struct.pack("<I", 24) + b"IOHE")  # root table at 24
    buf += struct.pack("<HHHHH", 10, 20, 4, 8, 16)  # vtable: size, table size, field offsets
    _pad(buf, 8)
    assert len(buf) == 24
    buf += struct.pack("<iiqI", 24 - 8, compression, data_table_position, 44 - 40)
    text = info_xml.encode()
    buf += struct.pack("<I", len(text)) + text + b"\0"
    _pad(buf, 8)
    return bytes(buf)


def events_flatbuffer(t: np.ndarray, x: np.ndarray, y: np.ndarray, p: np.ndarray) -> bytes:
    """Size-prefixed EventPacket flatbuffer (identifier EVTS) of 16-byte Event structs."""
    body = bytearray(struct.pack("<I", 16) + b"EVTS")  # root table at 16
    body += struct.pack("<HHH", 6, 8, 4)
    _pad(body, 8)
    body += struct.pack("<iI", 16 - 8, 28 - 20)  # soffset to vtable, uoffset to vector (at 28)
    body += b"\0" * 4
    body += struct.pack("<I", len(t))
    ev = np.zeros(len(t), dtype=np.dtype({"names": ["t", "x", "y", "p"], "formats": ["<i8", "<i2", "<i2", "u1"],
                                          "offsets": [0, 8, 10, 12], "itemsize": 16}))
    ev["t"], ev["x"], ev["y"], ev["p"] = t, x, y, p
    body += ev.tobytes()
    return struct.pack("<I", len(body)) + bytes(body)


def info_xml(width: int = 128, height: int = 128) -> str:
    return (
        '<dv version="2.0"><node name="outInfo" path="/mainloop/Recorder/outInfo/">'
        '<node name="0" path="/mainloop/Recorder/outInfo/0/">'
        '<attr key="compression" type="string">LZ4</attr>'
        '<attr key="originalOutputName" type="string">events</attr>'
        '<attr key="typeIdentifier" type="string">EVTS</attr>'
        '<node name="info" path="/mainloop/Recorder/outInfo/0/info/">'
        f'<attr key="sizeX" type="int">{width}</attr><attr key="sizeY" type="int">{height}</attr>'
        '<attr key="source" type="string">DVS128</attr></node></node></node></dv>'
    )


def write_aedat4(path: Path, events: np.ndarray, *, compression: int = 1, packet_size: int = 500,
                 with_table: bool = True) -> None:
    """Write structured events (x, y, p, t µs) as AEDAT 4.0; compression 0 = none, 1 = LZ4 frame."""
    import lz4.frame

    packets = bytearray()
    for s in range(0, max(len(events), 1), packet_size):
        e = events[s:s + packet_size]
        payload = events_flatbuffer(e["t"], e["x"], e["y"], e["p"])
        if compression == 1:
            payload = lz4.frame.compress(payload)
        packets += struct.pack("<iI", 0, len(payload)) + payload
    header_len = len(ioheader_flatbuffer(info_xml(), compression, 0))
    start = 14 + 4 + header_len
    table_pos = start + len(packets) if with_table else -1
    header = ioheader_flatbuffer(info_xml(), compression, table_pos)
    trailer = b"FTAB-placeholder" if with_table else b""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"#!AER-DAT4.0\r\n" + struct.pack("<I", len(header)) + header + bytes(packets) + trailer)


def random_events(rng: np.random.Generator, n: int, size: int = 128, duration_us: int = 100_000) -> np.ndarray:
    ev = np.zeros(n, np.dtype([("x", np.int16), ("y", np.int16), ("p", np.int8), ("t", np.int64)]))
    ev["x"], ev["y"] = rng.integers(0, size, (2, n))
    ev["p"], ev["t"] = rng.integers(0, 2, n), np.sort(rng.integers(0, duration_us, n))
    return ev


# ---------------------------------------------------------------- CIFAR python batches


def write_cifar_batch(path: Path, rng: np.random.Generator, n: int, label_key: bytes, n_classes: int) -> np.ndarray:
    labels = rng.integers(0, n_classes, n)
    labels[:n_classes] = np.arange(n_classes)[:n]
    obj = {b"batch_label": b"test batch", label_key: labels.tolist(),
           b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"filenames": [b"x.png"] * n}
    if label_key == b"fine_labels":
        obj[b"coarse_labels"] = (labels // 5).tolist()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(obj, protocol=2))
    return labels


def write_cifar10(root: Path, rng: np.random.Generator, per_batch: int = 12) -> None:
    folder = root / "cifar-10-batches-py"
    for i in range(1, 6):
        write_cifar_batch(folder / f"data_batch_{i}", rng, per_batch, b"labels", 10)
    write_cifar_batch(folder / "test_batch", rng, per_batch, b"labels", 10)
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": names, b"num_vis": 3072}, protocol=2))


def tar_gz(folder: Path, out: Path, arcname: str) -> Path:
    with tarfile.open(out, "w:gz") as tar:
        tar.add(folder, arcname=arcname)
    return out


# ---------------------------------------------------------------- SHD / SSC HDF5


def write_hsd_h5(path: Path, rng: np.random.Generator, n: int, n_classes: int, keys: list[str] | None = None):
    """HDF5 in the SHD layout (vlen ``spikes/times`` float, ``spikes/units`` uint16, ``labels``), gzipped
    to ``<path>.gz`` when the path ends in ``.gz``."""
    h5_path = path.with_suffix("") if path.suffix == ".gz" else path
    labels = np.arange(n) % n_classes
    with h5py.File(h5_path, "w") as f:
        times = f.create_dataset("spikes/times", (n,), dtype=h5py.vlen_dtype(np.float32))
        units = f.create_dataset("spikes/units", (n,), dtype=h5py.vlen_dtype(np.uint16))
        for i in range(n):
            k = rng.integers(50, 300)
            times[i] = np.sort(rng.uniform(0, 1.2, k)).astype(np.float32)
            units[i] = (rng.integers(0, 100, k) + 60 * labels[i]).clip(0, 699).astype(np.uint16)
        f.create_dataset("labels", data=labels.astype(np.uint16))
        f.create_dataset("extra/speaker", data=np.zeros(n, np.uint16))
        if keys:
            f.create_dataset("extra/keys", data=np.array([k.encode() for k in keys]))
    if path.suffix == ".gz":
        with open(h5_path, "rb") as src, gzip.open(path, "wb") as dst:
            dst.write(src.read())
        h5_path.unlink()
    return labels


# ---------------------------------------------------------------- audio


def write_tone(path: Path, rate: int, seconds: float, freq: float, rng: np.random.Generator) -> None:
    t = np.arange(int(rate * seconds)) / rate
    wave = 0.5 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.normal(size=len(t))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wave.astype(np.float32), rate, subtype="PCM_16")

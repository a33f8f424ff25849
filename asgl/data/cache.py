"""Prepared-cache format: ``<data_root>/prepared/<id>.pt`` (tensors) + ``<id>.manifest.json``.

The ``.pt`` file is ``torch.save`` of a dict of tensors with keys ``train_x``, ``train_y``, ``test_x``,
``test_y`` (optionally ``val_x``, ``val_y``). Samples are sample-major: images ``[N, C, H, W]``, event
frames ``[N, T, 2, H, W]``, audio features / spike rasters ``[N, T, F]``; labels are int64 ``[N]``.
Both files are written atomically; the tensors first, the manifest last. The manifest records the sha256 of
the tensor file (``tensor_sha256``) and of its own content (``manifest_sha256``): a tensor file that does not
match its manifest (a bit flip, a truncation, a run killed between the two writes) is rebuilt by ``prepare``
and refused by :func:`load_prepared`; a damaged manifest counts as absent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asgl.data.download import file_digest
from asgl.data.errors import DataError
from asgl.io import atomic_save, atomic_write_json

if TYPE_CHECKING:  # annotations only: the functions that read or write tensors import torch, as fetch needs none
    import torch

TENSOR_KEYS = ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")
FORMAT_VERSION = 1


class CorruptCacheError(DataError):
    """A prepared tensor file that is damaged or does not match its manifest."""


@dataclass(frozen=True)
class PreparedData:
    """A prepared dataset: tensors (``x`` sample-major, ``y`` int64) and its manifest dict."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    manifest: dict[str, Any] = field(default_factory=dict)
    val_x: torch.Tensor | None = None
    val_y: torch.Tensor | None = None

    @property
    def num_classes(self) -> int:
        return len(self.manifest["class_names"])

    @property
    def time_steps(self) -> int | None:
        return self.manifest.get("time_steps")


def code_version() -> str:
    """sha256 (first 16 hex) over the source of every module in ``asgl/data`` — changes rebuild caches."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def cache_paths(data_root: str | Path, dataset_id: str) -> tuple[Path, Path]:
    """(tensor file, manifest file) of ``dataset_id`` under ``data_root/prepared``."""
    folder = Path(data_root) / "prepared"
    return folder / f"{dataset_id}.pt", folder / f"{dataset_id}.manifest.json"


def _manifest_digest(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def read_manifest(data_root: str | Path, dataset_id: str) -> dict[str, Any] | None:
    """The stored manifest, or None when absent, unreadable or not matching its own ``manifest_sha256``
    (required in any manifest :func:`write_prepared` wrote)."""
    _, manifest_path = cache_paths(data_root, dataset_id)
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    written_here = {"manifest_sha256", "tensor_sha256", "format_version"} & set(manifest)
    if written_here and manifest.get("manifest_sha256") != _manifest_digest(manifest):
        return None
    return manifest


def tensors_match(data_root: str | Path, dataset_id: str, manifest: dict[str, Any]) -> bool:
    """True when the tensor file exists and its sha256 is the manifest's ``tensor_sha256``."""
    pt_path, _ = cache_paths(data_root, dataset_id)
    digest = manifest.get("tensor_sha256")
    return bool(digest) and pt_path.exists() and file_digest(pt_path) == digest


def manifest_matches(stored: dict[str, Any] | None, wanted: dict[str, Any]) -> bool:
    """True when the stored manifest was built from the same params, sources, code and format."""
    if not stored:
        return False
    keys = ("dataset_id", "params", "source_checksums", "code_version", "format_version")
    return all(stored.get(k) == wanted.get(k) for k in keys)


def write_prepared(data_root: str | Path, dataset_id: str, tensors: dict[str, torch.Tensor],
                   manifest: dict[str, Any]) -> Path:
    """Validate and atomically write the tensor dict and its manifest; return the ``.pt`` path."""
    import torch

    unknown = set(tensors) - set(TENSOR_KEYS)
    missing = {"train_x", "train_y", "test_x", "test_y"} - set(tensors)
    if unknown or missing:
        raise ValueError(f"prepared tensors: unknown keys {sorted(unknown)}, missing {sorted(missing)}")
    for split in ("train", "val", "test"):
        if f"{split}_x" in tensors:
            x, y = tensors[f"{split}_x"], tensors[f"{split}_y"]
            if x.shape[0] != y.shape[0] or y.dtype != torch.int64:
                raise ValueError(f"{split}: {x.shape[0]} samples vs {y.shape[0]} int64 labels required")
    pt_path, manifest_path = cache_paths(data_root, dataset_id)
    manifest = dict(manifest, format_version=FORMAT_VERSION,
                    counts={k[:-2]: int(v.shape[0]) for k, v in tensors.items() if k.endswith("_y")},
                    dtypes={k: str(v.dtype).replace("torch.", "") for k, v in tensors.items()})
    contiguous = {k: v.contiguous() for k, v in tensors.items()}
    atomic_save(pt_path, lambda handle: torch.save(contiguous, handle))
    manifest = json.loads(json.dumps(dict(manifest, tensor_sha256=file_digest(pt_path))))
    manifest["manifest_sha256"] = _manifest_digest(manifest)
    atomic_write_json(manifest_path, manifest)
    return pt_path


def link_prepared(data_root: str | Path, source_id: str, dataset_id: str) -> Path:
    """Make ``dataset_id``'s cache the prepared tensors of ``source_id`` (hard link, else copy); return its
    ``.pt``. The manifest is ``source_id``'s with ``dataset_id`` and ``shares: source_id``."""
    source_pt, _ = cache_paths(data_root, source_id)
    target_pt, target_manifest = cache_paths(data_root, dataset_id)
    manifest = read_manifest(data_root, source_id)
    if manifest is None or not tensors_match(data_root, source_id, manifest):
        raise CorruptCacheError(f"{source_pt}: no intact prepared cache of {source_id!r} to share with "
                                f"{dataset_id!r}; run: python -m pipelines.stages.prepare {source_id}")
    temporary = target_pt.with_name(f".{target_pt.name}.{os.getpid()}.link")
    try:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        try:
            os.link(source_pt, temporary)
        except OSError:
            shutil.copyfile(source_pt, temporary)
        os.replace(temporary, target_pt)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    body.update(dataset_id=dataset_id, shares=source_id)
    body["manifest_sha256"] = _manifest_digest(body)
    atomic_write_json(target_manifest, body)
    return target_pt


def load_prepared(data_root: str | Path, dataset_id: str) -> PreparedData:
    """Load ``<data_root>/prepared/<id>.pt`` with ``weights_only=True`` plus its manifest.

    Raises FileNotFoundError (with the ``prepare`` command to run) when the cache is missing, and
    :class:`CorruptCacheError` when the tensor file is damaged or does not match the manifest.
    """
    import torch

    pt_path, _manifest_path = cache_paths(data_root, dataset_id)
    manifest = read_manifest(data_root, dataset_id)
    if manifest is None or not pt_path.exists():
        raise FileNotFoundError(f"no prepared cache for {dataset_id!r} under {pt_path.parent}; "
                                f"run: python -m pipelines.stages.prepare {dataset_id} --data-root {data_root}")
    rebuild = f"rebuild it: python -m pipelines.stages.prepare {dataset_id} --data-root {data_root} --force"
    if "tensor_sha256" in manifest and not tensors_match(data_root, dataset_id, manifest):
        raise CorruptCacheError(f"{pt_path}: prepared cache is truncated or corrupted (its sha256 differs from "
                                f"the manifest's); {rebuild}")
    try:
        tensors = torch.load(pt_path, map_location="cpu", weights_only=True)
    except (PermissionError, IsADirectoryError, FileNotFoundError):
        raise
    except Exception as exc:  # a damaged file can fail in any of the unpickler's steps (a seek: OSError EINVAL)
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        telling = next((line for line in lines if "Unsupported global" in line), lines[0] if lines else "")
        raise CorruptCacheError(f"{pt_path}: prepared cache unreadable or unsafe for weights_only loading "
                                f"({type(exc).__name__}: {telling[:200]}); {rebuild}") from None
    return PreparedData(manifest=manifest, **{k: tensors.get(k) for k in TENSOR_KEYS if k in tensors})

"""Top-level data API: fetch raw files, prepare (or reuse) the cache, load it.

An entry that ``shares`` another's data (``cifar10-t4`` → ``cifar10``) fetches into the shared entry's raw
folder and leaves a ``SHARED.json`` note in its own (the folder DVC expects). Prepared with the options the
shared entry's cache was built with (or when that cache does not exist yet, which is then built with these
options), its ``.pt`` is a hard link to the shared entry's (a copy where the file system has no hard links): the
same builder, options, sources and code make the same tensors, so the second id costs neither time nor disk.
With other options, or another builder (``fsdd-speakers`` reads ``fsdd``'s recordings but splits them by
speaker), it is built on its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asgl.data.cache import (
    cache_paths,
    code_version,
    link_prepared,
    manifest_matches,
    read_manifest,
    tensors_match,
    write_prepared,
)
from asgl.data.errors import DataError
from asgl.data.raw import data_source, ensure_raw, raw_dir, reads_raw_files, source_checksums
from asgl.data.registry import get_spec
from asgl.io import atomic_write_json

if TYPE_CHECKING:  # for the annotation only: fetch imports this module for fetch_dataset, and needs no torch
    import torch


class UnknownOptionError(DataError, ValueError):
    """A preparation option the dataset does not have (a ``DataError``, so the CLIs print one line)."""


@dataclass
class Built:
    """What a builder returns: the tensor dict (see :mod:`asgl.data.cache`) plus manifest facts."""

    tensors: dict[str, torch.Tensor]
    class_names: list[str]
    time_steps: int | None
    extra: dict[str, Any] = field(default_factory=dict)


def fetch_dataset(dataset_id: str, data_root: str | Path, *, timeout: float = 30.0) -> Path | None:
    """Make the raw files of ``dataset_id`` present under ``data_root/raw/<id>``; None for embedded ids."""
    spec = get_spec(dataset_id)
    if not reads_raw_files(spec):
        return None
    folder = ensure_raw(spec, data_root, timeout=timeout)
    if spec.shares:
        atomic_write_json(raw_dir(data_root, spec.id) / "SHARED.json",
                          {"dataset_id": spec.id, "shares": spec.shares, "raw_files": f"raw/{spec.shares}"})
    return folder


def _params(spec, options: dict[str, Any]) -> dict[str, Any]:
    unknown = set(options) - set(spec.defaults)
    if unknown:
        raise UnknownOptionError(f"{spec.id}: unknown option(s) {sorted(unknown)}; valid: {sorted(spec.defaults)}")
    return {**spec.defaults, **options}


def prepare_dataset(dataset_id: str, data_root: str | Path, *, force: bool = False,
                    allow_download: bool = True, **options: Any) -> Path:
    """Build ``<data_root>/prepared/<id>.pt`` + manifest unless an up-to-date one exists; return the ``.pt``.

    ``options`` override the spec defaults (e.g. ``time_steps=20``). The cache is rebuilt when the stored
    manifest differs in params, source checksums, code version or format, or when the tensor file does not
    match the manifest's sha256 (damaged, or left by an interrupted run).
    """
    spec = get_spec(dataset_id)
    params = _params(spec, options)
    folder = ensure_raw(spec, data_root, allow_download=allow_download) if reads_raw_files(spec) else None
    sources = source_checksums(data_source(spec), folder) if folder is not None else {}
    wanted = {"dataset_id": spec.id, "params": params, "source_checksums": sources,
              "code_version": code_version(), "format_version": 1}
    pt_path, _ = cache_paths(data_root, spec.id)
    stored = read_manifest(data_root, spec.id)
    if not force and manifest_matches(stored, wanted) and tensors_match(data_root, spec.id, stored):
        return pt_path
    base = get_spec(spec.shares) if spec.shares else None
    if base is not None and base.builder == spec.builder and set(base.defaults) == set(params):
        shared = read_manifest(data_root, spec.shares)
        if shared is None or shared.get("params") == params:
            prepare_dataset(spec.shares, data_root, force=force, allow_download=allow_download, **params)
            return link_prepared(data_root, spec.shares, spec.id)
    started = time.perf_counter()
    built: Built = spec.load_builder()(folder, params)
    x = built.tensors["train_x"]
    manifest = {
        **wanted,
        "modality": spec.modality,
        "class_names": list(built.class_names),
        "num_classes": len(built.class_names),
        "x_shape": list(x.shape[1:]),
        "layout": "N,T,2,H,W" if x.dim() == 5 else ("N,C,H,W" if spec.modality == "image" else "N,T,F"),
        "time_steps": built.time_steps,
        "synthetic": spec.synthetic,
        "embedded": spec.embedded,
        "licence": spec.licence,
        "homepage": spec.homepage,
        "prepare_seconds": round(time.perf_counter() - started, 2),
        **built.extra,
    }
    return write_prepared(data_root, spec.id, built.tensors, manifest)

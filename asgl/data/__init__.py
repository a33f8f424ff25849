"""Datasets for the ASGL suite: registry, download/verification, prepared caches, embedded generators.

Public API::

    prepare_dataset(dataset_id, data_root, **options) -> Path   # <data_root>/prepared/<id>.pt
    load_prepared(data_root, dataset_id) -> PreparedData        # tensors + manifest dict
    fetch_dataset(dataset_id, data_root) -> Path | None         # raw files only

Ids: see :data:`REGISTRY` (downloaded: ``REAL_IDS``; no network needed: ``EMBEDDED_IDS``, which are generated
locally or, like ``fsdd`` and ``nmnist-small``, real data shipped with the repository; a spec's ``synthetic``
says which).

The names of the cache and preparation modules are loaded on first use (PEP 562): ``fetch`` imports this
package for the registry, the errors and :func:`fetch_dataset`, and needs no torch, which a builder or a
tensor cache does.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from asgl.data.errors import (
    ChecksumMismatchError,
    CorruptFileError,
    DataError,
    DatasetUnavailableError,
    UnknownDatasetError,
    UnsafeArchiveError,
    UnsafePickleError,
)
from asgl.data.registry import EMBEDDED_IDS, REAL_IDS, REGISTRY, get_spec

if TYPE_CHECKING:  # the same names, eagerly, for type checkers and readers of the import graph
    from asgl.data.cache import PreparedData, load_prepared
    from asgl.data.prepare import fetch_dataset, prepare_dataset

__all__ = [
    "EMBEDDED_IDS", "REAL_IDS", "REGISTRY", "ChecksumMismatchError", "CorruptFileError", "DataError",
    "DatasetUnavailableError", "PreparedData", "UnknownDatasetError", "UnsafeArchiveError",
    "UnsafePickleError",
    "fetch_dataset", "get_spec", "load_prepared", "prepare_dataset",
]

_HOMES = {"PreparedData": "asgl.data.cache", "load_prepared": "asgl.data.cache",
          "fetch_dataset": "asgl.data.prepare", "prepare_dataset": "asgl.data.prepare"}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use and keep the name here, so later look-ups are plain."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

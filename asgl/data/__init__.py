"""Datasets for the ASGL suite: registry, download/verification, prepared caches, embedded generators.

Public API::

    prepare_dataset(dataset_id, data_root, **options) -> Path   # <data_root>/prepared/<id>.pt
    load_prepared(data_root, dataset_id) -> PreparedData        # tensors + manifest dict
    fetch_dataset(dataset_id, data_root) -> Path | None         # raw files only

Ids: see :data:`REGISTRY` (downloaded: ``REAL_IDS``; no network needed: ``EMBEDDED_IDS``, which are generated
locally or, like ``fsdd`` and ``nmnist-small``, real data shipped with the repository; a spec's ``synthetic``
says which).
"""

from asgl.data.cache import PreparedData, load_prepared
from asgl.data.errors import (
    ChecksumMismatchError,
    CorruptFileError,
    DataError,
    DatasetUnavailableError,
    UnknownDatasetError,
    UnsafeArchiveError,
    UnsafePickleError,
)
from asgl.data.prepare import fetch_dataset, prepare_dataset
from asgl.data.registry import EMBEDDED_IDS, REAL_IDS, REGISTRY, get_spec

__all__ = [
    "EMBEDDED_IDS", "REAL_IDS", "REGISTRY", "ChecksumMismatchError", "CorruptFileError", "DataError",
    "DatasetUnavailableError", "PreparedData", "UnknownDatasetError", "UnsafeArchiveError",
    "UnsafePickleError",
    "fetch_dataset", "get_spec", "load_prepared", "prepare_dataset",
]

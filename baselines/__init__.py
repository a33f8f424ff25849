"""Baseline methods: adapters that register themselves in :mod:`asgl.registry` when imported.

Importing this package imports every module in it (``pkgutil``), so a new baseline is one new module here
(calling :func:`asgl.registry.register_method` at import) plus one section in ``params.yaml``. Modules must
import optional third-party packages lazily (inside functions) so that listing methods never fails.
"""

from __future__ import annotations

import importlib
import pkgutil

LOADED: tuple[str, ...] = tuple(
    importlib.import_module(f"{__name__}.{info.name}").__name__
    for info in pkgutil.iter_modules(__path__)
    if not info.name.startswith("_")
)

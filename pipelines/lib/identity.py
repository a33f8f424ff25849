"""The identity of a run: code + data + settings. A finished run is reused only when all three match.

* **Code** — :func:`code_fingerprint`: sha256 over the sources that decide a run's numbers: the core (every
  ``.py`` under ``asgl/``), the pipeline module that turns a run's settings into its metrics
  (:data:`PIPELINE_FILES`: :mod:`pipelines.lib.training_run`), and the method's own source file
  (``run.methods.<name>`` in ``params.yaml``). Other methods' files are not part of it, so adding or editing
  one method retrains that method only.
* **Data** — :func:`data_identity`: the prepared tensors' sha256 (recorded by ``prepare`` in the manifest)
  and the resolved ``prepare`` block, so a changed preparation parameter or a re-generated file retrains.
* **Settings** — the method's resolved parameters, the model, the train block and the seed
  (:func:`pipelines.lib.runs.run_settings`), compared value by value.

What is left out, on purpose: the code that turns ``params.yaml`` into settings (``lib/runs.py``,
``lib/params.py``: what it produces is compared by value), the run folder's layout and the run record's format
(``lib/records.py``), the stages (``pipelines/stages/``), the executors, and this module (the method's spec is looked
up by name in the method's file, whose path is in the settings and whose content is hashed). Editing any of
them — a record column, an error message, a table — reuses every finished run. Files are hashed byte for
byte: the simplest rule, so any edit of a hashed file, a comment included, retrains.

:func:`load_method` imports the file that registers a method (the paper's two live in the core; a baseline
or a plugin is one module) and returns its registry entry.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from asgl.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[2]
CORE_FOLDER = "asgl"
PIPELINE_FILES = ("pipelines/lib/training_run.py",)


class MethodSourceError(ValueError, UserError):
    """The file named for a method is missing, does not import, or does not register that method."""


def _hash_files(digest: Any, paths: list[Path]) -> None:
    for path in paths:
        try:
            name = path.resolve().relative_to(REPO_ROOT).as_posix()
        except ValueError:
            name = path.name
        digest.update(name.encode())
        digest.update(path.read_bytes())


@functools.cache
def _core_digest() -> str:
    digest = hashlib.sha256()
    _hash_files(digest, sorted((REPO_ROOT / CORE_FOLDER).rglob("*.py")))
    _hash_files(digest, [REPO_ROOT / f for f in PIPELINE_FILES])
    return digest.hexdigest()


def code_fingerprint(source: str | Path) -> str:
    """sha256 (first 16 hex) of the core, :data:`PIPELINE_FILES` and the method's ``source`` file."""
    digest = hashlib.sha256(_core_digest().encode())
    path = resolve_source(source)
    if not _in_core(path):
        _hash_files(digest, [path])
    return digest.hexdigest()[:16]


def _in_core(path: Path) -> bool:
    try:
        return path.resolve().relative_to(REPO_ROOT).parts[0] == CORE_FOLDER
    except ValueError:
        return False


def data_identity(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """What a run depends on of its prepared data: the tensors' sha256 and the resolved prepare parameters."""
    return {"sha256": manifest.get("tensor_sha256"), "prepare": dict(manifest.get("params") or {})}


def resolve_source(source: str | Path) -> Path:
    """``source`` as a path: absolute as given, else relative to the working folder if it exists there, else
    to the repository root (so ``asgl/methods.py`` names the installed core from any folder)."""
    path = Path(source)
    if path.is_absolute() or (Path.cwd() / path).exists():
        return path.absolute()
    return REPO_ROOT / path


def _module_name(path: Path) -> str | None:
    """The dotted name of ``path`` when it lies in one of this repository's packages (``baselines/x.py``)."""
    try:
        rel = path.resolve().relative_to(REPO_ROOT)
    except ValueError:
        return None
    if len(rel.parts) < 2 or not (REPO_ROOT / rel.parts[0] / "__init__.py").exists():
        return None
    return ".".join((*rel.parts[:-1], rel.stem))


def import_source(source: str | Path) -> None:
    """Import the module in ``source`` (registering the methods it defines); a second call does nothing."""
    path = resolve_source(source)
    if not path.is_file():
        raise MethodSourceError(f"{source}: no such file (the file that registers the method)")
    name = _module_name(path)
    if name is not None:
        importlib.import_module(name)
        return
    name = f"asgl_plugin_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]}"
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise MethodSourceError(f"{source}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        del sys.modules[name]
        raise


def load_method(name: str, source: str | Path):
    """Import ``source`` and return the :class:`asgl.registry.MethodSpec` registered as ``name``; the method's
    neuron factory must be defined in ``source`` (the file its runs' identity and DVC stage depend on)."""
    from asgl.registry import get_method, source_file

    import_source(source)
    try:
        spec = get_method(name)
    except ValueError:
        spec = None
    defined_in = None if spec is None else source_file(spec)
    if defined_in is None or defined_in != resolve_source(source).resolve():
        where = "" if defined_in is None else f" (it is defined in {display_path(defined_in)})"
        raise MethodSourceError(f"params.yaml: run.methods.{name}: {source} does not register a method named "
                                f"{name!r}{where}; name the file that defines the method's neuron factory")
    return spec


def display_path(path: Path) -> str:
    """``path`` relative to the repository root where it lies inside it, else as given."""
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)

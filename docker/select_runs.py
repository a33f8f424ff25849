"""Narrow the active ``params.yaml`` to some datasets and/or methods (the container's ``ASGL_DATASETS`` and
``ASGL_METHODS``; docker/entrypoint.sh runs it after selecting the profile).

Usage: ``python docker/select_runs.py [--params params.yaml] [--datasets "a,b"] [--methods "x y"]``; names are
separated by commas or spaces, an empty value keeps that list whole. The result keeps the profile's order::

    run.datasets ← [d ∈ run.datasets : d ∈ datasets]
    run.methods  ← {m: file ∈ run.methods : m ∈ methods}
    sweep.methods ← sweep.methods ∩ run.methods

Everything else (each dataset's recipe, each method's section, seeds, workers) is the profile's, so a
narrowed run is a part of the full one: its runs have the same identity and are reused by a later full run.
The DVC stages follow (``fetch@<dataset>``, ``prepare@<dataset>``, ``train@<method>``). A name that is not
in the profile stops with status 2 and one line naming the variable, the value and the choices; the file is
rewritten atomically and validated (:func:`pipelines.lib.params.validate`) before it is.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml


class SelectionError(ValueError):
    """A requested dataset or method that the profile does not have; the message is one line."""


def names(text: str | None) -> list[str]:
    """``"a, b c"`` → ``["a", "b", "c"]``; ``None`` or blank → ``[]``."""
    return [item for item in (text or "").replace(",", " ").split() if item]


def _check(kind: str, variable: str, wanted: Sequence[str], available: Sequence[str], params: Path) -> None:
    unknown = [name for name in wanted if name not in available]
    if unknown:
        raise SelectionError(f"{variable} names {', '.join(repr(n) for n in unknown)}, not among the {kind} of "
                             f"{params} ({', '.join(available)}); choose among these or add it to the profile")


def narrow(params: dict[str, Any], datasets: Sequence[str], methods: Sequence[str],
           source: Path = Path("params.yaml")) -> dict[str, Any]:
    """A copy of ``params`` restricted to ``datasets`` and ``methods`` (empty = all); see the module docstring."""
    run = dict(params["run"])
    if datasets:
        _check("run.datasets", "ASGL_DATASETS", datasets, run["datasets"], source)
        run["datasets"] = [d for d in run["datasets"] if d in datasets]
    if methods:
        _check("run.methods", "ASGL_METHODS", methods, list(run["methods"]), source)
        run["methods"] = {m: f for m, f in run["methods"].items() if m in methods}
    out = {**params, "run": run}
    if params.get("sweep"):
        out["sweep"] = {**params["sweep"], "methods": [m for m in params["sweep"].get("methods", [])
                                                        if m in run["methods"]]}
    return out


def select(path: Path, datasets: Sequence[str], methods: Sequence[str]) -> dict[str, Any]:
    """Narrow the params file at ``path`` in place (validated, atomic); return the new params."""
    from asgl.io import atomic_write_text
    from pipelines.lib.params import validate

    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    narrowed = narrow(params, datasets, methods, path)
    validate(narrowed)
    atomic_write_text(path, yaml.safe_dump(narrowed, sort_keys=False, allow_unicode=True, width=120))
    return narrowed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="select_runs", description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml", help="the params file to narrow in place")
    parser.add_argument("--datasets", default=os.environ.get("ASGL_DATASETS", ""),
                        help="datasets to keep (default: $ASGL_DATASETS; empty = all)")
    parser.add_argument("--methods", default=os.environ.get("ASGL_METHODS", ""),
                        help="methods to keep (default: $ASGL_METHODS; empty = all)")
    args = parser.parse_args(argv)
    datasets, methods = names(args.datasets), names(args.methods)
    if not datasets and not methods:
        return 0
    try:
        narrowed = select(Path(args.params), datasets, methods)
    except (SelectionError, ValueError, OSError) as exc:
        print(f"select-runs: error: {exc}", file=sys.stderr)
        return 2
    print(f"select-runs: datasets {', '.join(narrowed['run']['datasets'])}; methods "
          f"{', '.join(narrowed['run']['methods'])}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

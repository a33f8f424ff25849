"""Prepare one dataset: ``<data_root>/prepared/<id>.pt`` + ``<id>.manifest.json`` (fetching raw files first).

Usage: ``python -m pipelines.stages.prepare <id> [--data-root DIR] [--params params.yaml] [--force]
[--set key=value ...]``.
With ``--params``, the options come from ``datasets.<id>.prepare`` in that file (``--set`` overrides them).
The data root is that file's ``data_root`` (or ``params.yaml``'s when ``--params`` is not given; see
:mod:`pipelines.lib.data_cli`).
An up-to-date cache (same parameters, source checksums and code version) is reused.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from asgl.data import prepare_dataset
from asgl.data.cache import read_manifest
from pipelines.lib.data_cli import parser, run_cli
from pipelines.lib.progname import program


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def prepare(dataset_id: str, data_root: str | Path, *, force: bool = False, **options: Any) -> str:
    """Prepare ``dataset_id`` under ``data_root``; return a one-line summary."""
    path = prepare_dataset(dataset_id, data_root, force=force, **options)
    m = read_manifest(data_root, dataset_id) or {}
    counts = ", ".join(f"{k} {v}" for k, v in m.get("counts", {}).items())
    return f"{dataset_id}: {path} (x {m.get('x_shape')}, {counts}, synthetic={m.get('synthetic')})"


def main(argv: list[str] | None = None) -> int:
    p = parser(program("pipelines.stages.prepare"), __doc__.splitlines()[0])
    p.add_argument("--force", action="store_true", help="rebuild even if the cache is up to date")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a preparation parameter (e.g. time_steps=20)")
    args = p.parse_args(argv)
    return run_cli(lambda: prepare(args.dataset_id, args.data_root, force=args.force, **_options(args)))


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """The preparation options: ``datasets.<id>.prepare`` of ``--params``, updated with every ``--set``."""
    options = {}
    if args.params:
        from pipelines.lib.params import load_params

        block = load_params(args.params)["datasets"].get(args.dataset_id) or {}
        options.update(block.get("prepare") or {})
    for item in args.set:
        key, _, val = item.partition("=")
        options[key] = _value(val)
    return options


if __name__ == "__main__":
    raise SystemExit(main())

"""Shared command-line plumbing of the ``fetch`` and ``prepare`` stages (:mod:`pipelines.stages.fetch`,
:mod:`pipelines.stages.prepare`): data root, errors → one line.

The data root is resolved in one place, :func:`pipelines.lib.params.data_root` (``$ASGL_DATA_ROOT``, else
``data_root`` of the params file, else ``data``); ``--data-root`` overrides it for one command. The params
file is ``--params`` (default ``params.yaml``, used when present); only its ``data_root`` key is read here, so
fetching does not need a valid method section.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from asgl.data import REGISTRY
from pipelines.lib.entry import run_main

PARAMS_FILE = "params.yaml"


def params_data_root(params_file: str | None) -> Path:
    """The data root for a params file (``None``: ``params.yaml`` if it exists); see the module docstring."""
    import yaml

    from pipelines.lib.params import ParamsError, data_root

    path = Path(params_file or PARAMS_FILE)
    if not path.is_file():
        if params_file is not None:
            raise ParamsError(f"{path}: not found (--params); give an existing params file")
        return data_root({})
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML ({exc.__class__.__name__}); fix the file") from None
    return data_root(params if isinstance(params, dict) else {})


class DataParser(argparse.ArgumentParser):
    """An argument parser that fills ``data_root`` from the params file when ``--data-root`` is not given."""

    def parse_args(self, args: Any = None, namespace: Any = None) -> argparse.Namespace:
        from pipelines.lib.params import ParamsError

        ns = super().parse_args(args, namespace)
        if ns.data_root is None:
            try:
                ns.data_root = str(params_data_root(ns.params))
            except ParamsError as exc:
                self.exit(2, f"error: {exc}\n")
        return ns


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = DataParser(prog=prog, description=description)
    p.add_argument("dataset_id", help=f"one of: {', '.join(REGISTRY)}")
    p.add_argument("--data-root", default=None,
                   help="folder holding raw/ and prepared/ (default: $ASGL_DATA_ROOT, else data_root of the "
                        "params file, else ./data)")
    p.add_argument("--params", default=None,
                   help="params file (default: params.yaml when present); its data_root is used")
    return p


def run_cli(action: Callable[[], str]) -> int:
    """Run ``action`` and print its message, under :func:`pipelines.lib.entry.run_main` (a user error: one
    ``error:`` line, status 2; Ctrl-C: 130)."""
    return run_main(lambda: print(action()))

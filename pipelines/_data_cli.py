"""Shared command-line plumbing of ``pipelines.fetch`` / ``pipelines.prepare``: data root, errors → one line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from asgl.data import REGISTRY, DataError
from asgl.io import WriteError

DEFAULT_DATA_ROOT = "data"


def default_data_root() -> str:
    """``$ASGL_DATA_ROOT`` or ``data`` (the environment is read here, never by library code)."""
    return os.environ.get("ASGL_DATA_ROOT", DEFAULT_DATA_ROOT)


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("dataset_id", help=f"one of: {', '.join(REGISTRY)}")
    p.add_argument("--data-root", default=default_data_root(),
                   help="folder holding raw/ and prepared/ (default: $ASGL_DATA_ROOT or ./data)")
    return p


def run_cli(action: Callable[[], str]) -> int:
    """Run ``action``; print its message, or one ``error:`` line for a data problem (exit status 1)."""
    try:
        message = action()
    except (DataError, WriteError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    print(message)
    return 0

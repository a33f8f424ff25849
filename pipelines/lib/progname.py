"""The program name a command's usage line shows: ``asgl-bench NAME`` under ``asgl-bench``, else ``python -m``.

``asgl-bench`` runs a pipelines module's ``main(argv)`` with ``sys.argv[0]`` set to ``asgl-bench NAME``
(:func:`pipelines.commands.cli.delegate`); DVC's stages run the same module as ``python -m pipelines.stages.NAME``
and a user ``python -m pipelines.commands.NAME``.
"""

from __future__ import annotations

import sys


def program(module: str) -> str:
    """``sys.argv[0]`` when it is an ``asgl-bench`` subcommand, else ``python -m <module>``."""
    first = sys.argv[0] if sys.argv else ""
    return first if first.startswith("asgl-bench ") else f"python -m {module}"

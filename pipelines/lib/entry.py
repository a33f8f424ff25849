"""The one entry of every stage and of ``asgl-bench``: user errors in one line, bugs with their traceback.

:func:`run_main` runs a command's work and maps what escapes it to an exit status:

============================================================  ======  =====================================
what escapes                                                   status  what is printed on stderr
============================================================  ======  =====================================
nothing (the work's own status, ``None`` read as 0)             0/n    the work's own output
:class:`asgl.errors.UserError` (bad input, a corrupt file …)      2    ``error: <its message>``
a file that is not valid JSON / YAML / CSV                        2    ``error: <file>: not valid <format>``
``FileNotFoundError`` (a missing input)                           2    ``error: <file>: not found …``
``OSError`` ENOSPC / EDQUOT (a full disk or quota)                2    ``error: no space left …``
``ModuleNotFoundError`` of a package outside this project         2    ``error: the package … is missing``
``KeyboardInterrupt`` (Ctrl-C)                                  130    ``error: interrupted; rerun …``
anything else (``TypeError``, ``KeyError`` … : a bug)            —     the traceback, unchanged
============================================================  ======  =====================================

A ``ModuleNotFoundError`` of this project's own packages (``asgl``, ``baselines``, ``pipelines``) is a bug,
not a missing installation, and keeps its traceback.
"""

from __future__ import annotations

import csv
import errno
import json
import sys
from collections.abc import Callable

from asgl.errors import UserError

OWN_PACKAGES = ("asgl", "baselines", "pipelines", "tests")
FULL_DISK = (errno.ENOSPC, errno.EDQUOT)
INTERRUPTED = "interrupted; rerun the same command to resume (finished work is reused)"

__all__ = ["UserError", "run_main", "user_message"]


def _corrupt_format(exc: BaseException) -> str | None:
    """``"JSON"``, ``"YAML"`` or ``"CSV"`` when ``exc`` is a parser's error for a damaged file, else None."""
    if isinstance(exc, json.JSONDecodeError):
        return "JSON"
    if isinstance(exc, csv.Error):
        return "CSV"
    yaml = sys.modules.get("yaml")
    if yaml is not None and isinstance(exc, yaml.YAMLError):
        return "YAML"
    return None


def user_message(exc: BaseException) -> str | None:
    """The one-line message for ``exc`` when it is a user error (see the module's table), else None (a bug)."""
    if isinstance(exc, UserError):
        return str(exc)
    fmt = _corrupt_format(exc)
    if fmt is not None:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"a file is not valid {fmt} ({first}); repair or delete it and rerun the step that writes it"
    if isinstance(exc, ModuleNotFoundError):
        top = (exc.name or "").partition(".")[0]
        if not top or top in OWN_PACKAGES:
            return None
        return (f"the package providing {top!r} is not installed; install the project's dependencies "
                f"(`make venv`, or `pip install -e .`) or that package alone")
    if isinstance(exc, FileNotFoundError):
        if exc.errno is None or exc.filename is None:
            return str(exc)
        return f"{exc.filename}: not found; create it, or run the step that writes it first"
    if isinstance(exc, OSError) and exc.errno in FULL_DISK:
        where = f" while writing {exc.filename}" if exc.filename else ""
        return f"no space left on the device{where}; free some space and rerun the same command"
    return None


def run_main(work: Callable[[], int | None]) -> int:
    """Run ``work()`` and return its exit status; a user error becomes one ``error:`` line on stderr (a
    message that spans lines is joined into one) and 2, Ctrl-C becomes 130, and any other exception
    propagates with its traceback (see the module docstring)."""
    try:
        status = work()
    except KeyboardInterrupt:
        print(f"error: {INTERRUPTED}", file=sys.stderr)
        return 130
    except Exception as exc:
        message = user_message(exc)
        if message is None:
            raise
        print(f"error: {' '.join(message.split())}", file=sys.stderr)
        return 2
    return 0 if status is None else int(status)


def params_stage(argv: list[str] | None, description: str, work: Callable[[dict], str]) -> int:
    """The ``main`` of a stage that reads only ``--params``: parse, load the params, run ``work(params)`` under
    :func:`run_main`, and print the one line it returns."""
    import argparse

    from pipelines.lib.params import load_params

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    return run_main(lambda: print(work(load_params(args.params))))

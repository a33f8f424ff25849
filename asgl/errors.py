"""The one base class of the errors a user can fix: bad input, a corrupt file, a missing package, a full disk.

Every such error of the core and of the pipelines derives from :class:`UserError` (``DataError``,
``WriteError``, ``ParamsError``, ``MethodSourceError``, ``ExportError`` …), and ``str(err)`` is a complete,
one-line explanation that names the file, key or value at fault and what to do. The command-line entry
(:func:`pipelines.lib.entry.run_main`) prints it as one ``error:`` line and exits with status 2; any other
exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the person running the command can fix; ``str(err)`` says which input and what to do."""

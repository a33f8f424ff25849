"""Restricted unpickler for the CIFAR "python version" batches.

Only plain containers, str/bytes/numbers and numpy array reconstruction are allowed; any other global
(``os.system``, ``builtins.eval``, ...) raises :class:`UnsafePickleError` before it can run.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

from asgl.data.errors import CorruptFileError, UnsafePickleError

_ALLOWED: frozenset[tuple[str, str]] = frozenset({
    ("builtins", "dict"), ("builtins", "list"), ("builtins", "tuple"), ("builtins", "set"),
    ("builtins", "str"), ("builtins", "bytes"), ("builtins", "bytearray"), ("builtins", "int"),
    ("builtins", "float"), ("builtins", "bool"), ("builtins", "complex"),
    ("collections", "OrderedDict"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),  # protocol-2 pickles of bytes under Python 3
})


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose ``find_class`` admits only :data:`_ALLOWED`."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise UnsafePickleError(f"pickle refers to {module}.{name}, which is not plain data; refusing it")


def restricted_loads(data: bytes, encoding: str = "bytes") -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler` (``encoding='bytes'`` as CIFAR batches need)."""
    return RestrictedUnpickler(io.BytesIO(data), encoding=encoding).load()


def load_pickle(path: str | Path, encoding: str = "bytes") -> Any:
    """Read and restricted-unpickle ``path``; a truncated file raises :class:`CorruptFileError`."""
    path = Path(path)
    try:
        return restricted_loads(path.read_bytes(), encoding=encoding)
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{path}: {exc}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise CorruptFileError(path, f"pickle unreadable ({type(exc).__name__})") from None

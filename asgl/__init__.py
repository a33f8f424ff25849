"""ASGL: Adaptive Smoothing Gradient Learning for spiking neural networks (Wang et al., ICML 2023).

Public API: ``from asgl import LIF, ASGLSpike, FixedSurrogateSpike``; ``LIF(spike=ASGLSpike(width=1.0,
p=0.2), decay=0.5, threshold=1.0)`` maps a time-major ``[T, B, ...]`` tensor to one of the same shape.

The public names are loaded on first use (PEP 562), not when the package is imported: every ``asgl.*``
import runs this file first, and the light parts (``asgl.io``, ``asgl.errors``, the data registry and the
raw-file checks that ``fetch`` uses) must not pay for importing torch, which these names need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, eagerly, for type checkers and readers of the import graph
    from asgl.neuron import LIF
    from asgl.spike import ASGLSpike, FixedSurrogateSpike, FusedSpec, SpikeFunction

__all__ = ["LIF", "ASGLSpike", "FixedSurrogateSpike", "FusedSpec", "SpikeFunction"]
__version__ = "0.1.0"

_HOMES = {"LIF": "asgl.neuron", "ASGLSpike": "asgl.spike", "FixedSurrogateSpike": "asgl.spike",
          "FusedSpec": "asgl.spike", "SpikeFunction": "asgl.spike"}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use and keep the name here, so later look-ups are plain."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

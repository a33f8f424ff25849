"""ASGL: Adaptive Smoothing Gradient Learning for spiking neural networks (Wang et al., ICML 2023).

Public API: ``from asgl import LIF, ASGLSpike, FixedSurrogateSpike``; ``LIF(spike=ASGLSpike(width=1.0,
p=0.2), decay=0.5, threshold=1.0)`` maps a time-major ``[T, B, ...]`` tensor to one of the same shape.
"""

from asgl.neuron import LIF
from asgl.spike import ASGLSpike, FixedSurrogateSpike, FusedSpec, SpikeFunction

__all__ = ["LIF", "ASGLSpike", "FixedSurrogateSpike", "FusedSpec", "SpikeFunction"]
__version__ = "0.1.0"

"""Shared structure of every spiking model: neuron creation, layer introspection, normalisation choice.

Conventions (all builders in :mod:`asgl.models`):

* ``forward`` takes a time-major input ``[T, B, ...]`` (or a static ``[B, ...]`` that the model's
  :class:`~asgl.layers.RepeatEncoder` repeats over ``time_steps``; the number of dimensions decides) and
  returns per-step logits ``[T, B, K]``. :func:`asgl.models.readout_mean` turns them into ``[B, K]``.
* Every neuron is made by the zero-argument factory ``neuron()`` and must be a fresh ``nn.Module``
  mapping ``[T, B, ...] → [T, B, ...]``. Submodules are registered in execution order, so
  ``model.modules()`` visits layers in the order they run.
* Synaptic layers are plain ``nn.Conv1d`` / ``nn.Conv2d`` / ``nn.Linear`` inside
  :class:`~asgl.layers.TimeDistributed`; forward hooks on them see merged ``[T·B, ...]`` tensors.
  The first synaptic layer receives the model input (analog for images and spectrograms, events for DVS
  and SHD); every later one receives spikes, or an average pool of spikes (which folds into the next
  layer's weights, so its synaptic operations remain accumulates).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from torch import nn

from asgl.layers import TemporalBatchNorm, ThresholdDependentBatchNorm

NeuronFactory = Callable[[], nn.Module]
NORMS = ("tdbn", "threshold")
SYNAPTIC_TYPES = (nn.Conv1d, nn.Conv2d, nn.Linear)


def make_norm(kind: str, channels: int, alpha: float = 1.0) -> nn.Module:
    """Batch norm over ``[T, B, C, ...]``, one of :data:`NORMS`.

    ``"tdbn"``: the authors' plain BN over ``T·B`` (``alpha`` unused); ``"threshold"``:
    :class:`~asgl.layers.ThresholdDependentBatchNorm` with ``α = alpha`` and ``V_th = 1``.
    """
    if kind == "tdbn":
        return TemporalBatchNorm(channels)
    if kind == "threshold":
        return ThresholdDependentBatchNorm(channels, alpha=alpha, v_th=1.0)
    raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")


class SpikingModel(nn.Module):
    """Base class: creates neurons through a factory and lists spiking and synaptic layers in order.

    Subclasses call :meth:`new_neuron` for every neuron; blocks receive ``neuron_maker(factory)``, a
    zero-argument callable used during ``__init__`` only (the factory itself is never stored, so a model
    built from a lambda still pickles).
    """

    def __init__(self) -> None:
        super().__init__()
        self._neurons: list[nn.Module] = []  # plain list: the modules are registered where they are used

    def new_neuron(self, factory: NeuronFactory) -> nn.Module:
        """Call ``factory()`` once and check that it returned a fresh module."""
        if isinstance(factory, nn.Module) or not callable(factory):
            raise TypeError(f"neuron must be a zero-argument factory returning a fresh module, "
                            f"got {type(factory).__name__}")
        module = factory()
        if not isinstance(module, nn.Module):
            raise TypeError(f"the neuron factory must return an nn.Module, got {type(module).__name__}")
        if any(module is seen for seen in self._neurons):
            raise ValueError("the neuron factory returned the same module twice; it must build a fresh one")
        self._neurons.append(module)
        return module

    def neuron_maker(self, factory: NeuronFactory) -> NeuronFactory:
        """A zero-argument callable that builds and records one neuron per call (for blocks)."""
        return partial(self.new_neuron, factory)

    def spiking_layers(self) -> list[nn.Module]:
        """The neurons in execution order (``[T, B, ...] → [T, B, ...]`` modules)."""
        ids = {id(m) for m in self._neurons}
        return [m for m in self.modules() if id(m) in ids]

    def synaptic_layers(self) -> list[tuple[str, nn.Module]]:
        """``(name, module)`` of every Conv/Linear in execution order; the first receives the model input."""
        return [(name, m) for name, m in self.named_modules() if isinstance(m, SYNAPTIC_TYPES)]

"""Which tensors carry spikes, decided by the graph: outputs of spiking neurons, followed through pooling.

While a :class:`SpikeTrace` is active, forward hooks mark the output ``o`` of every outermost spiking neuron
(:func:`asgl.neuron.is_spiking_neuron`) as a spike tensor, and a torch-function mode follows the mark
through the operations that keep a tensor a function of those spikes that a synaptic layer can absorb into
its weights. For a marked tensor ``x`` the trace knows ``c(x)``, of the shape of ``x``: the number of
underlying spikes (non-zero neuron outputs) that reach each element with a non-zero coefficient::

    neuron output o:                      c = 𝟙[o ≠ 0]                      (kept implicit: no extra memory)
    reshapes, views, indexing, casts,     c follows the same operation      (flatten, view, permute, x[t], …)
      scaling by one non-zero number
    dropout:                              c · 𝟙[out ≠ 0]
    average / adaptive-average pooling,   c_j = Σ_{i ∈ window j} c_i         (sum pooling of the counts)
      sum / mean over dimensions
    max pooling:                          c_j = max_{i ∈ window j} c_i       (an OR of binary spikes)
    x + y, cat, stack of marked tensors:  c_x + c_y, concatenation

Why sum pooling: a connection layer ``W`` after an average pool ``P`` computes ``W (P s) = (W P) s``; the
folded weight ``W P`` spreads each pooled weight over its window (the ``1/k`` scale folds into it), so the
deployed network adds one weight per underlying spike — accumulates, ``c_j`` of them per pooled element
``j`` and weight. Any other operation (batch norm, in-place arithmetic, adding an analog tensor, …) ends the
mark: its result is analog, and the next connection layer is billed as multiply-accumulates. The model input
is analog whatever its values (it does not come from a neuron).

The trace describes the deployed network: use it in ``eval()`` (in training, ASGL neurons emit analog
values with probability ``p``, which the graph would still call spikes).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from asgl.metrics.sparsity import spiking_layers

_MARK = "_asgl_spike_counts"
RAW = None  # the counts of a neuron output: 𝟙[o ≠ 0], computed when needed

_FOLLOW = frozenset({"view", "reshape", "flatten", "unflatten", "contiguous", "clone", "detach", "permute",
                     "transpose", "squeeze", "unsqueeze", "__getitem__", "expand", "movedim", "narrow",
                     "select", "t"})
_SPLIT = frozenset({"unbind", "split", "chunk"})
_CAST = frozenset({"to", "float", "double", "half", "bfloat16", "cpu", "cuda", "type_as"})
_SCALE = frozenset({"mul", "div", "__mul__", "__rmul__", "__truediv__", "neg", "__neg__"})
_DROPOUT = frozenset({"dropout", "dropout1d", "dropout2d", "dropout3d", "feature_dropout"})
_AVG_POOL = frozenset({"avg_pool1d", "avg_pool2d", "avg_pool3d"})
_ADAPTIVE_AVG = frozenset({"adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d"})
_REDUCE = frozenset({"sum", "mean"})
_MAX_POOL = frozenset({"max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
                       "max_pool2d_with_indices", "max_pool3d_with_indices", "adaptive_max_pool1d",
                       "adaptive_max_pool2d", "adaptive_max_pool3d"})
_ADD = frozenset({"add", "__add__", "__radd__"})
_JOIN = frozenset({"cat", "concat", "concatenate", "stack"})
_KEEPS_VALUES = frozenset({"requires_grad_", "retain_grad", "share_memory_", "detach_", "record_stream"})
_IN_PLACE = frozenset({"__iadd__", "__isub__", "__imul__", "__itruediv__", "__ifloordiv__", "__imod__",
                       "__ipow__", "__iand__", "__ior__", "__ixor__", "__setitem__"})
_AVG_POOL_ARGS = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")


def _one(value: Any) -> int:
    """A 1-D pooling argument given as ``k`` or ``(k,)``."""
    return int(value[0]) if isinstance(value, (tuple, list)) else int(value)


def sum_pool(name: str, counts: torch.Tensor, args: tuple, kwargs: dict) -> torch.Tensor:
    """``Σ_{i ∈ window j} c_i`` for the windows of ``avg_pool{1,2,3}d(counts, *args, **kwargs)``."""
    bound = dict(zip(_AVG_POOL_ARGS, args, strict=False)) | kwargs
    kernel = bound["kernel_size"]
    stride = bound.get("stride") or kernel
    padding = bound.get("padding", 0)
    ceil_mode = bool(bound.get("ceil_mode", False))
    if name == "avg_pool1d":  # no divisor_override in 1-D: the same windows as a (1, k) pool in 2-D
        pooled = F.avg_pool2d(counts.unsqueeze(-2), (1, _one(kernel)), (1, _one(stride)), (0, _one(padding)),
                              ceil_mode, True, divisor_override=1)
        return pooled.squeeze(-2)
    pool = F.avg_pool2d if name == "avg_pool2d" else F.avg_pool3d
    return pool(counts, kernel, stride, padding, ceil_mode, True, divisor_override=1)


def adaptive_window_sizes(in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> torch.Tensor:
    """Cells per window of an adaptive pool over the trailing ``len(out_shape)`` dimensions.

    Output ``j`` of ``n`` over an input of length ``L`` pools ``[⌊jL/n⌋, ⌈(j+1)L/n⌉)`` (torch's windows).
    """
    sizes = torch.ones((), dtype=torch.float64)
    for length, n in zip(in_shape, out_shape, strict=True):
        side = torch.tensor([math.ceil((j + 1) * length / n) - (j * length) // n for j in range(n)],
                            dtype=torch.float64)
        sizes = sizes.unsqueeze(-1) * side
    return sizes


class SpikeTrace(TorchFunctionMode):
    """Context manager marking spike tensors of ``model`` and their spike counts (module docstring).

    ``with SpikeTrace(model) as trace: model(x)``; inside, :meth:`spike_counts` answers for any tensor.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.neurons = [module for _, module in spiking_layers(model)]
        self._handles: list = []

    def __enter__(self) -> SpikeTrace:
        self._handles = [m.register_forward_hook(self._mark_output) for m in self.neurons]
        return super().__enter__()

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        super().__exit__(*exc)

    # ------------------------------------------------------------------ marks

    def _mark_output(self, module: nn.Module, inputs, output) -> None:
        self.mark(output[0] if isinstance(output, tuple) else output, RAW)

    def mark(self, tensor: torch.Tensor, counts: torch.Tensor | None) -> None:
        """Record ``tensor`` as spikes with ``counts`` (``RAW``: one spike per non-zero entry)."""
        setattr(tensor, _MARK, (self, counts))

    def _counts(self, value: Any) -> tuple[bool, torch.Tensor | None]:
        mark = getattr(value, _MARK, None) if isinstance(value, torch.Tensor) else None
        if mark is None or mark[0] is not self:
            return False, None
        return True, mark[1]

    def spike_counts(self, x: torch.Tensor) -> bool | torch.Tensor:
        """``False``: ``x`` is analog; ``True``: ``x`` is a spike tensor (counts ``𝟙[x ≠ 0]``); a tensor of the
        shape of ``x``: the number of underlying spikes per element (pooled spikes)."""
        marked, counts = self._counts(x)
        return marked if counts is None else counts

    def _explicit(self, value: Any) -> torch.Tensor | None:
        """The counts of a marked tensor as a tensor, or ``None`` when it is not marked."""
        marked, counts = self._counts(value)
        if not marked:
            return None
        return (value != 0).float() if counts is None else counts  # integers: exact in float32 to 2^24

    # ------------------------------------------------------------------ propagation

    def __torch_function__(self, func: Callable, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = getattr(func, "__name__", "")
        first = args[0] if args else None
        if name in _JOIN and isinstance(first, (list, tuple)):
            self._join(func, first, args, kwargs, out)
            return out
        marked, counts = self._counts(first)
        if not marked:
            return out
        if name in _IN_PLACE or (name.endswith("_") and not name.startswith("__") and name not in _KEEPS_VALUES):
            delattr(first, _MARK)  # changed in place: no longer known to be spikes
        elif isinstance(out, torch.Tensor):
            self._propagate(func, name, counts, first, args, kwargs, out)
        elif name in _SPLIT and isinstance(out, (tuple, list)):
            parts = (None,) * len(out) if counts is None else func(counts, *args[1:], **kwargs)
            for part, part_counts in zip(out, parts, strict=True):
                self.mark(part, part_counts)
        elif name in _MAX_POOL and isinstance(out, tuple):  # (values, indices)
            self.mark(out[0], None if counts is None else func(counts, *args[1:], **kwargs)[0])
        return out

    def _propagate(self, func: Callable, name: str, counts: torch.Tensor | None, first: torch.Tensor,
                   args: tuple, kwargs: dict, out: torch.Tensor) -> None:
        if out is first:
            return
        if name in _FOLLOW:
            if name == "view" and len(args) == 2 and isinstance(args[1], torch.dtype):
                return  # reinterpreted bits
            if counts is not None:
                counts = counts.reshape(out.shape) if name == "view" else func(counts, *args[1:], **kwargs)
            self.mark(out, counts)
        elif name in _CAST:
            self.mark(out, None if counts is None else counts.to(out.device))
        elif name in _SCALE:
            self._scale(name, counts, args, out)
        elif name in _DROPOUT:
            self.mark(out, None if counts is None else counts * (out != 0))
        elif name in _MAX_POOL:
            self.mark(out, None if counts is None else func(counts, *args[1:], **kwargs))
        elif name in _AVG_POOL:
            self.mark(out, sum_pool(name, self._explicit(first), args[1:], kwargs))
        elif name in _ADAPTIVE_AVG:
            dims = int(name[-2])
            averaged = func(self._explicit(first), *args[1:], **kwargs)
            sizes = adaptive_window_sizes(tuple(first.shape[-dims:]), tuple(averaged.shape[-dims:]))
            self.mark(out, torch.round(averaged * sizes.to(averaged.device, averaged.dtype)))
        elif name in _REDUCE:
            self.mark(out, torch.sum(self._explicit(first), *args[1:],
                                     **{k: v for k, v in kwargs.items() if k in ("dim", "keepdim")}))
        elif name in _ADD and len(args) == 2 and not kwargs:
            other = self._explicit(args[1])
            if other is not None:
                self.mark(out, self._explicit(first) + other)

    def _scale(self, name: str, counts: torch.Tensor | None, args: tuple, out: torch.Tensor) -> None:
        if name in ("neg", "__neg__"):
            self.mark(out, counts)
            return
        factor = args[1] if len(args) == 2 else None
        if isinstance(factor, (int, float)) and not isinstance(factor, bool):
            if counts is None or factor != 0:
                self.mark(out, counts)
            else:
                self.mark(out, torch.zeros_like(counts))
        elif isinstance(factor, torch.Tensor) and factor.numel() == 1 and not self._counts(factor)[0]:
            self.mark(out, None if counts is None else counts * (factor.reshape(()) != 0))

    def _join(self, func: Callable, tensors, args: tuple, kwargs: dict, out: Any) -> None:
        parts = [self._counts(t) for t in tensors]
        if not isinstance(out, torch.Tensor) or not parts or not all(marked for marked, _ in parts):
            return
        if all(counts is None for _, counts in parts):
            self.mark(out, RAW)
        else:
            self.mark(out, func([self._explicit(t) for t in tensors], *args[1:], **kwargs))

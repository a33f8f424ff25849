"""A trained spiking model as a NIR graph (Neuromorphic Intermediate Representation; ``nir`` package).

NIR describes one time step of a network; the time axis of our ``[T, B, ...]`` tensors is implicit, and the
batch axis is not part of any shape. ``nir`` (and ``nirtorch``) are imported inside the functions, so
``import asgl`` never needs them.

**The neuron.** At inference every method here emits Heaviside spikes, so the exported neuron is a plain LIF
with the learned decay ``λ`` and threshold ``θ``. Ours is discrete: ``v[t] = λ·r[t−1] + x[t]``, spike
``o[t] = [v[t] ≥ θ]``, hard reset ``r[t] = v[t]·(1 − o[t])``. NIR's LIF is continuous,
``τ dv/dt = (v_leak − v) + R·I``, with reset to ``v_reset`` after ``v > v_threshold``. One forward-Euler
step of length ``dt`` gives ``v ← (1 − dt/τ)·v + (dt/τ)·R·I``, which is ours exactly when (:func:`lif_params`)::

    dt = 1 (one time step),   τ = dt / (1 − λ),   R = τ / dt = 1 / (1 − λ),   v_leak = 0,
    v_threshold = θ,   v_reset = 0.

Not representable, and refused with a one-line error: the soft (subtractive) reset (NIR's LIF resets to a
value); neurons other than :class:`asgl.LIF` (e.g. snnTorch's ``Leaky``); a layer the export does not know.
The firing test differs only at equality (``≥`` here, ``>`` in NIR). ``scale_output`` (emit ``θ·o``)
becomes a ``Scale`` node after the LIF.

**The layers.** ``Linear`` → ``Affine`` (or ``Linear`` without a bias); ``Conv1d``/``Conv2d`` → NIR's convs;
``AvgPool2d`` (and an ``AdaptiveAvgPool2d`` whose output divides its input) → ``AvgPool2d``;
``AvgPool1d(k)`` → a ``Conv1d`` of stride ``k`` averaging each channel (NIR has no 1-D pooling);
feature flattening → ``Flatten``. Batch norm (tdBN, eval mode) is folded into the preceding conv/linear, per output
channel ``c``: ``W'_c = W_c·s_c``, ``b'_c = (b_c − μ_c)·s_c + β_c`` with ``s_c = γ_c / √(σ²_c + ε)``. The
rate readout (mean of the per-step logits over time) stays outside the graph: the graph outputs the
per-step logits.

**The graph.** A chain of layers is a chain of nodes. A residual block (:class:`asgl.models.resnet.
BasicBlock`, ``s = neuron₂(BN₂(conv₂(neuron₁(BN₁(conv₁(x))))) + shortcut(x))``) is a branch: its main path
and its shortcut (the 1×1 conv with its folded BN, or no node at all for the identity) both start at the
block's input and both end at ``neuron₂``'s LIF node, and NIR sums the inputs of a node with several
incoming edges — the residual addition. The graph's input is what the model's first layer sees at one step
(:func:`graph_input`): the image for a static model (repeated over time by the model's encoder), one frame
``[1, F]`` for the spectrogram conv net, the flattened clip for ``clip_mlp``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from asgl.errors import UserError
from asgl.layers import FlattenFeatures, RepeatEncoder, TemporalBatchNorm, TimeDistributed
from asgl.neuron import LIF

DT = 1.0
"""Length of one time step in the exported LIF's time unit (see the module docstring)."""


class ExportError(ValueError, UserError):
    """The model holds something NIR cannot represent; the message names the layer and what to do."""


def lif_params(decay: float | np.ndarray, threshold: float | np.ndarray, shape: tuple[int, ...],
               dt: float = DT, dtype: Any = np.float32) -> dict[str, np.ndarray]:
    """NIR ``LIF`` parameters equal to our discrete LIF with decay ``λ ∈ [0, 1)`` and threshold ``θ``, as
    arrays of ``dtype``."""
    lam = np.broadcast_to(np.asarray(decay, dtype=np.float64), shape)
    if np.any(lam >= 1.0) or np.any(lam < 0.0):
        raise ExportError(f"decay must lie in [0, 1) for a leaky neuron, got {float(np.max(lam))}")
    tau = dt / (1.0 - lam)
    full = np.ones(shape)
    return {"tau": tau.astype(dtype), "r": (tau / dt).astype(dtype), "v_leak": np.zeros(shape, dtype=dtype),
            "v_threshold": (np.asarray(threshold, dtype=np.float64) * full).astype(dtype),
            "v_reset": np.zeros(shape, dtype=dtype)}


def fold_batchnorm(weight: torch.Tensor, bias: torch.Tensor | None, bn: nn.modules.batchnorm._BatchNorm
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(W', b')`` of a conv/linear followed by batch norm in eval mode (module docstring)."""
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    b = torch.zeros_like(bn.running_mean) if bias is None else bias.detach()
    w = weight.detach() * scale.view(-1, *([1] * (weight.dim() - 1)))
    return w, (b - bn.running_mean) * scale + bn.bias.detach()


@dataclass(frozen=True)
class Residual:
    """A residual block: ``main`` and ``shortcut`` (layers; empty for the identity) both read the block's
    input, and their sum drives ``neuron``."""

    main: list[Any]
    shortcut: list[Any]
    neuron: nn.Module


LEAVES = (TimeDistributed, LIF, RepeatEncoder, FlattenFeatures, nn.Identity, nn.Dropout)
PASS_THROUGH = (RepeatEncoder, nn.Identity, nn.Dropout)


def _structure(module: nn.Module) -> list[Any]:
    """The layers of ``module`` in registration order (its forward order), containers opened, each residual
    block one :class:`Residual`."""
    from asgl.models.resnet import BasicBlock

    out: list[Any] = []
    for child in module.children():
        if isinstance(child, BasicBlock):
            shortcut = [] if isinstance(child.shortcut, nn.Identity) else _structure(child.shortcut)
            out.append(Residual([child.conv1, child.bn1, child.neuron1, child.conv2, child.bn2], shortcut,
                                child.neuron2))
        elif isinstance(child, LEAVES):
            out.append(child)
        elif type(child).forward is nn.Sequential.forward or isinstance(child, nn.Sequential):
            out += _structure(child)
        else:
            raise ExportError(f"layer {type(child).__name__} is not supported by the NIR export (conv/linear, "
                              "tdBN, pooling, flatten, asgl.LIF and residual blocks of them only)")
    return out


def _leaves(items: list[Any]) -> list[nn.Module]:
    """Every layer of a :func:`_structure`, residual blocks opened."""
    out: list[nn.Module] = []
    for item in items:
        out += [*_leaves(item.main), *_leaves(item.shortcut), item.neuron] if isinstance(item, Residual) else [item]
    return out


def _trace(model: nn.Module, leaves: list[nn.Module], sample: torch.Tensor) -> tuple[dict[Any, tuple], Any]:
    """Per-sample input shape of every leaf (batch and time removed), and the input ``[T, B, ...]`` of the
    first layer that is not a pass-through (the graph's input), from one forward pass on ``sample``."""
    shapes: dict[Any, tuple] = {}
    first: dict[str, torch.Tensor] = {}

    def record(module: nn.Module, args: tuple) -> None:
        shapes.setdefault(id(module), tuple(args[0].shape[2:]))
        if not isinstance(module, PASS_THROUGH):
            first.setdefault("x", args[0])

    hooks = [m.register_forward_pre_hook(record) for m in leaves]
    try:
        with torch.no_grad():
            expected = model(sample)
    finally:
        for h in hooks:
            h.remove()
    missing = [type(m).__name__ for m in leaves if id(m) not in shapes]
    if missing:
        raise ExportError(f"the model's forward does not run its layers {missing}; NIR export follows the "
                          "layers in the order they are registered")
    shapes["output"] = tuple(expected.shape[2:])
    return shapes, first["x"]


def graph_input(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """What the exported graph reads for the model input ``x``: ``[T, B, ...]`` as the first layer sees it."""
    return _trace(model.eval(), _leaves(_structure(model)), x)[1]


def _synaptic(module: nn.Module, bn: nn.Module | None, shape: tuple, dtype: Any) -> Any:
    import nir

    weight, bias = module.weight.detach(), None if module.bias is None else module.bias.detach()
    if bn is not None:
        weight, bias = fold_batchnorm(weight, bias, bn)
    w = weight.cpu().numpy().astype(dtype)
    b = None if bias is None else bias.cpu().numpy().astype(dtype)
    if isinstance(module, nn.Linear):
        return nir.Linear(weight=w) if b is None else nir.Affine(weight=w, bias=b)
    b = np.zeros(w.shape[0], dtype=dtype) if b is None else b
    if isinstance(module, nn.Conv1d):  # NIR's Conv1d takes integers (its length, stride, padding, dilation)
        pad = module.padding if isinstance(module.padding, str) else int(module.padding[0])
        return nir.Conv1d(input_shape=int(shape[1]), weight=w, stride=int(module.stride[0]), padding=pad,
                          dilation=int(module.dilation[0]), groups=module.groups, bias=b)
    pad = module.padding if isinstance(module.padding, str) else np.array(module.padding)
    return nir.Conv2d(input_shape=np.array(shape[1:]), weight=w, stride=np.array(module.stride), padding=pad,
                      dilation=np.array(module.dilation), groups=module.groups, bias=b)


class _Graph:
    """Nodes named as ``nir.NIRGraph.from_list`` names them (``conv2d``, ``conv2d_1``, …) and their edges."""

    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype
        self.nodes: dict[str, Any] = {}
        self.edges: list[tuple[str, str]] = []
        self.counts: Counter[str] = Counter()

    def add(self, node: Any, sources: list[str]) -> list[str]:
        base = type(node).__name__.lower()
        name = f"{base}_{self.counts[base]}" if self.counts[base] else base
        self.counts[base] += 1
        self.nodes[name] = node
        self.edges += [(source, name) for source in sources]
        return [name]


def _emit(items: list[Any], sources: list[str], shapes: dict[Any, tuple], graph: _Graph) -> list[str]:
    """Add the nodes of ``items`` fed by ``sources``; return the names that carry their output."""
    i = 0
    while i < len(items):
        layer = items[i]
        if isinstance(layer, Residual):
            main = _emit(layer.main, sources, shapes, graph)
            shortcut = _emit(layer.shortcut, sources, shapes, graph) if layer.shortcut else sources
            sources = _emit([layer.neuron], main + shortcut, shapes, graph)
            i += 1
            continue
        shape = shapes[id(layer)]
        inner = layer.module if isinstance(layer, TimeDistributed) else None
        nodes: list[Any] = []
        if isinstance(layer, PASS_THROUGH):
            pass
        elif isinstance(inner, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            nxt = items[i + 1] if i + 1 < len(items) else None
            bn = nxt.module if isinstance(nxt, TemporalBatchNorm) else None
            nodes.append(_synaptic(inner, bn, shape, graph.dtype))
            i += bn is not None
        elif isinstance(layer, TemporalBatchNorm):
            raise ExportError("a batch norm that does not follow a conv/linear cannot be folded; NIR has no "
                              "per-channel affine node")
        elif isinstance(inner, (nn.AvgPool2d, nn.AdaptiveAvgPool2d)):
            nodes.append(_avgpool(inner, shape))
        elif isinstance(inner, nn.AvgPool1d):
            nodes.append(_avgpool1d(inner, shape, graph.dtype))
        elif isinstance(layer, FlattenFeatures) or isinstance(inner, nn.Flatten):
            import nir

            nodes.append(nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1))
        elif isinstance(layer, LIF):
            nodes += _lif(layer, shape, graph.dtype)
        else:
            raise ExportError(f"layer {layer!r} has no NIR equivalent in this export")
        for node in nodes:
            sources = graph.add(node, sources)
        i += 1
    return sources


def model_to_nir(model: nn.Module, sample: torch.Tensor) -> Any:
    """The NIR graph of ``model`` (eval mode; ``sample`` is one model input, used to learn the shapes).

    Run it on :func:`graph_input` ``(model, sample)``, not on ``sample`` itself (they differ when the model
    reshapes its input before its first layer). Arrays are float32, or float64 for a model in double precision
    (a round trip with no rounding difference at the firing threshold).
    """
    import nir

    model = model.eval()
    structure = _structure(model)
    shapes, _ = _trace(model, _leaves(structure), sample)
    double = any(p.dtype == torch.float64 for p in model.parameters())
    graph = _Graph(np.float64 if double else np.float32)
    graph.nodes["input"] = None
    outputs = _emit(structure, ["input"], shapes, graph)
    first = next(graph.nodes[b] for a, b in graph.edges if a == "input")
    graph.nodes["input"] = nir.Input(input_type=first.input_type)
    graph.nodes["output"] = nir.Output(output_type=graph.nodes[outputs[0]].output_type)
    graph.edges += [(name, "output") for name in outputs]
    return nir.NIRGraph(nodes=graph.nodes, edges=graph.edges, type_check=True)


def _avgpool(pool: nn.Module, shape: tuple) -> Any:
    import nir

    if isinstance(pool, nn.AdaptiveAvgPool2d):
        out = pool.output_size if isinstance(pool.output_size, tuple) else (pool.output_size,) * 2
        if any(o is None or s % o for s, o in zip(shape[1:], out, strict=True)):
            raise ExportError(f"AdaptiveAvgPool2d({pool.output_size}) on {shape[1:]} is not a fixed pooling")
        kernel = tuple(s // o for s, o in zip(shape[1:], out, strict=True))
        return nir.AvgPool2d(kernel_size=np.array(kernel), stride=np.array(kernel), padding=np.array([0, 0]))
    k = pool.kernel_size if isinstance(pool.kernel_size, tuple) else (pool.kernel_size,) * 2
    s = pool.stride if isinstance(pool.stride, tuple) else (pool.stride,) * 2
    p = pool.padding if isinstance(pool.padding, tuple) else (pool.padding,) * 2
    return nir.AvgPool2d(kernel_size=np.array(k), stride=np.array(s), padding=np.array(p))


def _avgpool1d(pool: nn.AvgPool1d, shape: tuple, dtype: Any) -> Any:
    """``AvgPool1d(k)`` (no padding) on ``(C, L)`` as a NIR ``Conv1d`` of stride ``k`` whose weight is ``1/k``
    from each channel to itself and 0 across channels (NIR 1.0.8 gives a grouped ``Conv1d`` the input type
    of one group, so the pooling is not written as a grouped conv)."""
    import nir

    k = pool.kernel_size[0] if isinstance(pool.kernel_size, tuple) else pool.kernel_size
    s = pool.stride[0] if isinstance(pool.stride, tuple) else pool.stride
    p = pool.padding[0] if isinstance(pool.padding, tuple) else pool.padding
    if p or pool.ceil_mode:
        raise ExportError(f"AvgPool1d with padding {p} or ceil_mode has no exact NIR equivalent here")
    channels = shape[0]
    weight = np.zeros((channels, channels, k), dtype=dtype)
    weight[np.arange(channels), np.arange(channels), :] = 1.0 / k
    return nir.Conv1d(input_shape=int(shape[1]), weight=weight, stride=int(s), padding=0, dilation=1, groups=1,
                      bias=np.zeros(channels, dtype=dtype))


def _lif(neuron: LIF, shape: tuple, dtype: Any) -> list[Any]:
    import nir

    if neuron.reset != "hard":
        raise ExportError(f"reset={neuron.reset!r}: NIR's LIF resets to a value; only the hard reset exports")
    decay = float(neuron.decay().detach())
    threshold = float(torch.as_tensor(neuron.threshold).detach().reshape(-1)[0])
    nodes = [nir.LIF(**lif_params(decay, threshold, shape, dtype=dtype))]
    if neuron.scale_output:
        nodes.append(nir.Scale(scale=np.full(shape, threshold, dtype=dtype)))
    return nodes


class DiscreteLIF(nn.Module):
    """A NIR ``LIF`` node run as one forward-Euler step of ``dt`` per call (``nirtorch``'s stateful protocol).

    ``forward(x, state) -> (z, state)`` with ``v ← v + (dt/τ)(v_leak − v + R·x)``, ``z = [v > v_threshold]``,
    ``v ← v_reset`` where ``z``; ``state`` is ``None`` at ``t = 0`` (``v = 0``).
    """

    def __init__(self, node: Any, dt: float = DT) -> None:
        super().__init__()
        for key in ("tau", "r", "v_leak", "v_threshold", "v_reset"):
            self.register_buffer(key, torch.as_tensor(np.asarray(getattr(node, key))))
        self.dt = dt

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        v = torch.zeros_like(x) if state is None else state
        v = v + (self.dt / self.tau) * (self.v_leak - v + self.r * x)
        z = (v > self.v_threshold).to(x.dtype)
        v = torch.where(z > 0, self.v_reset.expand_as(v), v)
        return z, v


def _affine(node: Any) -> nn.Linear:
    """``nir.Affine`` → ``nn.Linear`` with its bias (nirtorch 2.6's default mapping leaves the bias unset)."""
    module = nn.Linear(node.weight.shape[-1], node.weight.shape[-2], bias=True)
    module.weight.data = torch.as_tensor(np.asarray(node.weight))
    module.bias.data = torch.as_tensor(np.asarray(node.bias))
    return module


def _flatten(node: Any) -> nn.Flatten:
    """``nir.Flatten`` (dimensions of one sample) → ``nn.Flatten`` on a batch (dimensions shifted by one)."""
    end = node.end_dim if node.end_dim < 0 else node.end_dim + 1
    return nn.Flatten(start_dim=node.start_dim + 1, end_dim=end)


def run_nir(graph: Any, x: torch.Tensor) -> torch.Tensor:
    """Run a NIR graph on ``x: [T, B, ...]`` with ``nirtorch`` (one call per time step); returns ``[T, B, ...]``.

    Our node mappings: :class:`DiscreteLIF` for ``LIF``; ``Affine`` and ``Flatten`` replace nirtorch 2.6's
    defaults, which drop the affine bias and read NIR's per-sample ``start_dim`` as a batch dimension.
    """
    import nir
    import nirtorch

    module = nirtorch.nir_to_torch(graph, {nir.LIF: DiscreteLIF, nir.Affine: _affine, nir.Flatten: _flatten},
                                   dtype=x.dtype)
    outputs, state = [], None
    for t in range(x.shape[0]):
        out, state = module(x[t]) if state is None else module(x[t], state)
        outputs.append(out)
    return torch.stack(outputs)

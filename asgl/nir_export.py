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
value); neurons other than :class:`asgl.LIF` (e.g. snnTorch's ``Leaky``); a model whose forward is not a
chain of its layers (residual blocks). The firing test differs only at equality (``≥`` here, ``>`` in NIR).
``scale_output`` (emit ``θ·o``) becomes a ``Scale`` node after the LIF.

**The layers.** ``Linear`` → ``Affine`` (or ``Linear`` without a bias); ``Conv1d``/``Conv2d`` → NIR's convs;
``AvgPool2d`` (and an ``AdaptiveAvgPool2d`` whose output divides its input) → ``AvgPool2d``; feature
flattening → ``Flatten``. Batch norm (tdBN, eval mode) is folded into the preceding conv/linear, per output
channel ``c``: ``W'_c = W_c·s_c``, ``b'_c = (b_c − μ_c)·s_c + β_c`` with ``s_c = γ_c / √(σ²_c + ε)``. The
rate readout (mean of the per-step logits over time) stays outside the graph: the graph outputs the
per-step logits.
"""

from __future__ import annotations

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
               dt: float = DT) -> dict[str, np.ndarray]:
    """NIR ``LIF`` parameters equal to our discrete LIF with decay ``λ ∈ [0, 1)`` and threshold ``θ``."""
    lam = np.broadcast_to(np.asarray(decay, dtype=np.float64), shape)
    if np.any(lam >= 1.0) or np.any(lam < 0.0):
        raise ExportError(f"decay must lie in [0, 1) for a leaky neuron, got {float(np.max(lam))}")
    tau = dt / (1.0 - lam)
    full = np.ones(shape)
    return {"tau": tau.astype(np.float32), "r": (tau / dt).astype(np.float32), "v_leak": 0.0 * full.astype(np.float32),
            "v_threshold": (np.asarray(threshold, dtype=np.float32) * full).astype(np.float32),
            "v_reset": np.zeros(shape, dtype=np.float32)}


def fold_batchnorm(weight: torch.Tensor, bias: torch.Tensor | None, bn: nn.modules.batchnorm._BatchNorm
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(W', b')`` of a conv/linear followed by batch norm in eval mode (module docstring)."""
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    b = torch.zeros_like(bn.running_mean) if bias is None else bias.detach()
    w = weight.detach() * scale.view(-1, *([1] * (weight.dim() - 1)))
    return w, (b - bn.running_mean) * scale + bn.bias.detach()


def _leaves(model: nn.Module) -> list[nn.Module]:
    """The model's layers in registration order, containers opened (``Sequential`` and plain modules)."""
    out: list[nn.Module] = []
    for child in model.children():
        if isinstance(child, (TimeDistributed, LIF, RepeatEncoder, FlattenFeatures, nn.Identity, nn.Dropout)):
            out.append(child)
        elif type(child).forward is nn.Sequential.forward or isinstance(child, nn.Sequential):
            out += _leaves(child)
        else:
            raise ExportError(f"layer {type(child).__name__} is not supported by the NIR export (chains of "
                              "conv/linear, tdBN, pooling, flatten and asgl.LIF only)")
    return out


def _trace_shapes(model: nn.Module, leaves: list[nn.Module], sample: torch.Tensor) -> dict[int, tuple]:
    """Per-sample input shape of every leaf (batch and time removed), from one forward pass on ``sample``."""
    shapes: dict[Any, tuple] = {}

    def record(module: nn.Module, args: tuple, output: Any) -> None:
        shapes.setdefault(id(module), tuple(args[0].shape[2:]))

    hooks = [m.register_forward_hook(record) for m in leaves]
    try:
        with torch.no_grad():
            expected = model(sample)
    finally:
        for h in hooks:
            h.remove()
    got = sum(1 for m in leaves if id(m) in shapes)
    if got != len(leaves):
        raise ExportError("the model's forward does not run every layer in order (not a chain); NIR export "
                          "supports chain models (mlp_snn, vgg_tiny), not residual blocks")
    shapes["output"] = tuple(expected.shape[2:])
    return shapes


def _synaptic(module: nn.Module, bn: nn.Module | None, shape: tuple) -> Any:
    import nir

    weight, bias = module.weight.detach(), None if module.bias is None else module.bias.detach()
    if bn is not None:
        weight, bias = fold_batchnorm(weight, bias, bn)
    w = weight.cpu().numpy().astype(np.float32)
    b = None if bias is None else bias.cpu().numpy().astype(np.float32)
    if isinstance(module, nn.Linear):
        return nir.Linear(weight=w) if b is None else nir.Affine(weight=w, bias=b)
    conv = nir.Conv2d if isinstance(module, nn.Conv2d) else nir.Conv1d
    pad = module.padding if isinstance(module.padding, str) else np.array(module.padding)
    return conv(input_shape=np.array(shape[1:]), weight=w, stride=np.array(module.stride), padding=pad,
                dilation=np.array(module.dilation), groups=module.groups,
                bias=np.zeros(w.shape[0], dtype=np.float32) if b is None else b)


def model_to_nir(model: nn.Module, sample: torch.Tensor) -> Any:
    """The NIR graph of ``model`` (eval mode; ``sample`` is one input ``[T, B, ...]`` used to learn shapes)."""
    import nir

    model = model.eval()
    leaves = _leaves(model)
    shapes = _trace_shapes(model, leaves, sample)
    nodes: list[Any] = []
    i = 0
    while i < len(leaves):
        layer, shape = leaves[i], shapes[id(leaves[i])]
        inner = layer.module if isinstance(layer, TimeDistributed) else None
        if isinstance(layer, (RepeatEncoder, nn.Identity, nn.Dropout)):
            pass
        elif isinstance(inner, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            nxt = leaves[i + 1] if i + 1 < len(leaves) else None
            bn = nxt.module if isinstance(nxt, TemporalBatchNorm) else None
            nodes.append(_synaptic(inner, bn, shape))
            i += bn is not None
        elif isinstance(layer, TemporalBatchNorm):
            raise ExportError("a batch norm that does not follow a conv/linear cannot be folded; NIR has no "
                              "per-channel affine node")
        elif isinstance(inner, (nn.AvgPool2d, nn.AdaptiveAvgPool2d)):
            nodes.append(_avgpool(inner, shape))
        elif isinstance(layer, FlattenFeatures) or isinstance(inner, nn.Flatten):
            nodes.append(nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1))
        elif isinstance(layer, LIF):
            nodes += _lif(layer, shape)
        else:
            raise ExportError(f"layer {layer!r} has no NIR equivalent in this export")
        i += 1
    return nir.NIRGraph.from_list(*nodes)


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


def _lif(neuron: LIF, shape: tuple) -> list[Any]:
    import nir

    if neuron.reset != "hard":
        raise ExportError(f"reset={neuron.reset!r}: NIR's LIF resets to a value; only the hard reset exports")
    decay = float(neuron.decay().detach())
    threshold = float(torch.as_tensor(neuron.threshold).detach().reshape(-1)[0])
    nodes = [nir.LIF(**lif_params(decay, threshold, shape))]
    if neuron.scale_output:
        nodes.append(nir.Scale(scale=np.full(shape, threshold, dtype=np.float32)))
    return nodes


class DiscreteLIF(nn.Module):
    """A NIR ``LIF`` node run as one forward-Euler step of ``dt`` per call (``nirtorch``'s stateful protocol).

    ``forward(x, state) -> (z, state)`` with ``v ← v + (dt/τ)(v_leak − v + R·x)``, ``z = [v > v_threshold]``,
    ``v ← v_reset`` where ``z``; ``state`` is ``None`` at ``t = 0`` (``v = 0``).
    """

    def __init__(self, node: Any, dt: float = DT) -> None:
        super().__init__()
        for key in ("tau", "r", "v_leak", "v_threshold", "v_reset"):
            self.register_buffer(key, torch.as_tensor(np.asarray(getattr(node, key)), dtype=torch.float32))
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
    module.weight.data = torch.as_tensor(np.asarray(node.weight), dtype=torch.float32)
    module.bias.data = torch.as_tensor(np.asarray(node.bias), dtype=torch.float32)
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

    module = nirtorch.nir_to_torch(graph, {nir.LIF: DiscreteLIF, nir.Affine: _affine, nir.Flatten: _flatten})
    outputs, state = [], None
    for t in range(x.shape[0]):
        out, state = module(x[t]) if state is None else module(x[t], state)
        outputs.append(out)
    return torch.stack(outputs)

"""Autograd wrapper around the fused LIF kernels, and backend selection.

:class:`FusedLIF` saves only the membrane potential before firing, ``v`` of shape ``[T, N]`` (4 bytes per
neuron-step in float32), plus the 0-d parameters. On the CPU, ``y``, ``v`` and ``g_x`` are arrays of
:data:`asgl.kernels.buffers.POOL`, reused once nothing refers to them (no page faults on a warm call). The
noise mask is never stored: the kernels regenerate it from ``seed`` (see
:func:`asgl.functional.counter_uniform`). Gradients are returned to the input, the width, the decay and the
threshold.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from asgl import functional as F

BACKENDS = ("auto", "autograd", "numba", "triton")
_log = logging.getLogger(__name__)
_REPORTED: set[str] = set()


def _missing_kernel(spike) -> str:
    """What no kernel implements: the spike's primitive when the table gives it no kernel code, else its class."""
    primitive = getattr(spike, "primitive", None)
    entry = F.PRIMITIVES.get(primitive) if isinstance(primitive, str) else None
    return primitive if entry is not None and entry.kernel_code is None else type(spike).__name__


def _report_autograd_once(spike, spec) -> None:
    """Log, once per primitive (or spike class), that ``"auto"`` runs the autograd loop for want of a kernel."""
    what = _missing_kernel(spike) if spec is None else spec.primitive
    if what not in _REPORTED:
        _REPORTED.add(what)
        _log.info("no fused LIF kernel implements %r; backend 'auto' runs the autograd loop for it", what)


def _implements(spec, backend: str) -> bool:
    """Whether ``backend``'s kernels implement the spike function ``spec`` describes (``None``: none does)."""
    return spec is not None and backend in F.PRIMITIVES[spec.primitive].fused_backends


def resolve_backend(backend: str, x: torch.Tensor, spike, spec) -> str:
    """Map ``backend`` (one of :data:`BACKENDS`) to the implementation that will run, or raise.

    ``spec`` is ``spike.fused_spec()``: ``None`` when no fused kernel implements the spike function; a
    primitive may also have a kernel on some fused backends only (``Primitive.fused_backends``). Reads only
    shapes, dtypes and devices, never a tensor's values, so it never waits for a device.
    """
    if backend == "auto":
        if spec is None:
            _report_autograd_once(spike, spec)
            return "autograd"
        if x.dtype == torch.float64:
            return "autograd"
        wanted = "triton" if x.device.type == "cuda" else "numba"
        if wanted == "numba" and (x.device.type != "cpu" or x.dtype != torch.float32):
            return "autograd"
        if not _implements(spec, wanted):
            _report_autograd_once(spike, spec)
            return "autograd"
        return wanted
    if backend in ("numba", "triton") and not _implements(spec, backend):
        what = _missing_kernel(spike) if spec is None else spec.primitive
        raise ValueError(f"backend {backend!r} has no kernel for {what!r} "
                         f"({type(spike).__name__}); use backend='auto' or 'autograd'")
    if backend == "numba" and (x.device.type != "cpu" or x.dtype != torch.float32):
        raise ValueError(f"backend 'numba' runs float32 CPU tensors only, got {x.dtype} on {x.device}")
    if backend == "triton" and x.device.type != "cuda" and not _triton_interpreted():
        raise ValueError(f"backend 'triton' needs a CUDA tensor (or TRITON_INTERPRET=1), got {x.device}")
    return backend


def _triton_interpreted() -> bool:
    import os

    return os.environ.get("TRITON_INTERPRET") == "1"


def _layout(x: torch.Tensor, width: torch.Tensor) -> tuple[int, int]:
    """``(C, S)``: number of width channels and the size of one channel's run in the flattened ``[T, N]``."""
    if width.dim() == 0:
        return 1, x[0].numel()
    channels = width.shape[0]
    if x.dim() < 3 or x.shape[2] != channels:
        raise ValueError(f"per-channel width has {channels} channels but the input has shape {tuple(x.shape)} "
                         "(channels are dimension 2 of [T, B, C, ...])")
    return channels, int(np.prod(x.shape[3:], dtype=np.int64)) if x.dim() > 3 else 1


def _scalar_array(value) -> np.ndarray:
    """A 0-d tensor or a number as a 1-element float32 array (a view of a float32 CPU tensor: no copy)."""
    if isinstance(value, torch.Tensor):
        return value.detach().reshape(1).to(torch.float32).numpy()
    return np.array([value], dtype=np.float32)


def _numba_forward(x2, w, s_inner, decay, theta, p, key, prim, hard, scale):
    """Numba forward; ``decay`` and ``theta`` are 0-d CPU tensors or numbers. Returns ``(y, v)``, ``[T, N]``."""
    from asgl.kernels import buffers, lif_numba

    n_steps = x2.shape[0]
    xn = x2.numpy().reshape(-1)
    y = buffers.POOL.take(xn.shape[0])
    v = buffers.POOL.take(xn.shape[0])
    forward, _ = lif_numba.kernels(prim, hard, scale, p > 0)
    forward(xn, n_steps, w.numpy(), s_inner, _scalar_array(decay), _scalar_array(theta), np.float32(p),
            np.int64(key), y, v)
    return torch.from_numpy(y).reshape(x2.shape), torch.from_numpy(v).reshape(x2.shape)


def _numba_backward(gy, v, w, s_inner, decay, theta, p, key, prim, hard, scale):
    """Numba backward. Returns ``(g_x [T, N], g_w [C] float32, g_decay, g_theta)``, the last two 0-d float64."""
    from asgl.kernels import buffers, lif_numba

    gx = buffers.POOL.take(v.numel())
    _, backward = lif_numba.kernels(prim, hard, scale, p > 0)
    g_w, g_d, g_t = backward(gy.numpy().reshape(-1), v.numpy().reshape(-1), v.shape[0], w.numpy(), s_inner,
                             _scalar_array(decay), _scalar_array(theta), np.float32(p), np.int64(key), gx)
    g_width = torch.from_numpy(g_w.sum(0)).float()
    return (torch.from_numpy(gx).reshape(v.shape), g_width, torch.from_numpy(np.asarray(g_d.sum())),
            torch.from_numpy(np.asarray(g_t.sum())))


def _kernels(backend: str):
    if backend == "numba":
        return _numba_forward, _numba_backward
    from asgl.kernels import lif_triton

    return lif_triton.forward, lif_triton.backward


class FusedLIF(torch.autograd.Function):
    """``y = LIF(x)`` with a hand-written backward through time (see :mod:`asgl.kernels.lif_numba`)."""

    @staticmethod
    def forward(ctx, x, width, decay, threshold, primitive, p, seed, reset, scale, backend):
        x2 = x.detach().contiguous().reshape(x.shape[0], -1)
        _, s_inner = _layout(x, width)
        w = width.detach().reshape(-1).to(torch.float32).contiguous()
        key = F.seed_key(seed)
        prim = F.PRIMITIVES[primitive].kernel_code
        hard = reset == "hard"
        fwd, _ = _kernels(backend)
        decay, threshold = decay.detach(), threshold.detach()
        y, v = fwd(x2, w, s_inner, decay, threshold, p, key, prim, hard, scale)
        ctx.save_for_backward(v, w, decay, threshold)
        ctx.meta = (s_inner, p, key, prim, hard, scale, backend, x.shape, width.shape)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad_y):
        v, w, decay, threshold = ctx.saved_tensors
        s_inner, p, key, prim, hard, scale, backend, shape, width_shape = ctx.meta
        _, bwd = _kernels(backend)
        gy = grad_y.contiguous().reshape(v.shape).to(v.dtype)
        gx, g_w, g_d, g_t = bwd(gy, v, w, s_inner, decay, threshold, p, key, prim, hard, scale)
        g_width = g_w.reshape(width_shape).to(grad_y.device)
        g_decay = g_d.to(dtype=decay.dtype, device=decay.device).reshape(decay.shape)
        g_threshold = g_t.to(dtype=threshold.dtype, device=threshold.device).reshape(threshold.shape)
        return gx.reshape(shape), g_width, g_decay, g_threshold, None, None, None, None, None, None


def fused_lif(x, spec, decay, threshold, reset, scale_output, seed, backend):
    """Run the fused LIF on ``x`` ``[T, B, ...]`` with the spike function described by ``spec``.

    ``spec.p`` and ``seed`` are Python numbers; ``decay`` and ``threshold`` stay tensors all the way into the
    kernels, so no value is read back from the device.
    """
    return FusedLIF.apply(x, spec.width, decay, threshold, spec.primitive, spec.p, seed, reset, scale_output,
                          backend)

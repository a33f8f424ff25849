"""Triton kernels for the fused multi-step LIF with ASGL spikes (forward and backward through time).

Same equations, layout and counter-based mask as the CPU kernel :mod:`asgl.kernels.lif_numba` (read its
module docstring first). ``x`` is ``[T, N]`` row-major with ``N = B·C·S`` flattening ``[B, C, S...]``; the
width ``w`` has ``C`` entries and neuron ``n`` uses ``w[(n // S) % C]``.

Forward, per neuron and step (``r_{−1} = 0``)::

    v_t = round(λ r_{t−1} + x_t)                     (round: to the storage dtype of v, see below)
    u_t = v_t − θ
    o_t = H_w(u_t) if U(t·N + n) < p else Θ(u_t)      (U: asgl.functional.counter_uniform, bit-identical)
    r_t = v_t − θ o_t  (soft)      or      r_t = v_t (1 − o_t)  (hard)
    y_t = θ o_t if scale else o_t

Backward, in reverse time with ``g_v_T = 0`` (``ĝ_y = θ g_y`` if scale else ``g_y``)::

    g_r = λ g_v_{t+1}
    g_o = ĝ_y − g_r (θ soft | v_t hard)
    g_v = g_r (1 soft | 1 − o_t hard) + g_o H'(u_t)
    g_x_t = g_v,   g_w += g_o ∂H/∂w = g_o H'(u_t)(−u_t / w),   g_λ += g_v_{t+1} r_t,
    g_θ += −g_o H'(u_t) − [soft] g_r o_t + [scale] g_y o_t

Kernel structure: one program per block of ``BLOCK`` neurons; the loop over ``t`` runs inside the program,
the membrane/reset state and the adjoint ``g_v_{t+1}`` live in registers, and the only tensor written by the
forward besides ``y`` is ``v`` (pre-fire membrane, ``[T, N]``). Backward re-reads ``v``, regenerates the
uniform ``U`` from the same counter hash, and so recomputes ``H``, ``H'`` and ``o`` exactly as the forward
did. Memory traffic per neuron-step: forward reads ``x`` and writes ``y`` and ``v``; backward reads ``g_y``
and ``v`` and writes ``g_x`` (24 bytes in float32, 12 in bfloat16).

Counter hash: Wellons' lowbias32 on ``(t·N + n + key) mod 2³²`` computed in ``uint32`` registers (multiply,
add and logical right shift all wrap modulo 2³² exactly as the int64-and-mask torch version); the counter
starts at ``(n + key) mod 2³²`` and advances by ``N mod 2³²`` per step (both prepared on the host as
32-bit words so no product ``t·N`` can overflow).

Dtypes: ``x`` may be float32, bfloat16 or float16. All arithmetic is float32. ``y``, ``v`` and ``g_x`` are
stored in ``x``'s dtype. For a 16-bit ``x`` the membrane value is rounded to 16 bits (round to nearest even)
*before* it is used, so the state that drives the spike and the reset in the forward is bit-identical to
the stored ``v`` the backward re-reads: the regenerated ``o`` always equals the forward's ``o`` (storing
float32 ``v`` would cost 4 more bytes per neuron-step, and a rounded store without rounding the state would
let spikes near threshold flip between forward and backward). The reset state ``r`` and the adjoint stay
float32 in registers. The backward treats the rounding as the identity (a straight-through estimator).
For float32 ``x`` the rounding is the identity and the kernel computes the exact float32 recursion.
bfloat16 rounding is done by hand on the bit pattern (finite values only) so that the Triton interpreter,
whose float32→bfloat16 cast truncates, gives the same bits as the compiled kernel. On the GPU, Triton's
float32 division and ``exp`` are the fast approximate instructions (a few ulp) and ``λ r + x`` may be
contracted to one FMA, so ``v``, ``H`` and the gradients agree with the reference to float32 rounding, not
bit for bit (a spike can differ only where ``u`` is within an ulp of 0). The mask ``U < p`` is bit-exact, and
forward and backward always agree with each other because both derive ``o`` from the same stored ``v``.

Reductions (deterministic, no atomics): ``g_λ`` and ``g_θ`` are accumulated per neuron over ``t`` in float32
registers, summed per block with ``tl.sum`` into a ``[num_blocks]`` buffer, and the partials are summed in
float64 by torch. ``g_w`` for a layer-wide width (``C = 1``) is reduced the same way; for per-channel widths
each neuron writes its time-summed ``g_w`` contribution to an ``[N]`` float32 buffer (4 bytes per neuron,
i.e. ``1/(3T)`` of the backward's float32 traffic) which torch reduces as ``[B, C, S] → [C]`` in float64.
"""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl

from asgl.functional import PRIMITIVES

SIGMOID = PRIMITIVES["sigmoid"].kernel_code
RECTANGLE = PRIMITIVES["rectangle"].kernel_code
IMPLEMENTED = (SIGMOID, RECTANGLE)
_SIGMOID_CODE = tl.constexpr(SIGMOID)  # the kernels compare PRIM with it (globals in kernels must be constexpr)
MAX_BLOCK = 1024
MIN_BLOCK = 128
NUM_WARPS = 4
SUPPORTED_DTYPES = (torch.float32, torch.bfloat16, torch.float16)

_MASK32 = 0xFFFFFFFF


@triton.jit
def _uniform(h):
    """Counter-based uniform in ``[0, 1)`` from a ``uint32`` counter ``h = (t·N + n + key) mod 2³²``.

    ``lowbias32(h) >> 8`` scaled by ``2⁻²⁴``; bit-identical to :func:`asgl.functional.counter_uniform`.
    """
    h = h ^ (h >> 16)
    h = h * tl.full(h.shape, 0x7FEB352D, tl.uint32)
    h = h ^ (h >> 15)
    h = h * tl.full(h.shape, 0x846CA68B, tl.uint32)
    h = h ^ (h >> 16)
    return (h >> 8).to(tl.float32) * (1.0 / 16777216.0)


@triton.jit
def _round_state(v, ROUND_BF16: tl.constexpr, ROUND_F16: tl.constexpr):
    """``v`` (float32) rounded to the storage dtype and returned as float32 (identity for float32 storage).

    bfloat16: round to nearest even on the bit pattern, ``bits + 0x7FFF + ((bits >> 16) & 1)`` with the low
    16 bits cleared (finite inputs). float16: the cast rounds to nearest even on every backend.
    """
    if ROUND_BF16:
        bits = v.to(tl.uint32, bitcast=True)
        bits = bits + 0x7FFF + ((bits >> 16) & 1)
        bits = bits & tl.full(v.shape, 0xFFFF0000, tl.uint32)
        v = bits.to(tl.float32, bitcast=True)
    if ROUND_F16:
        v = v.to(tl.float16).to(tl.float32)
    return v


@triton.jit
def _smooth(u, w, PRIM: tl.constexpr):
    """``(H_w(u), H'_w(u))``: sigmoid ``1/(1+e^{−u/w})`` or rectangle ``clamp(u/w + 1/2, 0, 1)``.

    For both primitives ``∂H/∂w = H'(u)·(−u/w)``.
    """
    z = u / w
    if PRIM == _SIGMOID_CODE:
        e = tl.exp(-tl.abs(z))
        s = 1.0 / (1.0 + e)
        h = tl.where(z >= 0.0, s, 1.0 - s)
        dh = h * (1.0 - h) / w
    else:
        h = tl.minimum(tl.maximum(z + 0.5, 0.0), 1.0)
        dh = tl.where(tl.abs(u) < 0.5 * w, 1.0 / w, 0.0)
    return h, dh


@triton.jit
def _block_setup(w_ptr, decay_ptr, theta_ptr, N, S, C, ctr0, ctr_step, pid, BLOCK: tl.constexpr):
    """What both kernels read first for program ``pid``: ``λ``, ``θ``, the neuron indices ``n`` of its block
    and their mask, each neuron's width (channel ``(n // S) mod C``), and its noise counter and stride."""
    decay = tl.load(decay_ptr)
    theta = tl.load(theta_ptr)
    n = pid * BLOCK + tl.arange(0, BLOCK)
    valid = n < N
    w = tl.load(w_ptr + (n // S) % C, mask=valid, other=1.0)
    return decay, theta, n, valid, w, n.to(tl.uint32) + ctr0.to(tl.uint32), ctr_step.to(tl.uint32)


@triton.jit(do_not_specialize=["ctr0", "ctr_step"])
def _lif_fwd_kernel(x_ptr, w_ptr, y_ptr, v_ptr, decay_ptr, theta_ptr, N, T, S, C, p, ctr0, ctr_step,
                    PRIM: tl.constexpr, HARD: tl.constexpr, SCALE: tl.constexpr, NOISY: tl.constexpr,
                    ROUND_BF16: tl.constexpr, ROUND_F16: tl.constexpr, BLOCK: tl.constexpr):
    """One program = ``BLOCK`` neurons for all ``T`` steps; writes ``y`` and ``v`` (``[T, N]``).

    ``λ`` and ``θ`` are read from 1-element float32 device buffers, so the host never reads them.
    """
    pid = tl.program_id(0)
    decay, theta, n, valid, w, ctr, step = _block_setup(w_ptr, decay_ptr, theta_ptr, N, S, C, ctr0, ctr_step, pid,
                                                        BLOCK)
    r = tl.zeros([BLOCK], dtype=tl.float32)
    for t in range(T):
        offs = tl.cast(t, tl.int64) * N + n
        x = tl.load(x_ptr + offs, mask=valid, other=0.0).to(tl.float32)
        v = _round_state(decay * r + x, ROUND_BF16, ROUND_F16)
        tl.store(v_ptr + offs, v.to(v_ptr.dtype.element_ty), mask=valid)
        u = v - theta
        spike = tl.where(u >= 0.0, 1.0, 0.0)
        if NOISY:
            h, _dh = _smooth(u, w, PRIM)
            o = tl.where(_uniform(ctr) < p, h, spike)
            ctr += step
        else:
            o = spike
        r = v * (1.0 - o) if HARD else v - theta * o
        y = _round_state(theta * o if SCALE else o, ROUND_BF16, ROUND_F16)
        tl.store(y_ptr + offs, y.to(y_ptr.dtype.element_ty), mask=valid)


@triton.jit(do_not_specialize=["ctr0", "ctr_step"])
def _lif_bwd_kernel(gy_ptr, v_ptr, w_ptr, gx_ptr, gw_ptr, gdecay_ptr, gtheta_ptr, decay_ptr, theta_ptr, N, T, S, C,
                    p, ctr0, ctr_step,
                    PRIM: tl.constexpr, HARD: tl.constexpr, SCALE: tl.constexpr, NOISY: tl.constexpr,
                    PER_CHANNEL: tl.constexpr, ROUND_BF16: tl.constexpr, ROUND_F16: tl.constexpr,
                    BLOCK: tl.constexpr):
    """Reverse-time adjoint for ``BLOCK`` neurons; writes ``g_x`` and the deterministic partial sums.

    Step ``t = T−1−i`` is read at element offset ``t·N + n`` (int64). ``ctr0 = ((T−1)·N + key) mod 2³²``
    and the counter decreases by ``ctr_step = N mod 2³²`` per step. Partials: ``gdecay[pid]``, ``gtheta[pid]``, and
    ``gw[pid]`` (``C = 1``) or ``gw[n]`` (per channel). ``λ`` and ``θ`` are read from device buffers.
    """
    pid = tl.program_id(0)
    decay, theta, n, valid, w, ctr, step = _block_setup(w_ptr, decay_ptr, theta_ptr, N, S, C, ctr0, ctr_step, pid,
                                                        BLOCK)
    g_next = tl.zeros([BLOCK], dtype=tl.float32)
    acc_w = tl.zeros([BLOCK], dtype=tl.float32)
    acc_decay = tl.zeros([BLOCK], dtype=tl.float32)
    acc_theta = tl.zeros([BLOCK], dtype=tl.float32)
    for i in range(T):
        offs = tl.cast(T - 1 - i, tl.int64) * N + n
        v = tl.load(v_ptr + offs, mask=valid, other=0.0).to(tl.float32)
        gy = tl.load(gy_ptr + offs, mask=valid, other=0.0).to(tl.float32)
        u = v - theta
        h, dh = _smooth(u, w, PRIM)
        spike = tl.where(u >= 0.0, 1.0, 0.0)
        if NOISY:
            o = tl.where(_uniform(ctr) < p, h, spike)
            ctr -= step
        else:
            o = spike
        g_r = decay * g_next
        if HARD:
            r = v * (1.0 - o)
            g_o = (theta * gy if SCALE else gy) - g_r * v
            g_v = g_r * (1.0 - o) + g_o * dh
        else:
            r = v - theta * o
            g_o = (theta * gy if SCALE else gy) - g_r * theta
            g_v = g_r + g_o * dh
        acc_decay += g_next * r
        g_od = g_o * dh
        acc_w += g_od * (-u / w)
        if HARD:
            acc_theta += -g_od
        else:
            acc_theta += -g_od - g_r * o
        if SCALE:
            acc_theta += gy * o
        gx = _round_state(g_v, ROUND_BF16, ROUND_F16)
        tl.store(gx_ptr + offs, gx.to(gx_ptr.dtype.element_ty), mask=valid)
        g_next = g_v
    acc_w = tl.where(valid, acc_w, 0.0)
    if PER_CHANNEL:
        tl.store(gw_ptr + n, acc_w, mask=valid)
    else:
        tl.store(gw_ptr + pid, tl.sum(acc_w, axis=0))
    tl.store(gdecay_ptr + pid, tl.sum(tl.where(valid, acc_decay, 0.0), axis=0))
    tl.store(gtheta_ptr + pid, tl.sum(tl.where(valid, acc_theta, 0.0), axis=0))


def _interpreted() -> bool:
    return os.environ.get("TRITON_INTERPRET") == "1"


def _check(name: str, t: torch.Tensor, w: torch.Tensor, s_inner: int, prim: int) -> None:
    """Raise ``ValueError`` for any input the kernels do not implement (no silent fallback).

    Reads shapes, dtypes, devices and Python numbers only, never a tensor's values (no device read).
    """
    if prim not in IMPLEMENTED:
        raise ValueError(f"the Triton LIF kernel has no primitive with code {prim!r}; it implements {IMPLEMENTED}")
    if t.device.type == "cuda":
        pass
    elif t.device.type == "cpu" and _interpreted():
        if "Interpreted" not in type(_lif_fwd_kernel).__name__:
            raise ValueError("TRITON_INTERPRET=1 was set after asgl.kernels.lif_triton was imported; set it "
                             "before importing triton/asgl to run the Triton kernels on the CPU")
    else:
        raise ValueError(f"Triton LIF kernel needs a CUDA tensor (or a CPU tensor with TRITON_INTERPRET=1), "
                         f"got {name} on {t.device}")
    if t.dtype not in SUPPORTED_DTYPES:
        raise ValueError(f"Triton LIF kernel supports {SUPPORTED_DTYPES}, got {name} of dtype {t.dtype}")
    if t.dim() != 2 or not t.is_contiguous():
        raise ValueError(f"{name} must be a contiguous [T, N] tensor, got shape {tuple(t.shape)}")
    if t.shape[1] >= 2**31:
        raise ValueError(f"Triton LIF kernel supports N < 2^31 neurons per step, got {t.shape[1]}")
    if w.dtype != torch.float32 or w.dim() != 1 or w.device != t.device or not w.is_contiguous():
        raise ValueError(f"width must be a contiguous float32 [C] tensor on {t.device}, got {w.dtype} "
                         f"{tuple(w.shape)} on {w.device}")
    if s_inner < 1 or t.shape[1] % (s_inner * w.shape[0]):
        raise ValueError(f"N = {t.shape[1]} is not a multiple of C·S = {w.shape[0]}·{s_inner}")


def _i32(word: int) -> int:
    """A 32-bit word as the signed int32 with the same bits (so Triton always types the argument ``i32``)."""
    word &= _MASK32
    return word - 2**32 if word >= 2**31 else word


def _block(n: int) -> int:
    return max(MIN_BLOCK, min(MAX_BLOCK, triton.next_power_of_2(max(n, 1))))


def _round_flags(dtype: torch.dtype) -> tuple[bool, bool]:
    return dtype == torch.bfloat16, dtype == torch.float16


def _device_scalar(value, device: torch.device) -> torch.Tensor:
    """``value`` (a 0-d tensor or a number) as a 1-element float32 tensor on ``device``, without a host read.

    A tensor already on ``device`` stays there (cast on the device if needed); a number is written by a fill
    kernel, not copied from the host.
    """
    if isinstance(value, torch.Tensor):
        return value.detach().reshape(1).to(device=device, dtype=torch.float32)
    return torch.full((1,), float(value), dtype=torch.float32, device=device)


def forward(x2, w, s_inner, decay, theta, p, key, prim, hard, scale):
    """Fused LIF forward.

    Args:
        x2: input currents ``[T, N]`` (float32, bfloat16 or float16; contiguous; CUDA, or CPU when
            ``TRITON_INTERPRET=1``).
        w: width ``[C]`` float32; neuron ``n`` uses ``w[(n // s_inner) % C]``.
        s_inner: ``S``, the length of one channel's run in a row of ``x2``.
        decay, theta: ``λ`` and ``θ``, 0-d tensors (read by the kernel on the device) or numbers.
        p: the analog fraction, a Python float (it selects the kernel variant, so it lives on the host).
        key: 32-bit mask key from :func:`asgl.functional.seed_key`.
        prim: kernel code of the primitive (:data:`asgl.functional.PRIMITIVES`). hard: hard reset.
        scale: emit ``θ·o``.

    Returns:
        ``(y, v)``: spikes ``[T, N]`` and the pre-fire membrane ``[T, N]``, both in ``x2``'s dtype.
    """
    _check("x", x2, w, s_inner, prim)
    n_steps, n = x2.shape
    y = torch.empty_like(x2)
    v = torch.empty_like(x2)
    if x2.numel() == 0:
        return y, v
    block = _block(n)
    rb, rh = _round_flags(x2.dtype)
    grid = (triton.cdiv(n, block),)
    _lif_fwd_kernel[grid](x2, w, y, v, _device_scalar(decay, x2.device), _device_scalar(theta, x2.device), n,
                          n_steps, s_inner, w.shape[0], float(p), _i32(key), _i32(n),
                          PRIM=int(prim), HARD=bool(hard), SCALE=bool(scale), NOISY=float(p) > 0.0, ROUND_BF16=rb,
                          ROUND_F16=rh, BLOCK=block, num_warps=NUM_WARPS)
    return y, v


def backward(gy, v, w, s_inner, decay, theta, p, key, prim, hard, scale):
    """Fused LIF backward through time (arguments as in :func:`forward`; ``gy`` and ``v`` are ``[T, N]``).

    Returns:
        ``(grad_x [T, N] in v's dtype, g_w [C] float32, g_decay, g_theta)``, the last two 0-d float64 tensors
        on ``v``'s device (never read back to the host here).
    """
    _check("v", v, w, s_inner, prim)
    if gy.shape != v.shape or gy.dtype != v.dtype or gy.device != v.device or not gy.is_contiguous():
        raise ValueError(f"grad_y must be a contiguous tensor like v {tuple(v.shape)} {v.dtype}, got "
                         f"{tuple(gy.shape)} {gy.dtype} on {gy.device}")
    n_steps, n = v.shape
    channels = w.shape[0]
    gx = torch.empty_like(v)
    if v.numel() == 0:
        zero = torch.zeros((), dtype=torch.float64, device=v.device)
        return gx, torch.zeros(channels, dtype=torch.float32, device=v.device), zero, zero.clone()
    block = _block(n)
    n_blocks = triton.cdiv(n, block)
    per_channel = channels > 1
    gw_part = torch.empty(n if per_channel else n_blocks, dtype=torch.float32, device=v.device)
    gd_part = torch.empty(n_blocks, dtype=torch.float32, device=v.device)
    gt_part = torch.empty(n_blocks, dtype=torch.float32, device=v.device)
    last = (n_steps - 1) * n
    rb, rh = _round_flags(v.dtype)
    _lif_bwd_kernel[(n_blocks,)](gy, v, w, gx, gw_part, gd_part, gt_part, _device_scalar(decay, v.device),
                                 _device_scalar(theta, v.device), n, n_steps, s_inner, channels, float(p),
                                 _i32(key + last), _i32(n),
                                 PRIM=int(prim), HARD=bool(hard), SCALE=bool(scale), NOISY=float(p) > 0.0,
                                 PER_CHANNEL=per_channel, ROUND_BF16=rb, ROUND_F16=rh, BLOCK=block,
                                 num_warps=NUM_WARPS)
    if per_channel:
        g_w = gw_part.view(-1, channels, s_inner).sum(dim=(0, 2), dtype=torch.float64).float()
    else:
        g_w = gw_part.sum(dtype=torch.float64).float().reshape(1)
    return gx, g_w, gd_part.sum(dtype=torch.float64), gt_part.sum(dtype=torch.float64)

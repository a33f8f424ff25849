"""Numba CPU kernels for the fused multi-step LIF with ASGL spikes (forward and backward through time).

Layout: ``x`` is ``[T, N]`` float32, row-major, where ``N = B·C·S`` flattens ``[B, C, S...]``; the
width array has ``C`` entries and neuron ``n`` uses ``w[(n // S) % C]`` (``C = 1`` for a layer-wide width).

Forward, per neuron and step (soft reset shown; hard reset is ``r = v(1 − o)``)::

    v_t = λ r_{t−1} + x_t            (r_{−1} = 0)
    u_t = v_t − θ,   z_t = u_t / w
    o_t = Θ(u_t) if U(t·N + n) ≥ p else H(z_t)      (U: counter-based uniform, see asgl.functional)
    r_t = v_t − θ o_t
    y_t = θ o_t if scale else o_t

Only ``v_t`` is stored for backward (4 bytes per neuron-step). Backward regenerates ``U``, ``H`` and ``o`` and
runs the adjoint recursion in reverse time (``g_r`` is dL/dr_t, reaching it through ``v_{t+1}``)::

    g_r = λ g_v_{t+1}
    g_o = ĝ_y + g_r ∂r/∂o            (∂r/∂o = −θ soft, −v_t hard; ĝ_y = θ g_y if scale else g_y)
    g_v = g_r ∂r/∂v + g_o H'(u_t)     (∂r/∂v = 1 soft, 1 − o_t hard)
    g_x_t = g_v,  g_w += g_o ∂H/∂w  (−g_o H'(u_t) z_t when H depends on u through z only),  g_λ += g_v_{t+1} r_t,
    g_θ += −g_o H'(u_t) − [soft] g_r o_t + [scale] g_y o_t

Speed comes from four choices, each measured (``docs/performance.md``):

* One pair of kernels is compiled per ``(primitive, reset, scale, noisy)`` (:func:`kernels`), so the flags
  are constants and the inner loops are straight-line code; with runtime flags LLVM kept a branch per
  element and left the backward loop scalar. Each pair is compiled once per machine: numba's on-disk
  cache holds it for every later process (see :func:`kernels` for what makes the cache hit).
* Neurons are processed in blocks of ``BLOCK`` (``prange`` over blocks, so all cores work); within a block
  every array is indexed by the loop counter alone (per-step slices), so loads and stores are contiguous
  vector operations rather than gathers.
* The channel of each neuron is stepped incrementally, not divided out per neuron.
* The hash, ``2⁻ⁿ`` and the polynomial's multiply-adds are LLVM intrinsics (:mod:`.numba_intrinsics`).

Parameter gradients are accumulated per neuron over time and reduced in a fixed order afterwards, so results
do not depend on threads or alignment. The exponential is evaluated by hand (:func:`_exp_neg`) because a
libm call would stop vectorisation.
"""

from __future__ import annotations

import functools
import hashlib
import math
from pathlib import Path

import numpy as np
from numba import njit, prange

from asgl.functional import PRIMITIVES
from asgl.kernels import numba_intrinsics
from asgl.kernels.numba_intrinsics import counter_uniform32, exp2_neg, fma, prefer_512bit_vectors

BLOCK = 1024
SIGMOID = PRIMITIVES["sigmoid"].kernel_code
RECTANGLE = PRIMITIVES["rectangle"].kernel_code
DSPIKE = PRIMITIVES["dspike"].kernel_code
STEP = PRIMITIVES["step"].kernel_code
IMPLEMENTED = (SIGMOID, RECTANGLE, DSPIKE, STEP)

# numba invalidates a cache entry when this file changes, but not when numba_intrinsics.py does, although its
# code is compiled into the kernels; its digest is part of the kernels' names and so of the cache's file names.
_INTRINSICS_DIGEST = hashlib.sha256(Path(numba_intrinsics.__file__).read_bytes()).hexdigest()[:10]

_F0 = np.float32(0.0)
_F1 = np.float32(1.0)
_HALF = np.float32(0.5)
_LOG2E = np.float32(1.4426950408889634)
_LN2_HI = np.float32(0.693145751953125)
_LN2_LO = np.float32(1.428606765330187e-06)
# exp(−87) ≈ 1.6e-38 is the smallest value whose 2^-n is still a normal float32.
_MAX_ARG = np.float32(87.0)
# exp(−r) for |r| ≤ ln2/2: Taylor coefficients to degree 7 (relative error < 1e-7 over the interval).
_C0, _C1, _C2, _C3 = np.float32(1.0), np.float32(-1.0), np.float32(1 / 2), np.float32(-1 / 6)
_C4, _C5, _C6, _C7 = np.float32(1 / 24), np.float32(-1 / 120), np.float32(1 / 720), np.float32(-1 / 5040)

# No "contract" or "reassoc": LLVM would apply them in the vectorised body but not in the scalar remainder,
# so results would depend on where an element falls in a block. Fused multiply-adds are explicit instead.
_KW = {"cache": True, "fastmath": {"nnan", "ninf", "nsz"}, "error_model": "numpy", "boundscheck": False}


@njit(inline="always", **_KW)
def _exp_neg(a):
    """``exp(−a)`` for ``a ≥ 0``, branch-free: ``a = n ln2 + r`` with ``|r| ≤ ln2/2``, ``e^{−a} = e^{−r} 2^{−n}``."""
    a = min(a, _MAX_ARG)
    n = np.int32(a * _LOG2E + _HALF)
    nf = np.float32(n)
    r = fma(nf, -_LN2_LO, fma(nf, -_LN2_HI, a))
    q = fma(r, _C7, _C6)
    q = fma(r, q, _C5)
    q = fma(r, q, _C4)
    q = fma(r, q, _C3)
    q = fma(r, q, _C2)
    q = fma(r, q, _C1)
    q = fma(r, q, _C0)
    return q * exp2_neg(n)


@njit(inline="always", **_KW)
def _sigmoid(z):
    """``1 / (1 + e^{−z})``, computed from ``e^{−|z|}`` so neither tail loses precision."""
    e = _exp_neg(abs(z))
    s = _F1 / (_F1 + e)
    return s if z >= _F0 else e * s


@njit(inline="always", **_KW)
def _block_channels(s_inner, n_channels, lo, m):
    """Channel of each neuron ``lo … lo+m−1`` (runs of ``s_inner`` per channel), one division per block."""
    ch = np.empty(m, dtype=np.int64)
    c = (lo // s_inner) % n_channels
    k = lo % s_inner
    for j in range(m):
        ch[j] = c
        k += 1
        if k == s_inner:
            k = 0
            c = c + 1 if c + 1 < n_channels else 0
    return ch


@njit(inline="always", **_KW)
def _block_inverse_widths(w, ch):
    """``1 / w`` for each neuron of a block, given each neuron's channel ``ch`` (:func:`_block_channels`)."""
    inverse = _F1 / w
    out = np.empty(ch.shape[0], dtype=np.float32)
    for j in range(ch.shape[0]):
        out[j] = inverse[ch[j]]
    return out


@njit(inline="always", **_KW)
def _dspike_constants(w):
    """Per channel, with ``b = 1/w`` and ``A = 1/(2 tanh(b/2))``: rows ``A``, ``b A`` and ``∂A/∂w = b² sech²(b/2) A²``.

    Shape ``[3, C]`` float32; computed once per call (``C`` library ``tanh`` calls), gathered per block.
    """
    out = np.empty((3, w.shape[0]), dtype=np.float32)
    for c in range(w.shape[0]):
        b = _F1 / w[c]
        th = np.float32(math.tanh(b * _HALF))
        a = _HALF / th
        out[0, c] = a
        out[1, c] = b * a
        out[2, c] = b * b * (_F1 - th * th) * a * a
    return out


@njit(inline="always", **_KW)
def _block_gather(values, ch, count):
    """``values[ch[j]]`` for the first ``count`` neurons of a block (``count = 0``: an empty array)."""
    out = np.empty(count, dtype=np.float32)
    for j in range(count):
        out[j] = values[ch[j]]
    return out


@njit(inline="always", **_KW)
def _primitive(u, inv_w, amp, gain, damp, prim):
    """``(z, H, ∂H/∂u, ∂H/∂w + z ∂H/∂u)`` of primitive ``prim`` at ``u`` with ``z = u / w``.

    sigmoid ``H = 1/(1+e^{−z})``, ``H' = H(1 − H)/w``; rectangle ``H = clamp(z + 1/2, 0, 1)``, ``H' = [|z| < 1/2]/w``;
    both depend on ``u`` through ``z`` only, so ``∂H/∂w = −z H'`` and the last entry is 0. Dspike on
    ``|u| ≤ 1/2`` (``A``, ``bA``, ``∂A/∂w`` from :func:`_dspike_constants`): ``H = A tanh(z) + 1/2``,
    ``H' = bA sech²(z)``, last entry ``tanh(z) ∂A/∂w``; outside the window ``H = Θ(u)`` and the rest 0. Step:
    ``H = Θ(u)``, the rest 0. ``tanh`` and ``sech²`` come from one ``e = e^{−2|z|}``.
    """
    z = u * inv_w
    if prim == SIGMOID:
        h = _sigmoid(z)
        return z, h, h * (_F1 - h) * inv_w, _F0
    if prim == RECTANGLE:
        return z, min(max(z + _HALF, _F0), _F1), inv_w if abs(z) < _HALF else _F0, _F0
    if prim == DSPIKE:
        e = _exp_neg(abs(z) + abs(z))
        t = (_F1 - e) / (_F1 + e)
        t = t if z >= _F0 else -t
        if abs(u) <= _HALF:
            return z, fma(t, amp, _HALF), gain * (np.float32(4.0) * e / ((_F1 + e) * (_F1 + e))), t * damp
        return z, _F1 if u > _F0 else _F0, _F0, _F0
    return z, _F1 if u >= _F0 else _F0, _F0, _F0


@functools.cache
def kernels(prim: int, hard: bool, scale: bool, noisy: bool):
    """``(forward, backward)`` compiled for one combination of flags, loaded from numba's on-disk cache if there.

    ``forward(x, n_steps, w, s_inner, decay, theta, p, key, y, v_saved)`` fills flat ``y`` and ``v_saved``.
    ``backward(grad_y, v_saved, n_steps, w, s_inner, decay, theta, p, key, grad_x)`` fills flat ``grad_x`` and
    returns per-block partial sums ``(g_w[blocks, C], g_decay[blocks], g_theta[blocks])`` in float64.
    ``prim`` is a code of :data:`IMPLEMENTED` (sigmoid, rectangle, Dspike, step; :func:`_primitive`).
    ``decay`` and ``theta`` are 1-element float32 arrays (read inside the kernel, so a caller never converts
    a tensor to a Python number); ``noisy`` must equal ``p > 0``.

    Why closures, and why they hit the cache: numba keys a closure's cache entry on its bytecode and on a
    pickle of its closure cells. The cells here hold only the four flags (an int and three bools), so the key
    is the same in every process and a fresh process loads the compiled code instead of compiling it. The
    flags are frozen into the compiled code as constants, so every ``if`` on them is folded away and the inner
    loops stay straight-line vector code. A cell holding a compiled function (a dispatcher) would pickle
    differently in every process and the cache would never hit: everything the kernels call is module-level.
    :func:`_compile` gives each flag set its own symbol names.
    """
    if prim not in IMPLEMENTED:
        raise ValueError(f"the numba LIF kernel has no primitive with code {prim!r}; it implements {IMPLEMENTED}")
    prim, hard, scale, noisy = int(prim), bool(hard), bool(scale), bool(noisy)

    def forward(x, n_steps, w, s_inner, decay_arr, theta_arr, p, key, y, v_saved):
        n = x.shape[0] // n_steps
        decay = decay_arr[0]
        theta = theta_arr[0]
        out_scale = theta if scale else _F1
        consts = _dspike_constants(w)
        for b in prange((n + BLOCK - 1) // BLOCK):
            prefer_512bit_vectors()
            lo = b * BLOCK
            m = min(n, lo + BLOCK) - lo
            r = np.zeros(m, dtype=np.float32)
            ch = _block_channels(s_inner, w.shape[0], lo, m)
            inv_w = _block_inverse_widths(w, ch)
            n_dspike = m if prim == DSPIKE and noisy else 0
            amp = _block_gather(consts[0], ch, n_dspike)
            for t in range(n_steps):
                base = t * n + lo
                xt = x[base:base + m]
                vt = v_saved[base:base + m]
                yt = y[base:base + m]
                for j in range(m):
                    v = decay * r[j] + xt[j]
                    vt[j] = v
                    u = v - theta
                    o = _F1 if u >= _F0 else _F0
                    if noisy and counter_uniform32(base + j + key) < p:
                        a_j = amp[j] if prim == DSPIKE else _F0
                        o = _primitive(u, inv_w[j], a_j, _F0, _F0, prim)[1]
                    r[j] = v * (_F1 - o) if hard else v - theta * o
                    yt[j] = out_scale * o

    def backward(grad_y, v_saved, n_steps, w, s_inner, decay_arr, theta_arr, p, key, grad_x):
        n = grad_y.shape[0] // n_steps
        decay = decay_arr[0]
        theta = theta_arr[0]
        n_channels = w.shape[0]
        n_blocks = (n + BLOCK - 1) // BLOCK
        g_w = np.zeros((n_blocks, n_channels), dtype=np.float64)
        g_decay = np.zeros(n_blocks, dtype=np.float64)
        g_theta = np.zeros(n_blocks, dtype=np.float64)
        out_scale = theta if scale else _F1
        consts = _dspike_constants(w)
        for b in prange(n_blocks):
            prefer_512bit_vectors()
            lo = b * BLOCK
            m = min(n, lo + BLOCK) - lo
            g_next = np.zeros(m, dtype=np.float32)
            gw_el = np.zeros(m, dtype=np.float32)
            gd_el = np.zeros(m, dtype=np.float32)
            gt_el = np.zeros(m, dtype=np.float32)
            ch = _block_channels(s_inner, n_channels, lo, m)
            inv_w = _block_inverse_widths(w, ch)
            n_dspike = m if prim == DSPIKE else 0
            amp = _block_gather(consts[0], ch, n_dspike)
            gain = _block_gather(consts[1], ch, n_dspike)
            damp = _block_gather(consts[2], ch, n_dspike)
            for t in range(n_steps - 1, -1, -1):
                base = t * n + lo
                vt = v_saved[base:base + m]
                gyt = grad_y[base:base + m]
                gxt = grad_x[base:base + m]
                for j in range(m):
                    v = vt[j]
                    u = v - theta
                    a_j = amp[j] if prim == DSPIKE else _F0
                    g_j = gain[j] if prim == DSPIKE else _F0
                    d_j = damp[j] if prim == DSPIKE else _F0
                    z, h, dh, dwx = _primitive(u, inv_w[j], a_j, g_j, d_j, prim)
                    o = _F1 if u >= _F0 else _F0
                    if noisy and counter_uniform32(base + j + key) < p:
                        o = h
                    gy = gyt[j]
                    gn = g_next[j]
                    g_r = decay * gn
                    if hard:
                        gd_el[j] += gn * (v * (_F1 - o))
                        g_o = out_scale * gy - g_r * v
                        g_v = g_r * (_F1 - o) + g_o * dh
                    else:
                        gd_el[j] += gn * (v - theta * o)
                        g_o = out_scale * gy - g_r * theta
                        g_v = g_r + g_o * dh
                    gxt[j] = g_v
                    g_od = g_o * dh
                    gw_el[j] -= g_od * z
                    if prim == DSPIKE:
                        gw_el[j] += g_o * dwx
                    g_t = -g_od
                    if not hard:
                        g_t -= g_r * o
                    if scale:
                        g_t += gy * o
                    gt_el[j] += g_t
                    g_next[j] = g_v
            acc_decay = 0.0
            acc_theta = 0.0
            for j in range(m):
                g_w[b, ch[j]] += gw_el[j]
                acc_decay += gd_el[j]
                acc_theta += gt_el[j]
            g_decay[b] = acc_decay
            g_theta[b] = acc_theta
        return g_w, g_decay, g_theta

    tag = (f"p{prim}_{'hard' if hard else 'soft'}_{'scaled' if scale else 'plain'}_{'noisy' if noisy else 'exact'}"
           f"_{_INTRINSICS_DIGEST}")
    return _compile(forward, f"lif_forward_{tag}"), _compile(backward, f"lif_backward_{tag}")


def _compile(kernel, name: str):
    """``kernel`` as a cached parallel numba function whose symbols are named after ``name`` (one per flag set).

    numba names a function's symbols after its qualified name plus a per-process counter. Every flag set's
    closure has the same qualified name, so two sets compiled in different processes could be cached under
    the same symbol names, and loading both into one process would link one set's data to the other's code
    (seen as ``'descr' is NULL`` errors). A qualified name per flag set keeps the names distinct; it also
    gives each set its own cache index file. The name also carries the digest of ``numba_intrinsics.py``, so
    an edit there recompiles the kernels instead of loading stale ones.
    """
    kernel.__qualname__ = kernel.__name__ = name
    return njit(parallel=True, **_KW)(kernel)

"""Numba CPU kernels for the fused multi-step LIF with ASGL spikes (forward and backward through time).

Layout: ``x`` is ``[T, N]`` float32, row-major, where ``N = B·C·S`` flattens ``[B, C, S...]``; the
width array has ``C`` entries and neuron ``n`` uses ``w[(n // S) % C]`` (``C = 1`` for a layer-wide width).

Forward, per neuron and step (soft reset shown; hard reset is ``r = v(1 − o)``)::

    v_t = λ r_{t−1} + x_t            (r_{−1} = 0)
    u_t = v_t − θ
    o_t = Θ(u_t) if U(t·N + n) ≥ p else H_w(u_t)      (U: counter-based uniform, see asgl.functional)
    r_t = v_t − θ o_t
    y_t = θ o_t if scale else o_t

Only ``v_t`` is stored for backward (4 bytes per neuron-step). Backward regenerates ``U``, ``H`` and ``o`` and
runs the adjoint recursion in reverse time (``g_r`` is dL/dr_t, reaching it through ``v_{t+1}``)::

    g_r = λ g_v_{t+1}
    g_o = ĝ_y + g_r ∂r/∂o            (∂r/∂o = −θ soft, −v_t hard; ĝ_y = θ g_y if scale else g_y)
    g_v = g_r ∂r/∂v + g_o H'(u_t)     (∂r/∂v = 1 soft, 1 − o_t hard)
    g_x_t = g_v,  g_w += g_o ∂H/∂w,  g_λ += g_v_{t+1} r_t,
    g_θ += −g_o H'(u_t) − [soft] g_r o_t + [scale] g_y o_t

Neurons are processed in blocks of ``BLOCK`` (``prange`` over blocks, so both cores work); within a block the
loop over neurons is branch-free float32 code that LLVM vectorises. Parameter gradients are accumulated per
neuron over time and reduced in a fixed order afterwards, so results do not depend on threads or alignment.
The exponential is evaluated by hand (:func:`_exp_neg`) because a libm call would stop vectorisation.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

BLOCK = 1024
SIGMOID = 0
RECTANGLE = 1

_F0 = np.float32(0.0)
_F1 = np.float32(1.0)
_HALF = np.float32(0.5)
_M32 = np.int64(0xFFFFFFFF)
_INV24 = np.float32(1.0 / 16777216.0)
_LOG2E = np.float32(1.4426950408889634)
_LN2_HI = np.float32(0.693145751953125)
_LN2_LO = np.float32(1.428606765330187e-06)
# Arguments are clamped to 24: exp(−24) ≈ 4e-11 is below float32 resolution next to 1, so the sigmoid is exact
# to rounding, and 2^-n for n ≤ 34 comes from an integer shift (vectorisable, unlike a libm call).
_MAX_ARG = np.float32(24.0)
_ONE64 = np.int64(1)
# exp(−r) on [0, ln 2): Taylor coefficients to degree 8 (relative error < 3e-8 over the interval).
_C2, _C3, _C4 = np.float32(1 / 2), np.float32(1 / 6), np.float32(1 / 24)
_C5, _C6, _C7, _C8 = np.float32(1 / 120), np.float32(1 / 720), np.float32(1 / 5040), np.float32(1 / 40320)

# No "contract" (FMA fusion) or "reassoc": LLVM would apply them in the vectorised body but not in the scalar
# remainder, so results would depend on where a block starts in memory. Without them every run is bit-identical.
_KW = {"cache": True, "fastmath": {"nnan", "ninf", "nsz"}, "error_model": "numpy", "boundscheck": False}


@njit(inline="always", **_KW)
def _exp_neg(a):
    """``exp(−a)`` for ``a ≥ 0`` in branch-free float arithmetic: ``a = n ln2 + r``, ``e^{−a} = e^{−r} / 2^n``."""
    a = min(a, _MAX_ARG)
    n = np.int64(a * _LOG2E)
    nf = np.float32(n)
    r = (a - nf * _LN2_HI) - nf * _LN2_LO
    q = _F1 - r * (_F1 - r * (_C2 - r * (_C3 - r * (_C4 - r * (_C5 - r * (_C6 - r * (_C7 - r * _C8)))))))
    return q / np.float32(_ONE64 << n)


@njit(inline="always", **_KW)
def _uniform(counter, key):
    """Counter-based uniform in [0, 1); bit-identical to :func:`asgl.functional.counter_uniform`."""
    h = (counter + key) & _M32
    h = h ^ (h >> 16)
    h = (h * 0x7FEB352D) & _M32
    h = h ^ (h >> 15)
    h = (h * 0x846CA68B) & _M32
    h = h ^ (h >> 16)
    return np.float32(h >> 8) * _INV24


@njit(inline="always", **_KW)
def _smooth(u, w, prim):
    """``H_w(u)``: sigmoid ``1/(1+e^{−u/w})`` or rectangle ``clamp(u/w + 1/2, 0, 1)``."""
    z = u / w
    if prim == SIGMOID:
        e = _exp_neg(abs(z))
        s = _F1 / (_F1 + e)
        return s if z >= _F0 else _F1 - s
    return min(max(z + _HALF, _F0), _F1)


@njit(inline="always", **_KW)
def _smooth_grad(u, w, h, prim):
    """``dH/du``; for both primitives ``dH/dw = dH/du · (−u / w)``."""
    if prim == SIGMOID:
        return h * (_F1 - h) / w
    return _F1 / w if abs(u) < _HALF * w else _F0


@njit(inline="always", **_KW)
def _block_widths(w, s_inner, lo, m):
    """Width of each neuron ``lo … lo+m−1`` of a block (``C`` channels, runs of ``s_inner``)."""
    n_channels = w.shape[0]
    wb = np.empty(m, dtype=np.float32)
    for j in range(m):
        wb[j] = w[((lo + j) // s_inner) % n_channels]
    return wb


@njit(parallel=True, **_KW)
def lif_forward(x, n_steps, w, s_inner, decay, theta, p, key, prim, hard, scale, y, v_saved):
    """Fill ``y`` and ``v_saved`` (flat ``[T·N]`` float32) from flat ``x``; see the module docstring."""
    n = x.shape[0] // n_steps
    n_blocks = (n + BLOCK - 1) // BLOCK
    out_scale = theta if scale else _F1
    noisy = p > _F0
    for b in prange(n_blocks):
        lo = b * BLOCK
        m = min(n, lo + BLOCK) - lo
        r = np.zeros(m, dtype=np.float32)
        wb = _block_widths(w, s_inner, lo, m)
        for t in range(n_steps):
            base = t * n + lo
            for j in range(m):
                v = decay * r[j] + x[base + j]
                v_saved[base + j] = v
                u = v - theta
                spike = _F1 if u >= _F0 else _F0
                h = _smooth(u, wb[j], prim)
                o = (h if _uniform(base + j, key) < p else spike) if noisy else spike
                r[j] = v * (_F1 - o) if hard else v - theta * o
                y[base + j] = out_scale * o


@njit(parallel=True, **_KW)
def lif_backward(grad_y, v_saved, n_steps, w, s_inner, decay, theta, p, key, prim, hard, scale, grad_x):
    """Fill flat ``grad_x``; return per-block partial sums ``(g_w[blocks, C], g_decay[blocks], g_theta[blocks])``."""
    n = grad_y.shape[0] // n_steps
    n_channels = w.shape[0]
    n_blocks = (n + BLOCK - 1) // BLOCK
    g_w = np.zeros((n_blocks, n_channels), dtype=np.float64)
    g_decay = np.zeros(n_blocks, dtype=np.float64)
    g_theta = np.zeros(n_blocks, dtype=np.float64)
    out_scale = theta if scale else _F1
    soft = _F0 if hard else _F1
    scaled = _F1 if scale else _F0
    noisy = p > _F0
    for b in prange(n_blocks):
        lo = b * BLOCK
        m = min(n, lo + BLOCK) - lo
        g_next = np.zeros(m, dtype=np.float32)
        gw_el = np.zeros(m, dtype=np.float32)
        gd_el = np.zeros(m, dtype=np.float32)
        gt_el = np.zeros(m, dtype=np.float32)
        wb = _block_widths(w, s_inner, lo, m)
        for t in range(n_steps - 1, -1, -1):
            base = t * n + lo
            for j in range(m):
                wj = wb[j]
                v = v_saved[base + j]
                u = v - theta
                h = _smooth(u, wj, prim)
                dh = _smooth_grad(u, wj, h, prim)
                spike = _F1 if u >= _F0 else _F0
                o = (h if _uniform(base + j, key) < p else spike) if noisy else spike
                gy = grad_y[base + j]
                gn = g_next[j]
                g_r = decay * gn
                r = v * (_F1 - o) if hard else v - theta * o
                gd_el[j] += gn * r
                g_o = out_scale * gy - g_r * (v if hard else theta)
                g_v = g_r * (_F1 - o if hard else _F1) + g_o * dh
                grad_x[base + j] = g_v
                g_od = g_o * dh
                gw_el[j] += g_od * (-u / wj)
                gt_el[j] += -g_od - soft * g_r * o + scaled * gy * o
                g_next[j] = g_v
        acc_decay = 0.0
        acc_theta = 0.0
        for j in range(m):
            g_w[b, ((lo + j) // s_inner) % n_channels] += gw_el[j]
            acc_decay += gd_el[j]
            acc_theta += gt_el[j]
        g_decay[b] = acc_decay
        g_theta[b] = acc_theta
    return g_w, g_decay, g_theta

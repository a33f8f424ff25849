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
loop over neurons is branch-free float32 code that LLVM vectorises. The exponential is evaluated by hand
(:func:`_exp_neg`) because a libm call would stop vectorisation.
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
_MAX_ARG = np.float32(87.0)
# 2^-(2^k) for k = 0..6: 2^-n for an integer 0 ≤ n < 128 is the product over the set bits of n.
_P0, _P1, _P2, _P3 = np.float32(0.5), np.float32(0.25), np.float32(2.0**-4), np.float32(2.0**-8)
_P4, _P5, _P6 = np.float32(2.0**-16), np.float32(2.0**-32), np.float32(2.0**-64)
# exp(-r) on [0, ln 2): Taylor coefficients to degree 7 (relative error < 2e-7 over the interval).
_C2, _C3, _C4 = np.float32(1 / 2), np.float32(1 / 6), np.float32(1 / 24)
_C5, _C6, _C7 = np.float32(1 / 120), np.float32(1 / 720), np.float32(1 / 5040)

_KW = {"cache": True, "fastmath": True, "error_model": "numpy", "boundscheck": False}


@njit(inline="always", **_KW)
def _exp_neg(a):
    """``exp(−a)`` for ``a ≥ 0`` in float32 arithmetic only (branch-free; 0 for ``a > 87``)."""
    a = min(a, _MAX_ARG)
    n = np.int32(a * _LOG2E)
    nf = np.float32(n)
    r = (a - nf * _LN2_HI) - nf * _LN2_LO
    q = _F1 - r * (_F1 - r * (_C2 - r * (_C3 - r * (_C4 - r * (_C5 - r * (_C6 - r * _C7))))))
    q *= _P0 if n & 1 else _F1
    q *= _P1 if n & 2 else _F1
    q *= _P2 if n & 4 else _F1
    q *= _P3 if n & 8 else _F1
    q *= _P4 if n & 16 else _F1
    q *= _P5 if n & 32 else _F1
    q *= _P6 if n & 64 else _F1
    return q


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


@njit(parallel=True, **_KW)
def lif_forward(x, w, s_inner, decay, theta, p, key, prim, hard, scale, y, v_saved):
    """Fill ``y`` and ``v_saved`` (both ``[T, N]`` float32) from ``x``; see the module docstring."""
    n_steps, n = x.shape
    n_channels = w.shape[0]
    n_blocks = (n + BLOCK - 1) // BLOCK
    out_scale = theta if scale else _F1
    for b in prange(n_blocks):
        lo = b * BLOCK
        m = min(n, lo + BLOCK) - lo
        r = np.zeros(m, dtype=np.float32)
        wb = np.empty(m, dtype=np.float32)
        for j in range(m):
            wb[j] = w[((lo + j) // s_inner) % n_channels]
        for t in range(n_steps):
            xt = x[t, lo : lo + m]
            vt = v_saved[t, lo : lo + m]
            yt = y[t, lo : lo + m]
            base = np.int64(t) * n + lo
            for j in range(m):
                v = decay * r[j] + xt[j]
                vt[j] = v
                u = v - theta
                h = _smooth(u, wb[j], prim)
                spike = _F1 if u >= _F0 else _F0
                o = h if _uniform(base + j, key) < p else spike
                r[j] = v * (_F1 - o) if hard else v - theta * o
                yt[j] = out_scale * o


@njit(parallel=True, **_KW)
def lif_backward(grad_y, v_saved, w, s_inner, decay, theta, p, key, prim, hard, scale, grad_x):
    """Fill ``grad_x``; return per-block partial sums ``(g_w[blocks, C], g_decay[blocks], g_theta[blocks])``."""
    n_steps, n = grad_y.shape
    n_channels = w.shape[0]
    n_blocks = (n + BLOCK - 1) // BLOCK
    g_w = np.zeros((n_blocks, n_channels), dtype=np.float64)
    g_decay = np.zeros(n_blocks, dtype=np.float64)
    g_theta = np.zeros(n_blocks, dtype=np.float64)
    out_scale = theta if scale else _F1
    soft = _F0 if hard else _F1
    scaled = _F1 if scale else _F0
    for b in prange(n_blocks):
        lo = b * BLOCK
        m = min(n, lo + BLOCK) - lo
        g_next = np.zeros(m, dtype=np.float32)
        gw_el = np.zeros(m, dtype=np.float32)
        wb = np.empty(m, dtype=np.float32)
        for j in range(m):
            wb[j] = w[((lo + j) // s_inner) % n_channels]
        acc_decay = _F0
        acc_theta = _F0
        for t in range(n_steps - 1, -1, -1):
            gyt = grad_y[t, lo : lo + m]
            vt = v_saved[t, lo : lo + m]
            gxt = grad_x[t, lo : lo + m]
            base = np.int64(t) * n + lo
            for j in range(m):
                wj = wb[j]
                v = vt[j]
                u = v - theta
                h = _smooth(u, wj, prim)
                dh = _smooth_grad(u, wj, h, prim)
                spike = _F1 if u >= _F0 else _F0
                o = h if _uniform(base + j, key) < p else spike
                gy = gyt[j]
                gn = g_next[j]
                g_r = decay * gn
                r = v * (_F1 - o) if hard else v - theta * o
                acc_decay += gn * r
                g_o = out_scale * gy - g_r * (v if hard else theta)
                g_v = g_r * (_F1 - o if hard else _F1) + g_o * dh
                gxt[j] = g_v
                g_od = g_o * dh
                gw_el[j] += g_od * (-u / wj)
                acc_theta += -g_od - soft * g_r * o + scaled * gy * o
                g_next[j] = g_v
        for j in range(m):
            g_w[b, ((lo + j) // s_inner) % n_channels] += gw_el[j]
        g_decay[b] = acc_decay
        g_theta[b] = acc_theta
    return g_w, g_decay, g_theta

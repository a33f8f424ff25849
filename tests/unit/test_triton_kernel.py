"""Parity of the fused Triton LIF kernel (:mod:`asgl.kernels.lif_triton`) with the autograd reference.

Each case builds two identical ``LIF`` layers (``backend="autograd"`` and ``backend="triton"``), seeds torch
identically before each forward (so :func:`asgl.neuron.draw_seed` draws the same mask seed), and compares the
output ``y`` and every gradient: input ``x``, the spike's ``raw_width`` (layer-wide ``[]`` or per-channel
``[C]`` with input ``[T, B, C, H, W]``), the decay logit (``learn_decay=True``) and the threshold
(``learn_threshold=True``). The grid covers soft/hard reset, ``p ∈ {0, 0.2, 1}``, sigmoid/rectangle,
``scale_output`` on/off, plus a multi-block shape, bfloat16 and float16 inputs, and 32-bit wrap-around of the mask
counter (checked bit-for-bit against the numba kernel with explicit keys near ``2³²``).

How the interpreter is used (CPU): Triton reads ``TRITON_INTERPRET`` when a kernel is *decorated*, i.e. when
``asgl.kernels.lif_triton`` is first imported, so setting the variable inside a test is unreliable once any
other test of the same pytest process has imported the module (or triton) without it. The CPU tests therefore
run this very file as a script (``python test_triton_kernel.py --worker``) in a fresh subprocess whose
environment has ``TRITON_INTERPRET=1``; the worker runs every case once and prints one JSON line
``{case_id: [failure messages]}``. A module-scoped fixture launches it once and each parametrised test checks
its own entry, so failures are reported per case while the interpreter start-up is paid once. The same cases
run in-process on CUDA when a device is present (marker ``gpu``).

Tolerances: float32 — ``|a − b| ≤ 1e-5`` for ``y`` and ``≤ 1e-4·max(1, max|ref|)`` for gradients (the kernel
and the reference perform the same float32 operations up to the sigmoid's last-ulp rounding). bfloat16 — the
reference is the float32 loop with the kernel's documented bfloat16 semantics (membrane rounded to bfloat16
each step, straight-through in backward); ``y`` and ``g_x`` are compared at bfloat16 resolution, parameter
gradients at ``1e-3`` relative. float16 — the same reference with the membrane rounded to float16 (10-bit
mantissa, 3 more bits than bfloat16): ``y`` within ``2⁻¹⁰`` relative (one ulp: the sigmoid's last float32 bit
can round ``θ·H`` to the neighbouring float16) and ``g_x`` within ``2⁻⁹`` relative plus ``1e-3``; parameter
gradients at ``1e-3`` relative.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from asgl import functional as F  # noqa: E402
from asgl.neuron import LIF, draw_seed  # noqa: E402
from asgl.spike import ASGLSpike  # noqa: E402

WORKER_TIMEOUT_S = 240


def _make_cases() -> list[dict]:
    cases = []
    grid = itertools.product(("soft", "hard"), (0.0, 0.2, 1.0), ("sigmoid", "rectangle"), ("layer", "channel"),
                             (False, True))
    for reset, p, prim, width, scale in grid:
        shape = (4, 3, 37) if width == "layer" else (3, 2, 4, 3, 5)
        cases.append({"kind": "parity", "reset": reset, "p": p, "prim": prim, "width": width, "scale": scale,
                      "shape": shape, "dtype": "float32"})
    # Several programs per launch, with channel runs straddling block boundaries (N = 2400, BLOCK = 1024).
    cases.append({"kind": "parity", "reset": "soft", "p": 0.2, "prim": "sigmoid", "width": "channel",
                  "scale": True, "shape": (2, 2, 3, 20, 20), "dtype": "float32"})
    cases.append({"kind": "parity", "reset": "hard", "p": 0.2, "prim": "rectangle", "width": "layer",
                  "scale": False, "shape": (3, 5, 300), "dtype": "float32"})
    half_grid = (("soft", 0.2, "sigmoid", "channel"), ("hard", 0.0, "rectangle", "layer"),
                 ("soft", 1.0, "sigmoid", "layer"), ("hard", 0.2, "sigmoid", "channel"))
    for dtype, (reset, p, prim, width) in itertools.product(("bfloat16", "float16"), half_grid):
        cases.append({"kind": "parity", "reset": reset, "p": p, "prim": prim, "width": width, "scale": True,
                      "shape": (4, 3, 37) if width == "layer" else (3, 2, 4, 3, 5), "dtype": dtype})
    for key in (0xFFFFFFFF - 40, 0x80000000 - 3):
        cases.append({"kind": "key_wrap", "key": key, "shape": (5, 64)})
    cases.append({"kind": "bad_dtype"})
    return cases


CASES = _make_cases()


def _case_id(case: dict) -> str:
    if case["kind"] == "key_wrap":
        return f"key_wrap-{case['key']:#x}"
    if case["kind"] == "bad_dtype":
        return "bad_dtype"
    shape = "x".join(map(str, case["shape"]))
    return (f"{case['dtype']}-{case['reset']}-p{case['p']}-{case['prim']}-{case['width']}-"
            f"{'scaled' if case['scale'] else 'unscaled'}-{shape}")


def _make_lif(case: dict, backend: str) -> LIF:
    channels = case["shape"][2] if case["width"] == "channel" else None
    spike = ASGLSpike(width=0.7, p=case["p"], channels=channels, primitive=case["prim"], parameterisation="slope")
    if channels is not None:
        with torch.no_grad():
            spike.raw_width.copy_(torch.linspace(0.6, 2.2, channels))
    return LIF(spike, decay=0.6, threshold=0.8, reset=case["reset"], learn_decay=True, learn_threshold=True,
               scale_output=case["scale"], backend=backend)


def _inputs(case: dict, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1234)
    x = torch.randn(case["shape"], generator=gen) * 0.9 + 0.5
    gy = torch.randn(case["shape"], generator=gen)
    dtype = getattr(torch, case["dtype"])
    return x.to(dtype).to(device), gy.to(dtype).to(device)


def _run(lif: LIF, x: torch.Tensor, gy: torch.Tensor, seed: int) -> dict[str, torch.Tensor]:
    lif = lif.to(x.device)
    xx = x.clone().requires_grad_(True)
    torch.manual_seed(seed)
    y = lif(xx)
    (y.float() * gy.float()).sum().backward()
    return {"y": y.detach(), "x": xx.grad, "width": lif.spike.raw_width.grad, "decay": lif.decay_logit.grad,
            "threshold": lif.threshold.grad}


def _run_rounded_reference(lif: LIF, x: torch.Tensor, gy: torch.Tensor, seed: int) -> dict[str, torch.Tensor]:
    """Float32 LIF loop with the membrane rounded to ``x.dtype`` every step (straight-through in backward)."""
    lif = lif.to(x.device)
    xx = x.float().clone().requires_grad_(True)
    torch.manual_seed(seed)
    p = lif.spike.noise_rate()
    mask = F.binary_mask(draw_seed(), tuple(x.shape), p, x.device) if p > 0.0 else None
    decay, theta = lif.decay(), lif.threshold
    r = torch.zeros_like(xx[0])
    outs = []
    for t in range(x.shape[0]):
        v = decay * r + xx[t]
        v = v + (v.to(x.dtype).float() - v).detach()
        o = lif.spike.fire(v - theta, None if mask is None else mask[t])
        r = v - theta * o if lif.reset == "soft" else v * (1.0 - o)
        outs.append(theta * o if lif.scale_output else o)
    y = torch.stack(outs)
    (y * gy.float()).sum().backward()
    return {"y": y.detach(), "x": xx.grad, "width": lif.spike.raw_width.grad, "decay": lif.decay_logit.grad,
            "threshold": lif.threshold.grad}


def _compare(name: str, got: torch.Tensor, ref: torch.Tensor, atol: float, rtol: float) -> list[str]:
    got, ref = got.detach().double().cpu(), ref.detach().double().cpu()
    if got.shape != ref.shape:
        return [f"{name}: shape {tuple(got.shape)} != {tuple(ref.shape)}"]
    err = (got - ref).abs()
    bound = atol + rtol * ref.abs()
    if not bool(torch.isfinite(got).all()) or bool((err > bound).any()):
        return [f"{name}: max |diff| {float(err.max()):.3g} (ref max |.| {float(ref.abs().max()):.3g})"]
    return []


def _check_parity(case: dict, device: str) -> list[str]:
    x, gy = _inputs(case, device)
    got = _run(_make_lif(case, "triton"), x, gy, seed=7)
    failures = []
    if case["dtype"] == "float32":
        ref = _run(_make_lif(case, "autograd"), x, gy, seed=7)
        failures += _compare("y", got["y"], ref["y"], 1e-5, 0.0)
        for key in ("x", "width", "decay", "threshold"):
            scale = max(1.0, float(ref[key].abs().max()))
            failures += _compare(f"grad {key}", got[key], ref[key], 1e-4 * scale, 0.0)
    else:
        ref = _run_rounded_reference(_make_lif(case, "autograd"), x, gy, seed=7)
        if got["y"].dtype != x.dtype or got["x"].dtype != x.dtype:
            failures.append(f"dtype: y {got['y'].dtype}, grad x {got['x'].dtype}, expected {x.dtype}")
        y_rtol, gx_rtol = (2.0**-8, 2.0**-7) if x.dtype == torch.bfloat16 else (2.0**-10, 2.0**-9)
        failures += _compare("y", got["y"].float(), ref["y"].to(x.dtype).float(), 1e-6, y_rtol)
        failures += _compare("grad x", got["x"].float(), ref["x"], 1e-3, gx_rtol)
        for key in ("width", "decay", "threshold"):
            scale = max(1.0, float(ref[key].abs().max()))
            failures += _compare(f"grad {key}", got[key], ref[key], 1e-3 * scale, 0.0)
    return failures


def _check_key_wrap(case: dict, device: str) -> list[str]:
    """Counters ``(t·N + n + key) mod 2³²`` crossing 2³² (and 2³¹) with ``p = 0.5``.

    The mask is checked bit-for-bit: from the kernel's stored ``v`` both candidate outputs (rectangle ``H`` and
    ``Θ``) are formed, and wherever they differ the kernel's ``y`` must be the one selected by the int64
    reference hash ``U = lowbias32((i + key) & (2³² − 1)) >> 8 · 2⁻²⁴ < p``. Values and gradients are also
    compared with the numba kernel (to float32 rounding; numba uses fast-math contractions).
    """
    from asgl.kernels import fused, lif_triton

    gen = torch.Generator().manual_seed(99)
    x = torch.randn(case["shape"], generator=gen) + 0.5
    gy = torch.randn(case["shape"], generator=gen)
    w = torch.tensor([0.9, 1.3], dtype=torch.float32)
    s_inner, decay, theta, p, key, prim, hard, scale = 2, 0.6, 0.8, 0.5, case["key"], 1, False, True
    args = (s_inner, decay, theta, p, key, prim, hard, scale)
    y, v = lif_triton.forward(x.to(device), w.to(device), *args)
    gx, gw, gd, gt = lif_triton.backward(gy.to(device), v, w.to(device), *args)
    y, v = y.cpu(), v.cpu()

    n_steps, n = x.shape
    counters = (torch.arange(n_steps * n, dtype=torch.int64) + key) & 0xFFFFFFFF
    analog = ((F._lowbias32(counters) >> 8).to(torch.float32) * (1.0 / 16777216.0) < p).reshape(x.shape)
    u = v - theta
    wn = w[(torch.arange(n) // s_inner) % w.numel()]
    smooth = torch.clamp(u / wn + 0.5, 0.0, 1.0)
    binary = (u >= 0).float()
    informative = (smooth - binary).abs() > 1e-3
    expected = theta * torch.where(analog, smooth, binary)
    failures = []
    if int(informative.sum()) < n_steps * n // 4:
        failures.append(f"too few informative elements ({int(informative.sum())}) to check the mask")
    if bool(((y - expected).abs() > 1e-5)[informative].any()):
        failures.append("analog/binary choice differs from the int64 counter hash")

    y_ref, v_ref = fused._numba_forward(x, w, *args)
    gx_ref, gw_ref, gd_ref, gt_ref = fused._numba_backward(gy, v_ref, w, *args)
    failures += _compare("y vs numba", y, y_ref, 1e-5, 0.0)
    failures += _compare("v vs numba", v, v_ref, 1e-5, 1e-5)
    failures += _compare("grad x", gx, gx_ref, 1e-4, 1e-4)
    failures += _compare("grad w", gw, gw_ref, 1e-4, 1e-4)
    failures += _compare("grad decay", gd, gd_ref, 1e-4, 1e-4)
    failures += _compare("grad theta", gt, gt_ref, 1e-4, 1e-4)
    return failures


def _check_bad_dtype(device: str) -> list[str]:
    from asgl.kernels import lif_triton

    x = torch.zeros(2, 8, dtype=torch.float64, device=device)
    w = torch.ones(1, dtype=torch.float32, device=device)
    try:
        lif_triton.forward(x, w, 8, 0.5, 1.0, 0.0, 0, 0, False, False)
    except ValueError as exc:
        return [] if "float64" in str(exc) else [f"unclear message: {exc}"]
    return ["float64 input did not raise ValueError"]


def check_case(case: dict, device: str) -> list[str]:
    """Run one case on ``device``; return the list of failure messages (empty when it passes)."""
    if case["kind"] == "key_wrap":
        return _check_key_wrap(case, device)
    if case["kind"] == "bad_dtype":
        return _check_bad_dtype(device)
    return _check_parity(case, device)


def _worker() -> None:
    """Subprocess entry point (``TRITON_INTERPRET=1``): run every case on the CPU, print one JSON line."""
    torch.set_num_threads(1)
    start = time.perf_counter()
    results = {}
    for case in CASES:
        try:
            results[_case_id(case)] = check_case(case, "cpu")
        except Exception as exc:  # reported per case by the parent test
            results[_case_id(case)] = [f"raised {type(exc).__name__}: {exc}"]
    results["__elapsed_s__"] = time.perf_counter() - start
    print(json.dumps(results))


@pytest.fixture(scope="module")
def interpreted_results() -> dict:
    env = dict(os.environ)
    env["TRITON_INTERPRET"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPO_ROOT), env.get("PYTHONPATH"))))
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker"], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=WORKER_TIMEOUT_S)
    assert proc.returncode == 0, f"interpreter worker failed (rc {proc.returncode}):\n{proc.stderr[-4000:]}"
    lines = proc.stdout.strip().splitlines()
    assert lines, f"interpreter worker printed nothing:\n{proc.stderr[-4000:]}"
    return json.loads(lines[-1])


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_triton_parity_interpreted(case: dict, interpreted_results: dict) -> None:
    failures = interpreted_results.get(_case_id(case), ["case missing from the worker's output"])
    assert not failures, "; ".join(failures)


@pytest.mark.gpu
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_triton_parity_cuda(case: dict) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    if os.environ.get("TRITON_INTERPRET") == "1":
        pytest.skip("TRITON_INTERPRET=1 in this process: the compiled kernel is not what would run")
    failures = check_case(case, "cuda")
    assert not failures, "; ".join(failures)


def test_triton_backend_rejects_cpu_without_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    lif = LIF(ASGLSpike(width=1.0, p=0.2), backend="triton")
    with pytest.raises(ValueError, match="triton"):
        lif(torch.randn(2, 3, 4))


def test_kernel_rejects_cpu_tensor_without_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("triton")
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    from asgl.kernels import lif_triton

    x = torch.zeros(2, 8)
    w = torch.ones(1)
    with pytest.raises(ValueError, match="CUDA"):
        lif_triton.forward(x, w, 8, 0.5, 1.0, 0.0, 0, 0, False, False)
    with pytest.raises(ValueError, match="CUDA"):
        lif_triton.backward(x, x, w, 8, 0.5, 1.0, 0.0, 0, 0, False, False)


def test_kernel_rejects_interpreter_enabled_after_import(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("triton")
    if os.environ.get("TRITON_INTERPRET") == "1":
        pytest.skip("this process was started in interpreter mode")
    from asgl.kernels import lif_triton

    monkeypatch.setenv("TRITON_INTERPRET", "1")
    with pytest.raises(ValueError, match="before importing"):
        lif_triton.forward(torch.zeros(2, 8), torch.ones(1), 8, 0.5, 1.0, 0.0, 0, 0, False, False)


if __name__ == "__main__" and "--worker" in sys.argv:
    _worker()

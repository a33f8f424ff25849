"""GPU benchmark of the fused Triton LIF kernel against the autograd reference (and SpikingJelly, if present).

Measures forward + backward wall time (CUDA events, median over ``--iters``) of a multi-step LIF with ASGL
spikes on ``x`` of shape ``[T, B, C, H, W]`` (default ``[8, 64, 128, 32, 32]``, i.e. ``N = B·C·H·W`` neurons
per step) in float32 and bfloat16, for:

* ``triton-kernel``: :func:`asgl.kernels.lif_triton.forward` + :func:`~asgl.kernels.lif_triton.backward`
  called directly (also timed separately as ``fwd`` and ``bwd``);
* ``triton-module``: ``LIF(..., backend="triton")`` end to end through autograd (adds the input finiteness
  check, the seed draw and the host read of the scalar gradients);
* ``autograd``: ``LIF(..., backend="autograd")``, the reference Python loop over ``t``;
* ``spikingjelly-<backend>``: SpikingJelly's multi-step ``LIFNode`` with its ``triton`` or ``cupy`` backend,
  when ``spikingjelly`` is importable (a speed reference only: its LIF has a different parameterisation).

Memory-bandwidth model: per neuron-step the forward reads ``x`` and writes ``y`` and ``v``, the backward reads
``g_y`` and ``v`` and writes ``g_x``: ``bytes = 6 · itemsize · T · N`` (24 bytes per neuron-step in float32,
12 in bfloat16, where the kernel stores ``v`` in the input dtype). The floor time is
``bytes / peak_bandwidth``; achieved bandwidth is ``bytes / measured_time`` for every row (the same nominal
bytes, so rows are comparable; the reference actually moves far more). Pass the device's peak with
``--peak-gbps``: about 4800 GB/s for H200 (HBM3e, the default), 3350 GB/s for H100 SXM, 2000 GB/s for
H100 PCIe / A100 80GB.

Also reports, for each dtype, how far the Triton outputs and gradients are from the reference on the
benchmark input (same seed), and the peak allocated memory of each method.

Usage::

    python scripts/bench_gpu.py --out bench_gpu.json
    python scripts/bench_gpu.py --dtypes float32 --iters 50 --peak-gbps 3350

Exits with status 2 and a message when no CUDA device is present.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

DEFAULT_PEAK_GBPS = 4800.0
DEVICE = "cuda"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--T", type=int, default=8, help="time steps (default 8)")
    parser.add_argument("--B", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--shape", default="128,32,32",
                        help="per-sample neuron shape C,H,W (default 128,32,32)")
    parser.add_argument("--dtypes", default="float32,bfloat16", help="comma list of float32,bfloat16,float16")
    parser.add_argument("--p", type=float, default=0.2, help="ASGL analog fraction p (default 0.2)")
    parser.add_argument("--per-channel", action="store_true", help="one width per channel (dimension 2)")
    parser.add_argument("--reset", choices=("soft", "hard"), default="soft")
    parser.add_argument("--iters", type=int, default=20, help="timed iterations per method (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed iterations first (default 3)")
    parser.add_argument("--ref-iters", type=int, default=5,
                        help="timed iterations for the slow autograd reference (default 5)")
    parser.add_argument("--peak-gbps", type=float, default=DEFAULT_PEAK_GBPS,
                        help="device peak memory bandwidth in GB/s (default 4800, H200; H100 SXM ~3350)")
    parser.add_argument("--no-reference", action="store_true", help="skip the autograd reference")
    parser.add_argument("--no-spikingjelly", action="store_true", help="skip SpikingJelly even if installed")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON to this path")
    args = parser.parse_args(argv)
    try:
        args.inner = tuple(int(s) for s in args.shape.split(","))
    except ValueError:
        parser.error(f"--shape must be comma-separated integers, got {args.shape!r}")
    args.dtype_names = [s.strip() for s in args.dtypes.split(",") if s.strip()]
    bad = [d for d in args.dtype_names if d not in ("float32", "bfloat16", "float16")]
    if bad or not args.dtype_names:
        parser.error(f"--dtypes must list float32, bfloat16 or float16, got {args.dtypes!r}")
    if min(args.T, args.B, args.iters, args.ref_iters, *args.inner) < 1 or args.warmup < 0:
        parser.error("--T, --B, --shape entries, --iters and --ref-iters must be >= 1, --warmup >= 0")
    if not 0.0 <= args.p <= 1.0:
        parser.error(f"--p must be in [0, 1], got {args.p}")
    if args.peak_gbps <= 0:
        parser.error("--peak-gbps must be > 0")
    return args


def bytes_moved(n_steps: int, n: int, itemsize: int) -> int:
    """Nominal HBM traffic of one forward + backward: ``6 · itemsize · T · N`` bytes."""
    return 6 * itemsize * n_steps * n


def time_cuda(fn: Callable[[], None], warmup: int, iters: int) -> dict[str, float]:
    """Median and minimum milliseconds of ``fn`` over ``iters`` runs, timed with CUDA events."""
    import torch

    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return {"median_ms": statistics.median(times), "min_ms": min(times)}


def peak_memory_mb(fn: Callable[[], None]) -> float:
    """Peak allocated CUDA memory (MiB) during one call of ``fn``, above what was allocated before it."""
    import torch

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    fn()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - base) / 2**20


def _make_lif(args: argparse.Namespace, backend: str):
    from asgl.neuron import LIF
    from asgl.spike import ASGLSpike

    channels = args.inner[0] if args.per_channel else None
    spike = ASGLSpike(width=1.0, p=args.p, channels=channels)
    return LIF(spike, decay=0.5, threshold=1.0, reset=args.reset, learn_decay=True, learn_threshold=True,
               backend=backend).to(DEVICE)


def _module_step(lif, x, gy, seed: int | None = None) -> Callable[[], object]:
    import torch

    def step():
        x.grad = None
        lif.zero_grad(set_to_none=True)
        if seed is not None:
            torch.manual_seed(seed)
        y = lif(x)
        y.backward(gy)
        return y

    return step


def _spikingjelly_steps(x, gy) -> dict[str, Callable[[], None]]:
    """``{name: step}`` for each multi-step SpikingJelly LIF backend that is installed (may be empty)."""
    try:
        from spikingjelly.activation_based import neuron as sj_neuron
    except Exception:  # not installed, or its optional GPU deps are missing
        return {}
    steps = {}
    for backend in ("triton", "cupy"):
        try:
            node = sj_neuron.LIFNode(step_mode="m", backend=backend).to(DEVICE)
        except Exception:
            continue
        if backend not in getattr(node, "supported_backends", ()):
            continue

        def step(node=node):
            x.grad = None
            node.reset()
            node(x).backward(gy)

        steps[f"spikingjelly-{backend}"] = step
    return steps


def _max_rel(a, b) -> float:
    a, b = a.detach().float(), b.detach().float()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))


def check_parity(args: argparse.Namespace, x, gy) -> dict[str, float]:
    """Max relative differences of the Triton module vs the autograd reference on the benchmark input."""
    ref_lif, tri_lif = _make_lif(args, "autograd"), _make_lif(args, "triton")
    xr = x.detach().clone().requires_grad_(True)
    y_ref = _module_step(ref_lif, xr, gy, seed=11)()
    g_ref = (xr.grad, ref_lif.spike.raw_width.grad, ref_lif.decay_logit.grad, ref_lif.threshold.grad)
    xt = x.detach().clone().requires_grad_(True)
    y_tri = _module_step(tri_lif, xt, gy, seed=11)()
    g_tri = (xt.grad, tri_lif.spike.raw_width.grad, tri_lif.decay_logit.grad, tri_lif.threshold.grad)
    out = {"y_mismatch_frac": float((y_ref.float() - y_tri.float()).abs().gt(1e-3).float().mean())}
    for name, a, b in zip(("grad_x", "grad_width", "grad_decay", "grad_threshold"), g_tri, g_ref, strict=True):
        out[f"{name}_max_rel"] = _max_rel(a, b)
    del xr, xt, y_ref, y_tri, g_ref, g_tri
    return out


def bench_dtype(args: argparse.Namespace, dtype_name: str) -> list[dict]:
    import torch

    from asgl import functional as F
    from asgl.kernels import lif_triton

    dtype = getattr(torch, dtype_name)
    shape = (args.T, args.B, *args.inner)
    n = args.B * math.prod(args.inner)
    total_bytes = bytes_moved(args.T, n, torch.empty((), dtype=dtype).element_size())
    floor_ms = total_bytes / (args.peak_gbps * 1e9) * 1e3
    gen = torch.Generator(device=DEVICE).manual_seed(0)
    x = (torch.randn(shape, device=DEVICE, generator=gen) * 0.8 + 0.4).to(dtype).requires_grad_(True)
    gy = torch.randn(shape, device=DEVICE, generator=gen).to(dtype)

    rows = []

    def add(method: str, timing: dict[str, float], mem_mb: float | None, bytes_: int = total_bytes,
            floor: float = floor_ms) -> None:
        gbps = bytes_ / (timing["median_ms"] * 1e-3) / 1e9
        rows.append({"method": method, "dtype": dtype_name, **timing, "achieved_gbps": gbps,
                     "pct_of_peak": 100.0 * gbps / args.peak_gbps, "floor_ms": floor, "nominal_bytes": bytes_,
                     "peak_mem_mb": mem_mb})

    # Direct kernel calls: forward alone, backward alone, and the pair.
    channels = args.inner[0] if args.per_channel else 1
    s_inner = math.prod(args.inner[1:]) if args.per_channel else n
    w = torch.full((channels,), 1.0, device=DEVICE, dtype=torch.float32)
    x2 = x.detach().reshape(args.T, -1)
    gy2 = gy.reshape(args.T, -1)
    kw = {"s_inner": s_inner, "decay": 0.5, "theta": 1.0, "p": args.p, "key": F.seed_key(123), "prim": 0,
          "hard": args.reset == "hard", "scale": False}
    _, v_fixed = lif_triton.forward(x2, w, **kw)

    def k_fwd():
        lif_triton.forward(x2, w, **kw)

    def k_bwd():
        lif_triton.backward(gy2, v_fixed, w, **kw)

    def k_both():
        _, v = lif_triton.forward(x2, w, **kw)
        lif_triton.backward(gy2, v, w, **kw)

    half = total_bytes // 2
    add("triton-kernel fwd", time_cuda(k_fwd, args.warmup, args.iters), peak_memory_mb(k_fwd), half, floor_ms / 2)
    add("triton-kernel bwd", time_cuda(k_bwd, args.warmup, args.iters), peak_memory_mb(k_bwd), half, floor_ms / 2)
    add("triton-kernel", time_cuda(k_both, args.warmup, args.iters), peak_memory_mb(k_both))

    step = _module_step(_make_lif(args, "triton"), x, gy)
    add("triton-module", time_cuda(step, args.warmup, args.iters), peak_memory_mb(step))

    if not args.no_reference:
        step = _module_step(_make_lif(args, "autograd"), x, gy)
        add("autograd", time_cuda(step, min(args.warmup, 1), args.ref_iters), peak_memory_mb(step))
        parity = check_parity(args, x, gy)
        for row in rows:
            row["parity_vs_autograd"] = parity

    if not args.no_spikingjelly:
        for name, sj_step in _spikingjelly_steps(x, gy).items():
            try:
                add(name, time_cuda(sj_step, args.warmup, args.iters), peak_memory_mb(sj_step))
            except Exception as exc:  # e.g. a backend without bfloat16 support
                rows.append({"method": name, "dtype": dtype_name, "error": f"{type(exc).__name__}: {exc}"})
    torch.cuda.empty_cache()
    return rows


def format_table(rows: list[dict]) -> str:
    header = f"{'method':<26}{'dtype':<10}{'median ms':>11}{'min ms':>9}{'GB/s':>9}{'% peak':>8}" \
             f"{'floor ms':>10}{'peak MiB':>10}"
    lines = [header, "-" * len(header)]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['method']:<26}{r['dtype']:<10}  error: {r['error'][:60]}")
            continue
        mem = "-" if r["peak_mem_mb"] is None else f"{r['peak_mem_mb']:.0f}"
        lines.append(f"{r['method']:<26}{r['dtype']:<10}{r['median_ms']:>11.3f}{r['min_ms']:>9.3f}"
                     f"{r['achieved_gbps']:>9.0f}{r['pct_of_peak']:>8.1f}{r['floor_ms']:>10.3f}{mem:>10}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import torch
    except ImportError:
        print("bench_gpu: torch is not installed", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("bench_gpu: no CUDA device is available; this benchmark only runs on a GPU "
              "(the Triton kernels are tested on the CPU by tests/unit/test_triton_kernel.py)", file=sys.stderr)
        return 2
    repo_root = Path(__file__).resolve().parents[1]
    if str(repo_root) not in sys.path:
        sys.path.insert(0, str(repo_root))

    rows = []
    for dtype_name in args.dtype_names:
        rows.extend(bench_dtype(args, dtype_name))
    n = args.B * math.prod(args.inner)
    print(f"device: {torch.cuda.get_device_name()}  peak {args.peak_gbps:.0f} GB/s  "
          f"x: [T={args.T}, B={args.B}, {args.shape}] (N={n} neurons/step)  p={args.p}  reset={args.reset}  "
          f"{'per-channel' if args.per_channel else 'layer'} width")
    print("nominal bytes = 6 · itemsize · T · N (fwd: x, y, v; bwd: g_y, v, g_x)")
    print(format_table(rows))
    parities = {r["dtype"]: r["parity_vs_autograd"] for r in rows if "parity_vs_autograd" in r}
    for dtype_name, parity in parities.items():
        print(f"parity vs autograd ({dtype_name}): " + ", ".join(f"{k}={v:.3g}" for k, v in parity.items()))
    if args.out is not None:
        result = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
                  "peak_gbps": args.peak_gbps, "shape": [args.T, args.B, *args.inner], "p": args.p,
                  "reset": args.reset, "per_channel": args.per_channel, "rows": rows}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

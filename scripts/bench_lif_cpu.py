"""CPU benchmark of one LIF layer, forward + backward, as a ratio to a copy of the same input.

Compares, in one run on the same threads: our fused LIF with ASGL spikes (``p = 0.2``, learnable width; numba
backend) with its output buffers reused (:mod:`asgl.kernels.buffers`, the default) and allocated afresh on
every call (the kernels before the pool), the fused SG control (``p = 0``), our reference autograd loop, and
snnTorch's ``Leaky`` (fast_sigmoid surrogate) run the way its users run it (a step loop). Also reports the
bytes saved for backward per neuron-step, measured with ``torch.autograd.graph.saved_tensors_hooks`` (sum of
the sizes of all tensors autograd keeps).

The reference "copy" is ``out.copy_(x)`` into a buffer kept across calls: the bytes of ``x.clone()`` (read 4,
write 4 per element) without a fresh allocation, whose first-touch page faults would count the allocator
instead of the memory (``x.clone()`` itself is reported beside it). Two rows per shape, "memory floor", move
the fused kernel's bytes (24 per neuron-step: forward reads ``x`` and writes ``y`` and ``v``, backward reads
``g_y`` and ``v`` and writes ``g_x``) with no arithmetic, into fresh arrays and into reused ones: a fused
kernel cannot beat the second. A third table says where the fused layer's time goes: its two kernels alone
on preallocated arrays, the layer's NaN/inf check of its input (one ``torch.aminmax`` pass), and the rest
(autograd, Python, buffers).

With ``--first-call`` it measures instead what a new process pays before its first LIF step: a fresh
Python process imports asgl, then times its first forward + backward with ``p = 0`` and then with ``p > 0``
(wall and CPU seconds), and the script reports whether numba's cache folder gained files.

With ``--run-breakdown`` it times one small training run in a fresh process, the shape of a single
``python -m pipelines.stages.train`` run on digits: imports, the first step (kernel compilation or cache load), the
rest of the first epoch, the later epochs, and a final evaluation (``p = 0`` kernels), each in wall and CPU
seconds (CPU time of all threads; less sensitive than wall time to other processes on the machine). The run:
resnet_tiny (width 8, as the embedded profile) with ASGL neurons (``p = 0.2``, learnable decay), SGD, random
data of digits' shape (``T = 4``, ``[32, 1, 8, 8]``, 10 classes), 3 epochs of 22 steps.

Usage::

    python scripts/bench_lif_cpu.py [--threads 2] [--repeats 20] [--clock wall|cpu] [--out lif.json]
    python scripts/bench_lif_cpu.py --first-call [--repeats 3]
    python scripts/bench_lif_cpu.py --run-breakdown [--repeats 2]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Callable

import torch

SHAPES = ((8, 32, 4096), (4, 16, 64, 32, 32))
FLOOR_FRESH = "memory floor, fresh outputs (same traffic, no arithmetic)"
FLOOR_REUSED = "memory floor, reused outputs"
ASGL_FUSED = "asgl fused (numba), buffers reused"


def saved_bytes(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> int:
    """Total bytes of the tensors autograd saves for backward during ``fn(x)`` (distinct storages once)."""
    seen: dict[int, int] = {}
    pinned: list[torch.Tensor] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        pinned.append(t)  # keeps the address from being reused by a later tensor during the measurement
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(x)
    return sum(seen.values()) - x.untyped_storage().nbytes() * (x.untyped_storage().data_ptr() in seen)


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = CLOCKS["wall"]


def time_call(fn: Callable[[], object], repeats: int) -> float:
    """Median seconds per call after three warm-up calls, on the clock chosen with ``--clock``.

    ``cpu`` is this process's CPU time (user + system, all threads): on a shared machine it leaves out the time
    the process waits descheduled, which wall time counts, while still counting page faults (system time).
    """
    for _ in range(3):
        fn()
    samples = []
    for _ in range(repeats):
        start = _clock()
        fn()
        samples.append(_clock() - start)
    return statistics.median(samples)


def faults_per_call(fn: Callable[[], object], calls: int = 5) -> float:
    """Minor page faults of this process per call of ``fn`` (first touches of fresh pages), after one warm call."""
    import resource

    fn()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def make_ours(backend: str) -> Callable[[torch.Tensor], torch.Tensor]:
    from asgl import LIF, ASGLSpike

    lif = LIF(ASGLSpike(width=1.0, p=0.2), decay=0.5, threshold=1.0, backend=backend)
    return lif


def make_snntorch() -> Callable[[torch.Tensor], torch.Tensor]:
    import snntorch as snn
    from snntorch import surrogate

    leaky = snn.Leaky(beta=0.5, threshold=1.0, spike_grad=surrogate.fast_sigmoid(slope=25))

    def run(x: torch.Tensor) -> torch.Tensor:
        mem = leaky.init_leaky()
        spikes = []
        for t in range(x.shape[0]):
            spk, mem = leaky(x[t], mem)
            spikes.append(spk)
        return torch.stack(spikes)

    return run


def make_traffic_floor(reuse: bool) -> Callable[[torch.Tensor, torch.Tensor], None]:
    """The fused kernel's memory traffic with no arithmetic: forward reads ``x`` and writes two ``[T, N]``
    arrays, backward reads two and writes one (24 bytes per neuron-step), in the same blocked order and thread
    count as :mod:`asgl.kernels.lif_numba`; the three arrays are fresh on every call, or (``reuse``) kept
    across calls. With reuse it is a lower bound for any fused kernel that stores ``v`` and regenerates
    everything else."""
    import numpy as np
    from numba import njit, prange

    from asgl.kernels.lif_numba import BLOCK

    @njit(parallel=True, cache=False)
    def stream(a, b, out1, out2, n_steps):
        n = a.shape[0] // n_steps
        for blk in prange((n + BLOCK - 1) // BLOCK):
            lo = blk * BLOCK
            m = min(n, lo + BLOCK) - lo
            for t in range(n_steps):
                base = t * n + lo
                at, bt, o1, o2 = a[base:base + m], b[base:base + m], out1[base:base + m], out2[base:base + m]
                for j in range(m):
                    o1[j] = at[j] + bt[j]
                    o2[j] = at[j]

    kept: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def run(x: torch.Tensor, grad: torch.Tensor) -> None:
        xs, gs, steps = x.numpy().reshape(-1), grad.numpy().reshape(-1), x.shape[0]
        if reuse:
            y, v, gx = kept.setdefault(xs.size, (np.empty_like(xs), np.empty_like(xs), np.empty_like(xs)))
        else:
            y, v, gx = np.empty_like(xs), np.empty_like(xs), None
        stream(xs, xs, y, v, steps)
        gx = np.empty_like(xs) if gx is None else gx
        stream(gs, v, gx, gx, steps)

    return run


@contextlib.contextmanager
def buffer_pool(pool):
    """Run the fused kernels with ``pool`` as :data:`asgl.kernels.buffers.POOL` (``per_size = 0``: fresh arrays)."""
    from asgl.kernels import buffers

    saved, buffers.POOL = buffers.POOL, pool
    try:
        yield
    finally:
        buffers.POOL = saved


def fwd_bwd(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, grad: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        xx = x.detach().requires_grad_()
        fn(xx).backward(grad)

    return step


def run(threads: int, repeats: int) -> list[dict]:
    torch.set_num_threads(threads)
    try:
        import numba

        numba.set_num_threads(threads)
    except (ImportError, ValueError):
        pass
    from asgl import LIF, FixedSurrogateSpike
    from asgl.kernels.buffers import BufferPool

    torch.manual_seed(0)
    rows = []
    asgl_fused, kept, fresh = make_ours("numba"), BufferPool(), BufferPool(per_size=0)
    candidates = [  # (name, layer, buffer pool of the fused kernels or None)
        (FLOOR_FRESH, make_traffic_floor(reuse=False), None),
        (FLOOR_REUSED, make_traffic_floor(reuse=True), None),
        ("asgl fused (numba), fresh buffers every call", asgl_fused, fresh),
        (ASGL_FUSED, asgl_fused, kept),
        ("sg fused (numba, p = 0)", LIF(FixedSurrogateSpike(width=1.0), backend="numba"), kept),
        ("asgl autograd loop", make_ours("autograd"), None),
        ("snntorch Leaky (fast_sigmoid)", make_snntorch(), None),
    ]
    for shape in SHAPES:
        x = torch.randn(shape) * 1.5
        grad = torch.randn(shape)
        out = torch.empty_like(x)
        copy_s = time_call(lambda x=x, out=out: out.copy_(x), repeats)
        clone_s = time_call(lambda x=x: x.clone(), repeats)
        for name, fn, pool in candidates:
            with buffer_pool(pool) if pool is not None else contextlib.nullcontext():
                if name.startswith("memory floor"):
                    call, saved = (lambda fn=fn, x=x, grad=grad: fn(x, grad)), 4.0
                else:
                    call, saved = fwd_bwd(fn, x, grad), saved_bytes(fn, x.detach().requires_grad_()) / x.numel()
                seconds, faults = time_call(call, repeats), faults_per_call(call)
            rows.append({"shape": list(shape), "neuron": name, "fwd_bwd_ms": seconds * 1e3, "copy_ms": copy_s * 1e3,
                         "clone_ms": clone_s * 1e3, "ratio_to_copy": seconds / copy_s,
                         "saved_bytes_per_neuron_step": saved, "page_faults_per_call": faults})
    return rows


def kernel_only(repeats: int) -> list[dict]:
    """Forward and backward numba kernels alone on preallocated arrays (no autograd, no allocation), sigmoid
    primitive, soft reset, for ``p = 0.2`` (ASGL) and ``p = 0`` (the SG control's kernel)."""
    import numpy as np

    from asgl.kernels import lif_numba

    rows = []
    for shape in SHAPES:
        steps, n = shape[0], int(np.prod(shape[1:]))
        rng = np.random.default_rng(0)
        x = (rng.standard_normal(steps * n) * 1.5).astype(np.float32)
        gy = rng.standard_normal(steps * n).astype(np.float32)
        y, v, gx = np.empty_like(x), np.empty_like(x), np.empty_like(x)
        for p in (0.2, 0.0):
            forward, backward = lif_numba.kernels(lif_numba.SIGMOID, False, False, p > 0)
            decay, theta = np.full(1, 0.5, np.float32), np.full(1, 1.0, np.float32)
            params = (steps, np.ones(1, np.float32), n, decay, theta, np.float32(p), np.int64(7))
            fwd_args, bwd_args = (x, *params, y, v), (gy, v, *params, gx)
            rows.append({"shape": list(shape), "p": p,
                         "forward_ms": time_call(lambda f=forward, a=fwd_args: f(*a), repeats) * 1e3,
                         "backward_ms": time_call(lambda b=backward, a=bwd_args: b(*a), repeats) * 1e3})
        xt = torch.from_numpy(x)
        rows[-1]["nonfinite_check_ms"] = rows[-2]["nonfinite_check_ms"] = time_call(
            lambda xt=xt: torch.aminmax(xt), repeats) * 1e3
    return rows


def format_breakdown(rows: list[dict], kernels: list[dict]) -> str:
    """Where the fused layer's time goes (``p = 0.2``, buffers reused): kernels, NaN/inf check, the rest."""
    lines = ["| shape | layer fwd+bwd ms | forward kernel | backward kernel | NaN/inf check | rest (autograd, "
             "Python, buffers) |", "|---|---|---|---|---|---|"]
    for r in rows:
        if r["neuron"] != ASGL_FUSED:
            continue
        k = next(k for k in kernels if k["shape"] == r["shape"] and k["p"] > 0)
        rest = r["fwd_bwd_ms"] - k["forward_ms"] - k["backward_ms"] - k["nonfinite_check_ms"]
        lines.append(f"| {r['shape']} | {r['fwd_bwd_ms']:.2f} | {k['forward_ms']:.2f} | {k['backward_ms']:.2f} | "
                     f"{k['nonfinite_check_ms']:.2f} | {rest:.2f} |")
    return "\n".join(lines)


def format_kernel_table(rows: list[dict]) -> str:
    lines = ["| shape | p | forward kernel ms | backward kernel ms |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['shape']} | {r['p']} | {r['forward_ms']:.2f} | {r['backward_ms']:.2f} |")
    return "\n".join(lines)


def format_table(rows: list[dict]) -> str:
    lines = ["| shape | neuron | fwd+bwd ms | × copy | bytes saved / neuron-step | page faults / call |",
             "|---|---|---|---|---|---|"]
    shapes = []
    for r in rows:
        lines.append(f"| {r['shape']} | {r['neuron']} | {r['fwd_bwd_ms']:.2f} | {r['ratio_to_copy']:.1f} | "
                     f"{r['saved_bytes_per_neuron_step']:.1f} | {r['page_faults_per_call']:.0f} |")
        if r["shape"] not in shapes:
            shapes.append(r["shape"])
    for shape in shapes:
        r = next(r for r in rows if r["shape"] == shape)
        lines.append(f"\ncopy of {shape}: {r['copy_ms']:.3f} ms into a kept buffer, "
                     f"{r['clone_ms']:.3f} ms as x.clone()")
    return "\n".join(lines)


_FIRST_CALL = """
import json, time
t0, c0 = time.perf_counter(), time.process_time()
import torch
from asgl import LIF, ASGLSpike
out = {"import_s": time.perf_counter() - t0, "import_cpu_s": time.process_time() - c0}
for p in (0.0, 0.2):
    lif = LIF(ASGLSpike(width=1.0, p=p), backend="numba")
    x = torch.randn(4, 8, 64, requires_grad=True)
    t, c = time.perf_counter(), time.process_time()
    lif(x).sum().backward()
    out[f"first_fwd_bwd_p{p}_s"] = time.perf_counter() - t
    out[f"first_fwd_bwd_p{p}_cpu_s"] = time.process_time() - c
print(json.dumps(out))
"""


_RUN = """
import json, time
t0, c0 = time.perf_counter(), time.process_time()
import torch
from asgl import LIF, ASGLSpike
from asgl.models import build_model
out = {"import": [time.perf_counter() - t0, time.process_time() - c0]}
torch.manual_seed(0)
model = build_model("resnet_tiny", lambda: LIF(ASGLSpike(width=1.0, p=0.2), learn_decay=True), time_steps=4,
                    width=8)
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
x, y = torch.randn(22, 32, 1, 8, 8), torch.randint(0, 10, (22, 32))
epochs = []
for epoch in range(3):
    start, cpu = time.perf_counter(), time.process_time()
    for step in range(22):
        loss = torch.nn.functional.cross_entropy(model(x[step]).mean(0), y[step])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if epoch == 0 and step == 0:
            out["first_step"] = [time.perf_counter() - start, time.process_time() - cpu]
    epochs.append([time.perf_counter() - start, time.process_time() - cpu])
out["rest_of_first_epoch"] = [a - b for a, b in zip(epochs[0], out["first_step"])]
out["later_epoch"] = [sum(e[i] for e in epochs[1:]) / len(epochs[1:]) for i in (0, 1)]
model.eval()
start, cpu = time.perf_counter(), time.process_time()
with torch.no_grad():
    model(x[0])
out["first_eval_batch"] = [time.perf_counter() - start, time.process_time() - cpu]
out["total"] = [time.perf_counter() - t0, time.process_time() - c0]
print(json.dumps(out))
"""


def run_breakdown(repeats: int) -> list[dict]:
    """``repeats`` fresh processes, each timing one small training run (see the module docstring)."""
    import json
    import subprocess
    import sys

    rows = []
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _RUN], capture_output=True, text=True, check=True)
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append({"process_s": time.perf_counter() - start,
                     **{f"{k}_s": f"{wall:.2f} wall / {cpu:.2f} cpu" for k, (wall, cpu) in row.items()}})
    return rows


def cache_files() -> int:
    """Number of files in numba's cache folder for the LIF kernels (``NUMBA_CACHE_DIR`` or ``__pycache__``)."""
    import os
    from pathlib import Path

    import asgl.kernels

    root = os.environ.get("NUMBA_CACHE_DIR")
    folder = Path(root) if root else Path(asgl.kernels.__file__).parent / "__pycache__"
    return sum(1 for f in folder.rglob("*") if f.suffix in (".nbi", ".nbc"))


def first_call(repeats: int) -> list[dict]:
    """``repeats`` fresh processes, each timing its first LIF forward + backward (see the module docstring)."""
    import json
    import subprocess
    import sys

    rows = []
    for _ in range(repeats):
        before = cache_files()
        proc = subprocess.run([sys.executable, "-c", _FIRST_CALL], capture_output=True, text=True, check=True)
        rows.append({**json.loads(proc.stdout.strip().splitlines()[-1]), "cache_files_added": cache_files() - before})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time (default) or this process's CPU time (steadier on a shared machine)")
    parser.add_argument("--out", default=None, help="optional JSON output path")
    parser.add_argument("--first-call", action="store_true", help="time a fresh process's first LIF step instead")
    parser.add_argument("--run-breakdown", action="store_true", help="time one small training run's phases instead")
    args = parser.parse_args(argv)
    global _clock
    _clock = CLOCKS[args.clock]
    if args.first_call or args.run_breakdown:
        for row in (first_call if args.first_call else run_breakdown)(args.repeats):
            print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        return
    rows = run(args.threads, args.repeats)
    kernels = kernel_only(args.repeats)
    print(format_table(rows))
    print()
    print(format_kernel_table(kernels))
    print()
    print(format_breakdown(rows, kernels))
    if args.out:
        from asgl.io import atomic_write_json

        atomic_write_json(args.out, {"threads": args.threads, "clock": args.clock, "rows": rows,
                                     "kernel_only": kernels})


if __name__ == "__main__":
    main()

"""The CPU kernels' buffer pool hands an array out again only once nothing refers to it (asgl.kernels.buffers)."""

from __future__ import annotations

import numpy as np
import torch

from asgl import LIF, ASGLSpike
from asgl.kernels import buffers
from asgl.kernels.buffers import BufferPool


def test_an_array_is_reused_only_after_its_last_tensor_and_view_are_gone() -> None:
    pool = BufferPool()
    first = pool.take(12)
    assert pool.take(12) is not first  # still held here
    tensor = torch.from_numpy(first).reshape(3, 4)
    view = tensor[1:]
    del first, tensor
    assert pool.take(12) is not pool._arrays[12][0]  # the view still holds the first array
    del view
    again = pool.take(12)
    assert again is pool._arrays[12][0]
    assert pool.take(5).shape == (5,) and pool.take(5).dtype == np.float32


def test_the_pool_keeps_at_most_per_size_arrays_and_clear_forgets_them() -> None:
    pool = BufferPool(per_size=2)
    held = [pool.take(8) for _ in range(4)]
    assert len(pool._arrays[8]) == 2 and pool.held_bytes() == 2 * 8 * 4
    pool.clear()
    assert pool.held_bytes() == 0 and all(a.shape == (8,) for a in held)


def test_outputs_a_caller_keeps_are_never_overwritten_by_later_calls() -> None:
    torch.manual_seed(0)
    lif = LIF(ASGLSpike(width=0.8, p=0.3), decay=0.6, backend="numba")
    xs = [torch.randn(4, 3, 50, requires_grad=True) for _ in range(3)]
    kept = [lif(x) for x in xs]
    copies = [y.detach().clone() for y in kept]
    for x, y in zip(xs, kept, strict=True):
        y.sum().backward()
        assert x.grad is not None
    grads = [x.grad.clone() for x in xs]
    for _ in range(3):  # later calls reuse only what was released
        lif(torch.randn(4, 3, 50, requires_grad=True)).sum().backward()
    for y, copy, x, grad in zip(kept, copies, xs, grads, strict=True):
        assert torch.equal(y.detach(), copy) and torch.equal(x.grad, grad)


def test_a_warm_call_allocates_nothing_new() -> None:
    lif = LIF(ASGLSpike(width=0.8, p=0.3), backend="numba")
    x = torch.randn(3, 2, 4097)
    for _ in range(2):
        lif(x.requires_grad_()).sum().backward()
        x.grad = None
    before = buffers.POOL.held_bytes()
    for _ in range(3):
        lif(x.requires_grad_()).sum().backward()
        x.grad = None
    assert buffers.POOL.held_bytes() == before

"""The one table of smooth primitives (asgl.functional.PRIMITIVES) and what the LIF does with each entry."""

from __future__ import annotations

import logging

import pytest
import torch

from asgl import LIF, ASGLSpike
from asgl import functional as F
from asgl.kernels import fused


@pytest.mark.parametrize("name", sorted(F.PRIMITIVES))
def test_each_derivative_is_the_gradient_of_its_primitive(name: str) -> None:
    entry = F.PRIMITIVES[name]
    x = torch.linspace(-3.0, 3.0, 601, dtype=torch.float64).requires_grad_()
    width = 1.3
    (grad,) = torch.autograd.grad(entry.smooth(x, width).sum(), x)
    torch.testing.assert_close(entry.derivative(x.detach(), width), grad)
    assert entry.name == name


def _tanh_entry(code: int | None) -> F.Primitive:
    def smooth(x, width):
        return 0.5 * (torch.tanh(x / width) + 1.0)

    def derivative(x, width):
        return 0.5 * (1.0 - torch.tanh(x / width) ** 2) / width

    return F.Primitive("tanh_test", code, smooth, derivative)


def _run(backend: str) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    x = torch.randn(4, 3, 10, requires_grad=True)
    lif = LIF(ASGLSpike(width=0.8, p=0.3, primitive="tanh_test"), backend=backend)
    torch.manual_seed(1)
    y = lif(x)
    y.pow(2).sum().backward()
    return y.detach(), x.grad


def test_a_primitive_added_to_functional_only_runs_on_autograd_under_auto(monkeypatch, caplog) -> None:
    monkeypatch.setitem(F.PRIMITIVES, "tanh_test", _tanh_entry(None))
    monkeypatch.setattr(fused, "_REPORTED", set())
    assert ASGLSpike(primitive="tanh_test").fused_spec() is None
    with caplog.at_level(logging.INFO, logger=fused.__name__):
        auto = _run("auto")
        _run("auto")
    said = [r for r in caplog.records if "tanh_test" in r.getMessage()]
    assert len(said) == 1 and "autograd" in said[0].getMessage()
    reference = _run("autograd")
    for a, b in zip(auto, reference, strict=True):
        assert torch.equal(a, b)
    assert auto[1].abs().sum() > 0


@pytest.mark.parametrize("backend", ["numba", "triton"])
def test_a_named_fused_backend_refuses_a_primitive_without_a_kernel(monkeypatch, backend: str) -> None:
    monkeypatch.setitem(F.PRIMITIVES, "tanh_test", _tanh_entry(None))
    with pytest.raises(ValueError, match=f"backend '{backend}' has no kernel for 'tanh_test'"):
        _run(backend)


def test_a_kernel_code_no_kernel_implements_is_refused_by_the_numba_kernel(monkeypatch) -> None:
    monkeypatch.setitem(F.PRIMITIVES, "tanh_test", _tanh_entry(7))
    with pytest.raises(ValueError, match="no primitive with code 7"):
        _run("numba")


def test_unknown_primitive_names_the_table() -> None:
    with pytest.raises(ValueError, match="sigmoid"):
        ASGLSpike(primitive="nope")
    with pytest.raises(ValueError, match="unknown primitive 'nope'"):
        F.primitive("nope", torch.zeros(2), 1.0)


def test_a_spike_class_without_a_kernel_is_named_by_its_class(monkeypatch, caplog) -> None:
    class PlainSpike(ASGLSpike):
        def fused_spec(self):
            return None

    monkeypatch.setattr(fused, "_REPORTED", set())
    lif = LIF(PlainSpike(primitive="sigmoid"), backend="auto")
    with caplog.at_level(logging.INFO, logger=fused.__name__):
        lif(torch.randn(2, 3, 4))
    assert any("'PlainSpike'" in r.getMessage() for r in caplog.records)
    with pytest.raises(ValueError, match="no kernel for 'PlainSpike'"):
        LIF(PlainSpike(), backend="numba")(torch.randn(2, 3, 4))

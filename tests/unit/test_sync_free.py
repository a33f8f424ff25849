"""A LIF network's forward and backward read no tensor value back to the host (no host–device synchronisation).

On the CPU the evidence is a count: every tensor → Python conversion (``item``, ``float()``, ``bool()``,
``int()``, ``index``, ``tolist``, ``numpy.asarray``) is patched to count its calls, and one forward + backward
of a small ResNet with ASGL neurons must make none. On a GPU (marker ``gpu``) CUDA's own sync detector is set
to raise.
"""

from __future__ import annotations

import pytest
import torch

from asgl import LIF, ASGLSpike, FixedSurrogateSpike
from asgl.models import build_model
from asgl.neuron import take_nonfinite_inputs

CONVERSIONS = ("item", "__float__", "__bool__", "__int__", "__index__", "tolist", "__array__")


class Conversions:
    """Counts calls of the patched tensor → Python conversions while ``active``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        self.active = False
        for name in CONVERSIONS:
            monkeypatch.setattr(torch.Tensor, name, self._wrap(name, getattr(torch.Tensor, name)))

    def _wrap(self, name: str, original):
        def counted(tensor, *args, **kwargs):
            if self.active:
                self.calls.append(name)
            return original(tensor, *args, **kwargs)
        return counted


def _asgl_neuron() -> LIF:
    return LIF(ASGLSpike(width=1.0, p=0.2), decay=0.5, learn_decay=True, learn_threshold=True)


def _sg_neuron() -> LIF:
    return LIF(FixedSurrogateSpike(width=1.0), decay=0.5)


def _step(model: torch.nn.Module, device: str = "cpu") -> None:
    x = torch.randn(4, 6, 1, 8, 8, device=device)  # [T, B, 1, 8, 8], digits-sized
    y = torch.randint(0, 10, (6,), device=device)
    logits = model(x)  # [T, B, K]: per-step logits, read out as their time mean
    torch.nn.functional.cross_entropy(logits.mean(0), y).backward()


@pytest.mark.parametrize("neuron", [_asgl_neuron, _sg_neuron], ids=["asgl", "sg"])
def test_resnet_forward_and_backward_convert_nothing(monkeypatch: pytest.MonkeyPatch, neuron) -> None:
    torch.manual_seed(0)
    model = build_model("resnet_tiny", neuron, time_steps=4, width=8)
    _step(model)  # first call: kernels compiled or loaded outside the count
    counter = Conversions(monkeypatch)
    counter.active = True
    _step(model)
    model.eval()
    with torch.no_grad():
        model(torch.randn(4, 2, 1, 8, 8))
    counter.active = False
    assert counter.calls == []

    counter.active = True
    assert take_nonfinite_inputs(model) == []  # the caller's once-per-step read: one transfer for all layers
    counter.active = False
    assert counter.calls == ["tolist"]


def test_the_counter_sees_a_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = Conversions(monkeypatch)
    counter.active = True
    float(torch.ones(()))
    bool(torch.ones(()))
    assert counter.calls == ["__float__", "__bool__"]


@pytest.mark.gpu
def test_cuda_step_never_synchronises() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    torch.manual_seed(0)
    model = build_model("resnet_tiny", _asgl_neuron, time_steps=4, width=8).cuda()
    _step(model, "cuda")  # compile the Triton kernels first
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        _step(model, "cuda")
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert take_nonfinite_inputs(model) == []

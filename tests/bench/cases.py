"""The suite's benchmarked callables by name, shared by the pytest benchmarks and the regression check.

A case is a builder: called once, it sets up a model or layer and its inputs and returns the zero-argument
callable that one benchmark round runs. Names are the pytest benchmark names, so ``tests/bench`` and
``scripts/bench_check.py`` (which times base and head with these builders, see ``scripts/bench_worker.py``)
speak of the same things:

* ``test_neuron_method[<method>-<shape>]``: a registry neuron (``build_neuron``), forward + backward;
* ``test_lif_backend[<backend>-<shape>]``: ``LIF(ASGLSpike(p = 0.2))`` on one backend, forward + backward;
* ``test_train_step[<model>-<method>]``: one training step of ``scripts/bench_e2e.py`` at batch 64.

Shapes are time-major: ``[8, 32, 4096]`` and ``[4, 16, 64, 32, 32]``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
SHAPES = {"8x32x4096": (8, 32, 4096), "4x16x64x32x32": (4, 16, 64, 32, 32)}
SHAPE_ROUNDS = {"8x32x4096": 9, "4x16x64x32x32": 7}
METHOD_PARAMS = {
    "asgl": {"width": 1.0, "p": 0.2, "parameterisation": "slope"},
    "sg": {"width": 1.0},
    "snntorch-fast_sigmoid": {"width": 1.0},
    "sharpen": {"width": 1.0},
    "dspike": {"temperature": 3.0},
}
LIF_BACKENDS = ("autograd", "numba")
MODELS = ("resnet_tiny", "vgg_tiny", "mlp_snn", "audio_convnet_tiny")
MODEL_ROUNDS = {"resnet_tiny": 13, "vgg_tiny": 7, "mlp_snn": 13, "audio_convnet_tiny": 9}
TRAIN_METHODS = ("asgl", "sg")

Builder = Callable[[], Callable[[], Any]]


def load_script(name: str) -> ModuleType:
    """Import ``scripts/<name>.py`` of this tree as a module (``scripts`` is not a package)."""
    module_name = f"_asgl_bench_script_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, REPO_ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def fwd_bwd(neuron: torch.nn.Module, shape: tuple[int, ...]) -> Callable[[], None]:
    """Forward + backward of ``neuron`` in training mode on a fixed random input of ``shape``."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=gen) * 1.5
    grad = torch.randn(shape, generator=gen)
    neuron.train()

    def step() -> None:
        xx = x.detach().requires_grad_()
        neuron(xx).backward(grad)

    return step


def neuron_method(method: str, shape_id: str) -> Callable[[], None]:
    from asgl.registry import get_method

    if method not in ("asgl", "sg"):
        import baselines  # noqa: F401  (registers the baseline methods)
    return fwd_bwd(get_method(method).build_neuron(METHOD_PARAMS[method]), SHAPES[shape_id])


def lif_backend(backend: str, shape_id: str) -> Callable[[], None]:
    from asgl import LIF, ASGLSpike

    neuron = LIF(ASGLSpike(width=1.0, p=0.2), decay=0.5, threshold=1.0, reset="hard", backend=backend)
    return fwd_bwd(neuron, SHAPES[shape_id])


def train_step(model: str, method: str) -> Callable[[], float]:
    return load_script("bench_e2e").make_train_step(model, method, batch_size=64)


def all_cases() -> dict[str, Builder]:
    """``{benchmark name: builder}`` for every case above, in the suite's order."""
    cases: dict[str, Builder] = {}
    for shape_id in SHAPES:
        for method in METHOD_PARAMS:
            cases[f"test_neuron_method[{method}-{shape_id}]"] = lambda m=method, s=shape_id: neuron_method(m, s)
        for backend in LIF_BACKENDS:
            cases[f"test_lif_backend[{backend}-{shape_id}]"] = lambda b=backend, s=shape_id: lif_backend(b, s)
    for model in MODELS:
        for method in TRAIN_METHODS:
            cases[f"test_train_step[{model}-{method}]"] = lambda m=model, k=method: train_step(m, k)
    return cases

"""``asgl-bench export RUN_DIR OUT.nir``: a trained run's final weights as a NIR graph.

A run folder (``results/runs/<method>/<dataset>/w<width>-s<seed>/``) holds ``config.json`` (its settings:
method, method parameters, model builder and its arguments, prepare block) and ``checkpoint.pt`` (the model's
state after the last epoch, :mod:`asgl.training.checkpoint`). The model is rebuilt with the method's neuron,
loaded, put in eval mode and converted by :func:`asgl.nir_export.model_to_nir`; the file is then read back,
every array compared with what was written, and the graph run with ``nirtorch`` against the model on a
random input (:func:`check_file`).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import torch

from asgl.errors import UserError


class RunFolderError(ValueError, UserError):
    """The run folder lacks ``config.json`` or ``checkpoint.pt``, or they do not describe a run."""


def load_run_model(run_dir: Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The trained model of ``run_dir`` (eval mode) and its settings."""
    from asgl.models import build_model
    from asgl.training.checkpoint import load_checkpoint
    from pipelines.lib.identity import load_method

    config = run_dir / "config.json"
    if not run_dir.is_dir():
        raise RunFolderError(f"{run_dir}: not a folder (give a run folder: results/runs/<method>/<dataset>/w…-s…)")
    try:
        settings = json.loads(config.read_text(encoding="utf-8"))["meta"]["settings"]
    except FileNotFoundError:
        raise RunFolderError(f"{config}: missing; {run_dir} is not a run folder") from None
    except (json.JSONDecodeError, KeyError, TypeError):
        raise RunFolderError(f"{config}: has no meta.settings; it was not written by the train stage") from None
    payload = load_checkpoint(run_dir)
    if payload is None:
        raise RunFolderError(f"{run_dir / 'checkpoint.pt'}: missing; the run has not finished an epoch")
    spec = load_method(settings["method"], settings["source"])
    neuron = functools.partial(spec.make_neuron, settings["method_params"])
    model = build_model(settings["model"], neuron, **settings["model_kwargs"])
    model.load_state_dict(payload["model"])
    return model.eval(), settings


def sample_input(settings: dict[str, Any], input_shape: tuple[int, ...] | None = None, batch: int = 2
                 ) -> torch.Tensor:
    """A random model input for the run: shaped as its dataset's samples
    (:func:`pipelines.lib.data_shape.dataset_shape`), batch
    ``batch`` — ``[T, batch, ...]`` for temporal data, ``[batch, ...]`` for static images, which the model
    repeats over its time steps. ``input_shape`` (one sample's shape without time and batch) overrides it
    with a time-major ``[T, batch, *input_shape]``, ``T`` the model's ``time_steps`` (else 4)."""
    generator = torch.Generator().manual_seed(0)
    if input_shape is not None:
        steps = int(settings["model_kwargs"].get("time_steps") or 4)
        return torch.rand((steps, batch, *input_shape), generator=generator) * 2.0
    from pipelines.lib.data_shape import dataset_shape

    shape = dataset_shape(settings["dataset"], (settings.get("data") or {}).get("prepare") or {})
    if shape.temporal:
        steps, *rest = shape.x_shape
        return torch.rand((steps, batch, *rest), generator=generator) * 2.0
    return torch.rand((batch, *shape.x_shape), generator=generator) * 2.0


def check_file(path: Path, graph: Any, model: torch.nn.Module, x: torch.Tensor) -> float:
    """Read ``path`` back: every node and array must equal ``graph``'s; return max |model(x) − NIR run(x)|."""
    import nir
    import numpy as np

    from asgl.nir_export import graph_input, run_nir

    read = nir.read(path)
    if set(read.nodes) != set(graph.nodes) or sorted(read.edges) != sorted(graph.edges):
        raise ValueError(f"{path}: the file read back has other nodes or edges than were written")
    for name, node in graph.nodes.items():
        for key, value in vars(node).items():
            if isinstance(value, np.ndarray) and not np.array_equal(value, getattr(read.nodes[name], key)):
                raise ValueError(f"{path}: node {name}.{key} differs after reading the file back")
    with torch.no_grad():
        return float((model(x) - run_nir(read, graph_input(model, x))).abs().max())


def export_run(run_dir: Path, output: Path, *, check: bool = True,
               input_shape: tuple[int, ...] | None = None) -> str:
    """Write ``run_dir``'s model to ``output`` (NIR, HDF5); return a one-line summary."""
    import nir

    from asgl.nir_export import model_to_nir

    model, settings = load_run_model(Path(run_dir))
    x = sample_input(settings, input_shape)
    graph = model_to_nir(model, x)
    output.parent.mkdir(parents=True, exist_ok=True)
    nir.write(output, graph)
    kinds = sorted({type(n).__name__ for n in graph.nodes.values()})
    line = f"wrote {output}: {len(graph.nodes)} NIR nodes ({', '.join(kinds)}) from {settings['method']} " \
           f"{settings['model']} on {settings['dataset']}"
    if check:
        line += f"; read back identical, max |model − NIR| = {check_file(output, graph, model, x):.3g} " \
                f"on a {list(x.shape)} input"
    return line

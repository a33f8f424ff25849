"""The shape of a run's data without its files: ``dataset_shape(id, prepare options) -> DataShape``.

A downloadable set's shape follows from its preparation options and the published facts
(:func:`asgl.data.shapes.expected_shape`); a set generated locally (``embedded``) is built once, in memory,
with the same options. A prepared cache's manifest, when there is one, gives the same facts exactly
(:func:`asgl.data.shapes.shape_from_manifest`): ``plan`` reads it first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def dataset_shape(dataset: str, options: Mapping[str, Any]):
    """The :class:`asgl.data.shapes.DataShape` of ``dataset`` prepared with ``options`` (over its defaults)."""
    from asgl.data import get_spec
    from asgl.data.shapes import DataShape, expected_shape

    spec = get_spec(dataset)
    if not spec.embedded:
        return expected_shape(dataset, options)
    built = spec.load_builder()(None, {**spec.defaults, **options})
    x = built.tensors["train_x"]
    return DataShape(tuple(x.shape[1:]), len(built.class_names), x.shape[0], built.tensors["test_x"].shape[0],
                     built.time_steps is not None, str(x.dtype).replace("torch.", ""),
                     bool(built.extra.get("normalisation")))

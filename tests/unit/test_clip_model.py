"""``clip_mlp`` reads a whole clip ``[T_in, B, F]`` as one pattern presented for ``time_steps`` steps."""

import functools

import pytest
import torch

from asgl.models import build_model
from asgl.registry import get_method


def _model(**kwargs):
    spec = get_method("sg")
    neuron = functools.partial(spec.make_neuron, spec.resolve_params({"backend": "autograd"}))
    torch.manual_seed(0)
    return build_model("clip_mlp", neuron, frames=6, in_features=4, num_classes=3, hidden=16, **kwargs).eval()


def test_shape_and_presentation_steps():
    model = _model(time_steps=5)
    assert model(torch.randn(6, 2, 4)).shape == (5, 2, 3)
    first = model.features[0].module if hasattr(model.features[0], "module") else model.features[0]
    assert first.in_features == 24, "every frame of every band feeds the first layer"


def test_frame_order_matters_and_samples_stay_apart():
    model = _model(time_steps=3)
    x = torch.randn(6, 2, 4) * 3
    out = model(x)
    assert not torch.equal(model(x.flip(0)), out), "the clip is read as a pattern over time"
    assert torch.equal(model(x[:, :1]), out[:, :1]), "one sample's output does not depend on another's"


def test_wrong_clip_shape_is_one_clear_error():
    with pytest.raises(ValueError, match=r"expected a clip \[T_in=6, B, F=4\]"):
        _model()(torch.randn(5, 2, 4))

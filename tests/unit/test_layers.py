"""Time-major layers: TimeDistributed, temporal batch norms (statistics over T·B), encoders, readouts."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from asgl.layers import (
    FlattenFeatures,
    RepeatEncoder,
    TemporalBatchNorm,
    ThresholdDependentBatchNorm,
    TimeDistributed,
    TimeMean,
    merge_time,
    split_time,
    time_mean,
)

SHAPES = {"linear": (3, 4, 5), "conv1d": (3, 4, 5, 7), "conv2d": (2, 3, 5, 4, 6)}


def manual_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and biased variance of ``[T, B, C, ...]`` over every axis but ``C``."""
    per_channel = x.transpose(0, 2).reshape(x.shape[2], -1)
    return per_channel.mean(1), per_channel.var(1, unbiased=False)


def channel_view(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return v.reshape((1, 1, -1) + (1,) * (x.dim() - 3))


def test_merge_split_round_trip():
    x = torch.randn(3, 4, 5, 6)
    merged = merge_time(x)
    assert merged.shape == (12, 5, 6)
    assert_close(merged[4 + 1], x[1, 1])  # row t·B + b
    assert_close(split_time(merged, 3), x)


def test_split_time_rejects_bad_length():
    with pytest.raises(ValueError, match="multiple"):
        split_time(torch.zeros(7, 2), 3)


def test_time_distributed_identity_round_trip():
    x = torch.randn(3, 2, 4, 5)
    assert_close(TimeDistributed(nn.Identity())(x), x)


def test_time_distributed_equals_per_step_loop():
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, padding=1)
    x = torch.randn(4, 2, 2, 6, 6)
    expected = torch.stack([conv(x[t]) for t in range(4)])
    assert_close(TimeDistributed(conv)(x), expected)


def test_time_distributed_hook_sees_merged_input():
    seen = []
    linear = nn.Linear(5, 2)
    linear.register_forward_hook(lambda module, args, out: seen.append(args[0].shape))
    TimeDistributed(linear)(torch.randn(3, 4, 5))
    assert seen == [torch.Size([12, 5])]


@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_temporal_bn_training_statistics_span_time_and_batch(shape):
    torch.manual_seed(1)
    x = torch.randn(shape) * 3 + 2
    x[0] += 5.0  # a time step with another mean: per-step statistics would differ
    bn = TemporalBatchNorm(shape[2], momentum=0.1)
    with torch.no_grad():
        bn.module.weight.copy_(torch.linspace(0.5, 2.0, shape[2]))
        bn.module.bias.copy_(torch.linspace(-1.0, 1.0, shape[2]))
    y = bn(x)
    mean, var = manual_stats(x)
    expected = (x - channel_view(mean, x)) / torch.sqrt(channel_view(var, x) + bn.module.eps)
    expected = expected * channel_view(bn.module.weight, x) + channel_view(bn.module.bias, x)
    assert y.shape == x.shape
    assert_close(y, expected, rtol=1e-5, atol=1e-5)
    n = x.numel() // shape[2]
    assert_close(bn.module.running_mean, 0.1 * mean)
    assert_close(bn.module.running_var, 0.9 + 0.1 * var * n / (n - 1))


def test_temporal_bn_eval_uses_running_statistics():
    bn = TemporalBatchNorm(3)
    with torch.no_grad():
        bn.module.running_mean.copy_(torch.tensor([1.0, 2.0, 3.0]))
        bn.module.running_var.copy_(torch.tensor([4.0, 1.0, 0.25]))
    bn.eval()
    x = torch.randn(2, 5, 3, 4)
    stats = bn.module
    expected = (x - channel_view(stats.running_mean, x)) / torch.sqrt(channel_view(stats.running_var, x) + stats.eps)
    assert_close(bn(x), expected)


def test_temporal_bn_rejects_inputs_without_time():
    with pytest.raises(ValueError, match=r"\[T, B, C"):
        TemporalBatchNorm(3)(torch.randn(4, 3))


@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_threshold_dependent_bn_matches_hand_equation(shape):
    torch.manual_seed(2)
    alpha, v_th = 0.5, 2.5
    x = torch.randn(shape) * 2 - 1
    bn = ThresholdDependentBatchNorm(shape[2], alpha=alpha, v_th=v_th)
    with torch.no_grad():
        bn.weight.copy_(torch.linspace(0.5, 1.5, shape[2]))
        bn.bias.copy_(torch.linspace(-0.3, 0.3, shape[2]))
    mean, var = manual_stats(x)
    normalised = (x - channel_view(mean, x)) / torch.sqrt(channel_view(var, x) + bn.module.eps)
    expected = channel_view(bn.weight, x) * alpha * v_th * normalised + channel_view(bn.bias, x)
    assert_close(bn(x), expected, rtol=1e-5, atol=1e-5)
    n = x.numel() // shape[2]
    assert_close(bn.module.running_var, 0.9 + 0.1 * var * n / (n - 1))
    assert int(bn.module.num_batches_tracked) == 1


def test_threshold_dependent_bn_eval_and_unit_scale():
    torch.manual_seed(3)
    x = torch.randn(3, 4, 2, 5)
    plain, scaled = TemporalBatchNorm(2), ThresholdDependentBatchNorm(2, alpha=0.5, v_th=2.0)
    assert_close(scaled(x), plain(x))  # α·V_th = 1 reduces to plain tdbn
    scaled.eval()
    with torch.no_grad():
        scaled.module.running_mean.fill_(1.0)
        scaled.module.running_var.fill_(4.0)
    expected = (x - 1.0) / torch.sqrt(torch.tensor(4.0) + scaled.module.eps)  # γ = 1, β = 0, α·V_th = 1
    assert_close(scaled(x), expected)
    assert int(scaled.module.num_batches_tracked) == 1  # eval does not count


def test_threshold_dependent_bn_gradients_reach_affine_parameters():
    bn = ThresholdDependentBatchNorm(2, alpha=0.7)
    (bn(torch.randn(2, 3, 2, 4)) ** 2).sum().backward()
    assert bn.weight.grad is not None and bn.weight.grad.abs().sum() > 0


def test_repeat_encoder_static_and_time_major():
    enc = RepeatEncoder(3, static_ndim=4)
    x = torch.randn(2, 1, 4, 4)
    y = enc(x)
    assert y.shape == (3, 2, 1, 4, 4)
    for t in range(3):
        assert_close(y[t], x)
    seq = torch.randn(5, 2, 1, 4, 4)
    assert enc(seq) is seq
    with pytest.raises(ValueError, match="shape"):
        enc(torch.randn(2, 4, 4))


def test_repeat_encoder_without_time_steps_rejects_static():
    enc = RepeatEncoder(None, static_ndim=2)
    seq = torch.randn(4, 2, 3)
    assert enc(seq) is seq
    with pytest.raises(ValueError, match=r"\[T, B"):
        enc(torch.randn(2, 3))
    with pytest.raises(ValueError, match="time_steps"):
        RepeatEncoder(0, static_ndim=2)


def test_time_mean_and_flatten():
    x = torch.arange(24.0).reshape(3, 2, 4)
    assert_close(time_mean(x), x.sum(0) / 3)
    assert_close(TimeMean()(x), x.mean(0))
    assert FlattenFeatures()(torch.zeros(3, 2, 4, 5, 6)).shape == (3, 2, 120)


@pytest.mark.parametrize("norm", [TemporalBatchNorm, ThresholdDependentBatchNorm], ids=["tdbn", "threshold"])
def test_sync_batchnorm_conversion_keeps_time_merging(norm):
    torch.manual_seed(4)
    layer = norm(3)
    x = torch.randn(2, 5, 3, 4, 4)
    expected = layer(x)
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(layer)
    assert isinstance(converted, norm) and isinstance(converted.module, nn.SyncBatchNorm)
    converted.eval()
    layer.eval()
    assert_close(converted(x), layer(x))  # same running statistics after the one training call
    assert expected.shape == x.shape

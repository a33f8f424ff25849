"""The trainer's configuration: a frozen dataclass built from a ``params.yaml`` section.

:meth:`TrainConfig.from_dict` rejects unknown keys and values of the wrong type, naming the key, and checks
ranges; library code never reads files, argv or the environment for it.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OPTIMIZERS = ("sgd", "adam")
LR_SCHEDULES = ("cosine", "cosine_epoch", "constant")  # asgl.training.optim
LOSSES = ("ce", "tet")
DEVICES = ("auto", "cpu", "cuda")
AMP_DTYPES = ("float16", "bfloat16")
AUGMENTATIONS = ("none", "cifar", "crop_flip", "dvs", "dvs_roll")  # asgl.training.augment


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters (one for every method).

    Attributes:
        epochs: number of passes over the training set.
        batch_size: *global* batch size (split evenly over DDP ranks; must be divisible by the world size).
        eval_batch_size: batch size for evaluation and metrics.
        optimizer: weights' optimiser, ``"sgd"`` (momentum, optional Nesterov) or ``"adam"``.
        lr, momentum, weight_decay, nesterov: weights' optimiser settings.
        lr_schedule: ``"cosine"`` (to 0 over all steps, stepped every iteration), ``"cosine_epoch"`` (the
            same curve over epochs, the rate held through each epoch, as the authors' per-epoch
            ``CosineAnnealingLR``) or ``"constant"``.
        neuron_optimizer, neuron_lr, neuron_weight_decay, neuron_lr_schedule: the same for the neuron
            parameters (width, decay logit, threshold, …); the authors use Adam 3e-4, no weight decay, constant.
        loss: ``"ce"`` (cross-entropy of the time-mean logits) or ``"tet"`` (see :mod:`asgl.training.losses`).
        tet_lambda, tet_phi: TET's ``λ`` and MSE target ``φ``.
        time_major_input: inputs are sample-major temporal ``x[N, T, ...]`` to be fed as ``[T, B, ...]``;
            ``False`` feeds batches as they are (static images ``[B, C, H, W]``).
        seed: base seed; rank ``r`` seeds torch's generator with ``seed + r``.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        amp: autocast on CUDA (ignored on CPU); off by default: the authors trained in float32, so a run with
            ``amp: true`` deviates from their recipe and says so in its ``config.json``.
        amp_dtype: ``"float16"`` (with a grad scaler) or ``"bfloat16"``.
        grad_clip: clip the global gradient norm of all parameters to this value; ``0`` disables.
        progress: show a tqdm bar (also hidden when stderr is not a terminal).
        resume: continue from ``run_dir/checkpoint.pt`` when it exists.
        eval_every: evaluate test accuracy every this many epochs (and always after the last).
        metrics_samples: test samples used for the workload metrics (sparsity, synops); ``0`` skips them.
        throughput_warmup: steps/batches excluded from throughput timing.
        augment: train-time augmentation (:mod:`asgl.training.augment`): ``"none"``; ``"cifar"`` (crop, flip,
            AutoAugment, Cutout) or ``"crop_flip"`` (crop and flip only), both needing the dataset's
            normalisation; ``"dvs"`` (flip and roll of event frames, the authors' CIFAR10-DVS recipe) or
            ``"dvs_roll"`` (roll only, for classes that a mirror image would change).
        ddp: processes (GPUs) of one data-parallel run; ``N > 1`` makes the executor start the run under
            ``torchrun --nproc-per-node N`` (:mod:`pipelines.lib.ddp_launch`), ``1`` is a single process.
    """

    epochs: int = 10
    batch_size: int = 64
    eval_batch_size: int = 256
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    nesterov: bool = False
    lr_schedule: str = "cosine"
    neuron_optimizer: str = "adam"
    neuron_lr: float = 3e-4
    neuron_weight_decay: float = 0.0
    neuron_lr_schedule: str = "constant"
    loss: str = "ce"
    tet_lambda: float = 1e-3
    tet_phi: float = 1.0
    time_major_input: bool = False
    seed: int = 0
    device: str = "auto"
    amp: bool = False
    amp_dtype: str = "float16"
    grad_clip: float = 0.0
    progress: bool = True
    resume: bool = False
    eval_every: int = 1
    metrics_samples: int = 512
    throughput_warmup: int = 2
    augment: str = "none"
    ddp: int = 1

    def __post_init__(self) -> None:
        _check_types(self)
        positive = ("epochs", "batch_size", "eval_batch_size", "eval_every", "ddp")
        for key in positive:
            if getattr(self, key) < 1:
                raise ValueError(f"train.{key} must be >= 1, got {getattr(self, key)!r}")
        nonneg = ("lr", "momentum", "weight_decay", "neuron_lr", "neuron_weight_decay", "tet_lambda",
                  "grad_clip", "metrics_samples", "throughput_warmup")
        for key in nonneg:
            value = getattr(self, key)
            if value < 0 or (isinstance(value, float) and not math.isfinite(value)):
                raise ValueError(f"train.{key} must be a finite number >= 0, got {value!r}")
        choices = {"optimizer": OPTIMIZERS, "neuron_optimizer": OPTIMIZERS, "lr_schedule": LR_SCHEDULES,
                   "neuron_lr_schedule": LR_SCHEDULES, "loss": LOSSES, "device": DEVICES, "amp_dtype": AMP_DTYPES,
                   "augment": AUGMENTATIONS}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ValueError(f"train.{key} must be one of {allowed}, got {getattr(self, key)!r}")
        if self.tet_lambda > 1.0:
            raise ValueError(f"train.tet_lambda must be in [0, 1], got {self.tet_lambda!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> TrainConfig:
        """Build from a mapping; unknown keys raise ``ValueError``, wrong types ``TypeError`` (naming the key)."""
        data = dict(data or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"train: unknown key(s) {unknown}; known keys: {sorted(known)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """Plain ``{field: value}`` (JSON-serialisable)."""
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied (validated)."""
        return dataclasses.replace(self, **changes)


def _check_types(config: TrainConfig) -> None:
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        expected = hints[f.name]
        allowed = typing.get_args(expected) if isinstance(expected, types.UnionType) else (expected,)
        ok = any(_is_instance(value, t) for t in allowed)
        if not ok:
            names = " | ".join(getattr(t, "__name__", str(t)) for t in allowed)
            raise TypeError(f"train.{f.name}: expected {names}, got {type(value).__name__} ({value!r})")


def _is_instance(value: Any, expected: type) -> bool:
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)

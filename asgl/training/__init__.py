"""Training: one trainer for every method (see :func:`asgl.training.trainer.train` and docs/methods.md).

``train(model, (x_train, y_train), (x_test, y_test), TrainConfig(...), run_dir, callbacks) -> RunResult``.
"""

from asgl.training.callbacks import Callback, RunContext
from asgl.training.config import TrainConfig
from asgl.training.distributed import DistContext
from asgl.training.trainer import NonFiniteLossError, RunResult, evaluate_accuracy, train

__all__ = ["Callback", "DistContext", "NonFiniteLossError", "RunContext", "RunResult", "TrainConfig",
           "evaluate_accuracy", "train"]

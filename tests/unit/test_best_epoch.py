"""Best-epoch test accuracy (the authors' ``best_acc`` protocol) beside the last epoch's."""

import json

from asgl.training import TrainConfig, train
from asgl.training.trainer import best_epoch
from tests.unit.test_training import make_data, make_model


def test_best_epoch_picks_the_highest_evaluated_epoch_and_the_earliest_on_ties():
    history = [{"epoch": 1, "test_accuracy": 0.5}, {"epoch": 2, "test_accuracy": None},
               {"epoch": 3, "test_accuracy": 0.75}, {"epoch": 4, "test_accuracy": 0.75},
               {"epoch": 5, "test_accuracy": 0.625}]
    assert best_epoch(history) == (0.75, 3)


def test_best_epoch_is_none_when_no_epoch_was_evaluated():
    assert best_epoch([{"epoch": 1, "test_accuracy": None}]) == (None, None)
    assert best_epoch([]) == (None, None)


def test_a_run_records_both_last_and_best_epoch_accuracy(tmp_path):
    train_data, test_data = make_data()
    model, callbacks = make_model("sg")
    config = TrainConfig(epochs=4, batch_size=10, lr=0.05, time_major_input=True, progress=False, eval_every=1)
    result = train(model, train_data, test_data, config, tmp_path, callbacks)
    evaluated = [row["test_accuracy"] for row in result.history]
    assert result.metrics["best_test_accuracy"] == max(evaluated)
    assert evaluated[result.metrics["best_epoch"] - 1] == max(evaluated)
    assert result.metrics["test_accuracy"] == evaluated[-1] <= result.metrics["best_test_accuracy"]
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert (written["best_test_accuracy"], written["best_epoch"]) == (
        result.metrics["best_test_accuracy"], result.metrics["best_epoch"])

"""Progress output: one plain line per epoch when stderr is not a terminal (or progress is off), a bar on one."""

import re
import sys

import torch

from asgl.registry import get_method
from asgl.training import TrainConfig, train
from asgl.training.records import epoch_line, widths_summary
from tests.conftest import TinyNet

T, F, K = 3, 6, 3
LINE = re.compile(r"^\[(?P<label>[^\]]+)\] epoch (?P<epoch>\d+)/3  loss \d+\.\d{4}  train \d+\.\d\d%"
                  r"(  test \d+\.\d\d%)?  \d+\.\d s  width \S+$")
CONFIG = TrainConfig(epochs=3, batch_size=10, lr=0.05, neuron_lr=1e-2, time_major_input=True, progress=False,
                     metrics_samples=0, eval_every=2)


def test_epoch_line_format():
    row = {"epoch": 3, "loss": 0.41234, "train_accuracy": 0.875, "test_accuracy": 0.85, "epoch_time_s": 12.34,
           "lr/weights": 0.1, "width/a.spike": 0.4, "width/b.spike": 0.6, "width/c.spike": 0.5}
    assert epoch_line(row, 30, "runs/asgl/digits") == ("[runs/asgl/digits] epoch 3/30  loss 0.4123  train 87.50%  "
                                                       "test 85.00%  12.3 s  widths 0.4–0.6 (mean 0.5, 3 layers)")
    row.update(test_accuracy=None, **{"width/b.spike": None})
    del row["width/c.spike"]
    assert epoch_line(row, 30) == "epoch 3/30  loss 0.4123  train 87.50%  12.3 s  width 0.4"
    assert widths_summary({"loss": 1.0}) == ""


def run(tmp_path, config: TrainConfig):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, K, (30,), generator=g)
    x = torch.randn(30, T, F, generator=g) + y[:, None, None]
    spec = get_method("asgl")
    params = spec.resolve_params({"width": 1.0, "p": 0.3, "backend": "autograd"})
    return train(TinyNet(spec.neuron_factory(params), F, 8, K), (x[:20], y[:20]), (x[20:], y[20:]), config, tmp_path,
                 spec.make_callbacks(params))


def test_one_plain_line_per_epoch_without_a_terminal(tmp_path, capsys):
    result = run(tmp_path, CONFIG.replace(progress=True))  # stderr is captured: not a terminal
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    matches = [LINE.match(line) for line in lines]
    assert all(matches), lines
    assert [int(m["epoch"]) for m in matches] == [1, 2, 3]
    assert {m["label"] for m in matches} == {str(tmp_path)}
    evaluated = ["  test " in line.split("] ", 1)[1] for line in lines]
    assert evaluated == [False, True, True]  # every 2nd epoch and the last
    loss = float(lines[-1].split("loss ")[1].split()[0])
    assert loss == round(result.history[-1]["loss"], 4)


def test_progress_off_also_logs_lines(tmp_path, capsys):
    run(tmp_path, CONFIG)
    assert len([line for line in capsys.readouterr().err.splitlines() if LINE.match(line)]) == 3


def test_a_terminal_gets_the_bar_and_no_lines(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    run(tmp_path, CONFIG.replace(progress=True))
    err = capsys.readouterr().err
    assert "train:" in err and not [line for line in err.splitlines() if LINE.match(line)]

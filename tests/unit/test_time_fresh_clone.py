"""``scripts/time_fresh_clone.py``: the stamped log of a fresh-clone benchmark and the table made from it."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import time_fresh_clone as tfc  # noqa: E402

sys.path.pop(0)

LOG = """\
     0.0 === make venv start
    60.0 === make venv end rc=0
    60.0 === make benchmark start
    61.0 Running stage 'prepare@digits':
    61.0 > python -m pipelines.stages.prepare digits --params params.yaml
not stamped: skipped
    64.0 Running stage 'train@sg':
    70.0 [results/runs/sg/digits/w1-s0] epoch 1/2  loss 1.9  train 46.40%  1.0 s  widths 1–1
    70.5 [results/runs/sg/digits/w1-s1] epoch 1/2  loss 2.0  train 34.89%  1.5 s  widths 1–1
    72.0 [results/runs/sg/digits/w1-s0] epoch 2/2  loss 1.1  train 79.21%  test 90.0%  2.0 s  widths 1–1
    72.5 [results/runs/sg/digits/w1-s1] epoch 2/2  loss 1.3  train 66.22%  test 89.0%  2.0 s
    75.0 Running stage 'evaluate':
    79.0 === make benchmark end rc=0
"""


def test_parse_finds_the_parts_the_stages_and_each_runs_epochs():
    parts, stages = tfc.parse(io.StringIO(LOG))
    assert parts == {"make venv": (0.0, 60.0, 0), "make benchmark": (60.0, 79.0, 0)}
    assert [(s.name, s.start, s.end) for s in stages] == [("prepare@digits", 61.0, 64.0), ("train@sg", 64.0, 75.0),
                                                          ("evaluate", 75.0, 79.0)]
    runs = stages[1].runs
    assert runs["results/runs/sg/digits/w1-s0"] == [69.0, 72.0, 3.0]
    assert runs["results/runs/sg/digits/w1-s1"] == [69.0, 72.5, 3.5]


def test_report_splits_a_train_stage_into_start_busy_and_idle():
    text = tfc.report(*tfc.parse(io.StringIO(LOG)), workers=2)
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines()[1:] if not line.startswith("make")}
    assert rows["train@sg"] == ["11.0", "5.0", "3.2", "7.8"]  # wall 11, first epoch at +5, (3 + 3.5) / 2 busy
    assert rows["prepare@digits"] == ["3.0"]
    assert "make benchmark" in text and "19.0" in text


def test_report_names_a_failed_part():
    log = "     0.0 === make venv start\n     5.0 === make venv end rc=2\n"
    assert "(exit status 2)" in tfc.report(*tfc.parse(io.StringIO(log)))


def test_an_open_last_stage_ends_at_the_last_stamp():
    _, stages = tfc.parse(io.StringIO("     1.0 Running stage 'plots':\n     4.5 wrote results/plots\n"))
    assert stages[0].wall == pytest.approx(3.5)


def test_run_stamped_brackets_and_stamps_every_line(tmp_path):
    log = io.StringIO()
    status = tfc.run_stamped([sys.executable, "-c", "print('a'); print('b'); raise SystemExit(3)"], tmp_path,
                             "demo", 0.0, log)
    lines = [line.strip().split(maxsplit=1)[1] for line in log.getvalue().splitlines()]
    assert status == 3 and lines == ["=== demo start", "a", "b", "=== demo end rc=3"]
    parts, _ = tfc.parse(io.StringIO(log.getvalue()))
    assert parts["demo"][2] == 3


def test_main_names_a_missing_log(tmp_path, capsys):
    assert tfc.main(["--parse", str(tmp_path / "absent.log")]) == 2
    assert "absent.log: no such log" in capsys.readouterr().err

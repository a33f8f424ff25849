"""The README's results text is what the committed statistics say, and its verdict words follow the intervals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asgl.errors import UserError
from pipelines.lib.claims import END, START, results_text, update_readme

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_text_is_generated_from_the_committed_statistics():
    statistics = json.loads((ROOT / "results" / "statistics.json").read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split(START, 1)[1].split(END, 1)[0].strip("\n")
    assert block == results_text(statistics), "README's results text is stale: run `python -m pipelines.stages.tables`"


def interval(mean, half, n=3):
    return {"mean": mean, "half": half, "n": n, "items": 300, "df": 10.0, "p_better": 0.5}


STATS = {
    "main": {"a": {"asgl": {"seeds": [0, 1, 2], "minus_sg": interval(0.9, 1.1),
                            "minus_linear": interval(-0.5, 0.4)},
                   "sg": {"seeds": [0, 1, 2], "minus_linear": interval(2.0, 1.0)}}},
    "degradation": {"a": {"sg": {"from_width": 0.5, "to_width": 10.0, **interval(14.0, 3.0)},
                          "asgl": {"from_width": 0.5, "to_width": 10.0, **interval(1.0, 2.0)}}},
    "paired": {"a": {"10": interval(13.0, 5.0)}},
}


def test_verdict_words_follow_the_intervals():
    text = results_text(STATS)
    assert "widest width: better on a." in text
    assert "ASGL − SG: no different at n = 3 on a." in text, "an interval that includes 0 is not 'better'"
    assert "better on a: sg; worse on a: asgl." in text
    assert "| a | +14.00 ± 3.00 | +1.00 ± 2.00 | +13.00 ± 5.00 (w = 10) | better |" in text


def test_update_rewrites_only_between_the_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{START}\nold\n{END}\n\nafter\n", encoding="utf-8")
    assert update_readme(readme, STATS)
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\n") and text.endswith(f"{END}\n\nafter\n") and "old" not in text
    assert not update_readme(readme, STATS), "a second run changes nothing"
    readme.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(UserError, match="results:start"):
        update_readme(readme, STATS)
    assert readme.read_text(encoding="utf-8") == "no markers\n"

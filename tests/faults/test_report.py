"""docs/reliability.md carries the fault counts of the plan the tests are parametrized from."""

from . import plan
from .conftest import REPO


def test_reliability_report_matches_the_fault_plan():
    text = (REPO / "docs" / "reliability.md").read_text(encoding="utf-8")
    assert plan.table() in text, "regenerate the table with `python -m tests.faults.plan`"

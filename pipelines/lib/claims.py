"""The README's results text, written from ``statistics.json`` so that no sentence says more than its interval.

Every verdict word comes from :func:`pipelines.lib.stats.verdict` of a paired interval over seeds and test
samples: ``better`` / ``worse`` only when the 95 % interval excludes 0, otherwise ``no different at n = 3``.
The text lives between ``<!-- results:start -->`` and ``<!-- results:end -->`` in README.md; the tables stage
rewrites it, and tests/pipelines/test_claims.py regenerates it from the committed statistics and finds the
README equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from asgl.errors import UserError
from asgl.io import atomic_write_text
from pipelines.lib.stats import Interval, verdict

START, END = "<!-- results:start -->", "<!-- results:end -->"


def _iv(entry: Mapping[str, Any] | None) -> Interval:
    return Interval.from_dict(entry) if entry else Interval(float("nan"), float("nan"), 0)


def _group(by_verdict: Mapping[str, list[str]]) -> str:
    """``"better on a, b; no different at n = 3 on c"`` (verdicts in a fixed order)."""
    order = sorted(by_verdict, key=lambda v: (not v.startswith("better"), not v.startswith("worse"), v))
    return "; ".join(f"{v} on {', '.join(by_verdict[v])}" for v in order)


def _verdicts(pairs: Mapping[str, Mapping[str, Any] | None]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, entry in pairs.items():
        if entry:
            out.setdefault(verdict(_iv(entry)), []).append(name)
    return out


def claim_rows(statistics: Mapping[str, Any]) -> list[str]:
    """The claim table as Markdown lines: SG's and ASGL's loss across the widths, ASGL − SG at the widest."""
    lines = ["| dataset | SG loss | ASGL loss | ASGL − SG at widest | verdict |", "|:--|:--|:--|:--|:--|"]
    for dataset, by_method in sorted(statistics.get("degradation", {}).items()):
        sg, asgl = by_method.get("sg"), by_method.get("asgl")
        if not sg or not asgl:
            continue
        widest = f"{sg['to_width']:g}"
        diff = _iv(statistics.get("paired", {}).get(dataset, {}).get(widest))
        lines.append(f"| {dataset} | {_iv(sg).format(signed=True)} | {_iv(asgl).format(signed=True)} | "
                     f"{diff.format(signed=True)} (w = {widest}) | {verdict(diff)} |")
    return lines


def results_text(statistics: Mapping[str, Any]) -> str:
    """The README block (without the markers)."""
    main = statistics.get("main", {})
    degradation = statistics.get("degradation", {})
    widths = {f"{by['sg']['from_width']:g} → {by['sg']['to_width']:g}" for by in degradation.values() if "sg" in by}
    seeds = sorted({len(e.get("seeds", [])) for by in main.values() for e in by.values()})
    n = "/".join(str(s) for s in seeds) or "0"
    lines = [f"Accuracy lost from the narrowest to the widest surrogate width ({', '.join(sorted(widths))}), in "
             f"points, and ASGL − SG at the widest width; mean ± 95 % interval over {n} seeds and the test set, "
             "paired on both ([claim table](results/tables/claim.md)):", "", *claim_rows(statistics), ""]
    widest = {d: statistics.get("paired", {}).get(d, {}).get(f"{by['sg']['to_width']:g}")
              for d, by in degradation.items() if "sg" in by}
    at_one = {d: by["asgl"].get("minus_sg") for d, by in main.items() if "asgl" in by}
    relu = {d: by["relu-ann"].get("minus_sg") for d, by in main.items() if "relu-ann" in by}
    lines.append(f"- The paper's claim, ASGL − SG at the widest width: {_group(_verdicts(widest))}.")
    lines.append(f"- At the configured width (1), ASGL − SG: {_group(_verdicts(at_one))}.")
    if relu:
        lines.append(f"- The ReLU twin against SG: {_group(_verdicts(relu))}.")
    floor: dict[str, dict[str, list[str]]] = {}
    for dataset, by_method in sorted(main.items()):
        for method, entry in sorted(by_method.items()):
            if entry.get("minus_linear"):
                floor.setdefault(verdict(_iv(entry["minus_linear"])), {}).setdefault(dataset, []).append(method)
    if floor:
        parts = [f"{word} on " + "; ".join(f"{d}: {', '.join(ms)}" for d, ms in sorted(floor[word].items()))
                 for word in ("better", "worse") if word in floor]
        undecided = sum(len(ms) for word, by in floor.items() if word not in ("better", "worse") for ms in by.values())
        if undecided:
            parts.append(f"no different at n = {n} on the other {undecided} rows")
        lines.append("- Every row against logistic regression on the same features (paired on the test samples): "
                     f"{'; '.join(parts)}.")
    lines.append(f"- \"no different at n = {n}\" means the interval includes 0: these seeds and this test set do "
                 "not decide, not that the methods are equal.")
    return "\n".join(lines)


def update_readme(readme: Path, statistics: Mapping[str, Any]) -> bool:
    """Replace the text between the markers; returns whether the file changed. A README without both markers
    is refused (nothing is written)."""
    text = readme.read_text(encoding="utf-8")
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise UserError(f"{readme}: needs exactly one '{START}' line before one '{END}' line for the results "
                        "text; restore them")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{results_text(statistics)}\n{END}{tail}"
    if new != text:
        atomic_write_text(readme, new)
        return True
    return False

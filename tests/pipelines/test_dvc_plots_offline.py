"""``dvc plots show`` writes a page that opens offline: the figures are image plots (``<img>`` of local PNGs),
never vega specs, whose page loads vega from a CDN and stays blank without a network."""

from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


class _Links(HTMLParser):
    """Every ``src`` / ``href`` of a page, and its ``<img>`` and ``<script>`` tags."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images = 0
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.images += tag == "img"
        self.scripts += tag == "script"
        self.links += [value for key, value in attrs if key in ("src", "href") and value]


def _plots() -> list[str]:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    return [next(iter(p)) if isinstance(p, dict) else p for s in stages.values() for p in s.get("plots", [])]


def test_every_plot_is_an_image():
    plots = _plots()
    assert plots and all(p.endswith(".png") for p in plots), plots


def test_the_plots_page_references_only_local_files(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    figures = [ROOT / p.replace("${results_dir}", params["results_dir"]) for p in _plots()]
    if not all(f.exists() for f in figures):
        pytest.skip("the figures are not there yet (run the benchmark first)")
    out = tmp_path / "page"
    done = subprocess.run([sys.executable, "-m", "dvc", "plots", "show", "-o", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    page = _Links()
    page.feed((out / "index.html").read_text(encoding="utf-8"))
    assert page.images == len(figures) and page.scripts == 0
    for link in page.links:
        assert "://" not in link and not link.startswith("//"), f"the page loads {link} from the network"
        assert (out / link).resolve().is_file(), f"the page references {link}, which is not there"

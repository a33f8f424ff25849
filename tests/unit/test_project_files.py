"""The files a newcomer looks for first exist and agree with ``pyproject.toml``: licence, citation, changelog."""

from __future__ import annotations

import tomllib

import yaml

from pipelines.lib.identity import REPO_ROOT

PROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_licence_file_is_the_licence_pyproject_declares():
    assert PROJECT["license"] == "MIT"
    assert (REPO_ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License\n")


def test_citation_cites_the_paper_and_the_suite_at_this_version():
    cff = yaml.safe_load((REPO_ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software"
    assert str(cff["version"]) == PROJECT["version"] and cff["license"] == PROJECT["license"]
    paper = cff["preferred-citation"]
    assert paper["title"] == "Adaptive Smoothing Gradient Learning for Spiking Neural Networks"
    assert [a["family-names"] for a in paper["authors"]] == ["Wang", "Jiang", "Lian", "Yan", "Tang"]
    assert paper["year"] == 2023 and "wang23j" in paper["url"]


def test_changelog_has_the_current_version():
    text = (REPO_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"\n## {PROJECT['version']}\n" in text, f"CHANGELOG.md: add a '## {PROJECT['version']}' section"


def test_dvc_plots_output_is_ignored():
    lines = (REPO_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "dvc_plots/" in lines, ".gitignore: add dvc_plots/ (what `dvc plots show` writes)"

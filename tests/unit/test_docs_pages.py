"""The docs are one connected set: every docs page is linked from the README, and every relative link of the
README, CONTRIBUTING and the docs pages names a file that exists."""

from __future__ import annotations

import re

import pytest

from pipelines.lib.identity import REPO_ROOT

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
PAGES = sorted([REPO_ROOT / "README.md", REPO_ROOT / "CONTRIBUTING.md", *(REPO_ROOT / "docs").glob("*.md")])


def relative_links(text: str) -> list[str]:
    """The targets of the Markdown links in ``text`` that are not web addresses."""
    return [target for target in LINK.findall(text) if "://" not in target and not target.startswith("mailto:")]


def test_every_docs_page_is_linked_from_the_readme():
    linked = set(relative_links((REPO_ROOT / "README.md").read_text(encoding="utf-8")))
    missing = [f"docs/{p.name}" for p in sorted((REPO_ROOT / "docs").glob("*.md")) if f"docs/{p.name}" not in linked]
    assert not missing, f"README.md: link {missing} (its Documentation table lists every page)"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_relative_links_name_existing_files(page):
    text = page.read_text(encoding="utf-8")
    broken = [t for t in relative_links(text) if not (page.parent / t).exists()]
    assert not broken, f"{page.relative_to(REPO_ROOT)}: links to missing files {broken}"


def test_a_broken_link_is_found():
    assert relative_links("see [a](docs/a.md#x), [b](https://example.org/b), [c](../c.md)") == ["docs/a.md", "../c.md"]

"""Every scheme has its page in docs/providers/ (their Python blocks run in tests/test_docs.py,
and the site's build fails on a page left out of the nav)."""

from __future__ import annotations

from pathlib import Path

from hookseal import schemes

PROVIDERS = Path(__file__).resolve().parent.parent / "docs" / "providers"


def test_there_is_a_page_per_scheme() -> None:
    pages = {page.stem for page in PROVIDERS.glob("*.md")} - {"index"}
    assert {scheme.name for scheme in schemes.schemes()} <= pages


def test_the_index_links_every_page() -> None:
    index = (PROVIDERS / "index.md").read_text(encoding="utf-8")
    for page in PROVIDERS.glob("*.md"):
        if page.stem != "index":
            assert f"]({page.name})" in index, page.name

"""docs/fleet.md shows the very nginx files that tests/reliability/test_fleet.py runs."""

from __future__ import annotations

from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
FILES = sorted(p.name for p in (DOCS / "fleet").iterdir())


def test_every_file_is_shown() -> None:
    assert FILES == ["registry-proxy.conf", "tokens-fleet.conf", "tokens-pass-through.conf"]


@pytest.mark.parametrize("name", FILES)
def test_doc_shows_the_tested_file_verbatim(name: str) -> None:
    text = (DOCS / "fleet" / name).read_text()
    block = f"```nginx\n# docs/fleet/{name}\n{text}```\n"
    assert block in (DOCS / "fleet.md").read_text()

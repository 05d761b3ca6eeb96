#!/usr/bin/env python3
"""Where `registry`'s classification of index lines disagrees with cargo's (issue 12).

Run from the repository root, in the project's virtualenv::

    python scripts/compare_cargo_lines.py [--fixture tests/fixtures/cargo_index_lines.json]

For each row of the fixture (cargo 1.95's verdicts, see ``scripts/cargo_index_lines.py``) it
asks this checkout the same question: is the line kept in the summaries cache
(``registry.index.index_file.summaries_from_index``) and what ``query.entry.entry_from_line``
makes of it. Rows that test a name lookup (``name-mismatch``) or a file with several lines are
left out: they are about the lookup, not the line (tests/test_index_lines.py covers them). Prints
one line per disagreement and a count.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from query.entry import CANDIDATE, EntryError, entry_from_line
from registry.index.index_file import summaries_from_index

OURS = {CANDIDATE: "usable"}


def ours(line: bytes) -> str:
    """This checkout's verdict on one line, in the fixture's words."""
    kept = bool(summaries_from_index(line))
    try:
        entry = entry_from_line(line)
    except EntryError:
        return "dropped" if not kept else "dropped (but kept in the cache)"
    if not kept:
        return "not kept in the cache"
    if entry.panics:
        return "panic"
    return OURS.get(entry.status, entry.status)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--fixture", type=Path, default=Path("tests/fixtures/cargo_index_lines.json"))
    args = ap.parse_args(argv)
    rows = json.loads(args.fixture.read_text())
    compared = differ = 0
    for row in rows:
        if row["cargo"] == "name-mismatch" or row.get("extra_lines") or row.get("dep"):
            continue
        line = base64.b64decode(row["line_b64"]) if "line_b64" in row else row["line"].encode()
        cargo = row["cargo"]
        mine = ours(line)
        compared += 1
        if mine != cargo:
            differ += 1
            print(f"cargo {cargo:11} registry {mine:11} | {row['why']}")
    print(f"{differ} of {compared} lines judged differently", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

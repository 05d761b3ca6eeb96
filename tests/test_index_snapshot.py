"""Every line of the 2019 crates.io snapshot, classified as cargo 1.95 classified it (slow tier).

``tests/fixtures/cargo_refused_2019.json`` records what the real cargo 1.95 made of each of the
184,437 lines of ``crates-io-index-2019-11-10.tar.xz`` (``scripts/cargo_snapshot_verdicts.py``:
cargo parsed every file on its raw path; every refused line then re-probed one by one): 11
invalid, 0 dropped, 6,401 yanked, the rest usable. This test reads the whole snapshot and asks
:func:`query.entry.entry_from_line` and the cache builder the same: the same lines refused,
for the same reasons, and every line kept in the summaries cache. Needs the snapshot
(/work/shared/data); skipped without it, so the default run never needs /work/shared.
"""

from __future__ import annotations

import json
import tarfile
from collections import Counter
from pathlib import Path

import pytest

from query.entry import CANDIDATE, YANKED, EntryError, EntryMemo, entry_from_line
from registry.index.index_file import summaries_from_index

SNAPSHOT = Path("/work/shared/data/crates-io-index-2019-11-10.tar.xz")
VERDICTS = Path(__file__).parent / "fixtures" / "cargo_refused_2019.json"

pytestmark = pytest.mark.slow


def test_every_snapshot_line_is_classified_as_cargo_did() -> None:
    if not SNAPSHOT.is_file():
        pytest.skip(f"{SNAPSHOT} is not here (the slow tier needs /work/shared)")
    recorded = json.loads(VERDICTS.read_text())
    memo = EntryMemo()
    counts: Counter[str] = Counter()
    refused: dict[tuple[str, int], tuple[str, str, str]] = {}
    files = kept_lines = 0
    with tarfile.open(SNAPSHOT, "r:xz") as tar:
        for member in tar:
            if not member.isfile() or member.name.endswith("config.json"):
                continue
            handle = tar.extractfile(member)
            assert handle is not None
            body = handle.read()
            files += 1
            path = member.name.split("/", 1)[1]
            kept_lines += len(summaries_from_index(body))
            for number, line in enumerate(body.split(b"\n"), 1):
                if not line:
                    continue
                counts["lines"] += 1
                try:
                    entry = entry_from_line(line, memo=memo)
                except EntryError as exc:
                    counts["dropped"] += 1
                    refused[(path, number)] = ("?", "?", f"dropped: {exc}")
                    continue
                verdict = {CANDIDATE: "usable", YANKED: "yanked"}.get(entry.status, entry.status)
                counts[verdict] += 1
                if verdict not in ("usable", "yanked"):
                    refused[(path, number)] = (entry.name, entry.vers, str(entry.problem))
    assert files == recorded["files"]
    assert dict(counts) == {k: v for k, v in recorded["counts"].items() if v}
    assert kept_lines == counts["lines"] - counts["dropped"]
    cargo = {(r["path"], r["line_no"]): (r["name"], r["version"]) for r in recorded["refused"]}
    assert {key: value[:2] for key, value in refused.items()} == cargo
    # the same reason as cargo's, in cargo's words where it has them
    for row in recorded["refused"]:
        ours = refused[(row["path"], row["line_no"])][2]
        assert ours == row["reason"] or row["reason"].split(":")[0] in ours, (ours, row)

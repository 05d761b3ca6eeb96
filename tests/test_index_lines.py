"""Index lines are classified exactly as cargo 1.95 classifies them (issue 12).

The table is ``tests/fixtures/cargo_index_lines.json``: 426 lines, each with the verdict the real
cargo 1.95 gave (``scripts/cargo_index_lines.py`` through ``tests/cargo_probe.py``; re-probed in
CI by tests/test_cargo_probe.py). For every row:

* the line's own verdict (usable, yanked, invalid, unsupported, dropped, cargo's panic) is what
  :func:`query.entry.entry_from_line` says, and the summaries cache keeps exactly the lines
  cargo keeps (registry/index/index_file.py);
* a lockfile pinning the version (the row's dependency name and version, its whole index file)
  is refused by ``validate`` exactly when cargo refuses it (``cargo update --locked``), with the
  problem code of cargo's reason.

The accelerators (query/entry.py's one-pass reading of ordinary lines, query/index_line.py's
``read_plain``) are pinned to the general path (:func:`query.index_line.classify` over
:func:`query.index_json.read_json`) on every table line, every line of the fixture index and on
generated lines. So is the reading of a line over ``query.entry.HUGE_LINE_BYTES`` (the general
reader alone, building neither unknown fields nor containers deeper than any type reads): every
row gets cargo's verdict through it too.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import query.entry
import query.index_line
from query.entry import (
    _PACKAGE_KEYS,
    CANDIDATE,
    INVALID,
    YANKED,
    EntryError,
    EntryMemo,
    IndexEntry,
    _Defer,
    entry_from_line,
)
from query.index_json import IGNORED, Duplicate, JsonSyntaxError, read_json
from query.index_line import PACKAGE_DEPTH, classify, read_plain
from query.lockfile import LockedPackage, Lockfile
from query.names import index_path
from query.validate import MissingCrate, MissingVersion, Unknown, validate_lockfile
from registry.api import Registry
from registry.commands.validate import _lookup
from registry.index import index_file
from registry.index.index_file import summaries_from_index

FIXTURES = Path(__file__).parent / "fixtures"
TABLE: list[dict[str, Any]] = json.loads((FIXTURES / "cargo_index_lines.json").read_text())
CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"
HELPER_LINE = (
    '{"name":"helper","vers":"1.0.0","deps":[],"cksum":"' + "1" * 64 + '",'
    '"features":{"hf":[]},"yanked":false}'
)


def raw(row: dict[str, Any]) -> bytes:
    return base64.b64decode(row["line_b64"]) if "line_b64" in row else row["line"].encode()


def line_rows() -> list[dict[str, Any]]:
    """Rows about the line itself (not about finding it by name, or several lines)."""
    return [
        row
        for row in TABLE
        if row["cargo"] != "name-mismatch" and not row.get("extra_lines") and not row.get("dep")
    ]


def ours(line: bytes) -> str:
    """This checkout's verdict on one line, in the fixture's words."""
    try:
        entry = entry_from_line(line)
    except EntryError:
        return "dropped"
    if entry.panics:
        return "panic"
    return "usable" if entry.status == CANDIDATE else entry.status


def test_the_table_covers_every_verdict() -> None:
    assert len(TABLE) == 426
    assert {row["cargo"] for row in TABLE} == {
        "usable",
        "yanked",
        "invalid",
        "unsupported",
        "dropped",
        "name-mismatch",
        "panic",
    }


@pytest.mark.parametrize("row", line_rows(), ids=lambda row: row["why"][:70])
def test_line_verdict_is_cargos(row: dict[str, Any]) -> None:
    assert_cargos_verdict(row)


def assert_cargos_verdict(row: dict[str, Any]) -> None:
    line = raw(row)
    assert ours(line) == row["cargo"], row["reason"]
    # the cache keeps what cargo keeps (every line but the dropped ones), under its version
    kept = summaries_from_index(line)
    assert bool(kept) == (row["cargo"] != "dropped")
    if kept:
        assert kept == [(entry_from_line(line).vers, line)]


@pytest.fixture
def huge_below_one_byte(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every line is "huge": each goes through the reading of hostile lines only."""
    monkeypatch.setattr(query.entry, "HUGE_LINE_BYTES", 0)
    monkeypatch.setattr(query.index_line, "HUGE_LINE_BYTES", 0)


@pytest.mark.usefixtures("huge_below_one_byte")
@pytest.mark.parametrize("row", line_rows(), ids=lambda row: row["why"][:70])
def test_line_verdict_is_cargos_for_a_huge_line(row: dict[str, Any]) -> None:
    """The reading of lines over HUGE_LINE_BYTES (general reader only, built lean; the cache
    path's serde_minimal without the fast reader) gives cargo's verdict on every row."""
    assert_cargos_verdict(row)


# --- the lockfile view: validate refuses what `cargo update --locked` refuses --------------------

#: Problem codes that mean "cargo cannot use this locked version" (query/validate.py); a file
#: whose every line cargo drops is not an index file at all: "unknown" (could not check, exit 3,
#: never "sound"), where cargo says "no matching package".
REFUSING = {"missing-crate", "missing-version", "invalid-entry", "unsupported-entry", "unknown"}


def judge_locked(tmp_path: Path, row: dict[str, Any]) -> set[str]:
    """The problem codes validate gives a lock pinning the row's dependency at its version,
    its index file being the row's line(s), next to `helper 1.0.0`."""
    crate = row.get("crate", "probe")
    name = row.get("dep") or crate
    version = row.get("version", "1.0.0")
    if row["locked"] == "accepted" and not row.get("extra_lines"):
        version = entry_from_line(raw(row)).vers  # cargo's own lock: build metadata and all
    root = tmp_path / "index"
    (root / index_path(crate)).parent.mkdir(parents=True, exist_ok=True)
    extra = b"".join(x.encode() + b"\n" for x in row.get("extra_lines", []))
    (root / index_path(crate)).write_bytes(raw(row) + b"\n" + extra)
    (root / index_path("helper")).parent.mkdir(parents=True, exist_ok=True)
    (root / index_path("helper")).write_text(HELPER_LINE + "\n")
    package = LockedPackage(name, version, CRATES_IO, None, (), 5, 0)
    lock = Lockfile(3, (package,))
    with Registry(str(root), tmp_path / "cache") as reg:
        value = reg.load([name])[name]
        lookup = _lookup(reg, package, value)
    if isinstance(lookup, Unknown):
        assert "is not an index file" in lookup.reason
        assert row["cargo"] == "dropped" and not row.get("extra_lines")
    (result,) = validate_lockfile(lock, {0: lookup})
    codes = {p.code for p in result.problems}
    if isinstance(lookup, MissingCrate | MissingVersion):
        assert codes & REFUSING
    return codes


def locked_rows() -> list[dict[str, Any]]:
    # cargo's own lockfile pinned the build-metadata version for the "+a/+b" row: a lock of
    # 1.0.0 is another question (test_locked_version_matches_build_metadata_exactly)
    return [row for row in TABLE if not row["why"].startswith("1.0.0+a and 1.0.0+b")]


@pytest.mark.parametrize("row", locked_rows(), ids=lambda row: row["why"][:70])
def test_locked_verdict_is_cargos(tmp_path: Path, row: dict[str, Any]) -> None:
    codes = judge_locked(tmp_path, row)
    refused = bool(codes & REFUSING)
    assert refused == (row["locked"] == "refused"), (codes, row["error"])
    if row["cargo"] in ("invalid", "panic") and not row.get("extra_lines"):
        assert "invalid-entry" in codes
    if row["cargo"] == "unsupported":
        assert "unsupported-entry" in codes
    if row["cargo"] == "name-mismatch" or (row["cargo"] == "dropped" and row.get("extra_lines")):
        assert codes & {"missing-crate", "missing-version"}
    elif row["cargo"] == "dropped":  # the file's only line: not an index file
        assert codes == {"unknown"}


def test_locked_version_matches_build_metadata_exactly(tmp_path: Path) -> None:
    """A lock of 1.0.0 does not match an index line 1.0.0+build.5 (probed with cargo 1.95:
    "candidate versions found which didn't match: 1.0.0+build.5")."""
    line = TABLE[0]["line"].replace('"1.0.0"', '"1.0.0+build.5"')
    row = {"line": line, "cargo": "usable", "locked": "refused", "why": "build metadata"}
    assert "missing-version" in judge_locked(tmp_path, row)


def test_panic_line_is_reported_as_cargo_crashing(tmp_path: Path) -> None:
    (row,) = [r for r in TABLE if r["why"].startswith("dep name empty: Dependency")]
    entry = entry_from_line(raw(row))
    assert (entry.status, entry.panics) == (INVALID, True)
    assert "invalid-entry" in judge_locked(tmp_path, row)


# --- the accelerator and the general reader agree ------------------------------------------------


def _classified(line: bytes, value: object, plain: bool) -> IndexEntry | str:
    try:
        return classify(value, line, memo=EntryMemo(), plain=plain)
    except EntryError as exc:
        return f"dropped: {exc}"


def assert_readers_agree(line: bytes) -> None:
    """Each accelerator either defers or gives what the general path gives."""
    try:
        general = read_json(line)
    except JsonSyntaxError:
        general = None
    try:
        plain = read_plain(line)
    except _Defer:
        pass
    else:
        assert plain == general
        assert _classified(line, plain, True) == _classified(line, general, False)
    # the whole chain (three readers) against the general path alone
    try:
        fast: IndexEntry | str = entry_from_line(line)
    except EntryError:
        fast = "dropped"
    slow = "dropped" if general is None else _classified(line, general, False)
    if isinstance(slow, str):
        slow = "dropped"
    assert fast == slow
    # what the general path builds (known fields, no container deeper than a type reads)
    try:
        lean = read_json(line, _PACKAGE_KEYS, PACKAGE_DEPTH)
    except JsonSyntaxError:
        with pytest.raises(JsonSyntaxError):
            read_json(line)
    else:
        assert _classified(line, lean, False) == _classified(line, read_json(line), False)


@pytest.mark.parametrize("row", TABLE, ids=lambda row: row["why"][:70])
def test_accelerator_agrees_on_the_table(row: dict[str, Any]) -> None:
    assert_readers_agree(raw(row))


def test_accelerator_agrees_on_the_fixture_index() -> None:
    lines = [
        line
        for path in sorted((FIXTURES / "index").glob("*/**/*"))
        if path.is_file()
        for line in path.read_bytes().split(b"\n")
        if line
    ]
    assert len(lines) > 10_000
    for line in lines:
        assert_readers_agree(line)


_KEYS = "name vers deps cksum features features2 yanked v links rust_version pubtime req optional"
_keys = st.sampled_from([*_KEYS.split(), "target", "kind", "package", "x", "n\\u0061me"])
_scalars = st.one_of(
    st.sampled_from(
        ['"probe"', '"1.0.0"', '"^1"', "true", "false", "null", "2", "3", "-0", "1e999", '""']
    ),
    st.sampled_from(['"cfg(unix)"', '"dep:helper"', '"\\ud800"', '"helper"', '"1.70"', "[]", "{}"]),
    st.integers(-5, 2**33).map(str),
)


@st.composite
def json_ish(draw: st.DrawFn, depth: int = 0) -> str:
    """Index-line-like JSON texts, often with repeated keys, odd values, or broken bits."""
    if depth > 2 or draw(st.booleans()):
        return draw(_scalars)
    if draw(st.booleans()):
        items = draw(st.lists(st.tuples(_keys, json_ish(depth + 1)), max_size=6))
        return "{" + ",".join(f'"{k}":{v}' for k, v in items) + "}"
    return "[" + ",".join(draw(st.lists(json_ish(depth + 1), max_size=4))) + "]"


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    base = {
        "name": "probe",
        "vers": "1.0.0",
        "deps": [],
        "cksum": "a" * 64,
        "features": {},
        "yanked": False,
    }
    text = json.dumps(base, separators=(",", ":"))
    extra = draw(st.lists(st.tuples(_keys, json_ish()), max_size=4))
    if extra:
        text = text[:-1] + "," + ",".join(f'"{k}":{v}' for k, v in extra) + "}"
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from([" ", ",", '"', "\\", "\x01", "é", "}"]))
        text = text[:at] + edit + text[at:]
    return text.encode()


@settings(max_examples=600, deadline=None)
@given(lines())
def test_accelerator_agrees_on_generated_lines(line: bytes) -> None:
    assert_readers_agree(line)


# --- registry/index/index_file.py: a line orjson writes back has no duplicate key ------------


def _has_a_duplicate_key(line: bytes) -> bool:
    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        keys = [k for k, _ in items]
        if len(set(keys)) != len(keys):
            raise LookupError("duplicate")
        return dict(items)

    try:
        json.loads(line, object_pairs_hook=pairs)
    except LookupError:
        return True
    except ValueError:
        return False
    return False


@settings(max_examples=1500, deadline=None)
@given(lines())
def test_a_line_orjson_writes_back_has_no_duplicate_key(line: bytes) -> None:
    """The accelerator's premise (index_file.py `_written_back_checker`), on generated lines,
    which often repeat keys: no line with a duplicate key is ever written back as itself; and
    the lines kept are the same as through its twin alone (`_may_hide_duplicate`)."""
    import orjson

    read = index_file.line_reader(index_file.STDLIB_JSON_BELOW)  # orjson's
    written_back = index_file._written_back_checker()
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        value = None
    if value is not None and written_back(value, line):
        assert not _has_a_duplicate_key(line)
    kept = summaries_from_index(line, read)
    real = index_file._written_back_checker
    index_file._written_back_checker = lambda: index_file._never  # type: ignore[assignment]
    try:
        assert summaries_from_index(line, read) == kept
    finally:
        index_file._written_back_checker = real  # type: ignore[assignment]


def test_crates_io_lines_are_written_back_and_skip_the_byte_scans(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every line of the fixture index (real crates.io lines) takes the accelerator; a line in
    another spelling takes its twin, the byte scans."""
    import orjson

    files = [p for p in sorted((FIXTURES / "index").glob("*/**/*")) if p.is_file()][:300]
    expected = [summaries_from_index(p.read_bytes()) for p in files]
    scanned: list[bytes] = []
    real = index_file._may_hide_duplicate

    def scan(line: bytes) -> bool:
        scanned.append(line)
        return real(line)

    monkeypatch.setattr(index_file, "_may_hide_duplicate", scan)
    read = index_file.line_reader(index_file.STDLIB_JSON_BELOW)  # orjson's
    assert [summaries_from_index(p.read_bytes(), read) for p in files] == expected
    assert sum(map(len, expected)) > 1000
    assert scanned == []
    spaced = b'{"name": "a", "vers": "1.0.0", "vers": "2.0.0"}'
    assert orjson.loads(spaced) == {"name": "a", "vers": "2.0.0"}
    assert summaries_from_index(spaced, read) == []  # serde refuses the duplicate
    assert scanned == [spaced]


def test_the_stages_of_entry_from_line() -> None:
    """The cheapest reader answers ordinary lines; a repeated key or an escape goes on."""
    ordinary = TABLE[0]["line"].encode()
    assert entry_from_line(ordinary).status == CANDIDATE
    repeated = ordinary[:-1] + b',"yanked":true}'  # yanked given twice: invalid, not yanked
    assert entry_from_line(repeated).status == INVALID
    with pytest.raises(_Defer):
        read_plain(repeated)
    escaped = ordinary.replace(b'"yanked":false', b'"y\\u0061nked":true')
    assert entry_from_line(escaped).status == YANKED


# --- what the general reader builds -------------------------------------------------------------

KEEP = frozenset({"name", "deps"})


@pytest.mark.parametrize(
    ("text", "depth", "value"),
    [
        (
            '{"name":"a","x":{"y":[1,"\\ud800",{}]},"deps":[]}',
            None,
            {"name": "a", "x": IGNORED, "deps": []},
        ),
        (
            '{"x":1,"x":[],"name":"a","name":"b"}',
            None,
            {"x": Duplicate(IGNORED), "name": Duplicate("b")},
        ),
        ('{"x":"\xff\xfe","n\\u0061me":"a"}', None, {"x": IGNORED, "name": "a"}),
        ('["a",{"b":[[1]]}]', None, ["a", {"b": [[1]]}]),
        ('{"deps":[[[["a"]]]],"name":"a"}', 3, {"deps": [[IGNORED]], "name": "a"}),
        ("[[[[]]],[[[1]]],[[]],{}]", 2, [[IGNORED], [IGNORED], [IGNORED], {}]),
        ('{"x":' + "[" * 5000 + "]" * 5000 + ',"name":"a"}', 1, {"x": IGNORED, "name": "a"}),
    ],
)
def test_read_json_builds_what_is_kept(text: str, depth: int | None, value: object) -> None:
    """Unknown top-level keys and containers deeper than ``depth`` stand as IGNORED; a repeated
    key is still a Duplicate; an empty container is built where it is kept."""
    assert read_json(text.encode("utf-8", "surrogateescape"), KEEP, depth) == value


@pytest.mark.parametrize(
    "text",
    [
        '{"x":"\\q","name":"a"}',  # an invalid escape, even where ignored
        '{"x":"\\u12","name":"a"}',
        '{"x":"a\x01b","name":"a"}',  # a raw control character
        '{"x":[1,],"name":"a"}',  # a trailing comma
        '{"x":{1:2},"name":"a"}',  # a key that is not a string
        '{"x":[[[]],"name":"a"}',  # unbalanced
        '{"x":nul,"name":"a"}',
        '{"x":01,"name":"a"}',
        '{"deps":[[[[{"a" 1}]]]],"name":"a"}',  # deeper than depth 2, still read
        '{"x":[{"k":[[1]]]],"name":"a"}',  # a run of ``]`` closing lists, then an object
        '{"x":[[[{"k":[[]]]]]],"name":"a"}',
        '{"x":[[[[1]]],"name":"a"}',  # a run of ``]`` one short
    ],
)
def test_read_json_checks_the_syntax_of_what_it_ignores(text: str) -> None:
    """serde_json's ``ignore_value`` checks the syntax of what it skips: so does read_json."""
    with pytest.raises(JsonSyntaxError):
        read_json(text.encode(), KEEP, 2)
    with pytest.raises(JsonSyntaxError):
        read_json(text.encode())


@st.composite
def nested(draw: st.DrawFn, depth: int = 0) -> str:
    """A JSON-ish value with lists nested in runs (``[[[`` ... ``]]]``), as read_json skips them
    a run at a time: objects, scalars and empty lists inside, sometimes whitespace."""
    if depth > 3 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(["1", '"s"', "[]", "{}", "[ ]", "null"]))
    run = draw(st.integers(1, 5))
    if draw(st.integers(0, 3)) == 0:  # an object holding the rest
        return '{"k":' + draw(nested(depth + 1)) + "}"
    items = draw(st.lists(nested(depth + 1), max_size=3))
    gap = draw(st.sampled_from(["", "", " "]))
    return gap.join("[" * run) + ",".join(items) + gap.join("]" * run)


@st.composite
def nested_lines(draw: st.DrawFn) -> bytes:
    text = '{"' + draw(st.sampled_from(["x", "deps"])) + '":' + draw(nested()) + ',"name":"a"}'
    for _ in range(draw(st.integers(0, 2))):  # brackets added, dropped, or turned around
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["[", "]", "{", "}", "", "]]", "[["]))
        text = text[:at] + edit + text[at + draw(st.integers(0, 1)) :]
    return text.encode()


def _pruned(value: object, level: int, depth: int | None) -> object:
    """``value`` (at ``level``) as read_json builds it with ``depth``."""
    if not isinstance(value, list | dict):
        return value
    if depth is not None and level > depth:
        return IGNORED
    if isinstance(value, list):
        return [_pruned(v, level + 1, depth) for v in value]
    return {k: _pruned(v, level + 1, depth) for k, v in value.items()}


@settings(max_examples=300, deadline=None)
@given(nested_lines(), st.sampled_from([None, 1, 2, 3, 4]))
def test_runs_of_brackets_are_read_as_one_by_one(line: bytes, depth: int | None) -> None:
    """What read_json reads for its syntax only, it reads a run of ``[`` or ``]`` at a time (a
    100 MB line nested 50 million deep: seconds, not minutes). That reading accepts exactly the
    lines the building reading (one bracket at a time) and the stdlib ``json`` accept, and
    leaves the same values around what it skipped."""
    try:
        full = read_json(line)
    except JsonSyntaxError:
        with pytest.raises(ValueError):
            json.loads(line)
        with pytest.raises(JsonSyntaxError):
            read_json(line, KEEP, depth)
        return
    assert full == json.loads(line)
    lean = read_json(line, KEEP, depth)
    assert isinstance(full, dict) and isinstance(lean, dict)
    assert lean.keys() == full.keys()
    for key, value in full.items():
        assert lean[key] == (_pruned(value, 2, depth) if key in KEEP else IGNORED)


def test_a_huge_line_is_read_lean() -> None:
    """A line over HUGE_LINE_BYTES never reaches a reader that builds all of it: a huge
    unknown field, nested deeper than any recursion limit, leaves the line usable."""
    head = b'{"name":"probe","vers":"1.0.0","deps":[],"cksum":"' + b"a" * 64 + b'","features":{}'
    depth = query.entry.HUGE_LINE_BYTES
    line = head + b',"x":' + b"[" * depth + b"]" * depth + b"}"
    entry = entry_from_line(line)
    assert (entry.status, entry.raw) == (CANDIDATE, line)
    assert summaries_from_index(line + b"\n" + line) == [("1.0.0", line), ("1.0.0", line)]

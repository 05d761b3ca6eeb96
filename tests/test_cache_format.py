"""cache/format.py: cargo's `.cache` byte format (spec §5.2-§5.4)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cache.format import (
    CACHE_VERSION,
    INDEX_V_MAX,
    CacheFormatError,
    Summaries,
    find_exact,
    iter_keys,
    parse,
    read_header,
    serialize,
    serialize_lines,
)

MAGIC = bytes.fromhex("03 02000000")

FNV_100 = b'{"name":"fnv","vers":"1.0.0","deps":[],"cksum":"23c5","features":{},"yanked":false}'
FNV_101 = b'{"name":"fnv","vers":"1.0.1","deps":[],"cksum":"9d1c","features":{},"yanked":false}'
BUILD = b'{"name":"x","vers":"110.0.0+1.1.0f","deps":[],"cksum":"aa","features":{}}'
PLAIN = b'{"name":"x","vers":"110.0.0","deps":[],"cksum":"bb","features":{}}'

# A realistic file: build metadata, a pre-release, a duplicate key (later wins), a non-JSON blob
# that looks like a version, and a blob that is not even UTF-8 (blobs are never decoded).
REAL_PAIRS = [
    ("1.0.0", FNV_100),
    ("1.0.1+build.5", FNV_101),
    ("110.0.0", PLAIN),
    ("110.0.0+1.1.0f", BUILD),
    ("1.8.0-alpha.1", b'{"name":"fnv","vers":"1.8.0-alpha.1"}'),
    ("1.0.0", b'{"name":"fnv","vers":"1.0.0","yanked":true}'),
    ("2.0.0", b"1.0.1"),
    ("3.0.0", b"\xff\xfe not utf-8"),
]
REAL_VERSION = "last-modified: Mon, 11 Nov 2019 10:14:40 GMT"


def latest(pairs: list[tuple[str, bytes]], key: str) -> bytes | None:
    found = None
    for k, blob in pairs:
        if k == key:
            found = blob
    return found


# --- header bytes as cargo writes them (spec §5.2, observed) --------------------------------


@pytest.mark.parametrize(
    ("index_version", "pairs", "expected_prefix"),
    [
        ('etag: "241f4e97adbe75b6"', [], b'\x03\x02\x00\x00\x00etag: "241f4e97adbe75b6"\x00'),
        (REAL_VERSION, [("1.0.0", FNV_100)], MAGIC + REAL_VERSION.encode() + b"\0" + b"1.0.0\0"),
        ("Unknown", [("1.0.0", b"{}")], bytes.fromhex("03 02000000") + b"Unknown\x001.0.0\x00"),
    ],
)
def test_header_bytes_match_cargo(
    index_version: str, pairs: list[tuple[str, bytes]], expected_prefix: bytes
) -> None:
    data = serialize(index_version, pairs)
    assert data.startswith(expected_prefix)
    assert CACHE_VERSION == 3
    assert INDEX_V_MAX == 2


def test_exact_layout() -> None:
    data = serialize("Unknown", [("1.0.0", b"{a}"), ("1.0.1+b", b"{b}")])
    assert data == b"\x03\x02\x00\x00\x00Unknown\x001.0.0\x00{a}\x001.0.1+b\x00{b}\x00"
    assert serialize("Unknown", []) == b"\x03\x02\x00\x00\x00Unknown\x00"


# --- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index_version", "pairs"),
    [
        ("Unknown", []),
        ('etag: "241f4e97adbe75b6"', [("1.0.0", FNV_100)]),
        (REAL_VERSION, REAL_PAIRS),
        ("", [("0.0.0", b"")]),
        ('etag: W/"é"', [("1.0.0-\u03b1", '{"ü":1}'.encode())]),
        ("x", [("110.0.0+1.1.0f", BUILD), ("110.0.0", PLAIN)]),
    ],
)
def test_round_trip(index_version: str, pairs: list[tuple[str, bytes]]) -> None:
    data = serialize(index_version, pairs)
    summaries = parse(data)
    assert summaries == Summaries(index_version, pairs)
    assert summaries.index_version == index_version
    assert summaries.entries == pairs
    assert iter_keys(data) == [k for k, _ in pairs]
    assert read_header(data)[0] == index_version
    for key, _ in pairs:
        assert find_exact(data, key) == latest(pairs, key)
        assert summaries.get(key) == latest(pairs, key)


def test_build_metadata_keys_are_distinct() -> None:
    data = serialize("v", [("110.0.0+1.1.0f", BUILD), ("110.0.0", PLAIN)])
    assert find_exact(data, "110.0.0+1.1.0f") == BUILD
    assert find_exact(data, "110.0.0") == PLAIN
    assert find_exact(data, "110.0.0+1.1.0") is None
    assert find_exact(data, "1.1.0f") is None


@pytest.mark.parametrize(
    ("pairs", "version", "expected"),
    [
        # duplicates: the later entry wins (§5.3)
        ([("1.0.0", b"A"), ("1.0.0", b"B")], "1.0.0", b"B"),
        ([("1.0.0", b"A"), ("2.0.0", b"X"), ("1.0.0", b"B"), ("3.0.0", b"Y")], "1.0.0", b"B"),
        # prefix / suffix confusion
        ([("1.0.10", b"A"), ("11.0.1", b"B")], "1.0.1", None),
        ([("1.0.10", b"A"), ("11.0.1", b"B"), ("1.0.1", b"C")], "1.0.1", b"C"),
        ([("1.0.1-alpha", b"A"), ("1.0.1+b", b"B")], "1.0.1", None),
        ([("21.0.1", b"A")], "1.0.1", None),
        # a blob that reads like the key is not a key
        ([("2.0.0", b"1.0.1")], "1.0.1", None),
        ([("1.0.1", b"A"), ("2.0.0", b"1.0.1")], "1.0.1", b"A"),
        ([("2.0.0", b"1.0.1"), ("1.0.1", b"1.0.1")], "1.0.1", b"1.0.1"),
        ([("1.0.1", b"1.0.1"), ("1.0.1", b"1.0.1")], "1.0.1", b"1.0.1"),
        ([("1.0.0", b"A")], "A", None),
        # the header is not a key
        ([("2.0.0", b"A")], "hdr", None),
        # keys the caller cannot mean
        ([("1.0.0", b"A")], "", None),
        ([("1.0.0", b"A")], "1.0.0\0", None),
        ([], "1.0.0", None),
        # empty blob
        ([("1.0.0", b""), ("1.0.1", b"x")], "1.0.0", b""),
    ],
)
def test_find_exact(pairs: list[tuple[str, bytes]], version: str, expected: bytes | None) -> None:
    data = serialize("hdr", pairs)
    assert find_exact(data, version) == expected
    assert parse(data).get(version) == expected


def test_blobs_are_not_decoded() -> None:
    data = serialize("v", [("1.0.0", b"\xff\xfe"), ("1.0.1", b"{}")])
    assert find_exact(data, "1.0.1") == b"{}"
    assert parse(data).entries[0] == ("1.0.0", b"\xff\xfe")
    assert iter_keys(data) == ["1.0.0", "1.0.1"]


# --- rejection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x02\x02\x00\x00\x00v\x00",  # cache version 2
        b"\x01",
        b"\x03",
        b"\x03\x02\x00",  # schema version cut short
        b"\x03\x03\x00\x00\x00v\x00",  # a future cargo's INDEX_V_MAX
        b"\x03\x02\x00\x00\x01v\x00",  # u32 LE, not a single byte
        b"\x03\x01\x00\x00\x00v\x00",
        b"\x03\x02\x00\x00\x00",  # no index version segment
        b"\x03\x02\x00\x00\x00etag",  # no NUL after it
        b"\x03\x02\x00\x00\x00\xff\xfe\x00",  # not UTF-8
    ],
)
def test_bad_header(data: bytes) -> None:
    for fn in (read_header, parse, iter_keys, lambda d: find_exact(d, "1.0.0")):
        with pytest.raises(CacheFormatError):
            fn(data)


@pytest.mark.parametrize(
    "body",
    [
        b"1.0.0",  # key without NUL
        b"1.0.0\x00",  # key without blob
        b"1.0.0\x00{}",  # blob without final NUL
        b"1.0.0\x00{}\x001.0.1\x00",
        b"\x00{}\x00",  # empty key
        b"\xff\x00{}\x00",  # key not UTF-8
    ],
)
def test_bad_body(body: bytes) -> None:
    data = MAGIC + b"v\x00" + body
    assert read_header(data) == ("v", 7)
    for fn in (parse, iter_keys):
        with pytest.raises(CacheFormatError):
            fn(data)


@pytest.mark.parametrize(
    "body", [b"1.0.0", b"1.0.0\x00", b"1.0.0\x00{}", b"1.0.0\x00{}\x001.0.1\x00", b"2\x00{}\x001"]
)
def test_find_exact_rejects_truncated_body(body: bytes) -> None:
    with pytest.raises(CacheFormatError):
        find_exact(MAGIC + b"v\x00" + body, "1.0.0")


def test_validate_key() -> None:
    seen: list[str] = []

    def strict(key: str) -> object:
        seen.append(key)
        if key.count(".") != 2:
            raise ValueError("not semver")
        return key

    good = serialize("v", [("1.0.0", b"a"), ("2.0.0+b", b"b")])
    assert parse(good, validate_key=strict).entries == [("1.0.0", b"a"), ("2.0.0+b", b"b")]
    assert seen == ["1.0.0", "2.0.0+b"]
    bad = serialize("v", [("1.0.0", b"a"), ("1.3", b"b")])
    with pytest.raises(CacheFormatError, match=r"1\.3"):
        parse(bad, validate_key=strict)
    assert parse(bad).entries[1] == ("1.3", b"b")


@pytest.mark.parametrize(
    ("index_version", "pairs"),
    [
        ("a\0b", []),
        ("v", [("", b"x")]),
        ("v", [("1.0\0", b"x")]),
        ("v", [("1.0.0", b"{\0}")]),
    ],
)
def test_serialize_rejects_unreadable_output(
    index_version: str, pairs: list[tuple[str, bytes]]
) -> None:
    with pytest.raises(ValueError, match=r"NUL|invalid"):
        serialize(index_version, pairs)


# --- truncation at every byte offset --------------------------------------------------------


def test_truncation_at_every_offset() -> None:
    data = serialize(REAL_VERSION, REAL_PAIRS)
    header_end = len(MAGIC) + len(REAL_VERSION) + 1
    boundaries = {header_end: 0}  # offset -> number of complete entries before it
    offset = header_end
    for i, (key, blob) in enumerate(REAL_PAIRS, 1):
        offset += len(key) + len(blob) + 2
        boundaries[offset] = i
    assert offset == len(data)
    keys = [*sorted({k for k, _ in REAL_PAIRS}), "1.0.1", "9.9.9"]

    for cut in range(len(data) + 1):
        chunk = data[:cut]
        if cut < header_end:
            with pytest.raises(CacheFormatError):
                read_header(chunk)
        else:
            assert read_header(chunk) == (REAL_VERSION, header_end)
        if cut in boundaries:
            prefix = REAL_PAIRS[: boundaries[cut]]
            assert parse(chunk).entries == prefix
            assert iter_keys(chunk) == [k for k, _ in prefix]
            for key in keys:
                assert find_exact(chunk, key) == latest(prefix, key), (cut, key)
            continue
        with pytest.raises(CacheFormatError):
            parse(chunk)
        with pytest.raises(CacheFormatError):
            iter_keys(chunk)
        for key in keys:
            with pytest.raises(CacheFormatError):
                find_exact(chunk, key)


# --- properties -----------------------------------------------------------------------------

no_nul_chars = st.characters(codec="utf-8", exclude_characters="\0")
no_nul_text = st.text(no_nul_chars)
keys = st.text(no_nul_chars, min_size=1, max_size=12)
blobs = st.binary(max_size=40).map(lambda b: b.replace(b"\0", b"\1"))


@settings(max_examples=1000, deadline=None)
@given(no_nul_text, st.lists(st.tuples(keys | st.sampled_from(["1.0.0", "1.0.10"]), blobs)), keys)
def test_serialize_parse_round_trip(
    index_version: str, pairs: list[tuple[str, bytes]], other: str
) -> None:
    data = serialize(index_version, pairs)
    assert parse(data) == Summaries(index_version, pairs)
    assert iter_keys(data) == [k for k, _ in pairs]
    for key, _ in pairs:
        assert find_exact(data, key) == latest(pairs, key)
    assert find_exact(data, other) == latest(pairs, other)


@settings(max_examples=300, deadline=None)
@given(no_nul_text, st.lists(st.tuples(keys, blobs)), st.binary(max_size=8))
def test_serialize_lines_is_serialize_of_the_spans(
    index_version: str, pairs: list[tuple[str, bytes]], separator: bytes
) -> None:
    """The twin that joins spans of one buffer writes the very bytes `serialize` does."""
    separator = separator.replace(b"\0", b"") or b"\n"
    raw = b""
    spans = []
    for key, blob in pairs:
        raw += separator
        spans.append((key, len(raw), len(raw) + len(blob)))
        raw += blob
    data = serialize_lines(index_version, raw, spans)
    assert data == serialize(index_version, pairs)


def test_serialize_lines_refuses_a_nul_in_a_line() -> None:
    with pytest.raises(ValueError, match="NUL"):
        serialize_lines("v", b"ab\0cd", [("1.0.0", 0, 5)])
    assert serialize_lines("v", b"ab\0cd", [("1.0.0", 0, 2)]) == serialize("v", [("1.0.0", b"ab")])


def _only_format_errors(data: bytes, version: str) -> None:
    for fn in (read_header, parse, iter_keys, lambda d: find_exact(d, version)):
        with contextlib.suppress(CacheFormatError):
            fn(data)


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=200), no_nul_text)
def test_arbitrary_bytes_raise_only_format_errors(data: bytes, version: str) -> None:
    _only_format_errors(data, version)


segments = st.lists(
    st.sampled_from([b"1.0.0", b"0", b"a", b"", b"\xff", b"{}"]) | st.binary(max_size=6),
    max_size=12,
).map(b"\0".join)
bodies = st.binary(max_size=200) | segments | segments.map(lambda b: b + b"\0")


@settings(max_examples=1000, deadline=None)
@given(bodies, st.sampled_from(["1.0.0", "0", "a", ""]))
def test_arbitrary_bodies_raise_only_format_errors(body: bytes, version: str) -> None:
    # A valid header makes the body parsers actually run on the random bytes.
    data = MAGIC + b"etag: x\0" + body
    _only_format_errors(data, version)
    try:
        summaries = parse(data)
    except CacheFormatError:
        return
    # Whatever parses must agree with find_exact and iter_keys.
    assert iter_keys(data) == [k for k, _ in summaries.entries]
    for key, _ in summaries.entries:
        assert find_exact(data, key) == summaries.get(key)

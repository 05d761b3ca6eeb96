"""E. Property tests (hypothesis) that the per-module suites do not already have.

Already elsewhere (not repeated here):

* cache `serialize -> parse` round trip, and arbitrary bytes raising only CacheFormatError from
  parse / find_exact / iter_keys / read_header: tests/test_cache_format.py (1000 examples each);
* requirement matching against an independent brute-force reference: tests/test_requirement.py
  (2000 examples);
* generated lockfiles through tomllib in v1 and v3 text: tests/test_lockfile.py (150 examples);
  the fast lockfile reader against tomllib: tests/test_lockfile_fast.py (1000 examples).

Added here:

* `registry.index.index_file.summaries_from_index` on generated index files against a model of
  cargo's
  retention rule (the same rule cargo 1.95 applies, tests/test_cargo_compat.py);
* generated lockfiles in all four formats through the real on-disk reader
  (`registry.input_files.load_lockfile`: fast reader + model), names, versions, sources,
  checksums and dependency edges round-tripping.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.index.index_file import STDLIB_JSON_BELOW, line_reader, summaries_from_index
from registry.input_files import load_lockfile
from tests.test_lockfile import lockfiles, render

# ---------------------------------------------------------------------------------------------
# summaries_from_index: the model
#
# Each generated line carries the cache key it must produce, or None when cargo drops it. The
# lines are rendered as raw bytes here (not with a JSON library), so the model does not share
# a parser with the code under test.


@dataclass(frozen=True)
class Line:
    raw: bytes
    key: str | None  # the version key it is kept under, or None: dropped
    kind: str


_idents = st.sampled_from(["alpha", "beta", "rc", "x-y", "0", "1", "7", "10", "a1", "0a"])
_builds = st.sampled_from(["1", "01", "build", "build.5", "sha.0abc", "x-y.007"])


@st.composite
def valid_versions(draw: st.DrawFn) -> str:
    # Few distinct numbers: duplicate versions and build-metadata twins are frequent.
    text = ".".join(str(draw(st.sampled_from([0, 1, 2, 10, 18446744073709551615]))) for _ in "abc")
    if draw(st.booleans()):
        text += "-" + ".".join(draw(st.lists(_idents, min_size=1, max_size=3)))
    if draw(st.booleans()):
        text += "+" + draw(_builds)
    return text


INVALID_VERSIONS = [
    "1.0",
    "1",
    "",
    "01.0.0",
    "1.00.0",
    "v1.0.0",
    " 1.0.0",
    "1.0.0 ",
    "1.0.0-",
    "1.0.0+",
    "1.0.0-01",
    "1.0.0-a..b",
    "1.0.0+a..b",
    "18446744073709551616.0.0",
    "1.0.0.0",
    "1.0.x",
    "*",
    "^1.0.0",
]


def jstr(text: str, *, ascii_only: bool) -> bytes:
    """A JSON string literal (the stdlib only renders it; nothing is parsed with it)."""
    return json.dumps(text, ensure_ascii=ascii_only).encode("utf-8")


#: Values cargo skips unchecked beyond JSON syntax: kept lines may carry any of these.
SKIPPED_VALUES = [
    b'"\xff\xfe"',  # invalid UTF-8 inside a string
    b'"\\ud800"',  # lone surrogate escape
    b'"\\udc00\\ud800"',
    b'"\\ud83d\\ude00"',  # a valid pair
    b"1e400",  # beyond any float
    b"123456789012345678901234567890123456789012345678901234567890",
    b"-0.0e-0",
    b'{"k\xff":1,"k\xff":2}',  # invalid UTF-8 in a nested key, duplicated
    b'{"name":"x","name":"y"}',  # duplicates below the top level
    b"[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]",
    b"true",
    b"null",
    b'"plain"',
    b'"\\"name\\":\\"vers\\""',  # key-like text inside a string
    b'[{"name":"dep","req":"^1"},{"req":"*"},7,"name"]',
]

#: Values that make the whole line invalid JSON (cargo drops the line).
BROKEN_VALUES = [b"NaN", b"Infinity", b"01", b'"a\x01b"', b'"\\x"', b"[1,]", b"tru", b"-", b"{,}"]


@st.composite
def key_token(draw: st.DrawFn, key: str) -> bytes:
    """``key`` as a JSON string, sometimes with \\u escapes for some of its letters."""
    if draw(st.booleans()):
        return b'"' + key.encode() + b'"'
    out = "".join(f"\\u{ord(c):04x}" if draw(st.booleans()) else c for c in key)
    return b'"' + out.encode() + b'"'


@st.composite
def extra_fields(draw: st.DrawFn) -> list[bytes]:
    fields = []
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(["deps", "cksum", "features", "yanked", "v", "x", "names"]))
        fields.append(jstr(key, ascii_only=True) + b":" + draw(st.sampled_from(SKIPPED_VALUES)))
    return fields


_ws = st.sampled_from([b"", b"", b" ", b"\t", b"  "])


def wrap(draw: st.DrawFn, body: bytes) -> bytes:
    """JSON whitespace around the value, and sometimes cargo's CRLF leftover (a trailing \\r)."""
    return draw(_ws) + body + draw(_ws) + draw(st.sampled_from([b"", b"", b"\r"]))


def obj(draw: st.DrawFn, fields: list[bytes]) -> bytes:
    fields = draw(st.permutations(fields))
    return b"{" + b",".join(fields) + b"}"


@st.composite
def good_lines(draw: st.DrawFn) -> Line:
    name = draw(st.text(max_size=8))  # any string is a name as far as the cache is concerned
    vers = draw(valid_versions())
    fields = [
        draw(key_token("name")) + b":" + jstr(name, ascii_only=draw(st.booleans())),
        draw(key_token("vers")) + b":" + jstr(vers, ascii_only=True),
        *draw(extra_fields()),
    ]
    return Line(wrap(draw, obj(draw, fields)), vers, "good")


@st.composite
def array_lines(draw: st.DrawFn) -> Line:
    """serde reads a struct from a sequence of its fields: ``["name","1.0.0"]`` is kept."""
    vers = draw(valid_versions())
    items = [jstr("crate", ascii_only=True), jstr(vers, ascii_only=True)]
    if draw(st.booleans()):
        return Line(wrap(draw, b"[" + b",".join(items) + b"]"), vers, "array")
    items.append(draw(st.sampled_from([b"1", b'"x"', b"null"])))
    return Line(wrap(draw, b"[" + b",".join(items) + b"]"), None, "array-3")


@st.composite
def bad_lines(draw: st.DrawFn) -> Line:
    vers = draw(valid_versions())
    name_field = draw(key_token("name")) + b":" + jstr("crate", ascii_only=True)
    vers_field = draw(key_token("vers")) + b":" + jstr(vers, ascii_only=True)
    extra = draw(extra_fields())
    kind = draw(
        st.sampled_from(
            [
                "bad-vers",
                "vers-not-string",
                "name-not-string",
                "no-name",
                "no-vers",
                "dup-name",
                "dup-vers",
                "name-utf8",
                "vers-utf8",
                "name-surrogate",
                "key-utf8",
                "key-surrogate",
                "broken-json",
                "trailing-garbage",
                "not-object",
                "garbage",
                "blank",
            ]
        )
    )
    if kind == "bad-vers":
        fields = [
            name_field,
            b'"vers":' + jstr(draw(st.sampled_from(INVALID_VERSIONS)), ascii_only=True),
        ]
    elif kind == "vers-not-string":
        fields = [name_field, b'"vers":' + draw(st.sampled_from([b"1", b"null", b'["1.0.0"]']))]
    elif kind == "name-not-string":
        fields = [b'"name":' + draw(st.sampled_from([b"1", b"null", b"{}", b"false"])), vers_field]
    elif kind == "no-name":
        fields = [vers_field]
    elif kind == "no-vers":
        fields = [name_field]
    elif kind == "dup-name":
        fields = [name_field, draw(key_token("name")) + b':"other"', vers_field]
    elif kind == "dup-vers":
        fields = [
            name_field,
            vers_field,
            draw(key_token("vers")) + b":" + jstr(vers, ascii_only=True),
        ]
    elif kind == "name-utf8":
        fields = [b'"name":"cr\xffate"', vers_field]
    elif kind == "vers-utf8":
        fields = [name_field, b'"vers":"' + vers.encode() + b'\xff"']
    elif kind == "name-surrogate":
        fields = [b'"name":"cr\\udc80ate"', vers_field]
    elif kind == "key-utf8":
        fields = [name_field, vers_field, b'"x\xff":1']
    elif kind == "key-surrogate":
        fields = [name_field, vers_field, b'"x\\ud800":1']
    elif kind == "broken-json":
        fields = [name_field, vers_field, b'"x":' + draw(st.sampled_from(BROKEN_VALUES))]
    else:
        fields = []
    if fields:
        return Line(wrap(draw, obj(draw, [*fields, *extra])), None, kind)
    if kind == "trailing-garbage":
        good = obj(draw, [name_field, vers_field])
        tail = draw(st.sampled_from([b"\x00", b"x", b"}", b",", b"\x0c", b"{}"]))
        return Line(good + tail, None, kind)
    if kind == "not-object":
        value = draw(st.sampled_from([b"1", b'"1.0.0"', b"null", b"[]", b'["crate"]', b"[1,2]"]))
        return Line(wrap(draw, value), None, kind)
    if kind == "garbage":
        # never JSON: starts with a byte no JSON value starts with
        junk = draw(st.binary(max_size=30)).replace(b"\n", b"")
        return Line(
            draw(st.sampled_from([b"#", b"\xff", b"\xef\xbb\xbf{", b"}"])) + junk, None, kind
        )
    return Line(draw(st.sampled_from([b"", b" ", b"\t", b"\r", b" \r "])), None, kind)


index_lines = st.one_of(good_lines(), good_lines(), array_lines(), bad_lines())


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(index_lines, max_size=12), st.booleans())
def test_summaries_keep_exactly_the_lines_cargo_keeps(
    lines: list[Line], final_newline: bool
) -> None:
    raw = b"\n".join(line.raw for line in lines) + (b"\n" if final_newline else b"")
    expected = [(line.key, line.raw) for line in lines if line.key is not None]
    got = summaries_from_index(raw)
    assert got == expected, [(line.kind, line.raw) for line in lines]
    # both readers (stdlib json for small downloads, orjson for large ones) keep the same lines
    for total in (0, STDLIB_JSON_BELOW):
        assert summaries_from_index(raw, line_reader(total)) == expected, total
    # and so does serde_minimal alone (what lines over query.entry.HUGE_LINE_BYTES get)
    assert summaries_from_index(raw, _refuse_every_line) == expected


def _refuse_every_line(line: bytes) -> object:
    """A reader that refuses every line: each goes to `serde_minimal`."""
    return None


@settings(max_examples=100, deadline=None)
@given(st.lists(good_lines(), min_size=1, max_size=5))
def test_summaries_of_a_file_are_the_concatenation_of_its_lines(lines: list[Line]) -> None:
    """Line independence: the result for a file is the results for its lines, in order."""
    raw = b"\n".join(line.raw for line in lines)
    assert summaries_from_index(raw) == [
        pair for line in lines for pair in summaries_from_index(line.raw)
    ]


# ---------------------------------------------------------------------------------------------
# lockfiles, all four formats, through the on-disk reader


def as_format(packages: list[dict[str, Any]], fmt: int) -> str:
    if fmt == 1:
        return render(packages, 1)
    text = render(packages, 3)  # shortened dependencies, inline checksums
    if fmt == 3:
        return text
    if fmt == 4:
        return text.replace("\nversion = 3\n", "\nversion = 4\n", 1)
    return text.replace("version = 3\n\n", "", 1)  # v2: the same text without the marker


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lockfiles(), st.sampled_from([1, 2, 3, 4]))
def test_generated_lockfiles_round_trip_through_the_reader(
    tmp_path: Path, packages: list[dict[str, Any]], fmt: int
) -> None:
    path = tmp_path / "Cargo.lock"
    path.write_text(as_format(packages, fmt))
    lock = load_lockfile(path)
    if fmt >= 3:
        assert lock.version == fmt
    else:
        assert lock.version in (1, 2)
    assert [(p.name, p.version, p.source, p.checksum) for p in lock.packages] == [
        (p["name"], p["version"], p["source"], p["checksum"]) for p in packages
    ]
    for got, p in zip(lock.packages, packages, strict=True):
        want = {
            (packages[i]["name"], packages[i]["version"], packages[i]["source"]) for i in p["deps"]
        }
        assert {(q.name, q.version, q.source) for q in lock.dependencies_of(got)} == want

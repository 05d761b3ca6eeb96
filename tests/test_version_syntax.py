"""The version grammar's fast path (a plain release, `query.version._RELEASE`) against the
scanner (`_parse`) and one full regular expression."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from query.version import VersionError, _parse, _ParseError, is_version, parse_parts

# The whole grammar as one regular expression (what is_version was before it split off -PRE
# and +BUILD to compile less at start-up): an oracle independent of the parser.
_PRE_IDENT = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_BUILD_IDENT = r"[0-9A-Za-z-]+"
_NUM = r"(0|[1-9][0-9]*)"
_FULL = re.compile(
    rf"{_NUM}\.{_NUM}\.{_NUM}"
    rf"(?:-{_PRE_IDENT}(?:\.{_PRE_IDENT})*)?"
    rf"(?:\+{_BUILD_IDENT}(?:\.{_BUILD_IDENT})*)?"
)


def oracle(text: str) -> bool:
    m = _FULL.fullmatch(text)
    return m is not None and all(int(part) < 2**64 for part in m.groups())


def parses(text: str) -> bool:
    try:
        parse_parts(text)
    except VersionError:
        return False
    return True


def scanned(text: str) -> object:
    """What the scanner alone makes of ``text``: its parts, or the reason it refuses it."""
    try:
        return _parse(text)
    except _ParseError as exc:
        return exc.reason


CASES = [
    "1.2.3",
    "0.0.0",
    "0.3.0-alpha.18",
    "1.0.0+build.5",
    "1.0.0-a-b.c+x-y.0z",
    "1.0.0--",
    "1.0.0-0a",
    "1.0.0-0",
    "1.0.0+01",
    "18446744073709551615.0.0",
    "01.2.3",
    "1.2",
    "1.2.3.4",
    "1.2.3-",
    "1.2.3+",
    "1.2.3-01",
    "1.2.3-a..b",
    "1.2.3+a.",
    "1.2.3-a+b+c",
    "1.2.3-\u00e9",
    "\u0661.2.3",
    "1.2.3 ",
    " 1.2.3",
    "1.2.3\n",
    "1.2.03",
    "1.2.3x",
    "1.2.3-a_b",
    "",
    "18446744073709551616.0.0",
    "1.18446744073709551616.0",
    "1.2.3-a.18446744073709551616",
]

text_pieces = st.lists(
    st.sampled_from(
        [
            "0",
            "1",
            "9",
            "00",
            "18446744073709551616",
            ".",
            "-",
            "+",
            "a",
            "Z",
            "_",
            " ",
            "\u0661",
            "\u00e9",
        ]
    ),
    max_size=12,
).map("".join)


@pytest.mark.parametrize("text", CASES)
def test_cases(text: str) -> None:
    assert is_version(text) == oracle(text) == parses(text)


@given(st.sampled_from(["", "1.2.3", "0.0.0-", "1.0.0+", "1.0.0-rc."]), text_pieces)
@example("1.2.3", "-alpha.1+build")
def test_agrees_with_the_full_regex_and_the_parser(prefix: str, rest: str) -> None:
    text = prefix + rest
    assert is_version(text) == oracle(text) == parses(text)


@given(st.sampled_from(["", "1.2.3", "0.0.0", "18446744073709551615.0.", "01.2."]), text_pieces)
@example("9999999999999999999.0.", "0")
@example("99999999999999999999.0.", "0")
def test_fast_path_parts_are_the_scanner_parts(prefix: str, rest: str) -> None:
    text = prefix + rest
    try:
        parts: object = parse_parts(text)
    except VersionError as exc:
        parts = exc.reason
    assert parts == scanned(text)

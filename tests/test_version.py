"""query.version: cargo's strict version grammar and total order (spec §9.1)."""

from __future__ import annotations

import itertools
import random

import pytest
import semver

from query.version import VersionError, is_prerelease, parse_version, version_key

# (text, (major, minor, patch, prerelease, build))
VALID = [
    ("0.0.0", (0, 0, 0, None, None)),
    ("1.2.3", (1, 2, 3, None, None)),
    ("10.20.30", (10, 20, 30, None, None)),
    ("1.0.0-alpha", (1, 0, 0, "alpha", None)),
    ("1.0.0-alpha.1", (1, 0, 0, "alpha.1", None)),
    ("1.0.0-0", (1, 0, 0, "0", None)),
    ("1.0.0-0.3.7", (1, 0, 0, "0.3.7", None)),
    ("1.0.0-x.7.z.92", (1, 0, 0, "x.7.z.92", None)),
    ("1.0.0-0a", (1, 0, 0, "0a", None)),
    ("1.0.0--", (1, 0, 0, "-", None)),
    ("1.0.0-a-b.-c", (1, 0, 0, "a-b.-c", None)),
    ("1.0.0+20130313144700", (1, 0, 0, None, "20130313144700")),
    ("1.0.0+001", (1, 0, 0, None, "001")),
    ("1.0.0+0.00.000", (1, 0, 0, None, "0.00.000")),
    ("1.0.0-beta+exp.sha.5114f85", (1, 0, 0, "beta", "exp.sha.5114f85")),
    ("1.0.0-rc.1+build.01", (1, 0, 0, "rc.1", "build.01")),
    ("18446744073709551615.0.0", (2**64 - 1, 0, 0, None, None)),
    ("0.18446744073709551615.18446744073709551615", (0, 2**64 - 1, 2**64 - 1, None, None)),
    ("1.0.0-99999999999999999999999", (1, 0, 0, "99999999999999999999999", None)),
]

# (text, fragment of the reason)
INVALID = [
    ("", "empty string"),
    ("1", "unexpected end of input while parsing major"),
    ("1.0", "unexpected end of input while parsing minor"),
    ("1.0.", "unexpected end of input while parsing patch"),
    ("1..0", "unexpected character '.' while parsing minor"),
    ("v1.0.0", "unexpected character 'v' while parsing major"),
    ("=1.0.0", "unexpected character '=' while parsing major"),
    ("-1.0.0", "unexpected character '-' while parsing major"),
    (" 1.0.0", "unexpected character ' ' while parsing major"),
    ("1.0.0 ", "unexpected character ' ' after patch"),
    ("1.0.0\t", "unexpected character '\\t' after patch"),
    ("1.0.0\n", "unexpected character '\\n' after patch"),
    ("1.0.0.0", "unexpected character '.' after patch"),
    ("1.x.0", "unexpected character 'x' while parsing minor"),
    ("1.0.0_1", "unexpected character '_' after patch"),
    ("01.0.0", "invalid leading zero in major"),
    ("1.01.0", "invalid leading zero in minor"),
    ("1.0.00", "invalid leading zero in patch"),
    ("1.0.0-01", "invalid leading zero in pre-release"),
    ("1.0.0-a.00", "invalid leading zero in pre-release"),
    ("18446744073709551616.0.0", "exceeds u64::MAX"),
    ("1.99999999999999999999999.0", "exceeds u64::MAX"),
    ("1.0.18446744073709551616", "exceeds u64::MAX"),
    ("1.0.0-", "empty identifier segment in pre-release"),
    ("1.0.0-a..b", "empty identifier segment in pre-release"),
    ("1.0.0-a.", "empty identifier segment in pre-release"),
    ("1.0.0-.a", "empty identifier segment in pre-release"),
    ("1.0.0+", "empty identifier segment in build"),
    ("1.0.0+a..b", "empty identifier segment in build"),
    ("1.0.0-+b", "empty identifier segment in pre-release"),
    ("1.0.0+b+c", "unexpected character '+' after build"),
    ("1.0.0-rc 1", "unexpected character ' ' after pre-release"),
    ("1.0.0-\u03b1", "empty identifier segment in pre-release"),
    ("1.0.0+\u00e9", "empty identifier segment in build"),
    ("\u0661.0.0", "while parsing major"),  # ARABIC-INDIC DIGIT ONE is not a digit here
    ("\uff11.0.0", "while parsing major"),  # FULLWIDTH DIGIT ONE
]


@pytest.mark.parametrize(("text", "parts"), VALID)
def test_valid_versions(text: str, parts: tuple[int, int, int, str | None, str | None]) -> None:
    v = parse_version(text)
    assert isinstance(v, semver.Version)
    assert (v.major, v.minor, v.patch, v.prerelease, v.build) == parts
    assert str(v) == text


@pytest.mark.parametrize(("text", "reason"), INVALID)
def test_invalid_versions(text: str, reason: str) -> None:
    with pytest.raises(VersionError) as info:
        parse_version(text)
    message = str(info.value)
    assert repr(text) in message
    assert reason in message
    assert isinstance(info.value, ValueError)
    assert info.value.text == text


def test_version_error_repeats_input_verbatim() -> None:
    with pytest.raises(VersionError, match=r"^invalid version 'v1\.2\.3': "):
        parse_version("v1.2.3")


# Each list is strictly increasing under cargo's order.
ORDER_CHAINS = [
    # §9.1 example order
    [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
    ],
    # major/minor/patch numerically, not as strings
    ["0.0.1", "0.0.9", "0.0.10", "0.1.0", "0.9.0", "0.10.0", "1.0.0", "1.9.0", "1.10.0", "2.0.0"],
    # any pre-release of a higher triple beats every release of a lower one
    ["1.99.99", "2.0.0-0", "2.0.0-alpha", "2.0.0"],
    # numeric < alphanumeric in pre-releases; alphanumerics compare as ASCII
    ["1.0.0-0", "1.0.0-1", "1.0.0-9", "1.0.0-10", "1.0.0-A", "1.0.0-Z", "1.0.0-a", "1.0.0-a-b"],
    ["1.0.0-alpha.9", "1.0.0-alpha.10", "1.0.0-alpha.a", "1.0.0-alpha.a.0"],
    ["1.0.0-99999999999999999999998", "1.0.0-99999999999999999999999", "1.0.0-a"],
    # build metadata: the cargo tiebreak (absent first; 0 < 00 < 1 < 01 < 001 < 2 < 02 < 10)
    [
        "1.0.0",
        "1.0.0+0",
        "1.0.0+00",
        "1.0.0+1",
        "1.0.0+01",
        "1.0.0+001",
        "1.0.0+2",
        "1.0.0+02",
        "1.0.0+002",
        "1.0.0+10",
        "1.0.0+99999999999999999999999",
        "1.0.0+A",
        "1.0.0+Z",
        "1.0.0+a",
        "1.0.0+a.0",
        "1.0.0+a.0.0",
        "1.0.0+a.b",
        "1.0.0+b",
    ],
    ["1.0.0+build.9", "1.0.0+build.10", "1.0.0+build.a"],
    # pre-release dominates build metadata, which only breaks ties
    ["1.0.0-rc.1+zzz", "1.0.0-rc.2", "1.0.0-rc.2+0", "1.0.0", "1.0.0+0", "1.0.1-0"],
    ["18446744073709551614.99.99", "18446744073709551615.0.0-0", "18446744073709551615.0.0"],
]


@pytest.mark.parametrize("chain", ORDER_CHAINS, ids=lambda c: f"{c[0]}..{c[-1]}")
def test_order_chain(chain: list[str]) -> None:
    keys = [version_key(parse_version(s)) for s in chain]
    for (a, ka), (b, kb) in itertools.pairwise(zip(chain, keys, strict=True)):
        assert ka < kb, f"{a} < {b}"
        assert not kb < ka, f"not {b} < {a}"
    shuffled = chain[:]
    random.Random(1234).shuffle(shuffled)
    assert sorted(shuffled, key=lambda s: version_key(parse_version(s))) == chain


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("1.0.0", "1.0.0", True),
        ("1.0.0+a", "1.0.0+a", True),
        ("1.0.0-rc.1+b.01", "1.0.0-rc.1+b.01", True),
        ("1.0.0+a", "1.0.0+b", False),  # cargo's equality includes build metadata
        ("1.0.0", "1.0.0+0", False),
        ("1.0.0+1", "1.0.0+01", False),
        ("1.0.0-1", "1.0.0-a", False),
    ],
)
def test_key_equality(a: str, b: str, equal: bool) -> None:
    assert (version_key(parse_version(a)) == version_key(parse_version(b))) is equal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.0.0", False),
        ("1.0.0+build.1", False),
        ("1.0.0-0", True),
        ("1.0.0-alpha+build", True),
        ("0.0.0--", True),
    ],
)
def test_is_prerelease(text: str, expected: bool) -> None:
    assert is_prerelease(parse_version(text)) is expected

"""Cargo versions: strict parsing and cargo's total order (spec §9.1).

The grammar is the one of the Rust ``semver`` crate 1.0.x (``Version::parse``)::

    version    = number "." number "." number [ "-" pre ] [ "+" build ]
    number     = "0" | [1-9][0-9]*              (u64: at most 2**64 - 1)
    pre        = ident *( "." ident )           numeric idents: no leading zero
    build      = ident *( "." ident )           leading zeros allowed
    ident      = 1*[0-9A-Za-z-]

No whitespace, no ``v`` prefix, no partial versions. :func:`parse_version` returns
``semver.Version`` (python-semver), which is laxer than cargo, so the checks are done here and the
result is built from already-validated parts. :func:`parse_parts` returns the same parts as a plain
:class:`VersionParts` for hot paths (``semver`` pulls ``argparse``; it is imported only for the
Python API's values: docs/performance.md); both work with ``Requirement.matches`` and
:func:`version_key`.
python-semver's own ``==`` ignores build metadata while cargo's does not: compare
:func:`version_key` values when that matters.

:func:`version_key` is cargo's total order: major, minor, patch; then the pre-release (a release
sorts above every pre-release of the same triple); then cargo's build-metadata tiebreak (numeric
identifiers by value ignoring leading zeros, then by length; numeric < alphanumeric; a longer list
wins). Two versions have equal keys exactly when cargo considers them equal.

The scanning helpers (``_numeric``, ``_identifier``) and ``_pre_key`` are shared with
``query.requirement``, which parses the same numbers and identifiers inside requirements.
"""

from __future__ import annotations

import re

from query import TYPE_CHECKING
from query.errors import ParseError
from query.record import Record

if TYPE_CHECKING:
    from typing import TypeAlias

    import semver

    AnyVersion: TypeAlias = "semver.Version | VersionParts"

__all__ = [
    "VersionError",
    "VersionParts",
    "is_prerelease",
    "is_version",
    "parse_parts",
    "parse_version",
    "version_key",
]

U64_MAX = 2**64 - 1

MAJOR = "major version number"
MINOR = "minor version number"
PATCH = "patch version number"
PRE = "pre-release identifier"
BUILD = "build metadata"

_SEGMENT = re.compile(r"[0-9A-Za-z-]*")

_RELEASE_KEY: tuple[int] = (1,)

PreKey = tuple[object, ...]
BuildKey = tuple[tuple[object, ...], ...]
VersionKey = tuple[int, int, int, PreKey, BuildKey]


class VersionError(ParseError):
    """A string is not a valid cargo version; the message repeats the input."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"invalid version {text!r}: {reason}")
        self.text = text
        self.reason = reason


class _ParseError(Exception):
    """Internal: a syntax error without the input, wrapped by the public parsers."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _numeric(text: str, i: int, pos: str) -> tuple[int, int]:
    """Scan a u64 without leading zeros at ``text[i:]``; return (value, end index)."""
    n = len(text)
    j = i
    while j < n and "0" <= text[j] <= "9":
        j += 1
    if j == i:
        if i < n:
            raise _ParseError(f"unexpected character {text[i]!r} while parsing {pos}")
        raise _ParseError(f"unexpected end of input while parsing {pos}")
    if j - i > 1 and text[i] == "0":
        raise _ParseError(f"invalid leading zero in {pos}")
    if j - i > 20:  # 2**64 - 1 has 20 digits; avoid int() on huge strings
        raise _ParseError(f"value of {pos} exceeds u64::MAX")
    value = int(text[i:j])
    if value > U64_MAX:
        raise _ParseError(f"value of {pos} exceeds u64::MAX")
    return value, j


def _identifier(text: str, i: int, pos: str) -> tuple[str, int]:
    """Scan dot-separated identifiers at ``text[i:]``; return (string, end index).

    Mirrors the crate: an empty result is returned (not raised) when nothing identifier-like
    starts at ``i``; an empty segment after or before a dot is an error; in a pre-release a
    numeric segment may not have a leading zero.
    """
    n = len(text)
    seg_start = i
    while True:
        m = _SEGMENT.match(text, seg_start)
        end = m.end() if m is not None else seg_start
        boundary = text[end] if end < n else ""
        if end == seg_start:
            if seg_start == i and boundary != ".":
                return "", i
            raise _ParseError(f"empty identifier segment in {pos}")
        segment = text[seg_start:end]
        if pos == PRE and len(segment) > 1 and segment[0] == "0" and segment.isdigit():
            raise _ParseError(f"invalid leading zero in {pos}")
        if boundary != ".":
            return text[i:end], end
        seg_start = end + 1


class VersionParts(Record):
    """A strictly parsed version's parts, with ``semver.Version``'s attribute names."""

    major: int
    minor: int
    patch: int
    prerelease: str | None
    build: str | None

    def __repr__(self) -> str:
        return f"VersionParts({str(self)!r})"

    def __str__(self) -> str:
        out = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            out += f"-{self.prerelease}"
        if self.build:
            out += f"+{self.build}"
        return out


def _parse(text: str) -> VersionParts:
    if not text:
        raise _ParseError("empty string, expected a semver version")
    pos = MAJOR
    major, i = _numeric(text, 0, MAJOR)
    i = _dot(text, i, MAJOR)
    minor, i = _numeric(text, i, MINOR)
    i = _dot(text, i, MINOR)
    pos = PATCH
    patch, i = _numeric(text, i, PATCH)
    n = len(text)
    pre = build = None
    if i < n and text[i] == "-":
        pos = PRE
        pre, i = _identifier(text, i + 1, PRE)
        if not pre:
            raise _ParseError(f"empty identifier segment in {PRE}")
    if i < n and text[i] == "+":
        pos = BUILD
        build, i = _identifier(text, i + 1, BUILD)
        if not build:
            raise _ParseError(f"empty identifier segment in {BUILD}")
    if i < n:
        raise _ParseError(f"unexpected character {text[i]!r} after {pos}")
    return VersionParts(major, minor, patch, pre, build)


def _dot(text: str, i: int, pos: str) -> int:
    if i < len(text):
        if text[i] == ".":
            return i + 1
        raise _ParseError(f"unexpected character {text[i]!r} after {pos}")
    raise _ParseError(f"unexpected end of input while parsing {pos}")


# Fast path: a plain MAJOR.MINOR.PATCH, which nearly every version is. At most 19 digits a
# number, so every match fits a u64; anything else (more digits, -PRE, +BUILD, an error) goes
# to `_parse`, which decides. Twin: `_parse`; one index line of a download is keyed by
# `is_version` each (~20,000 lines for nushell's cold fetch). Gain, end to end: undoing it
# adds ~29 ms to nushell's cold fetch and ~3 ms to its check (docs/performance.md). Pinned by
# tests/test_version_syntax.py.
_RELEASE = re.compile(r"(0|[1-9][0-9]{0,18})\.(0|[1-9][0-9]{0,18})\.(0|[1-9][0-9]{0,18})")


def parse_parts(s: str) -> VersionParts:
    """Parse ``s`` with cargo's strict grammar into plain parts; :class:`VersionError` if
    it is not a version."""
    release = _RELEASE.fullmatch(s)
    if release is not None:
        major, minor, patch = release.groups()
        return VersionParts(int(major), int(minor), int(patch), None, None)
    try:
        return _parse(s)
    except _ParseError as exc:
        raise VersionError(s, exc.reason) from None


def is_version(s: str) -> bool:
    """True when ``s`` is a version in cargo's strict grammar (`parse_parts` would accept it)."""
    if _RELEASE.fullmatch(s) is not None:
        return True
    try:
        _parse(s)
    except _ParseError:
        return False
    return True


def parse_version(s: str) -> semver.Version:
    """Parse ``s`` with cargo's strict grammar; raise :class:`VersionError` otherwise."""
    import semver

    p = parse_parts(s)
    return semver.Version(p.major, p.minor, p.patch, p.prerelease, p.build)


def _pre_key(pre: str | None) -> PreKey:
    """Sort key of a pre-release string; a release (None or "") sorts above all of them.

    Numeric identifiers compare by value (length, then digits: no leading zeros in valid
    input), numeric < alphanumeric, alphanumerics as ASCII, a longer list wins.
    """
    if not pre:
        return _RELEASE_KEY
    parts: list[tuple[object, ...]] = []
    for ident in pre.split("."):
        if ident.isascii() and ident.isdigit():
            parts.append((0, len(ident), ident))
        else:
            parts.append((1, ident))
    return (0, tuple(parts))


def _build_key(build: str | None) -> BuildKey:
    """Cargo's build-metadata tiebreak; no build metadata sorts first."""
    if not build:
        return ()
    parts: list[tuple[object, ...]] = []
    for ident in build.split("."):
        if ident.isascii() and ident.isdigit():
            trimmed = ident.lstrip("0")
            parts.append((0, len(trimmed), trimmed, len(ident)))
        else:
            parts.append((1, ident))
    return tuple(parts)


def version_key(v: AnyVersion) -> VersionKey:
    """Cargo's total order on versions, build metadata included (for ``sorted(key=...)``)."""
    return (v.major, v.minor, v.patch, _pre_key(v.prerelease), _build_key(v.build))


def is_prerelease(v: AnyVersion) -> bool:
    """True when ``v`` has a non-empty pre-release part (``1.0.0-rc.1``)."""
    return bool(v.prerelease)

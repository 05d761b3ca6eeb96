"""Cargo version requirements: parsing and matching (spec §9.2-9.4).

A port of the Rust ``semver`` crate 1.0.x (``VersionReq::parse`` and ``matches``), which cargo
uses unchanged for Cargo.toml and index ``req`` strings::

    req         = spaces ( wildcard spaces | comparator *( "," spaces comparator ) )
    comparator  = [ op ] spaces major [ "." minor [ "." patch [ "-" pre ] [ "+" build ] ] ] spaces
    op          = "=" | ">" | ">=" | "<" | "<=" | "~" | "^"          (none: caret)
    minor/patch = number | "*" | "x" | "X"

* A lone wildcard means any release (no comparators). A wildcard next to other comparators is an
  error, so is ``1.*.3``, ``||``, a hyphen range, a tab, and more than 32 comparators.
* Without an op, a wildcard minor or patch makes the comparator a *wildcard* (``1.2.*`` matches
  like ``=1.2``); with an op the wildcard fields are just absent (``>=1.*`` is ``>=1``).
* PRE is only read after a PATCH; BUILD is parsed and discarded.

Matching: every comparator must match, and a pre-release version additionally needs some
comparator with the same major.minor.patch and a non-empty pre-release of its own.
:meth:`Requirement.any` is cargo's ``OptVersionReq::Any`` (a dependency without a version),
which matches everything including pre-releases, unlike ``*``.
"""

from __future__ import annotations

from query import TYPE_CHECKING
from query.errors import ParseError
from query.record import Record, field
from query.version import (
    BUILD,
    MAJOR,
    MINOR,
    PATCH,
    PRE,
    PreKey,
    _identifier,
    _numeric,
    _ParseError,
    _pre_key,
)

if TYPE_CHECKING:
    from query.version import AnyVersion

__all__ = ["Requirement", "RequirementError"]

MAX_COMPARATORS = 32

EXACT = "="
GREATER = ">"
GREATER_EQ = ">="
LESS = "<"
LESS_EQ = "<="
TILDE = "~"
CARET = "^"
WILDCARD = ""  # no explicit op and a wildcard field, e.g. ``1.2.*``

_WILDCARDS = "*xX"

_RELEASE = _pre_key("")  # the pre-release key of a release


class RequirementError(ParseError):
    """A string is not a valid cargo version requirement; the message repeats the input."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"invalid version requirement {text!r}: {reason}")
        self.text = text
        self.reason = reason


class _Comparator(Record):
    """One comparator; ``pre`` is "" when absent, ``pre_key`` its sort key (derived)."""

    op: str
    major: int
    minor: int | None
    patch: int | None
    pre: str
    pre_key: PreKey = field(compare=False, repr=False)

    def __str__(self) -> str:
        out = f"{self.op}{self.major}"
        if self.minor is not None:
            out += f".{self.minor}"
            if self.patch is not None:
                out += f".{self.patch}"
                if self.pre:
                    out += f"-{self.pre}"
            elif self.op == WILDCARD:
                out += ".*"
        elif self.op == WILDCARD:
            out += ".*"
        return out


def _skip_spaces(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] == " ":
        i += 1
    return i


def _wildcard_at(text: str, i: int) -> str | None:
    if i < len(text) and text[i] in _WILDCARDS:
        return text[i]
    return None


def _op(text: str, i: int) -> tuple[str | None, int]:
    c = text[i] if i < len(text) else ""
    if c == "=":
        return EXACT, i + 1
    if c in (">", "<"):
        if text.startswith("=", i + 1):
            return c + "=", i + 2
        return c, i + 1
    if c in (TILDE, CARET):
        return c, i + 1
    return None, i


def _comparator(text: str, i: int) -> tuple[_Comparator, str, int]:
    """Parse one comparator at ``text[i:]``: (comparator, last position read, end index)."""
    explicit, i = _op(text, i)
    op = CARET if explicit is None else explicit
    i = _skip_spaces(text, i)
    n = len(text)

    pos = MAJOR
    major, i = _numeric(text, i, MAJOR)
    has_wildcard = False

    minor: int | None = None
    if i < n and text[i] == ".":
        pos = MINOR
        if _wildcard_at(text, i + 1) is not None:
            has_wildcard = True
            if explicit is None:
                op = WILDCARD
            i += 2
        else:
            minor, i = _numeric(text, i + 1, MINOR)

    patch: int | None = None
    if i < n and text[i] == ".":
        pos = PATCH
        if _wildcard_at(text, i + 1) is not None:
            if explicit is None:
                op = WILDCARD
            i += 2
        elif has_wildcard:
            raise _ParseError("unexpected character after wildcard in version req")
        else:
            patch, i = _numeric(text, i + 1, PATCH)

    pre = ""
    if patch is not None and i < n and text[i] == "-":
        pos = PRE
        pre, i = _identifier(text, i + 1, PRE)
        if not pre:
            raise _ParseError(f"empty identifier segment in {PRE}")

    if patch is not None and i < n and text[i] == "+":
        pos = BUILD
        build, i = _identifier(text, i + 1, BUILD)
        if not build:
            raise _ParseError(f"empty identifier segment in {BUILD}")

    i = _skip_spaces(text, i)
    return _Comparator(op, major, minor, patch, pre, _pre_key(pre)), pos, i


def _not_only(ch: str) -> _ParseError:
    return _ParseError(f"wildcard req ({ch}) must be the only comparator in the version req")


def _parse(text: str) -> tuple[_Comparator, ...]:
    n = len(text)
    i = _skip_spaces(text, 0)
    ch = _wildcard_at(text, i)
    if ch is not None:
        rest = _skip_spaces(text, i + 1)
        if rest == n:
            return ()
        if text[rest] == ",":
            raise _not_only(ch)
        raise _ParseError("unexpected character after wildcard in version req")

    comparators: list[_Comparator] = []
    while True:
        start = i
        try:
            cmp, pos, i = _comparator(text, i)
        except _ParseError:
            ch = _wildcard_at(text, start)
            if ch is not None:
                rest = _skip_spaces(text, start + 1)
                if rest == n or text[rest] == ",":
                    raise _not_only(ch) from None
            raise
        comparators.append(cmp)
        if i == n:
            return tuple(comparators)
        if text[i] != ",":
            raise _ParseError(f"expected comma after {pos}, found {text[i]!r}")
        i = _skip_spaces(text, i + 1)
        if len(comparators) == MAX_COMPARATORS:
            raise _ParseError("excessive number of version comparators")


def _matches_one(c: _Comparator, major: int, minor: int, patch: int, pre: PreKey) -> bool:
    """One comparator against a version, pre-release rule not applied (crate's eval.rs)."""
    op = c.op
    if op in (EXACT, WILDCARD):
        return _exact(c, major, minor, patch, pre)
    if op == GREATER:
        return _greater(c, major, minor, patch, pre)
    if op == GREATER_EQ:
        return _exact(c, major, minor, patch, pre) or _greater(c, major, minor, patch, pre)
    if op == LESS:
        return _less(c, major, minor, patch, pre)
    if op == LESS_EQ:
        return _exact(c, major, minor, patch, pre) or _less(c, major, minor, patch, pre)
    if op == TILDE:
        if major != c.major or (c.minor is not None and minor != c.minor):
            return False
        if c.patch is not None and patch != c.patch:
            return patch > c.patch
        return pre >= c.pre_key
    # caret
    if major != c.major:
        return False
    if c.minor is None:
        return True
    if c.patch is None:
        return minor >= c.minor if c.major > 0 else minor == c.minor
    if c.major > 0:
        if minor != c.minor:
            return minor > c.minor
        if patch != c.patch:
            return patch > c.patch
    elif c.minor > 0:
        if minor != c.minor:
            return False
        if patch != c.patch:
            return patch > c.patch
    elif minor != c.minor or patch != c.patch:
        return False
    return pre >= c.pre_key


def _exact(c: _Comparator, major: int, minor: int, patch: int, pre: PreKey) -> bool:
    if major != c.major:
        return False
    if c.minor is not None and minor != c.minor:
        return False
    if c.patch is not None and patch != c.patch:
        return False
    return pre == c.pre_key


def _greater(c: _Comparator, major: int, minor: int, patch: int, pre: PreKey) -> bool:
    if major != c.major:
        return major > c.major
    if c.minor is None:
        return False
    if minor != c.minor:
        return minor > c.minor
    if c.patch is None:
        return False
    if patch != c.patch:
        return patch > c.patch
    return pre > c.pre_key


def _less(c: _Comparator, major: int, minor: int, patch: int, pre: PreKey) -> bool:
    if major != c.major:
        return major < c.major
    if c.minor is None:
        return False
    if minor != c.minor:
        return minor < c.minor
    if c.patch is None:
        return False
    if patch != c.patch:
        return patch < c.patch
    return pre < c.pre_key


class Requirement(Record):
    """A parsed cargo version requirement (immutable): its comparators, or ``any_`` for no
    requirement at all."""

    comparators: tuple[_Comparator, ...] = ()
    any_: bool = False

    @classmethod
    def parse(cls, s: str) -> Requirement:
        """Parse ``s`` like ``VersionReq::parse``; raise :class:`RequirementError` otherwise."""
        try:
            return cls(_parse(s))
        except _ParseError as exc:
            raise RequirementError(s, exc.reason) from None

    @classmethod
    def any(cls) -> Requirement:
        """No version requirement at all: matches every version, pre-releases included."""
        return cls((), True)

    def matches(self, v: AnyVersion) -> bool:
        """Whether ``v`` satisfies this requirement (build metadata is ignored)."""
        if self.any_:
            return True
        major, minor, patch = v.major, v.minor, v.patch
        pre = _pre_key(v.prerelease)
        for c in self.comparators:
            if not _matches_one(c, major, minor, patch, pre):
                return False
        if not v.prerelease:
            return True
        return any(
            c.pre and c.major == major and c.minor == minor and c.patch == patch
            for c in self.comparators
        )

    def __str__(self) -> str:
        if not self.comparators:
            return "*"
        return ", ".join(str(c) for c in self.comparators)

    def __repr__(self) -> str:
        if self.any_:
            return "Requirement.any()"
        return f"Requirement.parse({str(self)!r})"

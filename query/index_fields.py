"""The value rules cargo 1.95 applies to single fields of an index line (no I/O).

Each function answers "why does cargo refuse this value" (a one-line reason) or None; any
refusal makes the index line invalid (``IndexSummary::Invalid``). Sources, cargo 0.96.0:

* `rust_version_error`: ``RustVersion`` (``crates/cargo-util-schemas/src/manifest/
  rust_version.rs:54-96``) over ``PartialVersion::from_str`` (``core/partial_version.rs:82-121``):
  a full semver version, else a ``semver::VersionReq`` of exactly one caret comparator written
  without ``^``; no pre-release, no build metadata. So ``" 1.70"`` (spaces: the requirement
  parser skips them) is fine, a tab is not, and a part above u64::MAX is refused.
* `pubtime_error`: ``parse_pubtime`` (``crates/cargo-util-schemas/src/index.rs``): jiff 0.2.18's
  ``strptime("%Y-%m-%dT%H:%M:%SZ")`` (``src/fmt/strtime/parse.rs``) then exactly 20 bytes and a
  UTC instant within jiff's ``Timestamp`` range.
* `feature_name_error`: ``validate_feature_name`` (``crates/cargo-util-schemas/src/
  restricted_names.rs:195-239``).
* `artifact_error`: ``Artifact::parse`` (``src/cargo/core/dependency.rs:495-516``,
  ``ArtifactKind::parse``/``validate`` ``:632-670``, ``ArtifactTarget::parse`` ``:541-547``,
  ``CompileTarget::new`` ``src/cargo/core/compiler/compile_kind.rs:195-220``).
"""

from __future__ import annotations

from query import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["artifact_error", "feature_name_error", "pubtime_error", "rust_version_error"]


def rust_version_error(text: str) -> str | None:
    """Why ``text`` is not a ``rust_version`` cargo reads, or None."""
    from query.version import is_version

    if is_version(text):
        if "-" in text or "+" in text:
            return f"rust_version {text!r}: unexpected pre-release or build metadata"
        return None
    from query.requirement import CARET, Requirement, RequirementError

    try:
        req = Requirement.parse(text)
    except RequirementError:
        return f"rust_version {text!r} is not a version"
    comparators = req.comparators
    if len(comparators) != 1 or comparators[0].op != CARET or text.startswith("^"):
        return f"rust_version {text!r}: expected a version like 1.32, not a requirement"
    if comparators[0].pre:
        return f"rust_version {text!r}: unexpected pre-release"
    return None


# --- pubtime ---------------------------------------------------------------------------------

_ASCII_WHITESPACE = b" \t\n\x0c\r"  # Rust's u8::is_ascii_whitespace
# jiff's Timestamp range (UnixSeconds in src/util/t.rs: +-9999 years less the largest offset)
_UNIX_MIN = -377705116800 + 93599
_UNIX_MAX = 253402300799 - 93599


class _Strptime(ValueError):
    pass


def _number(data: bytes, pos: int, width: int) -> tuple[int, int]:
    """jiff's ``parse_number`` with zero padding to ``width`` digits: skips ASCII whitespace,
    then reads up to ``width`` digits (at least one)."""
    n = len(data)
    while pos < n and data[pos] in _ASCII_WHITESPACE:
        pos += 1
    start = pos
    while pos < n and pos - start < width and 0x30 <= data[pos] <= 0x39:
        pos += 1
    if pos == start:
        raise _Strptime("no digits")
    return int(data[start:pos]), pos


def _literal(data: bytes, pos: int, byte: bytes) -> int:
    if not data.startswith(byte, pos):
        raise _Strptime(f"expected {byte.decode()}")
    return pos + 1


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def pubtime_error(text: str) -> str | None:
    """Why ``text`` is not a ``pubtime`` cargo reads, or None."""
    data = text.encode("utf-8")
    try:
        if not data:
            raise _Strptime("empty")
        pos = 0
        sign = 1
        if data[0] == 0x2D:  # -
            sign, pos = -1, 1
        elif data[0] == 0x2B:  # +
            pos = 1
        year, pos = _number(data, pos, 4)
        year *= sign
        pos = _literal(data, pos, b"-")
        month, pos = _number(data, pos, 2)
        if not 1 <= month <= 12:
            raise _Strptime("month")
        pos = _literal(data, pos, b"-")
        day, pos = _number(data, pos, 2)
        if not 1 <= day <= 31:
            raise _Strptime("day")
        pos = _literal(data, pos, b"T")
        hour, pos = _number(data, pos, 2)
        if hour > 23:
            raise _Strptime("hour")
        pos = _literal(data, pos, b":")
        minute, pos = _number(data, pos, 2)
        if minute > 59:
            raise _Strptime("minute")
        pos = _literal(data, pos, b":")
        second, pos = _number(data, pos, 2)
        second = 59 if second == 60 else second  # jiff clamps a leap second
        if second > 59:
            raise _Strptime("second")
        pos = _literal(data, pos, b"Z")
        if pos != len(data):
            raise _Strptime("trailing input")
        if day > _days_in_month(year, month):
            raise _Strptime("no such date")
    except _Strptime as exc:
        return f"pubtime {text!r} is not YYYY-MM-DDTHH:MM:SSZ ({exc})"
    if len(data) != 20:
        return f"pubtime {text!r}: padding required"
    instant = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    if not _UNIX_MIN <= instant <= _UNIX_MAX:
        return f"pubtime {text!r} is out of range"
    return None


# --- feature names ---------------------------------------------------------------------------

_ASCII_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789")
_ASCII_CONTINUE = _ASCII_START | frozenset("-+.")


def feature_name_error(name: str) -> str | None:
    """Why ``name`` is not a feature name cargo accepts, or None."""
    if not name:
        return "feature name cannot be empty"
    if name.startswith("dep:"):
        return f"feature name `{name}` is not allowed to start with `dep:`"
    if "/" in name:
        return f"feature name `{name}` is not allowed to contain slashes"
    first = name[0]
    if first not in _ASCII_START:
        from query.unicode_props import is_xid_start

        if first.isascii() or not is_xid_start(first):
            return f"invalid character `{first}` in feature name `{name}` (first character)"
    for c in name[1:]:
        if c in _ASCII_CONTINUE:
            continue
        from query.unicode_props import is_xid_continue

        if c.isascii() or not is_xid_continue(c):
            return f"invalid character `{c}` in feature name `{name}`"
    return None


# --- artifact dependencies -------------------------------------------------------------------

# Rust's char::is_whitespace (the Unicode White_Space property), for str::trim
_WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def artifact_error(kinds: Sequence[str], bindep_target: str | None) -> str | None:
    """Why cargo refuses a dependency's ``artifact`` list (and ``bindep_target``), or None."""
    parsed: list[str] = []
    for kind in kinds:
        if kind not in ("bin", "cdylib", "staticlib") and not kind.startswith("bin:"):
            return f"'{kind}' is not a valid artifact specifier"
        parsed.append(kind)
    if "bin" in parsed and any(k.startswith("bin:") for k in parsed):
        return "Cannot specify both 'bin' and 'bin:<name>' binary artifacts"
    if len(set(parsed)) != len(parsed):
        return "duplicate binary artifacts"
    if bindep_target is not None and bindep_target != "target":
        name = bindep_target.strip(_WHITE_SPACE)
        if not name:
            return "target was empty"
        if name.endswith(".json"):
            return "`.json` target specs require -Zjson-target-spec"
    return None

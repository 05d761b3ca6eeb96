"""Crate names: validation and the index file path (spec §1.1-1.3).

We accept what crates.io enforces (§1.3), which is stricter than cargo's own Unicode-XID rule:
ASCII only, a letter or ``_`` first, then letters, digits, ``-`` or ``_``, 1 to 64 characters.
That keeps every name safe to use as a URL and file path component (no ``/``, ``..``, ``\\``,
NUL, spaces or look-alike Unicode letters).

:func:`index_path` is cargo's ``make_dep_path(name.lower(), prefix_only=false)``; the bucket comes
from the byte length, which equals the character count for a valid (ASCII) name::

    a     -> 1/a
    ab    -> 2/ab
    abc   -> 3/a/abc
    serde -> se/rd/serde

Standard library only (used by the fast start-up path).
"""

from __future__ import annotations

import re

from query.errors import ParseError

__all__ = ["CrateNameError", "index_path", "validate_crate_name"]

MAX_NAME_LENGTH = 64

_VALID_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
_ALLOWED = (
    "crate names are 1-64 ASCII characters: a letter or '_' first, then letters, digits, '-' or '_'"
)
_SHOWN_CHARS = 100


class CrateNameError(ParseError):
    """A crate name we refuse; the one-line message shows the input (``repr``-escaped)."""

    def __init__(self, name: str, reason: str) -> None:
        shown = repr(name) if len(name) <= _SHOWN_CHARS else f"{name[:_SHOWN_CHARS]!r}..."
        super().__init__(f"invalid crate name {shown}: {reason}; {_ALLOWED}")
        self.name = name
        self.reason = reason


def _reason(name: str) -> str:
    if not name:
        return "the name is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"the name is {len(name)} characters long"
    first = name[0]
    if not (first.isascii() and (first.isalpha() or first == "_")):
        return f"it starts with {first!r}"
    for i, ch in enumerate(name):
        if not (ch.isascii() and (ch.isalnum() or ch in "-_")):
            return f"it contains {ch!r} at position {i}"
    return "it is not allowed"  # pragma: no cover - the regex and the loop agree


def validate_crate_name(name: str) -> str:
    """Return ``name`` unchanged if it is an acceptable crate name, else raise CrateNameError."""
    if _VALID_NAME.fullmatch(name) is None:
        raise CrateNameError(name, _reason(name))
    return name


def index_path(name: str) -> str:
    """The index (and ``.cache``) path of a crate: ``make_dep_path(name.lower())``."""
    lowered = validate_crate_name(name).lower()
    n = len(lowered)
    if n == 1:
        return f"1/{lowered}"
    if n == 2:
        return f"2/{lowered}"
    if n == 3:
        return f"3/{lowered[0]}/{lowered}"
    return f"{lowered[0:2]}/{lowered[2:4]}/{lowered}"

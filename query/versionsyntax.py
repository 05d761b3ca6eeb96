"""Is a string a version in cargo's strict grammar? (stdlib only, no semver objects)

The same language as :func:`query.version.parse_version` accepts (spec §9.1, checked by a
hypothesis test), as one regular expression plus the u64 bound: for code that only needs a
yes/no, like the fast start-up path and the cache builder, which keeps a line's own ``vers``
text as its key (a valid version renders exactly as written).
"""

from __future__ import annotations

import re

U64_MAX = 2**64 - 1

_NUM = r"(0|[1-9][0-9]*)"
_PRE_IDENT = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_BUILD_IDENT = r"[0-9A-Za-z-]+"
_VERSION = re.compile(
    rf"{_NUM}\.{_NUM}\.{_NUM}"
    rf"(?:-{_PRE_IDENT}(?:\.{_PRE_IDENT})*)?"
    rf"(?:\+{_BUILD_IDENT}(?:\.{_BUILD_IDENT})*)?"
)


def is_version(text: str) -> bool:
    """True when ``text`` is MAJOR.MINOR.PATCH[-PRE][+BUILD] as cargo's semver parses it."""
    m = _VERSION.fullmatch(text)
    if m is None:
        return False
    # 2**64 - 1 has 20 digits: a shorter text cannot hold a number beyond it.
    return len(text) < 20 or all(int(part) <= U64_MAX for part in m.groups())

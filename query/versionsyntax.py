"""Is a string a version in cargo's strict grammar? (stdlib only, no semver objects)

The same language as :func:`query.version.parse_version` accepts (spec §9.1, checked by a
hypothesis test): MAJOR.MINOR.PATCH by one regular expression plus the u64 bound, the rarer
``-PRE`` and ``+BUILD`` parts by string methods (a regular expression for the whole grammar
costs ~0.35 ms to compile, on the start-up path of ``registry check``). For code that only
needs a yes/no, like the fast start-up path and the cache builder, which keeps a line's own
``vers`` text as its key (a valid version renders exactly as written).
"""

from __future__ import annotations

import re

U64_MAX = 2**64 - 1

_NUM = r"(0|[1-9][0-9]*)"
_RELEASE = re.compile(rf"{_NUM}\.{_NUM}\.{_NUM}")


def _identifiers(text: str, numeric_rule: bool) -> bool:
    """``text`` is dot-separated non-empty identifiers of ``[0-9A-Za-z-]``; with
    ``numeric_rule`` (a pre-release), an all-digit identifier has no leading zero."""
    for ident in text.split("."):
        # str.isalnum is ASCII letters and digits once isascii holds; "" is not alnum.
        if not (ident.isascii() and ident.replace("-", "a").isalnum()):
            return False
        if numeric_rule and len(ident) > 1 and ident[0] == "0" and ident.isdigit():
            return False
    return True


def is_version(text: str) -> bool:
    """True when ``text`` is MAJOR.MINOR.PATCH[-PRE][+BUILD] as cargo's semver parses it."""
    m = _RELEASE.match(text)
    if m is None:
        return False
    end = m.end()
    if end < len(text):
        # After PATCH (whose digits the match took greedily) only "-PRE" or "+BUILD" may follow;
        # neither contains a "+", so the first one starts BUILD.
        pre, plus, build = text[end:].partition("+")
        if pre and not (pre[0] == "-" and _identifiers(pre[1:], True)):
            return False
        if plus and not _identifiers(build, False):
            return False
    # 2**64 - 1 has 20 digits: a shorter text cannot hold a number beyond it.
    return len(text) < 20 or all(int(part) <= U64_MAX for part in m.groups())

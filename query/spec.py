"""Query specs given on the command line.

==================  ==============================================  =======================
spec                meaning                                         QuerySpec
==================  ==============================================  =======================
``serde``           newest non-yanked, non-pre-release version      exact=None, req=None
``serde==1.0.102``  exactly that version (full, strict §9.1 syntax)  exact="1.0.102"
``serde@^1.0``      newest version matching the requirement         requirement="^1.0"
``serde@1.0``       same (a bare requirement is a caret one)        requirement="1.0"
``serde@=1.0.2``    still a requirement (``=`` op), not exact       requirement="=1.0.2"
``serde@*``         any release                                     requirement="*"
==================  ==============================================  =======================

The name is checked with :func:`query.names.validate_crate_name`. The exact form is checked by a
regex equivalent to ``query.version.parse_version`` so that this module (used by the fast
start-up path) imports only the standard library; ``query.requirement`` is imported lazily,
only to validate a requirement form. The strings are kept as given.
"""

from __future__ import annotations

import re

from query.errors import ParseError
from query.names import CrateNameError, validate_crate_name
from query.record import Record
from query.version import is_version

__all__ = ["QuerySpec", "QuerySpecError", "parse_query_spec"]


_SPLIT = re.compile(r"([^@=]*)(?:(==|@)(.*))?", re.DOTALL)


_FORMS = "expected NAME, NAME==VERSION or NAME@REQUIREMENT"


class QuerySpecError(ParseError):
    """A query spec we cannot parse; the message repeats the input."""


class QuerySpec(Record):
    """A parsed query: a crate name and at most one of ``exact`` / ``requirement``."""

    name: str
    exact: str | None
    requirement: str | None

    def __repr__(self) -> str:
        return f"QuerySpec({self.name!r}, exact={self.exact!r}, requirement={self.requirement!r})"


def _is_exact_version(text: str) -> bool:
    return is_version(text)


def parse_query_spec(text: str) -> QuerySpec:
    """Parse ``NAME``, ``NAME==VERSION`` or ``NAME@REQUIREMENT``; raise QuerySpecError."""
    m = _SPLIT.fullmatch(text)
    if m is None:
        raise QuerySpecError(f"invalid query {text!r}: {_FORMS}")
    name, sep, rest = m.groups()
    try:
        validate_crate_name(name)
    except CrateNameError as exc:
        raise QuerySpecError(f"invalid query {text!r}: {exc}") from exc
    if sep is None:
        return QuerySpec(name, None, None)
    if sep == "==":
        if not _is_exact_version(rest):
            raise QuerySpecError(
                f"invalid query {text!r}: {rest!r} is not a full version "
                "(MAJOR.MINOR.PATCH[-PRE][+BUILD], no leading zeros); "
                f"use {name}@REQUIREMENT for a range"
            )
        return QuerySpec(name, rest, None)
    from query.requirement import Requirement, RequirementError

    try:
        Requirement.parse(rest)
    except RequirementError as exc:
        raise QuerySpecError(f"invalid query {text!r}: {exc}") from exc
    return QuerySpec(name, None, rest)

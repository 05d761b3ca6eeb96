"""The root of the one exception tree, and the base of every parse error of ``query/``.

The whole tree, with its exit codes, is drawn in :mod:`registry.errors`; it starts here so that
``query/`` (which imports nothing of ``registry/``) can raise inside it. Each class carries its
CLI exit code (``exit_code``), the only place exit codes are decided.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3


class RegistryError(Exception):
    """Base of every error ``registry`` raises on purpose."""

    exit_code = EXIT_UNAVAILABLE


class UsageError(RegistryError):
    """Bad arguments or input."""

    exit_code = EXIT_USAGE


class ParseError(UsageError, ValueError):
    """A text that is not what it should be (a crate name, version, requirement, query spec,
    Cargo.lock, Cargo.toml, index line); the one-line message repeats the bad input."""

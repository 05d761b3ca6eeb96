"""The one exception tree of ``registry``, ``cache`` and ``query``, with each branch's exit code.

::

    RegistryError (query.errors)        exit 3 unless a subclass says otherwise
    ├── UsageError (query.errors)      exit 2  bad arguments or input
    │   ├── ParseError (query.errors)          a text that does not parse; also a ValueError:
    │   │     CrateNameError, QuerySpecError, VersionError, RequirementError,
    │   │     LockfileError, ManifestError, EntryError (an index line: caught where read)
    │   └── InputError                         an input file that cannot be read or parsed
    ├── NotFoundError                  exit 1  no such crate / no matching version
    │   ├── OtherPackageError                  the version's index line names another package
    │   └── UnusableCrateError                 cargo 1.95 crashes reading the crate's index file
    └── UnavailableError               exit 3  could not answer
        ├── OfflineError                       not cached and --offline was given
        ├── CacheEntryError                    a cache entry is unreadable and may not be refetched
        ├── NetworkError                       transport failure after retries (URL named)
        ├── HttpStatusError                    unexpected HTTP status (URL, status, body excerpt)
        ├── AuthError                          401/403 with or without a token
        ├── RegistryConfigError                config.json missing or malformed
        └── NotAnIndexFileError                a crate's file holds no index line at all

Every message is one line, names the input (crate, URL or file), says what to do, and never
contains a token. Foreign exceptions are mapped into this tree at three edges, and nowhere else:

* files: :mod:`registry.input_files` (OSError, UnicodeDecodeError, tomllib's errors, cargo
  configuration files through it): `InputError`;
* network: the transports turn pycurl/httpx errors into ``TransportError`` values, which
  :mod:`registry.index.sparse` turns into `NetworkError`, `HttpStatusError`, `AuthError`;
* cache: :mod:`registry.index.loader` turns ``cache.format.CacheFormatError`` and
  ``cache.store.CacheReadError`` into a cache miss, or `CacheEntryError` when it may not
  refetch.

The exit code of an error is its class's ``exit_code``; the command line turns any other
``OSError`` that still reaches it into exit 3 (:func:`registry.cli.guarded`).
"""

from __future__ import annotations

from query.errors import (
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    ParseError,
    RegistryError,
    UsageError,
)

__all__ = [
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "AuthError",
    "CacheEntryError",
    "HttpStatusError",
    "InputError",
    "NetworkError",
    "NotAnIndexFileError",
    "NotFoundError",
    "OfflineError",
    "OtherPackageError",
    "UnusableCrateError",
    "ParseError",
    "RegistryConfigError",
    "RegistryError",
    "UnavailableError",
    "UsageError",
]


class InputError(UsageError):
    pass


class NotFoundError(RegistryError):
    exit_code = EXIT_NOT_FOUND


class OtherPackageError(NotFoundError):
    """The index line of the version asked for names another package: cargo matches names
    exactly, so a line ``Probe`` in the file of ``probe`` is not a version of ``probe``."""

    def __init__(self, message: str, line_name: str = "") -> None:
        super().__init__(message)
        self.line_name = line_name


class UnusableCrateError(NotFoundError):
    """cargo 1.95 cannot use any version of the crate: its index file holds a line on which
    cargo panics (a dependency with an empty name; query/index_line.py). Such a file is not
    cached, as cargo never caches it."""


class UnavailableError(RegistryError):
    exit_code = EXIT_UNAVAILABLE


class OfflineError(UnavailableError):
    pass


class CacheEntryError(UnavailableError):
    pass


class NetworkError(UnavailableError):
    pass


class HttpStatusError(UnavailableError):
    def __init__(self, message: str, *, url: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class AuthError(UnavailableError):
    pass


class RegistryConfigError(UnavailableError):
    pass


class NotAnIndexFileError(UnavailableError):
    """A crate's file, as served, holds no line cargo could read as an index entry (an HTML page
    from a captive portal, binary junk): it is not cached, and the crate cannot be checked."""

"""The one exception tree of `registry`, with the CLI exit code of each branch.

::

    RegistryError                      exit 3 unless a subclass says otherwise
    ├── UsageError                     exit 2  bad arguments or input (ValueError subclasses from
    │   │                                      query/ and cache/ are mapped to this at the edge)
    │   └── InputError                 exit 2  an unreadable or malformed input file
    ├── NotFoundError                  exit 1  no such crate / no matching version
    └── UnavailableError               exit 3  could not answer
        ├── OfflineError               exit 3  not cached and --offline was given
        ├── CacheEntryError            exit 3  a cache entry is unreadable and we may not refetch
        ├── NetworkError               exit 3  transport failure after retries (URL named)
        ├── HttpStatusError            exit 3  unexpected HTTP status (URL, status, body excerpt)
        ├── AuthError                  exit 3  401/403 with or without a token
        └── RegistryConfigError        exit 3  config.json missing or malformed

Messages are one line, name the input (crate, URL or file), say what to do, and never contain a
token. Foreign exceptions (pycurl, httpx, OSError, tomllib) are mapped into this tree at one edge:
the transport for network errors, `registry.client` for files.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3


class RegistryError(Exception):
    """Base of every error `registry` raises on purpose."""

    exit_code = EXIT_UNAVAILABLE


class UsageError(RegistryError):
    exit_code = EXIT_USAGE


class InputError(UsageError):
    pass


class NotFoundError(RegistryError):
    exit_code = EXIT_NOT_FOUND


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

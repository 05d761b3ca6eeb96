"""Index sources: what ``--index-url`` can name, and where each one lives in the cache.

Accepted forms (spec §1.4, §6, §7)::

    sparse+https://index.crates.io/     a sparse registry (the URL keeps its prefix in the hash)
    https://host/path/  http://...      shorthand for sparse+<url>
    file:///abs/dir   /abs/dir   ./dir  a local index directory (files read from disk)

A sparse URL must end with ``/`` in cargo; the shorthand forms get one appended. URLs carrying
credentials (``https://user:pass@host/``) are refused: a token belongs in ``--token`` or
``REGISTRY_TOKEN``, never in a URL that ends up in logs and cache directory names.
"""

from __future__ import annotations

import os

from query import TYPE_CHECKING
from query.errors import UsageError
from query.record import Record, field

if TYPE_CHECKING:
    from urllib.parse import SplitResult


SPARSE = "sparse"
LOCAL = "local"

# SourceKind discriminant of a local registry in cargo's SourceId hash (§6.2).
_LOCAL_REGISTRY_KIND = 4


class IndexSource(Record):
    """A resolved index location: ``url`` is its identity, ``base`` where files are read from."""

    kind: str
    url: str
    base: str = field(compare=False)
    dir_name: str = field(compare=False)

    def __repr__(self) -> str:
        return f"IndexSource({self.kind!r}, {self.url!r})"


def redacted(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``. Plain string work, so it never
    raises, even for the malformed URLs (bad port, broken IPv6) it is used to report."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority = rest[:end]
    if "@" not in authority:
        return url
    return f"{scheme}://***@{authority.rpartition('@')[2]}{rest[end:]}"


#: Characters that send a URL through ``urllib.parse`` (credentials, IPv6 literals, escapes,
#: queries, fragments, white space); URLs without them are checked by plain string work.
_UNUSUAL = frozenset("@[]%?#\\ \t\r\n")


def _is_plain_http_url(url: str) -> bool:
    """Whether ``url`` is ``http(s)://host[:port]/...`` with nothing `urlsplit` would treat
    specially: nearly every index URL is of this plain form, and ``urllib.parse`` (with
    ``ipaddress``) stays unimported (docs/performance.md); anything else takes the full
    `urlsplit` checks. Pinned to `urlsplit` by tests/test_source.py."""
    scheme, sep, rest = url.partition("://")
    if scheme not in ("http", "https") or not sep or not url.isascii():
        return False
    if not _UNUSUAL.isdisjoint(url):
        return False
    host, colon, port = rest.partition("/")[0].partition(":")
    if not host or not host.replace(".", "").replace("-", "").replace("_", "").isalnum():
        return False
    return not colon or (port.isdigit() and int(port) <= 65535)


def url_origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` as ``urlsplit`` reads them (host lower-cased, port None when
    absent): what decides whether a URL is on the registry's own host. Plain URLs are split
    by string work, without importing ``urllib.parse``."""
    if _is_plain_http_url(url):
        scheme, _, rest = url.partition("://")
        host, colon, port = rest.partition("/")[0].partition(":")
        return scheme, host.lower(), int(port) if colon else None
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _sparse(text: str) -> IndexSource:
    from cache.dirhash import source_dir_name

    http_url = text.removeprefix("sparse+")
    if not _is_plain_http_url(http_url):
        _check_unusual_url(text, http_url)
    if not http_url.endswith("/"):
        if text.startswith("sparse+"):
            raise UsageError(
                f"sparse registry url must end in a slash `/`: {text} (cargo refuses it too)"
            )
        http_url += "/"
    url = "sparse+" + http_url
    try:
        dir_name = source_dir_name(url)
    except ValueError as exc:  # cargo's URL parser refuses it (a space in the host, ...)
        raise UsageError(
            f"index URL {redacted(text)!r} is not a valid URL ({exc}): "
            "give sparse+https://host/path/"
        ) from None
    return IndexSource(kind=SPARSE, url=url, base=http_url, dir_name=dir_name)


def _check_unusual_url(text: str, http_url: str) -> None:
    """The full `urlsplit` checks of a sparse URL that is not of the plain form."""
    from urllib.parse import urlsplit

    parts: SplitResult
    try:
        parts = urlsplit(http_url)
        port = parts.port
    except ValueError as exc:
        raise UsageError(
            f"index URL {redacted(text)!r} is not a valid URL ({exc}): "
            "give sparse+https://host/path/"
        ) from None
    del port
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"index URL {redacted(text)!r} is not an http(s) URL: give sparse+https://host/path/"
        )
    if parts.username is not None or parts.password is not None:
        raise UsageError(
            f"index URL {redacted(text)!r} carries credentials: remove them from the URL "
            "and pass the token with --token or REGISTRY_TOKEN"
        )
    if parts.query or parts.fragment:
        raise UsageError(
            f"index URL {text!r} has a query or fragment: a sparse index URL is a plain "
            "directory URL ending in '/'"
        )


def _local(path: str) -> IndexSource:
    from cache.dirhash import short_hash

    absolute = os.path.abspath(path)
    if not os.path.isdir(absolute):
        raise UsageError(
            f"local index {path!r} is not a directory: give the folder that holds config.json"
        )
    url = "file://" + absolute
    return IndexSource(
        kind=LOCAL,
        url=url,
        base=absolute,
        dir_name="local-" + short_hash(_LOCAL_REGISTRY_KIND, url),
    )


def parse_index_url(text: str) -> IndexSource:
    """Resolve ``--index-url`` into an :class:`IndexSource` (raises :class:`UsageError`)."""
    text = text.strip()
    if not text:
        raise UsageError("index URL is empty: give sparse+https://host/path/ or a directory")
    if "\0" in text:
        raise UsageError("index URL contains a NUL byte")
    if text.startswith("sparse+") or text.startswith(("http://", "https://")):
        return _sparse(text)
    if text.startswith("file://"):
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            raise UsageError(
                f"index URL {redacted(text)!r} names a remote host: give file:///abs/dir"
            )
        return _local(unquote(parts.path))
    if text.startswith("registry+"):
        raise UsageError(
            f"index URL {redacted(text)!r} names a git registry: registry reads sparse "
            "indexes only; give the registry's sparse+https:// URL"
        )
    if "://" in text:
        raise UsageError(
            f"index URL {redacted(text)!r} has an unsupported scheme: "
            "give sparse+https://..., https://..., file://... or a directory"
        )
    return _local(text)

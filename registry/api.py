"""The public Python API: :class:`Registry`.

::

    from registry import Registry
    reg = Registry()                                   # crates.io, default cache dir
    reg.get("serde", "1.0.102").cksum                  # exact version: one blob parsed
    reg.query("log").version                           # newest candidate (a semver.Version)
    reg.query("serde", "^1.0").vers                    # newest candidate matching, as text
    [v.version for v in reg.versions("serde")]         # every version, oldest first
    reg.fetch(["serde", "tokio"])                      # warm the cache, one concurrent batch

Versions come back as ``semver.Version`` values (``.version``; python-semver, imported on first
use) and as the index's own text (``IndexEntry.vers``, ``VersionInfo.text``).

A `Registry` holds an :class:`~registry.index.loader.IndexLoader`, which keeps each crate's
cache entry current; the registry parses only the lines it answers with.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from cache.format import CacheFormatError, find_exact, iter_keys
from cache.store import IndexStore
from query import TYPE_CHECKING
from query.cargo_facts import CRATES_IO_SPARSE
from query.entry import EntryError, EntryMemo, IndexEntry, entry_from_line
from query.record import Record
from registry import USER_AGENT
from registry.config.index_url import SPARSE, parse_index_url
from registry.errors import (
    CacheEntryError,
    NotFoundError,
    OtherPackageError,
    RegistryError,
    UnusableCrateError,
    UsageError,
)
from registry.index.loader import IndexLoader
from registry.options import DEFAULT_TIMEOUT, default_cache_dir

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Self, TypeVar

    import httpx
    import semver

    from query.requirement import Requirement
    from registry.config.index_url import IndexSource
    from registry.config.settings import Settings
    from registry.transport.base import Transport
    from registry.transport.preconnect import Preconnected

    _T = TypeVar("_T")

__all__ = ["FetchReport", "Registry", "VersionInfo"]


class VersionInfo(Record):
    """One published version: its text as the index spells it, whether it is yanked, and its
    status as cargo classifies its index line (``candidate``, ``yanked``, ``invalid``,
    ``unsupported``: see :mod:`query.entry`)."""

    text: str
    yanked: bool
    status: str = "candidate"

    @property
    def version(self) -> semver.Version:
        """The version as a ``semver.Version`` (imported on first use). Its ``==`` ignores build
        metadata, where cargo's does not: compare ``text`` when that matters."""
        from query.version import parse_version

        return parse_version(self.text)


class FetchReport(Record):
    """What :meth:`Registry.fetch` did: counts per outcome and the errors by crate name
    (hashing raises TypeError: ``errors`` is a dict)."""

    downloaded: int
    unchanged: int
    cached: int
    not_found: tuple[str, ...]
    errors: dict[str, RegistryError]


class Registry:
    """A sparse (or local) index with its on-disk summaries cache."""

    def __init__(
        self,
        index_url: str = CRATES_IO_SPARSE,
        cache_dir: str | os.PathLike[str] | None = None,
        *,
        offline: bool = False,
        refresh: bool = False,
        token: str | None = None,
        transport: Transport | None = None,
        httpx_client: httpx.Client | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        warn: Callable[[str], None] | None = None,
        progress: Callable[[int], None] | None = None,
        settings: Settings | None = None,
        status: Callable[[str], None] | None = None,
    ) -> None:
        """``settings``: cargo's network configuration (`Settings.from_cargo()` reads it as the
        command line does: http.cainfo, http.proxy, http.timeout, net.retry, net.offline, ...);
        when given, its timeout replaces ``timeout``, and its net.offline turns ``offline`` on.
        ``cache_dir`` may start with ``~``. ``warn`` gets warnings (a cache that could not be
        written), ``status`` notices of a wait (the package-cache lock held by cargo or another
        process), ``progress`` the number of index files each request batch finished."""
        source = parse_index_url(index_url)
        store = IndexStore(
            os.path.expanduser(cache_dir) if cache_dir is not None else default_cache_dir(),
            source.dir_name,
            # a sparse index may find entries in the directory cargo <= 1.84 kept for it
            source_url=source.url if source.kind == SPARSE else None,
            on_lock_wait=status,
        )

        def connect(preconnected: Preconnected | None) -> Transport:
            if transport is not None:
                return transport
            from registry.transport import open_transport

            if token is not None and httpx_client is None:
                _refuse_token_through_proxy(source.base, settings)
            options = settings.transport_options() if settings is not None else None
            return open_transport(timeout, httpx_client, options, preconnected)

        def preconnect(requests: int) -> Preconnected | None:
            if transport is not None or httpx_client is not None:
                return None  # not our libcurl transport
            from registry.transport.base import TransportOptions
            from registry.transport.preconnect import open_connections

            options = settings.transport_options() if settings is not None else TransportOptions()
            return open_connections(source.base, requests, options, os.environ)

        self._loader = IndexLoader(
            source,
            store,
            connect,
            offline=offline or (settings is not None and settings.offline),
            refresh=refresh,
            token=token,
            warn=warn,
            progress=progress,
            retries=settings.retry if settings is not None else None,
            user_agent=settings.user_agent if settings is not None else USER_AGENT,
            preconnect=preconnect if source.kind == SPARSE else None,
        )
        # what classifying lines shares (parsed requirements, target verdicts...)
        self._memo = EntryMemo()

    def __repr__(self) -> str:
        return f"Registry({self.source.url!r}, cache_dir={str(self.cache_root)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._loader.close()

    # -- what the loader knows ----------------------------------------------------------------

    @property
    def source(self) -> IndexSource:
        return self._loader.source

    @property
    def store(self) -> IndexStore:
        return self._loader.store

    @property
    def offline(self) -> bool:
        return self._loader.offline

    @property
    def cache_root(self) -> Path:
        """The cache directory (``--cache-dir``)."""
        from pathlib import Path

        return Path(self._loader.store.root_path)

    @property
    def progress(self) -> Callable[[int], None] | None:
        """Called with the number of index files a request batch finished (progress bars)."""
        return self._loader.progress

    @progress.setter
    def progress(self, value: Callable[[int], None] | None) -> None:
        self._loader.progress = value

    @property
    def requests_made(self) -> int:
        return self._loader.requests_made

    @property
    def downloaded(self) -> int:
        return self._loader.downloaded

    @property
    def unchanged(self) -> int:
        return self._loader.unchanged

    def expect(self, count: int) -> None:
        """About ``count`` crates are to be loaded or fetched next: when every one will be asked
        of the index anyway (``refresh``, or an empty cache), their connections open now, while
        the caller works out which crates they are (see :meth:`IndexLoader.expect`). A guess
        only costs connections: the batch opens what it lacks, and closes what it leaves."""
        self._loader.expect(count)

    def load(
        self, names: Iterable[str], *, force: bool = False
    ) -> dict[str, bytes | RegistryError]:
        """Make each crate's cache entry current; its ``.cache`` bytes or the error, by name
        (see :meth:`IndexLoader.load`)."""
        return self._loader.load(names, force=force)

    def may_revalidate(self, name: str) -> bool:
        """Could a request in this run still find versions the cache lacks?"""
        return self._loader.may_revalidate(name)

    def files_consulted(self) -> list[str]:
        """The cache files this registry read or wrote (for null-build fingerprints)."""
        return self._loader.files_consulted()

    def fresh_until(self) -> float | None:
        """When the first consulted entry is due for revalidation (None: already, or never)."""
        return self._loader.fresh_until()

    # -- reading cache bytes ------------------------------------------------------------------

    def entry_in(self, data: bytes, name: str, version: str) -> IndexEntry | None:
        """The entry for ``version`` in cache bytes from `load`, parsing that line only; None
        when there is no such version. :class:`OtherPackageError` when the line of that
        version names another package."""
        try:  # `_find`, inline: this runs once per locked package
            blob = find_exact(data, version, checked=True)
        except CacheFormatError:
            raise _unreadable(name) from None
        return None if blob is None else self._entry(name, version, blob)

    def newest_keys(self, data: bytes, count: int) -> list[str]:
        """The ``count`` newest version keys in cache bytes (for "did you mean" hints)."""
        from query.version import VersionError, parse_parts, version_key

        keyed = []
        for key in iter_keys(data):
            try:
                keyed.append((version_key(parse_parts(key)), key))
            except VersionError:
                continue
        keyed.sort(reverse=True)
        return [key for _, key in keyed[:count]]

    def _entry_data(self, name: str) -> bytes:
        value = self.load([name])[name]
        if isinstance(value, RegistryError):
            raise value
        return value

    # -- queries ----------------------------------------------------------------------------

    def _entry(self, name: str, version: str, blob: bytes) -> IndexEntry:
        """The entry of one cached line, classified as cargo does (:mod:`query.entry`).

        Names are compared exactly, as cargo does (``matches_id``): a line of another name
        (``Probe`` in the file of ``probe``, or another crate's line) is another package's:
        OtherPackageError (not found), as cargo says "no matching package". A line whose
        version is not its cache key, or that cargo would not keep, means a damaged or foreign
        cache entry: CacheEntryError, which `_repairing` answers with one refetch.
        """
        try:
            entry = entry_from_line(blob, memo=self._memo)
        except EntryError:
            entry = None
        if entry is None or entry.vers != version:
            hint = (
                "run without --offline to refetch it"
                if self.offline
                else f"the index file in {self.source.base} is inconsistent"
            )
            raise CacheEntryError(
                f"cache entry for {name} holds a line that is not {name} {version}; {hint}"
            )
        if entry.name != name:
            raise OtherPackageError(
                f"{name} has no version {version} in {self.source.base}: the index line of "
                f"{version} is for a package named {entry.name!r} (names match exactly)",
                entry.name,
            )
        return entry

    def _repairing(self, name: str, answer: Callable[[], _T]) -> _T:
        """``answer()``; when it meets an unreadable or foreign line, refetch and answer again."""
        try:
            return answer()
        except CacheEntryError as exc:
            failure = exc
        # Out of the handler, without its traceback or the exception it replaced: the failed
        # attempt's frames, and the cache bytes they hold, are freed before the refetch.
        failure.__traceback__ = failure.__context__ = failure.__cause__ = None
        if not self._loader.refetch(name):
            raise failure
        return answer()

    def get(self, name: str, version: str) -> IndexEntry:
        """The entry for exactly ``version`` (build metadata included). Parses one line only."""
        return self._repairing(name, lambda: self._get(name, version))

    def _get(self, name: str, version: str) -> IndexEntry:
        data = self._entry_data(name)
        blob = self._find(data, version, name)
        if blob is None and self._loader.may_revalidate(name):
            # A version missing from the cache: revalidate once, as cargo does (§4.8).
            value = self._loader.load([name], force=True)[name]
            if isinstance(value, RegistryError):
                raise value
            blob = self._find(value, version, name)
        if blob is None:
            raise NotFoundError(f"{name} has no version {version} in {self.source.base}")
        return self._entry(name, version, blob)

    def _find(self, data: bytes, version: str, name: str) -> bytes | None:
        """The blob of ``version`` in cache bytes from `load` (whose structure was checked
        when read, or built by us: not scanned again per lookup)."""
        try:
            return find_exact(data, version, checked=True)
        except CacheFormatError:
            raise _unreadable(name) from None

    def _keys(self, name: str, data: bytes) -> list[str]:
        try:
            return iter_keys(data)
        except CacheFormatError:
            raise _unreadable(name) from None

    def _matching(
        self, name: str, requirement: str | Requirement | None
    ) -> tuple[bytes, list[str]]:
        """Cache bytes and matching version keys, newest first (no blob is parsed)."""
        from query.requirement import Requirement
        from query.version import VersionError, parse_parts, version_key

        if requirement is None:
            req = Requirement.parse("*")
        elif isinstance(requirement, str):
            req = Requirement.parse(requirement)
        else:
            req = requirement
        data = self._entry_data(name)
        parsed = []
        for key in self._keys(name, data):
            try:
                version = parse_parts(key)
            except VersionError:
                continue
            if req.matches(version):
                parsed.append((version_key(version), key))
        parsed.sort(reverse=True)
        return data, [key for _, key in parsed]

    def query(self, name: str, requirement: str | Requirement | None = None) -> IndexEntry:
        """The newest candidate (not yanked, supported, valid) matching ``requirement``.

        With no requirement, the newest that is not a pre-release. Lines are parsed newest
        first until one is a candidate: usually exactly one.
        """
        return self._repairing(name, lambda: self._query(name, requirement))

    def _query(self, name: str, requirement: str | Requirement | None) -> IndexEntry:
        data, keys = self._matching(name, requirement)
        skipped: list[str] = []
        for key in keys:
            blob = self._find(data, key, name)
            if blob is None:
                continue
            try:
                entry = self._entry(name, key, blob)
            except OtherPackageError:
                continue  # another package's line
            if entry.selectable:
                return entry
            skipped.append(f"{key} ({entry.status})")
        wanted = f" matching {requirement}" if requirement is not None else ""
        detail = f"; not selectable: {', '.join(skipped[:5])}" if skipped else ""
        raise NotFoundError(f"{name} has no usable version{wanted}{detail}")

    def query_all(
        self, name: str, requirement: str | Requirement | None = None
    ) -> list[IndexEntry]:
        """Every entry matching ``requirement`` (yanked ones included), oldest first."""
        return self._repairing(name, lambda: self._query_all(name, requirement))

    def _query_all(self, name: str, requirement: str | Requirement | None) -> list[IndexEntry]:
        data, keys = self._matching(name, requirement)
        entries = []
        for key in reversed(keys):
            blob = self._find(data, key, name)
            if blob is not None:
                try:
                    entries.append(self._entry(name, key, blob))
                except OtherPackageError:
                    continue
        if not entries:
            wanted = f" matching {requirement}" if requirement is not None else ""
            raise NotFoundError(f"{name} has no version{wanted}")
        return entries

    def versions(self, name: str) -> list[VersionInfo]:
        """Every version of ``name`` in cargo's order, each line classified as cargo does
        (yanked ones marked); lines of another name (another case) are left out."""
        return self._repairing(name, lambda: self._versions(name))

    def _versions(self, name: str) -> list[VersionInfo]:
        from cache.format import parse
        from query.version import VersionError, parse_parts, version_key

        data = self._entry_data(name)
        try:
            entries = dict(parse(data).entries)  # one pass over the file; later duplicates win
        except CacheFormatError:
            raise _unreadable(name) from None
        rows = []
        for key, blob in entries.items():
            try:
                parsed = parse_parts(key)
            except VersionError:
                continue
            try:
                entry = self._entry(name, key, blob)
            except OtherPackageError:
                continue
            rows.append((version_key(parsed), VersionInfo(key, entry.yanked, entry.status)))
        rows.sort(key=lambda row: row[0])
        return [info for _, info in rows]

    def fetch(self, names: Iterable[str]) -> FetchReport:
        """Bring every named crate's cache entry up to date in one concurrent batch."""
        names = list(dict.fromkeys(names))
        downloaded, unchanged = self.downloaded, self.unchanged
        results = self._loader.update(names)
        errors: dict[str, RegistryError] = {}
        not_found: list[str] = []
        for name, value in results.items():
            if isinstance(value, NotFoundError) and not isinstance(value, UnusableCrateError):
                not_found.append(name)
            elif isinstance(value, RegistryError):
                errors[name] = value
        fetched = self.downloaded - downloaded
        revalidated = self.unchanged - unchanged
        return FetchReport(
            downloaded=fetched,
            unchanged=revalidated,
            cached=len(results) - len(errors) - len(not_found) - fetched - revalidated,
            not_found=tuple(not_found),
            errors=errors,
        )


def _refuse_token_through_proxy(base: str, settings: Settings | None) -> None:
    """A token for a cleartext http:// index never goes through a proxy: the proxy (and every
    hop to it) would read it. UsageError naming the way out."""
    if not base.startswith("http://"):
        return  # https:// goes through a proxy as a CONNECT tunnel, the token inside TLS
    from registry.config.settings import proxy_for

    proxy = proxy_for(base, settings.proxy if settings is not None else None, os.environ)
    if proxy is not None:
        from registry.config.index_url import redacted

        raise UsageError(
            f"{base}: refusing to send the registry token through the proxy "
            f"{redacted(proxy)} in clear text: use the registry's https:// URL, or exclude "
            "its host from the proxy with NO_PROXY"
        )


def _unreadable(name: str) -> CacheEntryError:
    return CacheEntryError(
        f"cache entry for {name} is unreadable; run without --offline to refetch"
    )

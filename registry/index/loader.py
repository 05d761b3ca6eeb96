"""`IndexLoader`: keeps one registry's cache entries current; :class:`registry.api.Registry`
holds one and parses the lines it answers with.

How a crate's cache entry is made current (:meth:`IndexLoader.load`), once per instance:

    offline ........................ the cache as it is (missing: OfflineError;
                                     unreadable: CacheEntryError)
    local index directory .......... re-read when the file's (mtime, size) changed
    sparse, fresh by max-age ....... the cache, no request
    sparse, otherwise .............. one conditional request (unconditional when the cache is
                                     missing or unreadable), 200 rewrites the entry,
                                     404/410/451 deletes it

A file (downloaded, or read from a local index) in which not one line is an index entry cargo
could read (an HTML page from a captive portal, binary junk, an empty body) is not an index
file: nothing is cached or overwritten, and the crate's answer is `NotAnIndexFileError`
("could not check", exit 3). A file with at least one such line is cached as cargo would;
unless one of its lines makes cargo 1.95 panic (registry/index/index_file.py `index_lines`):
cargo can then use no version of the crate and caches nothing, and neither do we
(`UnusableCrateError`).

All requests of one :meth:`load` call go out as one concurrent batch (two when it both
revalidates cached entries and fetches missing ones). config.json, when it must be fetched (not
stored yet, or --refresh), goes in the first batch with the index files instead of a round trip
of its own; if its answer switches authentication on (cargo's 401 dance, or ``auth-required``),
what went without the token is asked again with it. A first contact given a token is the
exception: config.json goes alone, so no request goes out twice.

Entries MISSING from the cache (absent or unreadable) are coalesced under cargo's package-cache
lock, so that concurrent processes wanting the same missing file cost about one download: take
the lock, re-read those entries (another process, cargo or us, may have just written them: that
copy is used as is, counted as revalidated), fetch only the still-missing ones, write them,
release. The lock is held only for that. Revalidations of cached entries go out unlocked and take
the lock only to write. If the lock cannot be taken (timeout, read-only or full disk), the missing
entries are fetched anyway and not written (one warning). Repairs of a foreign line
(:meth:`IndexLoader.refetch`) always refetch.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from itertools import islice
from stat import S_ISREG

from cache.format import CacheFormatError, check_structure, read_header, serialize_lines
from cache.freshness import is_fresh, read_max_age
from cache.integrity import CORRUPT, FOREIGN, VERIFIED, check
from cache.pathstr import exists
from cache.store import CacheReadError, IndexStore
from query import TYPE_CHECKING
from query.names import CrateNameError, index_path
from registry import USER_AGENT
from registry.config.index_url import LOCAL, IndexSource
from registry.errors import (
    CacheEntryError,
    NotAnIndexFileError,
    NotFoundError,
    OfflineError,
    RegistryConfigError,
    RegistryError,
    UnusableCrateError,
    UsageError,
)
from registry.options import MAX_BODY_BYTES

if TYPE_CHECKING:
    from typing import Any, Self, TypeAlias

    from registry.index.sparse import Fetched, FetchResult, SparseClient
    from registry.transport.base import Transport
    from registry.transport.preconnect import Preconnected

    #: Downloads built: their .cache bytes and kept lines' spans by path, the write problems,
    #: the files cargo would crash on.
    _Built: TypeAlias = tuple[
        dict[str, bytes],
        dict[str, list[tuple[str, int, int]]],
        list[str],
        dict[str, tuple[str, str]],
    ]


# Downloads worth building and writing in two processes (registry/parallel.py).
_PARALLEL_WRITES = 16


def _body_size(item: tuple[str, Fetched]) -> int:
    """What building and writing a downloaded file costs, roughly: its size."""
    return len(item[1].body)


def _local_version(stat: os.stat_result) -> str:
    return f'etag: "local-{stat.st_mtime_ns}-{stat.st_size}"'


class IndexLoader:
    """The cache entries of one index, made current on demand (see the module docstring)."""

    def __init__(
        self,
        source: IndexSource,
        store: IndexStore,
        connect: Callable[[Preconnected | None], Transport],
        *,
        offline: bool,
        refresh: bool,
        token: str | None,
        warn: Callable[[str], None] | None,
        progress: Callable[[int], None] | None,
        retries: int | None = None,
        user_agent: str = USER_AGENT,
        preconnect: Callable[[int], Preconnected | None] | None = None,
    ) -> None:
        """``connect`` opens the transport on the first request (never, offline), taking what
        ``preconnect`` opened when the first batch's size was known (given the number of
        requests: :mod:`registry.transport.preconnect`); ``retries`` and ``user_agent`` are
        cargo's net.retry and http.user-agent (None: cargo's 3)."""
        self.source = source
        self.store = store
        self._connect = connect
        self._preconnect = preconnect
        self._preconnected: Preconnected | None = None
        self._transport: Transport | None = None
        self.progress = progress
        self.offline = offline
        self.refresh = refresh
        self._token = token
        self._retries = retries
        self._user_agent = user_agent
        self._warn = warn
        self._warned: set[str] = set()
        self._write_warned = False
        self._client: SparseClient | None = None
        # the .cache bytes of the entries this instance answered with, by rel; those a forked
        # child built are rebuilt here only when read (`_bytes`: a `fetch` reads none)
        self._data: dict[str, bytes] = {}
        self._unbuilt: dict[str, Callable[[], bytes]] = {}
        self._revalidated: set[str] = set()
        self._repaired: set[str] = set()
        # Entries another writer (cargo) replaced since we wrote them (cache/integrity.py).
        self._foreign: set[str] = set()
        self.downloaded = 0
        self.unchanged = 0

    # -- plumbing ---------------------------------------------------------------------------

    def warn_once(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            if self._warn is not None:
                self._warn(message)

    def _write_problems(self, problems: list[str]) -> None:
        """Cache write failures: one warning per invocation, like cargo (§5.1)."""
        if problems and not self._write_warned:
            self._write_warned = True
            self.warn_once(problems[0])

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        if self._preconnected is not None:
            self._preconnected.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def requests_made(self) -> int:
        return self._client.requests_made if self._client is not None else 0

    def expect(self, count: int) -> None:
        """About ``count`` entries are to be loaded next (a caller's guess, before it has their
        names): when each will be asked of the index whatever the cache holds (--refresh, or a
        cache holding no entry at all), their batch's connections open now (`_expect`), while
        the caller reads the names and the cache is looked at."""
        if self.source.kind == LOCAL or self.offline or count <= 0:
            return
        if self.refresh or not self.store.holds_entries():
            self._expect(count)

    def _expect(self, requests: int) -> None:
        """The first batch will send ``requests`` (and config.json, maybe): its connections are
        opened now, while the rest is prepared (once, before the transport exists)."""
        preconnect, self._preconnect = self._preconnect, None
        if preconnect is not None and self._transport is None and requests:
            self._preconnected = preconnect(requests + 1)

    def _sparse(self) -> SparseClient:
        """The client, config.json settled (its own request when it must be fetched)."""
        if self._client is None:
            self._configure(())
        assert self._client is not None
        return self._client

    def _configure(
        self,
        items: Sequence[tuple[str, str | None]],
        on_done: Callable[[int], None] | None = None,
        while_waiting: Callable[[], bool] | None = None,
    ) -> dict[str, FetchResult | RegistryError] | None:
        """Settle config.json: the stored copy when there is one (and no --refresh), else
        fetched, with ``items`` (index paths and cached versions) in the same batch, so that
        it costs no round trip of its own (a --refresh sends the token with them when the
        stored copy asked for it). Returns the items' results when they went with it and
        stand; None when they did not go (a first contact with a token: config.json goes
        alone, so the token dance settles first), or must be asked again because config.json
        switched authentication on (they went without the token)."""
        from registry.index.sparse import SparseClient, fixed_sleep_ms

        if self._transport is None:
            self._transport = self._connect(self._preconnected)
            self._preconnected = None
        client = SparseClient(
            self.source.base,
            self._transport,
            user_agent=self._user_agent,
            token=self._token,
            fixed_sleep=fixed_sleep_ms(os.environ.get("REGISTRY_RETRY_SLEEP_MS")),
        )
        if self._retries is not None:  # else SparseClient's default: cargo's 3
            client.retries = self._retries
        try:
            stored = self.store.read_config()
        except CacheReadError:  # unreadable (e.g. the cache dir is not a directory): refetch
            stored = None
        config = None if self.refresh else stored
        parsed = _parse_config(config) if config is not None else None
        results = None
        if parsed is None:
            presumed = _parse_config(stored) if stored is not None else None
            if presumed is None and self._token is not None:
                # a first contact with a token: config.json alone says whether to send it
                # (cargo's 401 dance) before hundreds of requests go out
                items = ()
            elif presumed is not None and presumed.get("auth-required") is True:
                client.auth_required = self._token is not None  # as last time (--refresh)
            config, results = client.fetch_config_with(items, on_done, while_waiting)
            if not items:
                results = None
            parsed = _parse_config(config)
            if parsed is None:
                raise RegistryConfigError(
                    f'{self.source.base}config.json is not a JSON object with a "dl" string: '
                    "is the index URL right?"
                )
            if config != stored:  # a --refresh that finds it unchanged writes nothing
                self._write_problems(self.store.write_config(config))
        if parsed.get("auth-required") is True:
            if self._token is None:
                raise RegistryConfigError(
                    f"{self.source.base}: the registry requires authentication "
                    "(auth-required in config.json): pass a token with --token or REGISTRY_TOKEN"
                )
            if not client.auth_required:
                client.auth_required = True
                results = None
        self._client = client
        return results

    # -- loading cache entries --------------------------------------------------------------

    def _read_cached(self, rel: str) -> tuple[bytes | None, str | None, bool]:
        """(data, index version, unreadable) of a cache entry; reads take no lock."""
        try:
            found = self.store.read_with_record(rel)
        except CacheReadError:
            return None, None, True
        if found is None:
            return None, None, False
        data, record = found
        try:
            version, _ = read_header(data)
        except CacheFormatError:
            return None, None, True
        state = check(data, record)
        if state == CORRUPT:  # changed behind our back: bit rot, truncation, a stray write
            return None, None, True
        if state != VERIFIED:  # not exactly the bytes we wrote: check the structure
            try:
                check_structure(data)  # the body ends in a complete entry
            except CacheFormatError:
                return None, None, True
        if state == FOREIGN:
            self._foreign.add(rel)
        return data, version, False

    def load(
        self, names: Iterable[str], *, force: bool = False
    ) -> dict[str, bytes | RegistryError]:
        """Make each crate's cache entry current; its ``.cache`` bytes or the error, by name.

        ``force`` revalidates even entries used or revalidated earlier (never offline).
        """
        return {
            name: self._bytes(rel) if value is None else value
            for name, (rel, value) in self._load_names(names, force).items()
        }

    def update(self, names: Iterable[str]) -> dict[str, RegistryError | None]:
        """`load` for what it makes current, not for the bytes: None or the error, by name
        (the bytes a forked child built are not rebuilt here)."""
        return {
            name: value if isinstance(value, RegistryError) else None
            for name, (_rel, value) in self._load_names(names, False).items()
        }

    def _load_names(
        self, names: Iterable[str], force: bool
    ) -> dict[str, tuple[str, bytes | RegistryError | None]]:
        results: dict[str, tuple[str, bytes | RegistryError | None]] = {}
        wanted: dict[str, str] = {}
        for name in names:
            try:
                wanted[name] = index_path(name)
            except CrateNameError as exc:
                results[name] = ("", UsageError(str(exc)))
        by_rel: dict[str, list[str]] = {}
        for name, rel in wanted.items():
            by_rel.setdefault(rel, []).append(name)
        outcome = self._load_paths(list(by_rel), force=force and not self.offline)
        for rel, value in outcome.items():
            for name in by_rel[rel]:
                results[name] = (rel, value)
        return results

    def _bytes(self, rel: str) -> bytes:
        """The bytes of an entry answered with (built now if a forked child built it)."""
        build = self._unbuilt.pop(rel, None)
        if build is not None:
            self._data[rel] = build()
        return self._data[rel]

    def _keep(self, rel: str, data: bytes) -> bytes:
        """``data`` as the bytes of ``rel`` this instance answers with."""
        self._unbuilt.pop(rel, None)
        self._data[rel] = data
        return data

    def _load_paths(
        self, rels: Sequence[str], force: bool = False
    ) -> dict[str, bytes | RegistryError | None]:
        """Each entry's bytes, or None when a forked child built them (`_bytes` does here),
        or the error."""
        out: dict[str, bytes | RegistryError | None] = {}
        to_fetch: list[tuple[str, str | None]] = []
        cached: dict[str, bytes] = {}
        # versions read from the entries' headers alone (see below), by rel
        peeked: dict[str, str] = {}
        now = time.time()
        if self.source.kind != LOCAL and not self.offline and (force or self.refresh):
            # every entry not answered yet is asked about: the requests are known already
            self._expect(len(rels) if force else sum(not self._answered(rel) for rel in rels))
        for rel in rels:
            if not force and self._answered(rel):
                out[rel] = self._data.get(rel)  # None: built when read
                continue
            if (
                self.source.kind != LOCAL
                and not self.offline
                and (force or (self.refresh and rel not in self._revalidated))
            ):
                # asked about whatever it holds: its conditional request needs only the version
                # in its header, and the entry is read whole and checked while the request is in
                # flight (`_fetch`)
                peek = self.store.peek_version(rel)
                if peek is not None:
                    peeked[rel] = peek
                    to_fetch.append((rel, peek))
                    continue
            data, version, unreadable = self._read_cached(rel)
            if self.source.kind == LOCAL:
                out[rel] = self._load_local(rel, data, version)
                continue
            if self.offline:
                out[rel] = self._offline_answer(rel, data, unreadable)
                continue
            if data is not None:
                cached[rel] = data
                if rel in self._revalidated and not force:
                    out[rel] = self._data.setdefault(rel, data)
                    continue
                if (
                    not self.refresh
                    and not force
                    and rel not in self._foreign
                    and not self.store.is_seeded(rel)  # a seed is never fresh by our sidecar
                ):
                    fresh = read_max_age(self.store.sidecar_path(rel))
                    if fresh is not None and is_fresh(fresh[0], fresh[1], now):
                        out[rel] = self._data.setdefault(rel, data)
                        continue
            to_fetch.append((rel, version))
        if to_fetch:
            self._expect(len(to_fetch))
            out.update(self._fetch_coalesced(to_fetch, cached, peeked))
        return out

    def _answered(self, rel: str) -> bool:
        return rel in self._data or rel in self._unbuilt

    def _offline_answer(
        self, rel: str, data: bytes | None, unreadable: bool
    ) -> bytes | RegistryError:
        if data is not None:
            self._data[rel] = data
            return data
        name = rel.rsplit("/", 1)[-1]
        if unreadable:
            return CacheEntryError(
                f"cache entry for {name} is unreadable ({self.store.entry_path(rel)}); "
                "run without --offline to refetch"
            )
        return OfflineError(
            f"{name} is not in the cache, and --offline was given: run without --offline"
        )

    def _load_local(
        self, rel: str, data: bytes | None, version: str | None
    ) -> bytes | RegistryError:
        path = os.path.join(self.source.base, rel)
        name = rel.rsplit("/", 1)[-1]
        try:
            stat = os.stat(path)
            current = _local_version(stat)
            if data is not None and version == current:
                self._data[rel] = data
                return data
            # O_NONBLOCK: a FIFO opens at once (a device may never end): regular files only
            with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb") as handle:
                opened = os.fstat(handle.fileno())
                if not S_ISREG(opened.st_mode):
                    return CacheEntryError(f"cannot read {path}: not a regular file")
                if opened.st_size > MAX_BODY_BYTES:
                    return CacheEntryError(f"cannot read {path}: {_too_large(opened.st_size)}")
                body = handle.read(opened.st_size + 1)
                if len(body) > opened.st_size:  # growing as we read: on, up to the limit
                    body += handle.read(MAX_BODY_BYTES + 1 - len(body))
        except FileNotFoundError:
            self._write({rel: None}, {})
            return NotFoundError(f"no crate named {name} in {self.source.base}")
        except OSError as exc:
            return CacheEntryError(f"cannot read {path}: {exc.strerror}")
        if len(body) > MAX_BODY_BYTES:  # grew since the stat
            return CacheEntryError(f"cannot read {path}: {_too_large(len(body))}")
        new, crash, _ = self._build(body, current)
        if new is None:
            return self._not_an_index_file(path, body)
        if crash is not None:
            return self._unusable(name, path, crash)
        self._write({rel: new}, {})
        self._data[rel] = new
        return new

    def _build(
        self, body: bytes, version: str, read: Callable[[bytes], object] | None = None
    ) -> tuple[bytes | None, tuple[str, str] | None, list[tuple[str, int, int]]]:
        """The ``.cache`` bytes of an index file (None when no line of it is an index entry),
        the line cargo would crash on (`index_lines`), if any, and the kept lines' spans."""
        from registry.index.index_file import index_lines

        lines, crash = index_lines(body, read)
        return (serialize_lines(version, body, lines) if lines else None), crash, lines

    def _not_an_index_file(self, where: str, body: bytes) -> NotAnIndexFileError:
        start = body[:48].decode("utf-8", "replace")
        shown = "".join(c if c.isprintable() else "?" for c in start)
        what = f"it starts with {shown!r}" if body.strip() else "it is empty"
        return NotAnIndexFileError(
            f"{where} is not an index file (no line of it is an index entry; {what}); nothing "
            "was cached: is the index URL right, or is a proxy or captive portal answering?"
        )

    def _unusable(self, name: str, where: str, crash: tuple[str, str]) -> UnusableCrateError:
        version, why = crash
        return UnusableCrateError(
            f"cargo 1.95 crashes reading the index file of {name} ({where}): its line of "
            f"{version} has {why.split(' (')[0]}; no version of {name} is usable from it, and "
            "nothing was cached"
        )

    def _write(self, items: dict[str, bytes | None], max_ages: dict[str, int]) -> None:
        self._write_problems(self.store.write_many(items, max_ages, record_sums=True))

    def _fetch_coalesced(
        self,
        items: list[tuple[str, str | None]],
        cached: dict[str, bytes],
        peeked: dict[str, str],
    ) -> dict[str, bytes | RegistryError | None]:
        """`_fetch`, with the entries missing from the cache coalesced under the lock."""
        missing = [rel for rel, _ in items if rel not in cached and rel not in peeked]
        if not missing:
            return self._fetch(items, cached, peeked=peeked)
        revalidate = [item for item in items if item[0] in cached or item[0] in peeked]
        out = self._fetch(revalidate, cached, peeked=peeked) if revalidate else {}
        with self.store.holding_lock():
            still_missing: list[tuple[str, str | None]] = []
            for rel in missing:
                data, _version, _unreadable = self._read_cached(rel)
                if data is None:
                    still_missing.append((rel, None))
                    continue
                # Written by another process since we looked: as current as a download.
                out[rel] = self._keep(rel, data)
                self._revalidated.add(rel)
            if still_missing:
                out.update(self._fetch(still_missing, {}, reserve=True))
        return out

    def _fetch(
        self,
        items: list[tuple[str, str | None]],
        cached: dict[str, bytes],
        reserve: bool = False,
        peeked: dict[str, str] | None = None,
    ) -> dict[str, bytes | RegistryError | None]:
        """Fetch ``items`` and store what comes back (None: bytes built when read, `_bytes`),
        doing what needs no answer while the requests are in flight (`_WhileInFlight`):
        ``reserve`` (the files are missing and the lock is held) their temp files, check
        ``peeked`` entries (whose requests went out with the version read from their header
        alone) whole into ``cached``."""
        work = _WhileInFlight(
            self.store,
            self._read_cached,
            [rel for rel, _ in items] if reserve else [],
            peeked or {},
            cached,
        )
        try:
            return self._fetch_into(items, cached, work)
        finally:
            self.store.release(work.temps.values())  # those no write used up

    def _fetch_into(
        self, items: list[tuple[str, str | None]], cached: dict[str, bytes], work: _WhileInFlight
    ) -> dict[str, bytes | RegistryError | None]:
        from registry.index.sparse import CacheValid, Fetched, NotFound

        # config.json, when it must be fetched, goes in the first batch
        results = None
        if self._client is None:
            results = self._configure(items, self.progress, work)
        if results is None:
            results = self._sparse().fetch(items, self.progress, work)
        work.finish()
        # a peeked entry that is not what its request asked about: its 304 says nothing
        again = [(rel, None) for rel in work.broken if isinstance(results.get(rel), CacheValid)]
        if again:
            results.update(self._sparse().fetch(again))
        temps = work.temps
        out: dict[str, bytes | RegistryError | None] = {}
        writes: dict[str, bytes | None] = {}
        max_ages: dict[str, int] = {}
        fresh: list[str] = []
        # read from cargo <= 1.84's directory (cache/store.py, "Seeding"), now confirmed
        adopted: dict[str, bytes | None] = {}
        built, unbuilt, crashes = self._build_and_write(
            [(rel, result) for rel, result in results.items() if isinstance(result, Fetched)],
            temps,
        )
        for rel in (*built, *unbuilt):  # their temps are used up by their writes
            temps.pop(rel, None)
        for rel, result in results.items():
            name = rel.rsplit("/", 1)[-1]
            if isinstance(result, Fetched):
                found = built.get(rel)
                if rel in crashes:
                    out[rel] = self._unusable(name, self.source.base + rel, crashes[rel])
                    continue
                if found is None and rel not in unbuilt:
                    out[rel] = self._not_an_index_file(self.source.base + rel, result.body)
                    continue
                self._foreign.discard(rel)
                if result.max_age:
                    max_ages[rel] = result.max_age
                self.downloaded += 1
                if found is None:  # built by the forked child: rebuilt here when read
                    self._revalidated.add(rel)
                    self._data.pop(rel, None)
                    self._unbuilt[rel] = unbuilt[rel]
                    out[rel] = None
                    continue
                data = found
                out[rel] = data
            elif isinstance(result, CacheValid):
                data = cached[rel]
                self.unchanged += 1
                if result.max_age:
                    max_ages[rel] = result.max_age
                if self.store.is_seeded(rel):  # stored in our directory from now on
                    adopted[rel] = data
                    self._foreign.discard(rel)
                elif rel in self._foreign:  # another writer's entry, confirmed current: adopt it
                    self._foreign.discard(rel)
                    self._write_problems(self.store.write_sums({rel: data}))
                if result.max_age and rel not in adopted:
                    fresh.append(rel)
                out[rel] = data
            elif isinstance(result, NotFound):
                if rel in cached or exists(self.store.cache_path(rel)):
                    writes[rel] = None  # cargo deletes the entry, readable or not
                out[rel] = NotFoundError(f"no crate named {name} in {self.source.base}")
                continue
            else:
                out[rel] = result
                continue
            self._revalidated.add(rel)
            self._keep(rel, data)
        if writes:
            self._write(writes, max_ages)
        if adopted:
            self._write(adopted, max_ages)
        if fresh:
            self._write_problems(self.store.touch_fresh(fresh, max_ages))
        return out

    def _build_and_write(
        self, fetched: list[tuple[str, Fetched]], temps: dict[str, str]
    ) -> tuple[dict[str, bytes], dict[str, Callable[[], bytes]], dict[str, tuple[str, str]]]:
        """Build the ``.cache`` bytes of downloaded files and write them (with their max-age
        sidecars; into their ``temps`` when reserved), half of them in a forked child when there
        are many (registry/parallel.py): parsing every line of a file and creating it are the
        bulk of a cold fetch. Gives the bytes by path, and for the child's half what builds
        them again here when they are read, and the files cargo would crash on (`index_lines`;
        not written)."""
        if not fetched:
            return {}, {}, {}
        from registry.index.index_file import line_reader
        from registry.parallel import Codec, split_map

        # one JSON reader for the whole download, its import done once, before the fork
        read = line_reader(sum(len(f.body) for _, f in fetched))
        bodies = dict(fetched)

        def work(part: Sequence[tuple[str, Fetched]]) -> _Built:
            built: dict[str, bytes] = {}
            kept: dict[str, list[tuple[str, int, int]]] = {}
            crashes: dict[str, tuple[str, str]] = {}
            for rel, f in part:
                data, crash, lines = self._build(f.body, f.index_version, read)
                if data is None:
                    continue  # not an index file: nothing written
                if crash is not None:
                    crashes[rel] = crash  # cargo never caches such a file: neither do we
                    continue
                built[rel] = data
                kept[rel] = lines
            ages = {rel: f.max_age for rel, f in part if f.max_age and rel in built}
            problems = self.store.write_many(built, ages, record_sums=True, temps=temps)
            return built, kept, problems, crashes

        def unbuilt(value: tuple[dict[str, list[tuple[str, int, int]]], list[str], Any]) -> _Built:
            kept, problems, crashes = value
            return {}, kept, problems, crashes

        # The child's half comes back as the kept lines' spans (~2% of the bytes they span),
        # its .cache bytes rebuilt from the bodies this process holds only when read
        # (`_bytes`: a fetch reads none): sending the bytes themselves (7 MB for workspace800)
        # through the pipe cost more than rebuilding them, and rebuilding ~12 ms
        # (docs/performance.md)
        spans = Codec(lambda result: result[1:], unbuilt)
        if self.store.lock_held:  # a child shares this process's acquisition
            halves = split_map(
                work, fetched, min_items=_PARALLEL_WRITES, weight=_body_size, codec=spans
            )
        else:
            with self.store.holding_lock():  # one acquisition for both halves
                halves = split_map(
                    work, fetched, min_items=_PARALLEL_WRITES, weight=_body_size, codec=spans
                )
        out: dict[str, bytes] = {}
        later: dict[str, Callable[[], bytes]] = {}
        crashes: dict[str, tuple[str, str]] = {}
        for built, kept, problems, crashed in halves:
            out.update(built)
            for rel, lines in kept.items():
                if rel not in built:  # the child's
                    f = bodies[rel]
                    later[rel] = partial(serialize_lines, f.index_version, f.body, lines)
            crashes.update(crashed)
            self._write_problems(problems)
        return out, later, crashes

    def refetch(self, name: str) -> bool:
        """Rebuild a crate's cache entry from the source, unconditionally, once per instance
        (a repair: the entry held a line that is not what it should be). False when it may
        not (offline, or already repaired); raises the error the source gave."""
        if self.offline:
            return False
        rel = index_path(name)
        if rel in self._repaired:
            return False
        self._repaired.add(rel)
        self._data.pop(rel, None)  # the bytes being repaired: not kept alive while refetching
        self._unbuilt.pop(rel, None)
        value: bytes | RegistryError | None
        if self.source.kind == LOCAL:
            value = self._load_local(rel, None, None)
        else:
            value = self._fetch([(rel, None)], {})[rel]
        if isinstance(value, RegistryError):
            raise value
        return True

    def may_revalidate(self, name: str) -> bool:
        """Could a request in this run still find versions the cache lacks?"""
        if self.offline or self.source.kind == LOCAL:
            return False
        try:
            return index_path(name) not in self._revalidated
        except CrateNameError:
            return False

    def files_consulted(self) -> list[str]:
        """The cache files this instance read or wrote (for null-build fingerprints)."""
        return [self.store.entry_path(rel) for rel in sorted({*self._data, *self._unbuilt})]

    def fresh_until(self) -> float | None:
        """When the first consulted entry is due for revalidation (None: already, or never
        fresh); local and offline registries never are."""
        if self.offline or self.source.kind == LOCAL:
            return None
        until: float | None = None
        for rel in {*self._data, *self._unbuilt}:
            fresh = read_max_age(self.store.sidecar_path(rel))
            if fresh is None:
                return None
            end = fresh[0] + fresh[1]
            until = end if until is None else min(until, end)
        return until


#: Entries per slice of `_WhileInFlight`'s work: a few ms, between two looks at the network.
_SLICE = 32

#: Missing files from which a batch's download is likely over `STDLIB_JSON_BELOW` (~2 MiB at
#: ~20 KB a file), so that the faster reader is imported while it is in flight.
_FAST_READER_FILES = 100


class _WhileInFlight:
    """What a batch does while its requests are in flight, as `Transport.perform`'s
    ``while_waiting``: one slice of `_SLICE` entries per call, whenever the transport has nothing
    else to do, so that an answer waits at most one slice (on loopback, answers come almost at
    once and little of it runs in flight).

    * Import the faster JSON reader (~11 ms: registry/index/index_file.py `line_reader`) when
      many files are missing: it will read their lines.
    * Reserve the temp files of missing entries (`IndexStore.reserve`): creating files is most
      of what writing them costs. What is not reserved when the answers are in is written
      without one (in the forked half of the writes, too).
    * Check peeked entries whole (`IndexLoader._read_cached`) into ``cached``; one that fails,
      or changed since its header was read, goes to `broken` (its 304 says nothing about it).
      What is not checked in flight is checked by `finish`.
    """

    def __init__(
        self,
        store: IndexStore,
        read_cached: Callable[[str], tuple[bytes | None, str | None, bool]],
        reserve: list[str],
        peeked: dict[str, str],
        cached: dict[str, bytes],
    ) -> None:
        self.temps: dict[str, str] = {}
        self.broken: set[str] = set()
        self._store = store
        self._read_cached = read_cached
        self._reserve = reserve
        self._unchecked = dict(peeked)
        self._cached = cached
        self._slices = self._work()

    def __call__(self) -> bool:
        """One slice; False when nothing is left."""
        return next(self._slices, False)

    def finish(self) -> None:
        self._check(list(self._unchecked))

    def _work(self) -> Iterator[bool]:
        if len(self._reserve) >= _FAST_READER_FILES:
            from registry.index.index_file import import_fast_reader
            from registry.parallel import split_map  # noqa: F401 - imported for the build

            import_fast_reader()
            yield True
        for start in range(0, len(self._reserve), _SLICE):
            self.temps.update(self._store.reserve(self._reserve[start : start + _SLICE]))
            yield True
        while self._unchecked:
            self._check(list(islice(self._unchecked, _SLICE)))
            yield True

    def _check(self, rels: list[str]) -> None:
        for rel in rels:
            version = self._unchecked.pop(rel)
            data, found, _unreadable = self._read_cached(rel)
            if data is not None and found == version:
                self._cached[rel] = data
            else:
                self.broken.add(rel)


def _too_large(size: int) -> str:
    return f"{size} bytes is over the {MAX_BODY_BYTES >> 20} MiB limit of an index file"


def _parse_config(raw: bytes) -> dict[str, object] | None:
    import json

    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: [[[[...]]]]
        return None
    if not isinstance(data, dict) or not isinstance(data.get("dl"), str):
        return None
    return data

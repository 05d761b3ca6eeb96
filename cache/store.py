"""`IndexStore`: one registry's directory in a cargo-compatible cache (spec §5.1, §6).

Layout, under the cache root (``CARGO_HOME`` or our own cache dir)::

    <cache_root>/.package-cache                      the lock cargo flocks (cache/lock.py)
    <cache_root>/registry/CACHEDIR.TAG               written like cargo does
    <cache_root>/registry/index/<dir>/config.json    raw bytes of the registry's config.json
    <cache_root>/registry/index/<dir>/.cache/<rel>   cargo's summaries files (cache/format.py)
    <cache_root>/registry/index/<dir>/.registry/fresh/<rel>   our max-age sidecars
    <cache_root>/registry/index/<dir>/.registry/seeded-from   see "Seeding" below

``<dir>`` is ``cache.dirhash.source_dir_name(url)``; ``<rel>`` is the index path of a crate
(``se/rd/serde``). Reads take no lock: every write is an atomic replace. All writes happen under
one acquisition of the package-cache lock and never raise for I/O trouble (read-only or full
disk): they return warnings, since a cache that cannot be written must not stop an answer.
`IndexStore.holding_lock` keeps the lock across a read-check-fetch-write sequence (the client's
coalescing of missing entries); writes inside it do not take the lock again. Inside it, the
temp files of entries about to be written can be created ahead of their data (`reserve`, while
the downloads are in flight); a temp no write used up is removed (`release`), and one left by a
killed process is recognisable by its name (cache/atomic.py) and swept by ``cache clean``.
Reading an entry brings its access time up to date once a day (cache/lastuse.py: what ``cache
prune`` reads).

Seeding from cargo <= 1.84. Cargo 1.85 changed the directory hash (cache/dirhash.py), so a
``CARGO_HOME`` filled by an older cargo has ``registry/index/<host>-<old hash>/.cache`` and no
(or an empty) directory of the new name. A store given its ``source_url`` then reads an entry
missing from its own directory from the old one's ``.cache``: read-only (nothing there is ever
written, renamed or touched), and checked like any other entry by its reader (header,
integrity record, structure: registry/index/loader.py). Every write still goes to the new
directory; an entry read from the seed is copied there when the server confirms it (a 304).
Seeding applies while the new directory's ``.cache`` holds no file, and afterwards while the
marker ``.registry/seeded-from`` (written with the first entry stored while seeding) says this
directory started from the old one: a directory cargo >= 1.85 filled itself is never seeded.

Paths are strings spelled as ``str(pathlib.Path(...))`` would spell them (`cache.pathstr`):
this is on the start-up path, where ``pathlib`` stays unimported (docs/performance.md).
"""

from __future__ import annotations

import contextlib
import os

from cache.atomic import create_temp, is_temp_name, write_atomic
from cache.format import CacheFormatError, read_header
from cache.freshness import write_max_age
from cache.integrity import read_record, set_record
from cache.integrity import record as integrity_record
from cache.lastuse import stale_before, touch
from cache.lock import LOCK_TIMEOUT, CacheLockTimeout, PackageCacheLock, package_cache_lock
from cache.pathstr import exists, is_dir, is_symlink, joined, spelled
from query import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from cache.atomic import StrPath

__all__ = ["CACHEDIR_TAG", "SEED_MARKER", "CacheReadError", "IndexStore"]

#: cargo's ``registry/CACHEDIR.TAG``, byte for byte (§5.1; https://bford.info/cachedir/).
CACHEDIR_TAG = (
    b"Signature: 8a477f597d28d172789f06886806bc55\n"
    b"# This file is a cache directory tag created by cargo.\n"
    b"# For information about cache directory tags see https://bford.info/cachedir/\n"
)

#: ``.registry/<this>`` in a directory seeded from cargo <= 1.84's: the old directory's name.
SEED_MARKER = "seeded-from"

_READ_FLAGS = os.O_RDONLY | os.O_CLOEXEC
# Enough for any header `peek_version` meets in practice (an ETag or a Last-Modified date).
_PEEK_BYTES = 512


class CacheReadError(OSError):
    """A cache file exists but cannot be read (a directory in its place, EACCES, EIO, ...)."""


def _write_failure(path: str, exc: OSError) -> str:
    # Same wording as cargo's warning for a failed cache write (§5.1).
    return f"failed to write cache, path: {path}, error: {exc.strerror or exc}"


def _recorder(data: bytes) -> Callable[[int], bool]:
    """`write_atomic`'s ``finish``: the integrity record as the temp file's xattr."""
    return lambda fd: set_record(fd, data)


def _unlink(path: str) -> None:
    """``Path.unlink(missing_ok=True)``."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class IndexStore:
    """The cache directory of one registry: ``<cache_root>/registry/index/<dir_name>``."""

    def __init__(
        self,
        cache_root: StrPath,
        dir_name: str,
        *,
        lock_timeout: float = LOCK_TIMEOUT,
        source_url: str | None = None,
        on_lock_wait: Callable[[str], None] | None = None,
    ) -> None:
        """``source_url`` (a registry's source URL, as cache/dirhash.py takes it) lets the store
        read entries from the directory cargo <= 1.84 kept for that registry (the module
        docstring's "Seeding"). ``on_lock_wait`` gets one line when the package-cache lock is
        held elsewhere, before waiting for it (cache/lock.py)."""
        if not dir_name or dir_name in (".", "..") or "/" in dir_name or "\0" in dir_name:
            raise ValueError(f"invalid index directory name: {dir_name!r}")
        #: The cache root and this registry's directory, spelled as ``str(pathlib.Path(...))``.
        self.root_path = spelled(cache_root)
        self.dir_path = joined(self.root_path, "registry", "index", dir_name)
        self.lock_timeout = lock_timeout
        self.source_url = source_url
        self.on_lock_wait = on_lock_wait
        # Inside `holding_lock`: [] when the lock is held, [warning] when it could not be taken.
        self._held: list[str] | None = None
        # Access times before this are brought up to date when an entry is read.
        self._stale_before = stale_before()
        # The seed directory (cargo <= 1.84's), once looked for: None when there is none.
        self._seed: str | None = None
        self._seed_known = False
        # Entries last read from the seed and not yet stored here.
        self._seeded: set[str] = set()

    def __repr__(self) -> str:
        return f"IndexStore({self.dir_path!r})"

    # -- paths -----------------------------------------------------------------------------

    @staticmethod
    def _check_rel(rel: str) -> None:
        if (
            not rel
            or "\0" in rel
            or "\\" in rel
            or rel.startswith("/")
            or any(p in ("", ".", "..") for p in rel.split("/"))
        ):
            raise ValueError(f"invalid index path: {rel!r}")

    def cache_path(self, rel: str) -> str:
        """``.dir/.cache/<rel>`` as a string (the per-crate hot path: no Path objects);
        ValueError unless ``rel`` is a plain relative index path."""
        self._check_rel(rel)
        # Every part is a plain name (no "", ".", "..", separators or NUL), so the joined path
        # cannot leave the cache directory.
        return f"{self.dir_path}/.cache/{rel}"

    def sidecar_path(self, rel: str) -> str:
        """``.dir/.registry/fresh/<rel>`` as a string: the max-age sidecar of a cache file."""
        self._check_rel(rel)
        return f"{self.dir_path}/.registry/fresh/{rel}"

    def sum_path(self, rel: str) -> str:
        """``.dir/.registry/sum/<rel>`` as a string: the integrity sidecar of a cache file
        (cache/integrity.py)."""
        self._check_rel(rel)
        return f"{self.dir_path}/.registry/sum/{rel}"

    @property
    def config_path(self) -> str:
        """``.dir/config.json`` as a string."""
        return f"{self.dir_path}/config.json"

    # -- reads (no lock) -------------------------------------------------------------------

    def _read(
        self, path: str, record_of: str | None = None, seed: str | None = None
    ) -> tuple[bytes, bytes | None]:
        """(bytes, integrity record of ``.cache/<record_of>`` or None); FileNotFoundError if
        the file is absent, CacheReadError (naming the path) if it cannot be read.

        An entry of our own directory (``record_of`` given, ``seed`` None) whose access time is
        stale gets it brought up to date (cache/lastuse.py); a seed's never does."""
        try:
            fd = os.open(path, _READ_FLAGS)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise CacheReadError(
                exc.errno, f"cannot read cache file {path}: {exc.strerror or exc}"
            ) from exc
        try:
            # one fstat-sized read (a short one only at the end of the file), no buffer copy
            st = os.fstat(fd)
            data = os.read(fd, st.st_size + 1)
            if len(data) != st.st_size:  # changed size since the fstat: read to the end
                data = _read_rest(fd, data)
            if record_of is None:
                return data, None
            record = read_record(fd, seed or self.dir_path, record_of)
            if seed is None and st.st_atime < self._stale_before:
                touch(fd, st)
            return data, record
        except OSError as exc:
            raise CacheReadError(
                exc.errno, f"cannot read cache file {path}: {exc.strerror or exc}"
            ) from exc
        finally:
            os.close(fd)

    def peek_version(self, rel: str) -> str | None:
        """The index version in the header of ``.cache/<rel>`` of this directory (not a
        seed's), read from its first bytes only; None when there is no such file or its header
        cannot be read that way. What a conditional request needs, at a fraction of a full read:
        whoever trusts the entry must still read it whole (`read_with_record`) and check it."""
        try:
            fd = os.open(self.cache_path(rel), _READ_FLAGS)
        except OSError:
            return None
        try:
            head = os.read(fd, _PEEK_BYTES)
        except OSError:
            return None
        finally:
            os.close(fd)
        try:
            return read_header(head)[0]
        except CacheFormatError:  # e.g. a header longer than the bytes read
            return None

    def read(self, rel: str) -> bytes | None:
        """The bytes of ``.cache/<rel>`` (or of the seed's, see `read_with_record`), or None if
        there is no such file.

        Raises CacheReadError (naming the path) if it exists but cannot be read.
        """
        found = self.read_with_record(rel)
        return None if found is None else found[0]

    def read_with_record(self, rel: str) -> tuple[bytes, bytes | None] | None:
        """The bytes of ``.cache/<rel>`` and its integrity record (cache/integrity.py: xattr or
        sidecar, None when it has none), or None if there is no such file; CacheReadError
        (naming the path) if it exists but cannot be read.

        An entry missing here is read from the seed directory when there is one (the module
        docstring's "Seeding"; `is_seeded` then tells)."""
        try:
            return self._read(self.cache_path(rel), rel)
        except FileNotFoundError:
            pass
        self._seeded.discard(rel)
        seed = self.seed_dir()
        if seed is None:
            return None
        try:
            found = self._read(f"{seed}/.cache/{rel}", rel, seed)
        except FileNotFoundError:
            return None
        self._seeded.add(rel)
        return found

    def read_config(self) -> bytes | None:
        """The stored ``config.json`` bytes, or None; CacheReadError if unreadable."""
        try:
            return self._read(self.config_path)[0]
        except FileNotFoundError:
            return None

    def holds_entries(self) -> bool:
        """Whether this directory may hold cache entries (its ``.cache`` exists): when not,
        each entry a run wants is asked of the index (one read from the seed too: such an
        entry is never fresh)."""
        return is_dir(f"{self.dir_path}/.cache")

    # -- seeding from cargo <= 1.84's directory ----------------------------------------------

    def seed_dir(self) -> str | None:
        """The directory cargo <= 1.84 kept for this registry, when entries missing here are
        read from it (the module docstring's "Seeding"); looked for once per store."""
        if self._seed_known:
            return self._seed
        self._seed_known = True
        if self.source_url is None:
            return None
        index = joined(self.root_path, "registry", "index")
        host = os.path.basename(self.dir_path).rpartition("-")[0]
        try:  # one listing: the old name's hash is computed only when a sibling could be it
            if not any(
                name.startswith(f"{host}-") and f"{index}/{name}" != self.dir_path
                for name in os.listdir(index)
            ):
                return None
        except OSError:
            return None
        from cache.dirhash import legacy_source_dir_name

        try:
            legacy = legacy_source_dir_name(self.source_url)
        except ValueError:
            return None
        seed = joined(index, legacy)
        try:
            if seed == self.dir_path or not is_dir(f"{seed}/.cache"):
                return None
            if not exists(self._marker_path) and _holds_a_file(f"{self.dir_path}/.cache"):
                return None  # cargo >= 1.85 (or we, before the seed appeared) filled this one
        except OSError:  # unreadable: no seed (the entry is then a plain miss)
            return None
        self._seed = seed
        return seed

    @property
    def _marker_path(self) -> str:
        return f"{self.dir_path}/.registry/{SEED_MARKER}"

    def is_seeded(self, rel: str) -> bool:
        """Whether ``.cache/<rel>`` was last read from the seed (and is not stored here yet)."""
        return rel in self._seeded

    def entry_path(self, rel: str) -> str:
        """Where ``.cache/<rel>`` is read from: this directory's file, or the seed's when only
        the seed has it (for null-build fingerprints and messages)."""
        path = self.cache_path(rel)
        seed = self.seed_dir()
        if seed is None:
            return path
        seeded = f"{seed}/.cache/{rel}"
        if rel in self._seeded:
            return seeded
        try:
            return seeded if not exists(path) and exists(seeded) else path
        except OSError:
            return path

    def is_seed_path(self, path: str) -> bool:
        """Whether ``path`` (from `entry_path`) lies in the seed directory."""
        return self._seed is not None and path.startswith(self._seed + "/")

    # -- writes (one lock acquisition each, failures become warnings) ------------------------

    def write_many(
        self,
        items: Mapping[str, bytes | None],
        max_ages: Mapping[str, int] | None = None,
        *,
        record_sums: bool = False,
        temps: Mapping[str, str] | None = None,
    ) -> list[str]:
        """Store (bytes) or delete (None) each ``.cache/<rel>``, under one lock acquisition.

        A rel with bytes and an entry in ``max_ages`` gets a sidecar recording that max-age;
        every other rel in ``items`` loses its sidecar. With ``record_sums`` (the data are valid
        `.cache` files), each written file also gets its integrity sidecar, after the file
        itself; a deleted one loses it. Returns warnings for what could not be written (and
        writes what it can); raises ValueError only for invalid index paths or max-ages, before
        touching anything. ``temps`` are temp files made by `reserve` for some of the rels:
        those written use theirs up.
        """
        max_ages = max_ages or {}
        temps = temps or {}
        plan = [
            (rel, self.cache_path(rel), self.sidecar_path(rel), data) for rel, data in items.items()
        ]
        for rel, _path, _sidecar, data in plan:
            age = max_ages.get(rel)
            if data is not None and age is not None and (type(age) is not int or age < 0):
                raise ValueError(f"invalid max-age for {rel!r}: {age!r}")
        if not plan:
            return []
        warnings: list[str] = []

        def apply() -> None:
            self._write_cachedir_tag(warnings)
            if self._seed is not None:
                self._write_seed_marker(warnings)
            for rel, path, sidecar, data in plan:
                recorded = False
                try:
                    if data is None:
                        _unlink(path)
                    else:
                        if is_dir(path) and not is_symlink(path):
                            os.rmdir(path)  # a directory where a cache file belongs: never ours
                        recorded = write_atomic(
                            path, data, _recorder(data) if record_sums else None, temps.get(rel)
                        )
                except OSError as exc:
                    warnings.append(_write_failure(path, exc))
                    if rel in temps:  # write_atomic removes it; not if it never got there
                        self.release((temps[rel],))
                    continue
                self._seeded.discard(rel)
                if record_sums and (data is None or not recorded):
                    self._set_sum(rel, data, warnings)  # no xattrs here: the sidecar file
                self._set_sidecar(sidecar, None if data is None else max_ages.get(rel), warnings)

        self._locked(apply, warnings)
        return warnings

    def reserve(self, rels: Iterable[str]) -> dict[str, str]:
        """Empty temp files for the ``.cache/<rel>`` files about to be written, by rel: for
        `write_many`'s ``temps`` (cache/atomic.py `create_temp`: creating the files, and their
        directories, is most of what writing them costs, and can be done while their data are
        still on the way). Call it holding the lock (`holding_lock`), as the writes will be.
        Best effort: a rel whose temp cannot be created is left out (its write makes one), and
        without the lock nothing is reserved (nothing will be written). What is not used up
        must go to `release`."""
        temps: dict[str, str] = {}
        if self._held != []:  # not inside holding_lock, or the lock could not be taken
            return temps
        for rel in rels:
            try:
                temps[rel] = create_temp(self.cache_path(rel))
            except OSError:  # ValueError (an invalid rel) propagates
                continue
        return temps

    def release(self, temps: Iterable[str]) -> None:
        """Remove temp files of `reserve` that no write used up (gone already: fine), and the
        directories left empty by that, up to ``.cache`` itself: what was not written leaves
        nothing behind (rmdir removes only what is empty, so a directory another writer uses
        stays)."""
        top = f"{self.dir_path}/.cache"
        for temp in temps:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            directory = os.path.dirname(temp)
            while directory.startswith(top):
                try:
                    os.rmdir(directory)
                except OSError:
                    break
                directory = os.path.dirname(directory)

    def touch_fresh(self, rels: Iterable[str], max_ages: Mapping[str, int]) -> list[str]:
        """After a 304: restart the freshness clock of each rel (no max-age: remove it)."""
        plan = [(self.sidecar_path(rel), max_ages.get(rel)) for rel in rels]
        if not plan:
            return []
        warnings: list[str] = []

        def apply() -> None:
            for sidecar, age in plan:
                self._set_sidecar(sidecar, age, warnings)

        self._locked(apply, warnings)
        return warnings

    def write_sums(self, items: Mapping[str, bytes]) -> list[str]:
        """Record integrity sidecars for cache files already on disk with these bytes (a file
        another writer stored, adopted after a 304)."""
        plan = [(rel, self.sum_path(rel), data) for rel, data in items.items()]
        if not plan:
            return []
        warnings: list[str] = []

        def apply() -> None:
            for rel, path, data in plan:
                try:
                    if set_record(self.cache_path(rel), data):
                        continue
                except OSError as exc:
                    warnings.append(_write_failure(path, exc))
                    continue
                self._set_sum(rel, data, warnings)

        self._locked(apply, warnings)
        return warnings

    def _set_sum(self, rel: str, data: bytes | None, warnings: list[str]) -> None:
        path = self.sum_path(rel)
        try:
            if data is None:
                _unlink(path)
            else:
                write_atomic(path, integrity_record(data))
        except OSError as exc:
            warnings.append(_write_failure(path, exc))

    def write_config(self, data: bytes) -> list[str]:
        """Store ``config.json`` (raw bytes) under the lock; returns warnings like `write_many`."""
        warnings: list[str] = []

        def apply() -> None:
            self._write_cachedir_tag(warnings)
            try:
                write_atomic(self.config_path, data)
            except OSError as exc:
                warnings.append(_write_failure(self.config_path, exc))

        self._locked(apply, warnings)
        return warnings

    @property
    def lock_held(self) -> bool:
        """Inside `holding_lock` (whether or not the lock could be taken)."""
        return self._held is not None

    @contextlib.contextmanager
    def holding_lock(self) -> Iterator[bool]:
        """Hold the package-cache lock for a block; its ``with`` target is whether it is held.

        `write_many`, `touch_fresh` and `write_config` inside the block run under this one
        acquisition (the lock is not reentrant: never call `clean` inside). If the lock cannot
        be taken (timeout, read-only or full disk), the block still runs, unlocked, and every
        write inside it is skipped and returns that failure as its warning. Not thread-safe.
        """
        if self._held is not None:
            raise RuntimeError(f"{self!r}: holding_lock is not reentrant")
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(self._lock())
            except OSError as exc:  # CacheLockTimeout included
                self._held = [self._lock_failure(exc)]
            else:
                self._held = []
            try:
                yield not self._held
            finally:
                self._held = None

    def _lock(self) -> PackageCacheLock:
        return package_cache_lock(self.root_path, self.lock_timeout, self.on_lock_wait)

    def _lock_failure(self, exc: OSError) -> str:
        if isinstance(exc, CacheLockTimeout):
            return f"failed to write cache: {exc}"
        # the lock file itself: read-only or full disk
        return _write_failure(joined(self.root_path, ".package-cache"), exc)

    def _locked(self, apply: Callable[[], None], warnings: list[str]) -> None:
        if self._held is not None:  # inside holding_lock
            if self._held:
                warnings.extend(self._held)
            else:
                apply()
            return
        try:
            with self._lock():
                apply()
        except OSError as exc:  # CacheLockTimeout included
            warnings.append(self._lock_failure(exc))

    def _write_seed_marker(self, warnings: list[str]) -> None:
        """Record that this directory started from the seed (so it keeps being read once this
        directory holds files), before the first entry is stored while seeding."""
        marker = self._marker_path
        if exists(marker):
            return
        assert self._seed is not None
        try:
            write_atomic(marker, os.path.basename(self._seed).encode() + b"\n")
        except OSError as exc:
            warnings.append(_write_failure(marker, exc))

    def _write_cachedir_tag(self, warnings: list[str]) -> None:
        tag = joined(self.root_path, "registry", "CACHEDIR.TAG")
        if exists(tag):
            return
        try:
            write_atomic(tag, CACHEDIR_TAG)
        except OSError as exc:
            warnings.append(_write_failure(tag, exc))

    @staticmethod
    def _set_sidecar(sidecar: str, max_age: int | None, warnings: list[str]) -> None:
        try:
            if max_age is None:
                _unlink(sidecar)
            else:
                write_max_age(sidecar, max_age)
        except OSError as exc:
            warnings.append(_write_failure(sidecar, exc))


def _read_rest(fd: int, head: bytes) -> bytes:
    """``head`` and everything after it up to the end of the file."""
    chunks = [head]
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _holds_a_file(root: str) -> bool:
    """Whether the tree ``root`` holds a file (a leftover temp file does not count)."""
    for _dirpath, _dirnames, filenames in os.walk(root):
        if any(not is_temp_name(name) for name in filenames):
            return True
    return False

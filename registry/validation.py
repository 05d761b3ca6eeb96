"""``registry validate``: judge a Cargo.lock against the indexes its packages come from.

The shape (the point of the summaries cache): parse the lockfile once, map each registry
source to an index, collect the distinct index files, read the cached ones once each, fetch the
missing or stale ones in one concurrent batch per registry, then judge each package by parsing
exactly its own line. No per-package round trips.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from query.names import CrateNameError, validate_crate_name
from query.record import FrozenRecord, Record
from query.validate import MissingCrate, MissingVersion, PackageResult, Unknown, validate_lockfile
from registry.errors import InputError, NotFoundError, RegistryError
from registry.sources import SourceMap, Unresolved

TYPE_CHECKING = False
if TYPE_CHECKING:
    from query.entry import IndexEntry
    from query.lockfile import LockedPackage, Lockfile
    from query.validate import Lookup
    from registry.client import Registry


_set = object.__setattr__  # sets a field of a frozen record in ``__init__``


class Settings(FrozenRecord):
    """What every command that reads indexes shares."""

    _fields = (
        "cache_dir",
        "offline",
        "refresh",
        "token",
        "index_url",
        "deny_yanked",
        "warn",
        "timeout",
    )
    __slots__ = _fields

    cache_dir: str | None
    offline: bool
    refresh: bool
    token: str | None
    index_url: str | None
    deny_yanked: bool
    warn: Callable[[str], None] | None
    timeout: float

    def __init__(
        self,
        cache_dir: str | None = None,
        offline: bool = False,
        refresh: bool = False,
        token: str | None = None,
        index_url: str | None = None,
        deny_yanked: bool = False,
        warn: Callable[[str], None] | None = None,
        timeout: float = 30.0,
    ) -> None:
        _set(self, "cache_dir", cache_dir)
        _set(self, "offline", offline)
        _set(self, "refresh", refresh)
        _set(self, "token", token)
        _set(self, "index_url", index_url)
        _set(self, "deny_yanked", deny_yanked)
        _set(self, "warn", warn)
        _set(self, "timeout", timeout)


class ValidationReport(Record):
    _fields = (
        "lockfile",
        "results",
        "skipped",
        "files_consulted",
        "revalidated",
        "fresh_until",
        "entries",
    )
    __slots__ = _fields

    lockfile: Path
    results: list[PackageResult]
    skipped: int
    files_consulted: list[Path]
    revalidated: bool
    fresh_until: float | None
    entries: dict[int, IndexEntry]  # by LockedPackage.index

    def __init__(
        self,
        lockfile: Path,
        results: list[PackageResult],
        skipped: int,
        files_consulted: list[Path] | None = None,
        revalidated: bool = False,
        fresh_until: float | None = None,
        entries: dict[int, IndexEntry] | None = None,
    ) -> None:
        self.lockfile = lockfile
        self.results = results
        self.skipped = skipped
        self.files_consulted = [] if files_consulted is None else files_consulted
        self.revalidated = revalidated
        self.fresh_until = fresh_until
        self.entries = {} if entries is None else entries


def _lookups(reg: Registry, packages: list[LockedPackage], offline: bool) -> dict[int, Lookup]:
    names = sorted({p.name for p in packages})
    loaded = reg.load(names)
    out: dict[int, Lookup] = {}
    retry: list[LockedPackage] = []
    for package in packages:
        out[package.index] = _lookup(reg, package, loaded[package.name])
        if isinstance(out[package.index], MissingVersion) and reg.may_revalidate(package.name):
            retry.append(package)
    if retry:
        # A locked version missing from a cache that was not revalidated in this run:
        # revalidate those files once, in one batch, as cargo does (spec §4.8).
        again = reg.load(sorted({p.name for p in retry}), force=True)
        for package in retry:
            out[package.index] = _lookup(reg, package, again[package.name])
    if offline:
        for package in packages:
            found = out[package.index]
            if isinstance(found, MissingVersion):
                out[package.index] = Unknown(
                    f"{package.name} {package.version} is not in the cached index "
                    "(the cache may be stale), and --offline was given: run without --offline"
                )
    return out


def _lookup(reg: Registry, package: LockedPackage, value: bytes | RegistryError) -> Lookup:
    if isinstance(value, NotFoundError):
        return MissingCrate()
    if isinstance(value, RegistryError):
        return Unknown(str(value))
    try:
        entry = reg.entry_in(value, package.name, package.version)
    except RegistryError as exc:
        return Unknown(str(exc))
    if entry is None:
        return MissingVersion(tuple(reg.newest_keys(value, 3)))
    return entry


def validate_path(path: Path, settings: Settings) -> ValidationReport:
    """Validate the lockfile at ``path``; raises InputError for an unreadable lockfile."""
    from registry.lockload import load_lockfile

    lock = load_lockfile(path)
    return validate_loaded(lock, path, settings)


def validate_loaded(
    lock: Lockfile, path: Path, settings: Settings, *, sources: SourceMap | None = None
) -> ValidationReport:
    from registry.client import Registry

    if sources is None:
        sources = SourceMap.discover(path.parent, index_url=settings.index_url)
    registry_packages = list(lock.registry_packages())
    skipped = len(lock.packages) - len(registry_packages)
    for package in registry_packages:
        # A name no index can hold is malformed input (exit 2), not an unknown (exit 3).
        try:
            validate_crate_name(package.name)
        except CrateNameError as exc:
            where = f"line {package.line}: " if package.line is not None else ""
            raise InputError(f"{path}: {where}{exc}") from None
    groups: dict[str, list[LockedPackage]] = {}
    lookups: dict[int, Lookup] = {}
    for package in registry_packages:
        target = sources.resolve(package.source or "")
        if isinstance(target, Unresolved):
            lookups[package.index] = Unknown(target.reason)
        else:
            groups.setdefault(target, []).append(package)
    consulted: list[Path] = []
    revalidated = False
    fresh: list[float | None] = []
    for url, packages in groups.items():
        with Registry(
            url,
            settings.cache_dir,
            offline=settings.offline,
            refresh=settings.refresh,
            token=sources.token_for(url, settings.token),
            timeout=settings.timeout,
            warn=settings.warn,
        ) as reg:
            lookups.update(_lookups(reg, packages, settings.offline))
            consulted.extend(reg.files_consulted())
            revalidated = revalidated or reg.requests_made > 0
            fresh.append(reg.fresh_until())
    results = validate_lockfile(
        lock, lookups, deny_yanked=settings.deny_yanked, packages=registry_packages
    )
    known = [f for f in fresh if f is not None]
    until = min(known) if known and len(known) == len(fresh) else None
    from query.entry import IndexEntry

    entries = {i: found for i, found in lookups.items() if isinstance(found, IndexEntry)}
    return ValidationReport(path, results, skipped, consulted, revalidated, until, entries)

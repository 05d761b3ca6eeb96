"""``registry validate [LOCKFILE]``: judge a Cargo.lock against the indexes its packages come from.

The shape (the point of the summaries cache): parse the lockfile once, map each registry
source to an index, collect the distinct index files, read the cached ones once each, fetch the
missing or stale ones in one concurrent batch per registry, then judge each package by parsing
exactly its own line. No per-package round trips. `judge_lockfile` does this for ``check`` too.
"""

from __future__ import annotations

import os

from query import TYPE_CHECKING
from query.entry import IndexEntry
from query.names import CrateNameError, index_path, validate_crate_name
from query.record import Record, field
from query.validate import MissingCrate, MissingVersion, Unknown, Unusable, validate_lockfile
from registry.commands import Outcome
from registry.config.index_url import LOCAL, parse_index_url
from registry.config.source_replacement import SourceMap, Unresolved
from registry.errors import (
    InputError,
    NotFoundError,
    OtherPackageError,
    RegistryError,
    UnusableCrateError,
)
from registry.parallel import JUDGED, split_map

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from cache.atomic import StrPath
    from query.lockfile import LockedPackage, Lockfile
    from query.nullbuild import FeatureSummary
    from query.validate import Lookup
    from query.verdict import PackageResult
    from registry.api import Registry
    from registry.config.settings import Settings
    from registry.options import RunOptions
    from registry.parallel import Judged


class LockfileJudgement(Record, frozen=False):
    """Every locked registry package judged, and what the verdict depended on."""

    lockfile: StrPath
    results: list[PackageResult]
    skipped: int
    files_consulted: list[str] = field(default_factory=list)
    # those of files_consulted read from cargo <= 1.84's directory (cache/store.py, "Seeding")
    seeded_files: list[str] = field(default_factory=list)
    revalidated: bool = False
    fresh_until: float | None = None
    # by LockedPackage.index, when asked for: what check_features needs of each index entry
    summaries: dict[int, FeatureSummary] = field(default_factory=dict)


def run(
    options: RunOptions, lockfile: str | None, fmt: str, unknown: str, deny_yanked: bool
) -> Outcome:
    """Validate ``lockfile``; None: the one cargo would use here (the workspace root's of the
    nearest Cargo.toml upward, `registry.locate.find_lockfile`)."""
    from query.verdict import Verdict
    from registry.commands import use_color, verdict_text
    from registry.config.settings import run_settings
    from registry.input_files import load_lockfile

    if lockfile is None:
        from registry.locate import find_lockfile

        lockfile = find_lockfile()
    lock = load_lockfile(lockfile)
    sources = lockfile_sources(options, lockfile)
    settings = run_settings(options, sources.config)
    judgement = judge_lockfile(
        lock, lockfile, options, deny_yanked, sources=sources, settings=settings
    )
    verdict = Verdict(
        command="validate",
        lockfile=lockfile,
        packages=tuple(judgement.results),
        skipped=judgement.skipped,
        unknown_policy=unknown,
    )
    text = verdict_text(verdict, fmt, options.quiet, use_color(fmt, settings))
    return Outcome(verdict.exit_code, text)


def lockfile_sources(options: RunOptions, path: StrPath) -> SourceMap:
    """Cargo's configuration for a lockfile: its directory's files, nearest first, and the
    --config arguments; --index-url (when given) replaces crates.io."""
    explicit = parse_index_url(options.index_url).url if options.index_url else None
    start = os.path.dirname(os.fspath(path)) or "."
    return SourceMap.discover(start, index_url=explicit, cli=options.config)


def _lookup(reg: Registry, package: LockedPackage, value: bytes | RegistryError) -> Lookup:
    if isinstance(value, UnusableCrateError):
        return Unusable(str(value))
    if isinstance(value, NotFoundError):
        return MissingCrate()
    if isinstance(value, RegistryError):
        return Unknown(str(value))
    try:
        entry = reg.entry_in(value, package.name, package.version)
    except OtherPackageError as exc:  # cargo matches names exactly: not this package's version
        note = f"the index line of {package.version} is for {exc.line_name!r}"
        return MissingVersion(tuple(reg.newest_keys(value, 3)), note)
    except RegistryError as exc:
        return Unknown(str(exc))
    if entry is None:
        return MissingVersion(tuple(reg.newest_keys(value, 3)))
    return entry


def _offline_unknown(package: LockedPackage) -> Unknown:
    return Unknown(
        f"{package.name} {package.version} is not in the cached index "
        "(the cache may be stale), and --offline was given: run without --offline"
    )


class _Judge:
    """Judges locked packages whose index files are loaded: one index line parsed each.

    :meth:`judge` gives one `Judged` per package: its result and the feature summary of its
    entry (when asked for); the result is None for a package whose version is missing from a
    cache that a request in this run could still update: the caller revalidates those (network:
    never in a forked child).
    """

    def __init__(self, lock: Lockfile, deny_yanked: bool, summaries: bool, offline: bool) -> None:
        self.lock = lock
        self.deny_yanked = deny_yanked
        self.offline = offline
        self.summaries = summaries
        # package index -> (registry, its loaded cache bytes or error; None: load it when
        # judged, see `judge`) or a fixed lookup
        self.plan: dict[int, tuple[Registry, bytes | RegistryError | None] | Lookup] = {}

    def _load_deferred(self, packages: Sequence[LockedPackage]) -> None:
        """Read the cache files of ``packages`` planned as None (offline: no request, no
        write, so a forked child can read its half itself), one batch per registry."""
        wanted: dict[Registry, list[LockedPackage]] = {}
        for package in packages:
            planned = self.plan[package.index]
            if isinstance(planned, tuple) and planned[1] is None:
                wanted.setdefault(planned[0], []).append(package)
        for reg, group in wanted.items():
            loaded = reg.load(sorted({p.name for p in group}))
            for package in group:
                self.plan[package.index] = (reg, loaded[package.name])

    def lookup(self, package: LockedPackage, retried: bool = False) -> Lookup | None:
        planned = self.plan[package.index]
        if not isinstance(planned, tuple):
            return planned
        reg, value = planned
        assert value is not None  # loaded by `judge`
        found = _lookup(reg, package, value)
        if isinstance(found, MissingVersion):
            if not retried and reg.may_revalidate(package.name):
                return None
            if self.offline:
                return _offline_unknown(package)
        return found

    def judged(self, found: Mapping[int, Lookup], packages: list[LockedPackage]) -> list[Judged]:
        """Judge ``packages`` by their lookups in ``found`` (one memo of parsed versions and
        requirement verdicts shared by all of them: `validate_lockfile`)."""
        from query.nullbuild import entry_summary

        results = validate_lockfile(
            self.lock, found, deny_yanked=self.deny_yanked, packages=packages
        )
        out: list[Judged] = []
        for package, result in zip(packages, results, strict=True):
            entry = found[package.index]
            summary = None
            if self.summaries and isinstance(entry, IndexEntry):
                summary = entry_summary(entry)
            out.append((package.index, result, summary))
        return out

    def judge(self, packages: Sequence[LockedPackage]) -> list[Judged]:
        self._load_deferred(packages)
        found: dict[int, Lookup] = {}
        retry: list[Judged] = []
        for package in packages:
            lookup = self.lookup(package)
            if lookup is None:
                retry.append((package.index, None, None))
            else:
                found[package.index] = lookup
        return self.judged(found, [p for p in packages if p.index in found]) + retry


def judge_lockfile(
    lock: Lockfile,
    path: StrPath,
    options: RunOptions,
    deny_yanked: bool,
    *,
    sources: SourceMap | None = None,
    summaries: bool = False,
    settings: Settings | None = None,
) -> LockfileJudgement:
    """Judge every locked registry package (``summaries``: also collect what
    :func:`query.nullbuild.check_features` needs of their index entries), with the
    ``settings`` of cargo's configuration (default: `sources`' configuration's)."""
    from registry.api import Registry

    if sources is None:
        sources = lockfile_sources(options, path)
    if settings is None:
        from registry.config.settings import run_settings

        settings = run_settings(options, sources.config)
    registry_packages = list(lock.registry_packages())
    skipped = len(lock.packages) - len(registry_packages)
    for package in registry_packages:
        # A name no index can hold is malformed input (exit 2), not an unknown (exit 3).
        try:
            validate_crate_name(package.name)
        except CrateNameError as exc:
            where = f"line {package.line}: " if package.line is not None else ""
            raise InputError(f"{path}: {where}{exc}") from None
    judge = _Judge(lock, deny_yanked, summaries, settings.offline)
    groups: dict[str, list[LockedPackage]] = {}
    for package in registry_packages:
        target = sources.resolve(package.source or "")
        if isinstance(target, Unresolved):
            judge.plan[package.index] = Unknown(target.reason)
        else:
            groups.setdefault(target, []).append(package)
    consulted: list[str] = []
    seeded: list[str] = []
    fresh: list[float | None] = []
    registries: list[Registry] = []
    deferred: dict[Registry, set[str]] = {}  # offline registries: cache paths to read
    try:
        for url, packages in groups.items():
            reg = Registry(
                url,
                options.cache_root,
                offline=settings.offline,
                refresh=options.refresh,
                token=sources.token_for(url, options.token),
                warn=options.warn,
                settings=settings,
            )
            registries.append(reg)
            if reg.offline and reg.source.kind != LOCAL:
                # read while judging, each half of the work its own files (registry/parallel)
                for package in packages:
                    judge.plan[package.index] = (reg, None)
                deferred.setdefault(reg, set()).update(index_path(p.name) for p in packages)
                continue
            loaded = reg.load(sorted({p.name for p in packages}))
            for package in packages:
                judge.plan[package.index] = (reg, loaded[package.name])
        # What judging imports lazily: once here, not in each process after the fork.
        import query.cfg
        import query.requirement
        import query.version  # noqa: F401

        # Forking after a request could copy a transport's threads: serial then.
        quiet = all(reg.requests_made == 0 for reg in registries)
        halves = split_map(
            judge.judge, registry_packages, min_items=128 if quiet else 1 << 62, codec=JUDGED
        )
        judged = {row[0]: row for half in halves for row in half}
        _revalidate_missing(judge, registry_packages, judged)
        for reg in registries:
            if reg in deferred:  # read here or in the child: every file looked for
                paths = [reg.store.entry_path(rel) for rel in sorted(deferred[reg])]
            else:
                paths = reg.files_consulted()
            consulted.extend(paths)
            if reg.store.seed_dir() is not None:
                seeded.extend(p for p in paths if reg.store.is_seed_path(p))
            fresh.append(reg.fresh_until())
        revalidated = any(reg.requests_made > 0 for reg in registries)
    finally:
        for reg in registries:
            reg.close()
    results: list[PackageResult] = []
    summaries_by_index: dict[int, FeatureSummary] = {}
    for package in registry_packages:
        _, result, summary = judged[package.index]
        assert result is not None  # revalidated ones were judged again
        results.append(result)
        if summary is not None:
            summaries_by_index[package.index] = summary
    known = [f for f in fresh if f is not None]
    until = min(known) if known and len(known) == len(fresh) else None
    return LockfileJudgement(
        path, results, skipped, consulted, seeded, revalidated, until, summaries_by_index
    )


def _revalidate_missing(
    judge: _Judge, packages: list[LockedPackage], judged: dict[int, Judged]
) -> None:
    """Locked versions missing from caches not revalidated in this run: revalidate those
    files once, in one batch per registry, as cargo does (spec §4.8), and judge again."""
    retry: dict[Registry, list[LockedPackage]] = {}
    for package in packages:
        if judged[package.index][1] is None:
            planned = judge.plan[package.index]
            assert isinstance(planned, tuple)
            retry.setdefault(planned[0], []).append(package)
    for reg, group in retry.items():
        again = reg.load(sorted({p.name for p in group}), force=True)
        for package in group:
            judge.plan[package.index] = (reg, again[package.name])
            found = judge.lookup(package, retried=True)
            assert found is not None
            (judged[package.index],) = judge.judged({package.index: found}, [package])

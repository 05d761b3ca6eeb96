"""Lockfile validation rules: one verdict per locked registry package (pure, no I/O).

The caller has already read the index: for each locked registry package it hands over a
:data:`Lookup` result, the package's :class:`~query.entry.IndexEntry`, or why there is none.
Identity is (source, name, version): the caller looks each package up in its own source's index,
so a private crate is never judged by crates.io's entry.

Checks, in order, each with its problem code (the JSON output's ``code``)::

    missing-crate       the index has no file for the crate
    missing-version     the crate has no such version (build metadata included)
    invalid-entry       the index line does not parse as cargo would accept it
    unsupported-entry   the line's schema "v" is newer than this tool (and cargo 1.95) reads
    missing-checksum    a v2+ lockfile entry without a checksum
    checksum-mismatch   the lock's checksum is not the index cksum
    yanked              the version is yanked (a warning unless deny_yanked)
    dep-mismatch        the lock's dependency edges disagree with the index entry's deps
    unknown             could not check (offline and not cached, auth, server error, ...)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from query.entry import INVALID, UNSUPPORTED, IndexDependency, IndexEntry
from query.lockfile import LockedPackage, Lockfile
from query.record import FrozenRecord

OK = "ok"
PROBLEM = "problem"
UNKNOWN = "unknown"

ERROR = "error"
WARNING = "warning"

CRATES_IO_GIT_URL = "https://github.com/rust-lang/crates.io-index"
CRATES_IO_SOURCES = frozenset({"registry+" + CRATES_IO_GIT_URL, "sparse+https://index.crates.io/"})


_set = object.__setattr__  # sets a field of a frozen record in ``__init__``


class MissingCrate(FrozenRecord):
    """The index has no file for this crate."""

    _fields = ()
    __slots__ = _fields


class MissingVersion(FrozenRecord):
    """The crate exists but not at this version; ``known`` lists some versions it has."""

    _fields = ("known",)
    __slots__ = _fields

    known: tuple[str, ...]

    def __init__(self, known: tuple[str, ...] = ()) -> None:
        _set(self, "known", known)


class Unknown(FrozenRecord):
    """Could not check: ``reason`` says why, in one line."""

    _fields = ("reason",)
    __slots__ = _fields

    reason: str

    def __init__(self, reason: str) -> None:
        _set(self, "reason", reason)


Lookup = IndexEntry | MissingCrate | MissingVersion | Unknown


class Problem(FrozenRecord):
    _fields = ("code", "message", "severity")
    __slots__ = _fields

    code: str
    message: str
    severity: str

    def __init__(self, code: str, message: str, severity: str = ERROR) -> None:
        _set(self, "code", code)
        _set(self, "message", message)
        _set(self, "severity", severity)


class PackageResult(FrozenRecord):
    """The verdict on one locked package."""

    _fields = ("source", "name", "version", "line", "status", "problems")
    __slots__ = _fields

    source: str
    name: str
    version: str
    line: int | None
    status: str
    problems: tuple[Problem, ...]

    def __init__(
        self,
        source: str,
        name: str,
        version: str,
        line: int | None,
        status: str,
        problems: tuple[Problem, ...] = (),
    ) -> None:
        _set(self, "source", source)
        _set(self, "name", name)
        _set(self, "version", version)
        _set(self, "line", line)
        _set(self, "status", status)
        _set(self, "problems", problems)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == ERROR)


def same_registry(dep: IndexDependency, package_source: str, dep_source: str | None) -> bool:
    """Does a locked dependency's source agree with the index dependency's ``registry``?"""
    if dep_source is None:
        return False
    if dep.registry is None:
        return dep_source == package_source
    if dep.registry in (CRATES_IO_GIT_URL, "sparse+https://index.crates.io/"):
        return dep_source in CRATES_IO_SOURCES
    return dep_source in (dep.registry, "registry+" + dep.registry)


def _dependency_problems(
    package: LockedPackage, entry: IndexEntry, lock: Lockfile
) -> list[Problem]:
    from query.requirement import Requirement
    from query.version import VersionError, parse_parts

    problems: list[Problem] = []
    usable = [d for d in entry.deps if d.kind != "dev"]
    by_package: dict[str, list[IndexDependency]] = {}
    for dep in usable:
        by_package.setdefault(dep.package_name, []).append(dep)
    locked_names: dict[str, list[str]] = {}
    for ldep in package.dependencies:
        target = lock.resolve_dependency(ldep)
        locked_names.setdefault(target.name, []).append(target.version)
        candidates = by_package.get(target.name)
        if not candidates:
            problems.append(
                Problem(
                    "dep-mismatch",
                    f"{package.name} {package.version} locks a dependency on {target.name} "
                    f"{target.version}, which its index entry does not declare",
                )
            )
            continue
        try:
            version = parse_parts(target.version)
        except VersionError:
            continue
        if not any((d.parsed or Requirement.parse(d.req)).matches(version) for d in candidates):
            reqs = ", ".join(sorted({d.req for d in candidates}))
            problems.append(
                Problem(
                    "dep-mismatch",
                    f"{package.name} {package.version} requires {target.name} {reqs}, "
                    f"but the lock has {target.name} {target.version}",
                )
            )
        elif target.source is not None and not any(
            same_registry(d, package.source or "", target.source) for d in candidates
        ):
            problems.append(
                Problem(
                    "dep-mismatch",
                    f"{package.name} {package.version} depends on {target.name} from "
                    f"{candidates[0].registry or 'its own registry'}, "
                    f"but the lock takes it from {target.source}",
                )
            )
    for dep in usable:
        if dep.optional or dep.package_name in locked_names:
            continue
        problems.append(
            Problem(
                "dep-mismatch",
                f"{package.name} {package.version} requires {dep.package_name} {dep.req} "
                f"({dep.kind}), but the lock lists no such dependency for it",
            )
        )
    return problems


def judge_package(
    package: LockedPackage,
    lookup: Lookup,
    lock: Lockfile,
    *,
    deny_yanked: bool = False,
) -> PackageResult:
    """Apply every check to one locked registry package."""
    source = package.source or ""

    def result(status: str, *problems: Problem) -> PackageResult:
        return PackageResult(
            source, package.name, package.version, package.line, status, tuple(problems)
        )

    if isinstance(lookup, Unknown):
        return result(UNKNOWN, Problem("unknown", lookup.reason))
    if isinstance(lookup, MissingCrate):
        return result(
            PROBLEM,
            Problem("missing-crate", f"{package.name} does not exist in {source}"),
        )
    if isinstance(lookup, MissingVersion):
        known = f" (newest known: {', '.join(lookup.known)})" if lookup.known else ""
        return result(
            PROBLEM,
            Problem(
                "missing-version",
                f"{package.name} has no version {package.version} in {source}{known}",
            ),
        )
    entry = lookup
    if entry.status == UNSUPPORTED:
        return result(
            PROBLEM,
            Problem(
                "unsupported-entry",
                f"{package.name} {package.version}: index schema v{entry.v} is newer than "
                "this tool reads",
            ),
        )
    if entry.status == INVALID:
        return result(
            PROBLEM,
            Problem(
                "invalid-entry",
                f"{package.name} {package.version}: the index entry is invalid ({entry.problem})",
            ),
        )
    problems: list[Problem] = []
    if package.checksum is None:
        if lock.version >= 2 and not lock.checksums_discarded:
            problems.append(
                Problem(
                    "missing-checksum",
                    f"{package.name} {package.version} has no checksum in the lockfile "
                    f"(index cksum {entry.cksum})",
                )
            )
    elif package.checksum != entry.cksum:
        problems.append(
            Problem(
                "checksum-mismatch",
                f"{package.name} {package.version}: lockfile checksum {package.checksum} "
                f"is not the index cksum {entry.cksum}",
            )
        )
    if entry.yanked:
        problems.append(
            Problem(
                "yanked",
                f"{package.name} {package.version} is yanked",
                ERROR if deny_yanked else WARNING,
            )
        )
    problems.extend(_dependency_problems(package, entry, lock))
    status = PROBLEM if any(p.severity == ERROR for p in problems) else OK
    return result(status, *problems)


def validate_lockfile(
    lock: Lockfile,
    lookups: Mapping[int, Lookup] | Callable[[LockedPackage], Lookup],
    *,
    deny_yanked: bool = False,
    packages: Iterable[LockedPackage] | None = None,
) -> list[PackageResult]:
    """Judge every locked registry package; ``lookups`` maps package index to its lookup."""
    judged = []
    for package in packages if packages is not None else lock.registry_packages():
        lookup = lookups(package) if callable(lookups) else lookups[package.index]
        judged.append(judge_package(package, lookup, lock, deny_yanked=deny_yanked))
    return judged

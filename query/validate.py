"""Lockfile validation rules: one verdict per locked registry package (pure, no I/O).

The caller has already read the index: for each locked registry package it hands over a
:data:`Lookup` result, the package's :class:`~query.entry.IndexEntry`, or why there is none.
Identity is (source, name, version): the caller looks each package up in its own source's index,
so a private crate is never judged by crates.io's entry.

Checks, in order, each with its problem code (the JSON output's ``code``)::

    missing-crate       the index has no file for the crate
    missing-version     the crate has no such version (build metadata included; a line of
                        another name, e.g. another case, is another package's)
    invalid-entry       cargo 1.95 refuses the version's index line ("index entry is invalid",
                        query/index_line.py), or crashes on a line of the crate's index file
                        (a dependency with an empty name: no version of it is usable)
    unsupported-entry   the line's schema "v" is newer than this tool (and cargo 1.95) reads
    missing-checksum    a v2+ lockfile entry without a checksum
    checksum-mismatch   the lock's checksum is not the index cksum
    yanked              the version is yanked (a warning unless deny_yanked)
    dep-mismatch        the lock's dependency edges disagree with the index entry's deps
    unknown             could not check (offline and not cached, auth, server error, ...)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from query import TYPE_CHECKING
from query.cargo_facts import CRATES_IO_GIT_URL, CRATES_IO_SOURCES, CRATES_IO_SPARSE
from query.entry import INVALID, UNSUPPORTED, IndexDependency, IndexEntry
from query.lockfile import LockedPackage, Lockfile
from query.record import Record
from query.verdict import ERROR, OK, PROBLEM, UNKNOWN, WARNING, PackageResult, Problem

if TYPE_CHECKING:
    from typing import TypeAlias

    from query.requirement import Requirement
    from query.version import VersionParts

    # What judging a package computes that others reuse (most locked versions are depended on
    # by several packages, most often under the same requirement): per locked version text, its
    # parts (None when it is not a version) and, per requirement text, the requirement asked
    # and whether it matches. A verdict is reused only for that very requirement object.
    _Memo: TypeAlias = dict[str, tuple[VersionParts | None, dict[str, tuple[Requirement, bool]]]]


class MissingCrate(Record):
    """The index has no file for this crate."""


class MissingVersion(Record):
    """The crate exists but not at this version; ``known`` lists some versions it has,
    ``note`` says more when the index has a line of that version for another name."""

    known: tuple[str, ...] = ()
    note: str = ""


class Unusable(Record):
    """cargo cannot use any version of the crate from its index file (it crashes reading it);
    ``reason`` says why, in one line."""

    reason: str


class Unknown(Record):
    """Could not check: ``reason`` says why, in one line."""

    reason: str


Lookup = IndexEntry | MissingCrate | MissingVersion | Unusable | Unknown


def same_registry(dep: IndexDependency, package_source: str, dep_source: str | None) -> bool:
    """Does a locked dependency's source agree with the index dependency's ``registry``?"""
    if dep_source is None:
        return False
    if dep.registry is None:
        return dep_source == package_source
    if dep.registry in (CRATES_IO_GIT_URL, CRATES_IO_SPARSE):
        return dep_source in CRATES_IO_SOURCES
    return dep_source in (dep.registry, "registry+" + dep.registry)


def _parse_requirement(text: str) -> Requirement:
    import query.requirement

    return query.requirement.Requirement.parse(text)


def _parse_version(text: str) -> VersionParts | None:
    """The version, or None when it is not one (such a dependency is not judged)."""
    import query.version  # not ``from``: see query.entry._dependencies

    try:
        return query.version.parse_parts(text)
    except query.version.VersionError:
        return None


def _dependency_problems(
    package: LockedPackage, entry: IndexEntry, lock: Lockfile, memo: _Memo, problems: list[Problem]
) -> None:
    """Append the dependency edges' problems to ``problems``."""
    by_package: dict[str, list[IndexDependency]] = {}
    for dep in entry.deps:
        if dep.kind != "dev":
            key = dep.package or dep.name  # dep.package_name, inline: this runs for every dep
            same = by_package.get(key)
            if same is None:
                by_package[key] = [dep]
            else:
                same.append(dep)
    locked_names: set[str] = set()
    package_source = package.source or ""
    resolve = lock.resolve_dependency
    for ldep in package.dependencies:
        target = resolve(ldep)
        locked_names.add(target.name)
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
        locked = target.version
        slot = memo.get(locked)
        if slot is None:
            slot = memo[locked] = (_parse_version(locked), {})
        version, verdicts = slot
        if version is None:
            continue
        for d in candidates:
            req = d.parsed or _parse_requirement(d.req)
            known = verdicts.get(d.req)
            if known is not None and known[0] is req:
                matches = known[1]
            else:
                matches = req.matches(version)
                verdicts[d.req] = (req, matches)
            if matches:
                break
        else:
            reqs = ", ".join(sorted({d.req for d in candidates}))
            problems.append(
                Problem(
                    "dep-mismatch",
                    f"{package.name} {package.version} requires {target.name} {reqs}, "
                    f"but the lock has {target.name} {target.version}",
                )
            )
            continue
        source = target.source
        if source is None:
            continue
        for d in candidates:
            # same_registry's answer, without the call for the usual case (no ``registry``)
            if (
                source == package_source
                if d.registry is None
                else same_registry(d, package_source, source)
            ):
                break
        else:
            problems.append(
                Problem(
                    "dep-mismatch",
                    f"{package.name} {package.version} depends on {target.name} from "
                    f"{candidates[0].registry or 'its own registry'}, "
                    f"but the lock takes it from {source}",
                )
            )
    for dep in entry.deps:
        if dep.kind == "dev" or dep.optional or (dep.package or dep.name) in locked_names:
            continue
        problems.append(
            Problem(
                "dep-mismatch",
                f"{package.name} {package.version} requires {dep.package_name} {dep.req} "
                f"({dep.kind}), but the lock lists no such dependency for it",
            )
        )


def _result(package: LockedPackage, status: str, *problems: Problem) -> PackageResult:
    return PackageResult(
        package.source or "", package.name, package.version, package.line, status, problems
    )


def judge_package(
    package: LockedPackage,
    lookup: Lookup,
    lock: Lockfile,
    *,
    deny_yanked: bool = False,
) -> PackageResult:
    """Apply every check to one locked registry package."""
    return _judge(package, lookup, lock, deny_yanked, {})


def _judge(
    package: LockedPackage,
    lookup: Lookup,
    lock: Lockfile,
    deny_yanked: bool,
    memo: _Memo,
) -> PackageResult:
    source = package.source or ""
    if isinstance(lookup, Unknown):
        return _result(package, UNKNOWN, Problem("unknown", lookup.reason))
    if isinstance(lookup, Unusable):
        return _result(package, PROBLEM, Problem("invalid-entry", lookup.reason))
    if isinstance(lookup, MissingCrate):
        return _result(
            package,
            PROBLEM,
            Problem("missing-crate", f"{package.name} does not exist in {source}"),
        )
    if isinstance(lookup, MissingVersion):
        known = f" (newest known: {', '.join(lookup.known)})" if lookup.known else ""
        if lookup.note:
            known += f"; {lookup.note}"
        return _result(
            package,
            PROBLEM,
            Problem(
                "missing-version",
                f"{package.name} has no version {package.version} in {source}{known}",
            ),
        )
    entry = lookup
    if entry.status == UNSUPPORTED:
        return _result(
            package,
            PROBLEM,
            Problem(
                "unsupported-entry",
                f"{package.name} {package.version}: index schema v{entry.v} is newer than "
                "this tool reads",
            ),
        )
    if entry.status == INVALID:
        if entry.panics:
            message = (
                f"{package.name} {package.version}: cargo 1.95 crashes (panics) reading this "
                f"index line ({entry.problem}); it cannot use {package.name} at all from an "
                "index file holding it"
            )
        else:
            message = (
                f"{package.name} {package.version}: the index entry is invalid, cargo refuses "
                f"it ({entry.problem})"
            )
        return _result(package, PROBLEM, Problem("invalid-entry", message))
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
    if package.replace is None:  # a [replace]d entry has no edges: its replacement has them
        _dependency_problems(package, entry, lock, memo, problems)
    status = PROBLEM if problems and any(p.severity == ERROR for p in problems) else OK
    return PackageResult(
        source, package.name, package.version, package.line, status, tuple(problems)
    )


def validate_lockfile(
    lock: Lockfile,
    lookups: Mapping[int, Lookup] | Callable[[LockedPackage], Lookup],
    *,
    deny_yanked: bool = False,
    packages: Iterable[LockedPackage] | None = None,
) -> list[PackageResult]:
    """Judge every locked registry package; ``lookups`` maps package index to its lookup."""
    judged = []
    memo: _Memo = {}
    for package in packages if packages is not None else lock.registry_packages():
        lookup = lookups(package) if callable(lookups) else lookups[package.index]
        judged.append(_judge(package, lookup, lock, deny_yanked, memo))
    return judged

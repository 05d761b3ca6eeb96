"""Null-build rules: is a Cargo.lock still what cargo would write for these manifests?

``cargo update --workspace --locked --offline`` fails exactly when resolving the workspace
would change the lockfile. Without running a resolver, the lockfile is certainly unchanged when:

* every workspace member is in the lock as a path package of the same name and version, and the
  lock has no path package that is neither a member nor another local package of the workspace
  (``member-missing``, ``member-version``, ``member-extra``);
* every dependency of every member (all kinds, all targets, optional ones too: the lockfile is
  resolved with all features) is an edge of that member's lock entry, to a package of the same
  name and source whose version satisfies the requirement (``missing-dependency``,
  ``unsatisfied-requirement``, ``source-mismatch``); other local packages are held to their
  normal and build dependencies, optional ones excepted;
* no local package's lock entry keeps an edge its manifest no longer declares
  (``stale-dependency``), and every locked package is reachable from a member through the lock's
  edges (``stale-package``: a removed dependency leaves its subtree behind, and cargo would drop
  it).

What it cannot see it reports as ``unknown`` rather than guessing: a git package's own
dependencies (its manifest is in the repository), ``[patch]`` entries it does not model.
The registry packages themselves are judged by :mod:`query.validate`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from query.lockfile import LockedPackage, Lockfile
from query.manifest import GitSource, Manifest, ManifestDependency, PathSource, Workspace
from query.verdict import Mismatch

CRATES_IO_SOURCE = "registry+https://github.com/rust-lang/crates.io-index"

#: Maps a manifest's registry name (None = crates.io) to the lockfile source string, or None
#: when the registry is unknown.
RegistrySources = Callable[[str | None], str | None]


def _git_matches(source: str | None, dep: GitSource) -> bool:
    if source is None or not source.startswith("git+"):
        return False
    url = source[4:].split("#", 1)[0].split("?", 1)[0]
    return url.rstrip("/").removesuffix(".git") == dep.url.rstrip("/").removesuffix(".git")


def _requirement_text(dep: ManifestDependency) -> str:
    return f'{dep.name_in_toml} = "{dep.requirement}"' if dep.requirement else dep.name_in_toml


def _satisfies(requirement: str | None, version: str) -> bool:
    if requirement is None:
        return True
    from query.requirement import Requirement, RequirementError
    from query.version import VersionError, parse_version

    try:
        return Requirement.parse(requirement).matches(parse_version(version))
    except (RequirementError, VersionError):
        return False


class _Checker:
    def __init__(
        self, workspace: Workspace, lock: Lockfile, registries: RegistrySources, lock_name: str
    ) -> None:
        self.workspace = workspace
        self.lock = lock
        self.registries = registries
        self.lock_name = lock_name
        self.found: list[Mismatch] = []
        self.patched = {
            dep.package for group in workspace.root.patches.values() for dep in group
        } | {dep.package for dep in workspace.root.replacements.values()}

    def add(self, code: str, message: str, file: str | None, line: int | None = None) -> None:
        self.found.append(Mismatch(code, message, file, line))

    def local_entry(self, manifest: Manifest) -> LockedPackage | None:
        for package in self.lock.packages_named(manifest.name or ""):
            if package.source is None:
                return package
        return None

    # -- packages ---------------------------------------------------------------------------

    def members(self) -> dict[str, LockedPackage]:
        entries: dict[str, LockedPackage] = {}
        for manifest in (*self.workspace.members, *self.workspace.path_packages):
            if manifest.name is None:
                continue
            entry = self.local_entry(manifest)
            is_member = manifest in self.workspace.members
            if entry is None:
                what = "workspace member" if is_member else "local package"
                self.add(
                    "member-missing",
                    f"{what} {manifest.name} {manifest.version} ({manifest.manifest_path}) "
                    f"is not in {self.lock_name}",
                    manifest.manifest_path,
                )
                continue
            if entry.version != manifest.version:
                self.add(
                    "member-version",
                    f"{manifest.name} is {manifest.version} in {manifest.manifest_path}, "
                    f"{self.lock_name} has {entry.version}",
                    manifest.manifest_path,
                )
            entries[manifest.path] = entry
        known = {m.name for m in (*self.workspace.members, *self.workspace.path_packages) if m.name}
        for package in self.lock.path_packages():
            if package.name not in known:
                self.add(
                    "member-extra",
                    f"{self.lock_name} has local package {package.name} {package.version}, "
                    "which is no longer part of the workspace",
                    self.lock_name,
                    package.line,
                )
        return entries

    # -- dependencies -----------------------------------------------------------------------

    def dependency(
        self, manifest: Manifest, dep: ManifestDependency, edges: Sequence[LockedPackage]
    ) -> LockedPackage | None:
        """Check one declared dependency against the local package's lock edges."""
        named = [p for p in edges if p.name == dep.package]
        where = manifest.manifest_path
        source = dep.source
        if isinstance(source, PathSource):
            candidates = [p for p in named if p.source is None]
        elif isinstance(source, GitSource):
            candidates = [p for p in named if _git_matches(p.source, source)]
        else:
            expected = self.registries(source.registry)
            if expected is None:
                self.add(
                    "unknown",
                    f"{_requirement_text(dep)} in {where}: registry `{source.registry}` is not "
                    "configured (no [registries] entry found)",
                    where,
                )
                return named[0] if named else None
            candidates = [p for p in named if p.source == expected]
            if dep.package in self.patched:
                candidates = named
            if not candidates and named:
                self.add(
                    "source-mismatch",
                    f"{_requirement_text(dep)} in {where} comes from {expected}, "
                    f"{self.lock_name} has {dep.package} from {named[0].source or 'a path'}",
                    where,
                )
                return named[0]
        if not candidates:
            locked = sorted({p.version for p in self.lock.packages_named(dep.package)})
            seen = f" (lock has {dep.package} {', '.join(locked)} elsewhere)" if locked else ""
            self.add(
                "missing-dependency",
                f"{_requirement_text(dep)} in {where} is not a dependency of "
                f"{manifest.name} in {self.lock_name}{seen}",
                where,
            )
            return None
        fitting = [p for p in candidates if _satisfies(dep.requirement, p.version)]
        if not fitting:
            versions = ", ".join(sorted(p.version for p in candidates))
            self.add(
                "unsatisfied-requirement",
                f"{_requirement_text(dep)} in {where}, lock has {dep.package} {versions}",
                where,
            )
            return candidates[0]
        return fitting[0]

    def package_edges(self, manifest: Manifest, entry: LockedPackage, member: bool) -> None:
        edges = self.lock.dependencies_of(entry)
        used: set[int] = set()
        declared: set[str] = set()
        for dep in manifest.dependencies:
            declared.add(dep.package)
            if not member and (dep.kind == "dev" or dep.optional):
                continue
            matched = self.dependency(manifest, dep, edges)
            if matched is not None:
                used.add(matched.index)
        for package in edges:
            if package.name not in declared:
                self.add(
                    "stale-dependency",
                    f"{self.lock_name} lists {package.name} {package.version} as a dependency "
                    f"of {manifest.name}, which {manifest.manifest_path} no longer declares",
                    manifest.manifest_path,
                )

    def reachability(self, roots: Sequence[LockedPackage]) -> None:
        seen: set[int] = set()
        stack = list(roots)
        while stack:
            package = stack.pop()
            if package.index in seen:
                continue
            seen.add(package.index)
            stack.extend(self.lock.dependencies_of(package))
        for package in self.lock.packages:
            if package.index not in seen and package.source is not None:
                self.add(
                    "stale-package",
                    f"{package.name} {package.version} is in {self.lock_name} but no workspace "
                    "member depends on it any more",
                    self.lock_name,
                    package.line,
                )

    def git_packages(self) -> None:
        for package in self.lock.git_packages():
            self.add(
                "unknown",
                f"{package.name} {package.version} comes from git ({package.source}): its own "
                "dependencies are not checked without fetching its repository",
                self.lock_name,
                package.line,
            )

    def unmodelled_patches(self) -> None:
        root = self.workspace.root
        for source, group in root.patches.items():
            for dep in group:
                if isinstance(dep.source, GitSource):
                    self.add(
                        "unknown",
                        f"[patch.{source}] {dep.name_in_toml} points at git: not modelled "
                        "without a fetch",
                        root.manifest_path,
                    )


def check_workspace(
    workspace: Workspace,
    lock: Lockfile,
    registries: RegistrySources,
    *,
    lock_name: str = "Cargo.lock",
) -> list[Mismatch]:
    """Every reason cargo would rewrite ``lock`` for ``workspace`` (empty: up to date)."""
    checker = _Checker(workspace, lock, registries, lock_name)
    entries = checker.members()
    member_paths = {m.path for m in workspace.members}
    for manifest in (*workspace.members, *workspace.path_packages):
        entry = entries.get(manifest.path)
        if entry is not None:
            checker.package_edges(manifest, entry, manifest.path in member_paths)
    checker.reachability([entries[m.path] for m in workspace.members if m.path in entries])
    checker.git_packages()
    checker.unmodelled_patches()
    return checker.found

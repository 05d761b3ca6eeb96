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

from collections.abc import Callable, Mapping, Sequence

from query import TYPE_CHECKING
from query.entry import IndexEntry
from query.lockfile import LockedPackage, Lockfile
from query.manifest import GitSource, Manifest, ManifestDependency, PathSource, Workspace
from query.record import Record, field
from query.verdict import Mismatch

if TYPE_CHECKING:
    from typing import Protocol

    class FeatureDependency(Protocol):
        """What feature resolution reads of a dependency: an `IndexDependency` of an index
        entry, or a `ManifestDependency` of a local package."""

        @property
        def name(self) -> str: ...  # the name in TOML: what feature strings refer to

        @property
        def package_name(self) -> str: ...  # the crate itself

        @property
        def req(self) -> str | None: ...

        @property
        def optional(self) -> bool: ...

        @property
        def features(self) -> tuple[str, ...]: ...

        @property
        def default_features(self) -> bool: ...


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
    from query.version import VersionError, parse_parts

    try:
        return Requirement.parse(requirement).matches(parse_parts(version))
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
        member_paths = {m.path for m in self.workspace.members}
        for manifest in (*self.workspace.members, *self.workspace.path_packages):
            if manifest.name is None:
                continue
            entry = self.local_entry(manifest)
            is_member = manifest.path in member_paths
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


# -- features ---------------------------------------------------------------------------------
#
# Which optional dependencies a locked package has is decided by features, unified over the
# whole graph: cargo writes the lockfile from a resolve with every feature of every workspace
# member enabled (dev-dependencies included), and each other package gets the features its
# dependents ask for (``default`` unless ``default-features = false``), expanded through its
# ``[features]`` table. Weak ``dep?/feat`` entries count as strong ones there (cargo#10801).
# Turning on a feature of a registry dependency can therefore add locked packages, and turning
# one off can drop some, without any requirement changing.


class FeatureSummary(Record):
    """What feature resolution needs of one package: its feature map (explicit features plus
    the implicit one of each optional dependency) and dependencies (dev ones only for members).
    The map is compared, not hashed."""

    features: Mapping[str, tuple[str, ...]] = field(hash=False)
    deps: tuple[FeatureDependency, ...]


def _feature_map(
    features: Mapping[str, Sequence[str]], deps: Sequence[FeatureDependency]
) -> dict[str, tuple[str, ...]]:
    """Explicit features plus the implicit one of each optional dependency (unless ``dep:``)."""
    out = {name: tuple(values) for name, values in features.items()}
    namespaced = {v[4:] for values in out.values() for v in values if v.startswith("dep:")}
    for dep in deps:
        if dep.optional and dep.name not in namespaced and dep.name not in out:
            out[dep.name] = (f"dep:{dep.name}",)
    return out


def _requirements(
    summary: FeatureSummary, wanted: set[str], everything: bool
) -> dict[str, set[str]]:
    """Dependency name -> features asked of it, for the features ``wanted`` (cargo's
    ``build_requirements``); an optional dependency is enabled when its name is a key."""
    fmap = summary.features
    optional = {d.name for d in summary.deps if d.optional}
    out: dict[str, set[str]] = {}
    seen: set[str] = set()

    def feature(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for value in fmap.get(name, ()):
            require(value)

    def require(value: str) -> None:
        if value.startswith("dep:"):
            out.setdefault(value[4:], set())
        elif "/" in value:
            name, feat = value.split("/", 1)
            weak = name.endswith("?")
            name = name.removesuffix("?")
            if not weak and name in optional:
                if name in fmap:
                    feature(name)
                else:
                    out.setdefault(name, set())
            out.setdefault(name, set()).add(feat)
        else:
            feature(value)

    if everything:
        for name in fmap:
            feature(name)
        for name in optional:
            out.setdefault(name, set())
    else:
        for value in wanted:
            require(value)
    return out


def _manifest_summary(manifest: Manifest, member: bool) -> FeatureSummary:
    deps = tuple([d for d in manifest.dependencies if member or d.kind != "dev"])
    return FeatureSummary(_feature_map(manifest.features, deps), deps)


def entry_summary(entry: IndexEntry) -> FeatureSummary:
    """What :func:`check_features` needs of an index entry."""
    deps = tuple([d for d in entry.deps if d.kind != "dev"])
    return FeatureSummary(_feature_map(entry.features, deps), deps)


def _targets(
    dep: FeatureDependency, edges: Mapping[str, list[LockedPackage]]
) -> list[LockedPackage]:
    named = edges.get(dep.package_name, [])
    if len(named) > 1:
        fitting = [p for p in named if _satisfies(dep.req, p.version)]
        named = fitting or named
    return named


def check_features(
    workspace: Workspace,
    lock: Lockfile,
    entries: Mapping[int, IndexEntry],
    *,
    lock_name: str = "Cargo.lock",
    summaries: Mapping[int, FeatureSummary] | None = None,
) -> list[Mismatch]:
    """Optional dependencies of locked packages that the unified features turn on but the lock
    lacks, or that the lock keeps though no enabled feature turns them on.

    ``entries`` maps a registry package's ``index`` to its index entry, or ``summaries`` to
    :func:`entry_summary` of it; packages without either (and git packages) are not judged,
    and nothing below them is called stale.
    """
    given = {} if summaries is None else summaries
    members = {m.name for m in workspace.members if m.name}
    manifests = {
        m.name: m for m in (*workspace.members, *workspace.path_packages) if m.name is not None
    }
    summary_of: dict[int, FeatureSummary] = {}
    unknown: list[LockedPackage] = []
    roots: list[LockedPackage] = []
    for package in lock.packages:
        if package.source is None and package.name in manifests:
            member = package.name in members
            summary_of[package.index] = _manifest_summary(manifests[package.name], member)
            if member:
                roots.append(package)
        elif package.index in entries:
            summary_of[package.index] = entry_summary(entries[package.index])
        elif package.index in given:
            summary_of[package.index] = given[package.index]
        else:
            unknown.append(package)

    wanted: dict[int, set[str]] = {p.index: set() for p in lock.packages}
    asked_by: dict[tuple[int, str], LockedPackage] = {}
    reached: set[int] = set()
    root_indexes = {p.index for p in roots}
    edges_of: dict[int, tuple[LockedPackage, ...]] = {}
    by_name_of: dict[int, dict[str, list[LockedPackage]]] = {}
    final_asked: dict[int, dict[str, set[str]]] = {}  # of the last visit: the final features

    def dependencies_of(package: LockedPackage) -> tuple[LockedPackage, ...]:
        edges = edges_of.get(package.index)
        if edges is None:
            edges = edges_of[package.index] = lock.dependencies_of(package)
        return edges

    def edges_by_name(package: LockedPackage) -> dict[str, list[LockedPackage]]:
        named = by_name_of.get(package.index)
        if named is None:
            named = by_name_of[package.index] = {}
            for edge in dependencies_of(package):
                named.setdefault(edge.name, []).append(edge)
        return named

    stack = list(roots)
    while stack:
        package = stack.pop()
        reached.add(package.index)
        summary = summary_of.get(package.index)
        if summary is None:
            continue
        everything = package.index in root_indexes
        asked = final_asked[package.index] = _requirements(
            summary, wanted[package.index], everything
        )
        edges = edges_by_name(package)
        for dep in summary.deps:
            if dep.optional and dep.name not in asked:
                continue
            features = asked.get(dep.name, set()) | set(dep.features)
            if dep.default_features:
                features.add("default")
            for target in _targets(dep, edges):
                have = wanted[target.index]
                if target.index not in reached or not features <= have:
                    for feature in features - have:
                        asked_by.setdefault((target.index, feature), package)
                    have |= features
                    stack.append(target)

    # packages whose features may be under-counted: below a package we cannot read
    partial: set[int] = set()
    stack = [q for p in unknown for q in dependencies_of(p)]
    while stack:
        package = stack.pop()
        if package.index not in partial:
            partial.add(package.index)
            stack.extend(dependencies_of(package))

    found: list[Mismatch] = []
    for package in lock.packages:
        summary = summary_of.get(package.index)
        if summary is None or package.index not in reached:
            continue
        for feature in sorted(wanted[package.index] - {"default"} - set(summary.features)):
            # cargo refuses to resolve: "depends on `x` with feature `f` but `x` does not
            # have that feature"
            requester = asked_by[(package.index, feature)]
            local = manifests.get(requester.name) if requester.source is None else None
            found.append(
                Mismatch(
                    "missing-feature",
                    f"{package.name} {package.version} has no feature `{feature}`, which "
                    f"{requester.name} {requester.version} asks for",
                    local.manifest_path if local is not None else lock_name,
                    None if local is not None else requester.line,
                )
            )
        if package.name in members:
            continue
        if package.source is None:
            continue  # local non-members: their edges are checked by _Checker
        # a package is pushed again whenever its features grow: its last visit saw them all
        asked = final_asked[package.index]
        edges = edges_by_name(package)
        enabled = {d.package_name for d in summary.deps if not d.optional or d.name in asked}
        for dep in summary.deps:
            if dep.optional and dep.name in asked and not _targets(dep, edges):
                found.append(
                    Mismatch(
                        "missing-dependency",
                        f"{package.name} {package.version} needs its optional dependency "
                        f"{dep.package_name} {dep.req} (enabled by features), which {lock_name} "
                        "does not list for it",
                        lock_name,
                        package.line,
                    )
                )
        if package.index in partial:
            continue
        optional_only = {d.package_name for d in summary.deps if d.optional} - {
            d.package_name for d in summary.deps if not d.optional
        }
        for target in dependencies_of(package):
            if target.name in optional_only and target.name not in enabled:
                found.append(
                    Mismatch(
                        "stale-dependency",
                        f"{lock_name} lists {target.name} {target.version} as a dependency of "
                        f"{package.name} {package.version}, but no enabled feature turns on "
                        "that optional dependency",
                        lock_name,
                        package.line,
                    )
                )
    return found

"""Null-build rules: is a Cargo.lock still what cargo would write for these manifests?

``cargo update --workspace --locked --offline`` fails exactly when resolving the workspace
would change the lock's resolve graph (``ops/lockfile.rs:209-225``: cargo compares graphs, not
text). It reads the old lock against the current workspace first (``into_resolve``,
``core/resolver/encode.rs``): a path entry maps to the local package of its name (members, path
dependencies of any kind, ``[patch]`` and ``[replace]`` targets), and one that maps to none is
dropped, as is every dependency string that designates no package (:func:`local_entries`; the
lock model's ``drop_dangling``). Without running a resolver, that graph is certainly unchanged
when:

* every workspace member is in it as a path package of the same name and version
  (``member-missing``, ``member-version``);
* every dependency of every member (all kinds, all targets, optional ones too: members are
  resolved with every feature) is an edge of that member's entry, to a package of the same name
  and source whose version satisfies the requirement (``missing-dependency``,
  ``unsatisfied-requirement``, ``source-mismatch``); another local package reached from the
  members is held to its normal and build dependencies (``core/resolver/mod.rs:396-403``:
  ``dev_deps`` only for members), its optional ones as features turn them on
  (:func:`check_features`);
* no local package's entry keeps an edge its manifest no longer declares
  (``stale-dependency``), and every entry is reachable from a member through the edges and
  ``replace`` links (``stale-package``: a removed dependency leaves its subtree behind);
* each ``[patch]`` is in the graph or under ``[[patch.unused]]`` (and one recorded as unused is
  not now needed by a locked package of its version), no ``[[patch.unused]]`` entry outlives
  its patch; each ``[replace]``d entry says ``replace = ...``.

What it cannot see it reports as ``unknown`` rather than guessing: a git package's own
dependencies (its manifest is in the repository), a git ``[patch]`` or ``[replace]``.
The registry packages themselves are judged by :mod:`query.validate`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence

from query import TYPE_CHECKING
from query.entry import IndexEntry
from query.lockfile import LockDependency, LockedPackage, Lockfile, LockfileError
from query.manifest import (
    GitSource,
    Manifest,
    ManifestDependency,
    ManifestError,
    PathSource,
    Workspace,
    canonical_url,
)
from query.record import Record, field
from query.requirement import Requirement, RequirementError
from query.verdict import Mismatch
from query.version import VersionError, parse_parts

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


def _satisfies(requirement: str | None, version: str, parsed: Requirement | None = None) -> bool:
    """Whether ``version`` satisfies ``requirement`` (already ``parsed``, when given)."""
    if requirement is None:
        return True
    try:
        return (parsed or Requirement.parse(requirement)).matches(parse_parts(version))
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
        self.patched = {p.dependency.package for p in workspace.patches} | {
            r.name for r in workspace.replacements
        }
        self.member_paths = {m.path for m in workspace.members}
        self.local, self.dropped = local_entries(workspace, lock)
        self._where: dict[str, str] = {}

    def add(
        self,
        code: str,
        message: str,
        file: str | None,
        line: int | None = None,
        key: tuple[str, ...] | None = None,
    ) -> None:
        self.found.append(Mismatch(code, message, file, line))
        self.keys.append(key)

    keys: list[tuple[str, ...] | None]

    def where(self, manifest: Manifest) -> str:
        """The manifest's path as messages show it (worked out once per manifest)."""
        shown = self._where.get(manifest.path)
        if shown is None:
            shown = self._where[manifest.path] = self.workspace.display(manifest.manifest_path)
        return shown

    def edges(self, package: LockedPackage) -> tuple[LockedPackage, ...]:
        """The lock's edges of ``package``, without those to path entries cargo drops."""
        edges = self.lock.dependencies_of(package)
        if self.dropped and any(e.index in self.dropped for e in edges):
            edges = tuple(e for e in edges if e.index not in self.dropped)
        return edges

    # -- packages ---------------------------------------------------------------------------

    def members(self) -> dict[str, LockedPackage]:
        """The lock entry of each member (``member-missing``, ``member-version``)."""
        entries: dict[str, LockedPackage] = {}
        for manifest in self.workspace.members:
            entry = self.local.get(manifest.path)
            if entry is None:
                self.add(
                    "member-missing",
                    f"workspace member {manifest.name} {manifest.version} "
                    f"({self.where(manifest)}) is not in {self.lock_name}",
                    self.where(manifest),
                )
                continue
            self.version(manifest, entry)
            entries[manifest.path] = entry
        return entries

    def version(self, manifest: Manifest, entry: LockedPackage) -> None:
        if entry.version != manifest.version:
            self.add(
                "member-version",
                f"{manifest.name} is {manifest.version} in {self.where(manifest)}, "
                f"{self.lock_name} has {entry.version}",
                self.where(manifest),
            )

    # -- dependencies -----------------------------------------------------------------------

    def dependency(
        self, manifest: Manifest, dep: ManifestDependency, edges: Sequence[LockedPackage]
    ) -> LockedPackage | None:
        """Check one declared dependency against the local package's lock edges."""
        named = [p for p in edges if p.name == dep.package]
        where = self.where(manifest)
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
                    key=dep.key,
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
                    key=dep.key,
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
                key=dep.key,
            )
            return None
        fitting = [p for p in candidates if _satisfies(dep.requirement, p.version, dep.parsed)]
        if not fitting:
            versions = ", ".join(sorted(p.version for p in candidates))
            self.add(
                "unsatisfied-requirement",
                f"{_requirement_text(dep)} in {where}, lock has {dep.package} {versions}",
                where,
                key=dep.key,
            )
            return candidates[0]
        return fitting[0]

    def package_edges(self, manifest: Manifest, entry: LockedPackage, member: bool) -> None:
        """A member is held to every dependency it declares; another local package to its
        normal and build ones (optional ones: :func:`check_features`)."""
        edges = self.edges(entry)
        declared: set[str] = set()
        for dep in manifest.dependencies:
            if not member and dep.kind == "dev":
                continue
            declared.add(dep.package)
            if not member and dep.optional:
                continue
            self.dependency(manifest, dep, edges)
        for package in edges:
            if package.name not in declared:
                self.add(
                    "stale-dependency",
                    f"{self.lock_name} lists {package.name} {package.version} as a dependency "
                    f"of {manifest.name}, which {self.where(manifest)} no longer declares"
                    + ("" if member else " (dev-dependencies of a non-member do not count)"),
                    self.where(manifest),
                )

    def walk(self, roots: Sequence[LockedPackage]) -> set[int]:
        """Every lock entry reachable from the members (through edges and ``replace`` links),
        local ones checked on the way; the rest is stale."""
        by_entry = {e.index: path for path, e in self.local.items()}
        manifests = {m.path: m for m in (*self.workspace.members, *self.workspace.path_packages)}
        seen: set[int] = set()
        stack = list(roots)
        while stack:
            package = stack.pop()
            if package.index in seen:
                continue
            seen.add(package.index)
            path = by_entry.get(package.index)
            if path is not None and path not in self.member_paths:
                manifest = manifests.get(path)
                if manifest is not None:
                    self.version(manifest, package)
                    self.package_edges(manifest, package, member=False)
            stack.extend(self.edges(package))
            if package.replace is not None:
                with contextlib.suppress(LockfileError):
                    stack.append(self.lock.resolve_dependency(package.replace))
        for package in self.lock.packages:
            if package.index in seen or package.index in self.dropped:
                continue
            what = "no workspace member depends on it any more"
            if package.source is None:
                what = "nothing in the workspace depends on it any more"
            self.add(
                "stale-package",
                f"{package.name} {package.version} is in {self.lock_name} but {what}",
                self.lock_name,
                package.line,
            )
        return seen

    def git_packages(self, reached: set[int]) -> None:
        for package in self.lock.git_packages():
            if package.index not in reached:
                continue
            self.add(
                "unknown",
                f"{package.name} {package.version} comes from git ({package.source}): its own "
                "dependencies are not checked without fetching its repository",
                self.lock_name,
                package.line,
            )

    # -- patches and replacements -----------------------------------------------------------

    def patches(self, reached: set[int]) -> None:
        """Each patch is either in the lock's graph or listed under ``[[patch.unused]]``, as
        cargo records it (``Resolve::register_used_patches``, ``ops/resolve.rs:515``: a patch
        whose package is in the graph, a member's included, is used)."""
        manifests = {m.path: m for m in (*self.workspace.members, *self.workspace.path_packages)}
        recorded: set[LockDependency] = set()
        for patch in self.workspace.patches:
            dep = patch.dependency
            where = patch.origin
            if isinstance(dep.source, GitSource):
                self.add(
                    "unknown",
                    f"[patch.{patch.key}] {dep.name_in_toml} points at git: not modelled "
                    "without a fetch",
                    where,
                    key=dep.key,
                )
                continue
            if not isinstance(dep.source, PathSource):
                self.add(
                    "unknown",
                    f"[patch.{patch.key}] {dep.name_in_toml} points at another registry: not "
                    "modelled",
                    where,
                    key=dep.key,
                )
                continue
            manifest = manifests.get(dep.source.path)
            if manifest is None or manifest.name is None:
                continue  # a load failure (raised before)
            entry = self.local.get(manifest.path)
            if entry is not None and entry.index in reached:
                continue  # used
            unused = LockDependency(manifest.name, manifest.version)
            if unused in self.lock.unused_patches:
                recorded.add(unused)
                twin = [
                    p
                    for p in self.lock.packages_named(manifest.name)
                    if p.index in reached
                    and p.version == manifest.version
                    and p.source is not None
                    and canonical_url(p.source.split("#", 1)[0]) == patch.source
                ]
                if twin:
                    self.add(
                        "stale-package",
                        f"the patch {manifest.name} {manifest.version} ({where}) would replace "
                        f"{manifest.name} {twin[0].version} from {twin[0].source}, which "
                        f"{self.lock_name} locks: cargo would use it",
                        self.lock_name,
                        twin[0].line,
                    )
                continue
            self.add(
                "member-missing",
                f"the patch {manifest.name} {manifest.version} ({self.where(manifest)}, from "
                f"{where}) is neither in {self.lock_name}'s graph nor under [[patch.unused]]",
                where,
                key=dep.key,
            )
        local_names = {m.name for m in self.workspace.path_packages} | {
            m.name for m in self.workspace.members
        }
        for unused in self.lock.unused_patches:
            if unused in recorded:
                continue
            if unused.source is None and unused.name not in local_names:
                continue  # a path package that no longer exists: cargo drops the entry
            self.add(
                "stale-package",
                f"{self.lock_name} lists {unused.name} {unused.version} under [[patch.unused]], "
                "but no such patch is configured any more",
                self.lock_name,
            )

    def replacements(self) -> None:
        """A ``[replace]``d package's entry says ``replace = ...`` (and has no dependencies);
        cargo loads the replacement only when the package is in the graph."""
        manifests = {m.path: m for m in self.workspace.path_packages}
        wanted: dict[int, tuple[str, ...]] = {}
        for repl in self.workspace.replacements:
            source = repl.dependency.source
            for package in self.lock.packages_named(repl.name):
                if package.version != repl.version or package.source is None:
                    continue
                if canonical_url(package.source.split("#", 1)[0]) != repl.source:
                    continue
                if isinstance(source, PathSource) and source.path in self.workspace.failed:
                    raise ManifestError(
                        f"failed to load replacement `{repl.spec}`: "
                        f"{self.workspace.failed[source.path]}"
                    )
                target = manifests.get(source.path) if isinstance(source, PathSource) else None
                wanted[package.index] = repl.dependency.key
                if target is None:
                    self.add(
                        "unknown",
                        f"[replace] {repl.spec} is not a path replacement: not modelled",
                        self.where(self.workspace.root),
                        key=repl.dependency.key,
                    )
                    continue
                replaced = package.replace
                if replaced is None or replaced.name != target.name:
                    self.add(
                        "stale-dependency",
                        f"{self.lock_name} does not record {repl.name} {repl.version} as "
                        f"replaced by {target.name} {target.version} ([replace] {repl.spec})",
                        self.lock_name,
                        package.line,
                    )
        for package in self.lock.packages:
            if package.replace is not None and package.index not in wanted:
                self.add(
                    "stale-dependency",
                    f"{self.lock_name} records {package.name} {package.version} as replaced, "
                    "but no [replace] entry names it any more",
                    self.lock_name,
                    package.line,
                )


def local_entries(
    workspace: Workspace, lock: Lockfile
) -> tuple[dict[str, LockedPackage], set[int]]:
    """The lock entry of each local package, by its directory, and the path entries cargo
    drops. A path entry maps to the local package of its name (of its name and version when
    several local packages share the name), as cargo's ``into_resolve`` maps it
    (``core/resolver/encode.rs:193-199``, ``get_source_id``); one that maps to none is ignored,
    with every edge to it. Of several entries mapping to one package, the one with its version
    wins (the others are nodes of the old graph, so stale)."""
    by_name: dict[str, list[Manifest]] = {}
    for manifest in (*workspace.members, *workspace.path_packages):
        if manifest.name is not None:
            by_name.setdefault(manifest.name, []).append(manifest)
    out: dict[str, LockedPackage] = {}
    dropped: set[int] = set()
    for package in lock.path_packages():
        local = by_name.get(package.name)
        if local and len({m.version for m in local}) > 1:
            local = [m for m in local if m.version == package.version]
        if not local:
            dropped.add(package.index)
            continue
        for manifest in local:
            current = out.get(manifest.path)
            if current is None or (
                current.version != manifest.version and package.version == manifest.version
            ):
                out[manifest.path] = package
    return out, dropped


def check_workspace(
    workspace: Workspace,
    lock: Lockfile,
    registries: RegistrySources,
    *,
    lock_name: str = "Cargo.lock",
    keys: list[tuple[str, ...] | None] | None = None,
) -> list[Mismatch]:
    """Every reason cargo would rewrite ``lock`` for ``workspace`` (empty: up to date).
    ``keys``, when given, receives per finding the key path of the manifest entry it is about
    (or None), for :func:`registry.workspace.locate`."""
    checker = _Checker(workspace, lock, registries, lock_name)
    checker.keys = keys if keys is not None else []
    entries = checker.members()
    for manifest in workspace.members:
        entry = entries.get(manifest.path)
        if entry is not None:
            checker.package_edges(manifest, entry, member=True)
    reached = checker.walk([entries[m.path] for m in workspace.members if m.path in entries])
    checker.replacements()
    checker.patches(reached)
    checker.git_packages(reached)
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
    keys: list[tuple[str, ...] | None] | None = None,
) -> list[Mismatch]:
    """Optional dependencies of locked packages that the unified features turn on but the lock
    lacks, or that the lock keeps though no enabled feature turns them on.

    ``entries`` maps a registry package's ``index`` to its index entry, or ``summaries`` to
    :func:`entry_summary` of it; packages without either (and git packages) are not judged,
    and nothing below them is called stale. ``keys``, when given, receives per finding the key
    path of the manifest entry it is about (or None), as in :func:`check_workspace`.
    """
    if keys is None:
        keys = []
    given = {} if summaries is None else summaries
    local, dropped = local_entries(workspace, lock)
    manifests = {m.path: m for m in (*workspace.members, *workspace.path_packages)}
    member_paths = {m.path for m in workspace.members}
    local_of = {entry.index: path for path, entry in local.items()}
    member_entries = {local[p].index for p in member_paths if p in local}
    replaced: dict[int, LockedPackage] = {}
    summary_of: dict[int, FeatureSummary] = {}
    unknown: list[LockedPackage] = []
    roots: list[LockedPackage] = []
    for package in lock.packages:
        if package.index in dropped:
            continue
        path = local_of.get(package.index)
        if package.replace is not None:
            with contextlib.suppress(LockfileError):
                replaced[package.index] = lock.resolve_dependency(package.replace)
            continue  # its replacement carries its dependencies and features
        if path is not None:
            member = package.index in member_entries
            summary_of[package.index] = _manifest_summary(manifests[path], member)
            if member:
                roots.append(package)
        elif package.source is None:
            continue  # another entry of a local package's name: stale, checked elsewhere
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
            edges = lock.dependencies_of(package)
            if dropped:
                edges = tuple(e for e in edges if e.index not in dropped)
            edges_of[package.index] = edges
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
        replacement = replaced.get(package.index)
        if replacement is not None:  # the replacement gets the features asked of the package
            have = wanted[replacement.index]
            if replacement.index not in reached or not wanted[package.index] <= have:
                for feature in wanted[package.index] - have:
                    asked_by.setdefault(
                        (replacement.index, feature),
                        asked_by.get((package.index, feature), package),
                    )
                have |= wanted[package.index]
                stack.append(replacement)
            continue
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
            requester_path = local_of.get(requester.index)
            requester_manifest = (
                manifests.get(requester_path) if requester_path is not None else None
            )
            entry_key = None
            if requester_manifest is not None:
                entry_key = next(
                    (d.key for d in requester_manifest.dependencies if d.package == package.name),
                    None,
                )
            keys.append(entry_key)
            found.append(
                Mismatch(
                    "missing-feature",
                    f"{package.name} {package.version} has no feature `{feature}`, which "
                    f"{requester.name} {requester.version} asks for",
                    workspace.display(requester_manifest.manifest_path)
                    if requester_manifest is not None
                    else lock_name,
                    None if requester_manifest is not None else requester.line,
                )
            )
        if package.index in member_entries:
            continue
        # local non-members too: their optional dependencies follow the features asked of them
        # a package is pushed again whenever its features grow: its last visit saw them all
        asked = final_asked[package.index]
        edges = edges_by_name(package)
        enabled = {d.package_name for d in summary.deps if not d.optional or d.name in asked}
        for dep in summary.deps:
            if dep.optional and dep.name in asked and not _targets(dep, edges):
                keys.append(None)
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
                keys.append(None)
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

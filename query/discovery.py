"""A cargo workspace as ``cargo update --workspace --locked --offline`` sees it: the root, the
members, every other local package the resolver reads, and the patches that apply.

No I/O: everything goes through a :class:`Host` (reading a manifest, expanding a glob,
testing for a file), which the caller implements and which records what was read. Paths are
absolute POSIX strings. The steps follow ``src/cargo/core/workspace.rs`` at tag 0.96.0:

* :meth:`Loader.load` is cargo's ``Packages::load``: a manifest read once, fully (so an error
  in it surfaces wherever cargo would load it); a manifest with ``[workspace]`` is remembered as
  a known root (``gctx.ws_roots``). Inheritance looks for the workspace *from the package
  itself* (``find_workspace_root``): a non-member path package inherits from its own
  workspace, which is why the cargo-fuzz layout works.
* :meth:`Loader.find_root` (``find_root``, ``find_workspace_root_with_loader``,
  ``find_root_iter``): the manifest itself when it is a root not excluding itself or has a
  ``package.workspace`` pointer; else the nearest known root that does not exclude it; else
  each ancestor ``Cargo.toml`` (parsed, errors included) up to ``$CARGO_HOME``: a root that does
  not exclude it, or a pointer, decides.
* :func:`discover` (``Workspace::new``): members from ``workspace.members`` (globs expanded,
  a pattern matching nothing kept literally), the root, and path dependencies of members inside
  the root directory that ``exclude`` does not exclude, or outside it whose own root is this
  one (``find_path_deps``); ``default-members``; then ``validate``: unique names, exactly one
  root, every member's root is this root, the starting manifest is a member.
* the other local packages (``build_path_deps`` in ``core/resolver/encode.rs``): path
  dependencies of any kind, transitively, ``[patch]`` and ``[replace]`` targets. Loading one may
  fail without consequence unless the resolver needs it: :func:`activate` walks the local
  packages the resolver activates (members with every feature, other packages with the
  features their dependents ask for, never their dev-dependencies) and raises the first
  failure among them.
* patches (``Workspace::root_patch``): the root manifest's ``[patch]`` and the configuration's
  (:class:`ConfigPatch`), a configuration entry winning over a manifest entry of the same name.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping, Sequence

from query import TYPE_CHECKING
from query.manifest import (
    CRATES_IO_INDEX,
    Manifest,
    ManifestDependency,
    ManifestError,
    ManifestMemo,
    Patch,
    PathSource,
    RegistrySource,
    Workspace,
    WorkspaceConfig,
    components,
    manifest_from_mapping,
    normalize_path,
    starts_with,
)
from query.nullbuild import FeatureSummary, _feature_map, _requirements
from query.record import Record

if TYPE_CHECKING:
    from typing import Protocol

    from query.version import VersionParts

    class Host(Protocol):
        """The file system, as discovery needs it (implemented in registry/workspace.py)."""

        cargo_home: str

        def read(self, manifest_path: str) -> Mapping[str, object] | None:
            """The parsed manifest, None when the file does not exist (raise for a file that
            cannot be read or parsed)."""

        def glob(self, pattern: str) -> list[str]:
            """Absolute paths matching an absolute glob ``pattern``, sorted (``glob`` crate
            semantics: ``*`` matches dot files too)."""

        def is_dir(self, path: str) -> bool: ...

        def exists(self, path: str) -> bool: ...

        def registry_index(self, name: str) -> str | None:
            """The index URL configured for registry ``name``, or None."""


__all__ = ["ConfigPatch", "Loader", "activate", "discover"]

_GLOB_CHARS = frozenset("*?[")


class ConfigPatch(Record):
    """One ``[patch.<key>.<name>]`` entry of the cargo configuration, merged over the files:
    ``fields`` is the entry's table, and ``roots`` says, per field, the directory its file's
    relative paths start from (the parent of the ``.cargo`` directory holding it; for
    ``$CARGO_HOME/config.toml``, the parent of ``$CARGO_HOME``; for ``--config KEY=VALUE``, the
    current directory). ``origin`` names the file (or the ``--config`` argument) that defines
    the entry's first field."""

    key: str
    name: str
    fields: Mapping[str, object]
    roots: Mapping[str, str]
    origin: str


def _parent(path: str) -> str:
    return posixpath.dirname(path)


def _manifest(directory: str) -> str:
    return posixpath.join(directory, "Cargo.toml")


class Loader:
    """cargo's package cache and known workspace roots over a :class:`Host`."""

    def __init__(self, host: Host, display: Callable[[str], str] = lambda p: p) -> None:
        self.host = host
        self.display = display
        self._loaded: dict[str, Manifest | ManifestError] = {}
        self._loading: set[str] = set()
        self.ws_roots: dict[str, WorkspaceConfig] = {}
        self._memo = ManifestMemo()  # what the manifests repeat (requirements, platforms)

    # -- loading --------------------------------------------------------------------------

    def load(self, manifest_path: str) -> Manifest:
        """The manifest at ``manifest_path``, fully read; :class:`ManifestError` otherwise."""
        found = self._loaded.get(manifest_path)
        if isinstance(found, Manifest):
            return found
        if found is not None:
            raise found
        shown = self.display(manifest_path)
        if manifest_path in self._loading:
            raise ManifestError(f"{shown}: the workspace root of this package is itself")
        data = self.host.read(manifest_path)
        if data is None:
            error = ManifestError(f"failed to read `{shown}`: No such file or directory")
            self._loaded[manifest_path] = error
            raise error
        directory = _parent(manifest_path)
        self._loading.add(manifest_path)
        try:
            manifest = manifest_from_mapping(
                data,
                directory,
                lambda: self._inheritable(manifest_path, data),
                registry_index=self.host.registry_index,
                memo=self._memo,
                files=lambda rel: self.host.exists(posixpath.join(directory, rel)),
            )
        except ManifestError as exc:
            text = str(exc)
            if text.startswith(directory + "/Cargo.toml: "):
                text = f"{shown}: {text[len(directory) + 13 :]}"
            error = ManifestError(text)
            self._loaded[manifest_path] = error
            raise error from None
        finally:
            self._loading.discard(manifest_path)
        self._loaded[manifest_path] = manifest
        if manifest.workspace is not None:
            self.ws_roots[directory] = manifest.workspace
        return manifest

    def try_load(self, manifest_path: str) -> Manifest | ManifestError:
        try:
            return self.load(manifest_path)
        except ManifestError as exc:
            return exc

    def _inheritable(self, manifest_path: str, data: Mapping[str, object]) -> WorkspaceConfig:
        """``load_inheritable_fields`` for a manifest without its own ``[workspace]``."""
        package = data.get("package", data.get("project"))
        pointer = package.get("workspace") if isinstance(package, Mapping) else None
        if isinstance(pointer, str):
            root = normalize_path(posixpath.join(_parent(manifest_path), pointer, "Cargo.toml"))
        else:
            found = self.find_workspace_root(manifest_path)
            if found is None:
                raise ManifestError("failed to find a workspace root")
            root = found
        known = self.ws_roots.get(_parent(root))
        if known is not None:
            return known
        manifest = self.load(root)
        if manifest.workspace is None:
            raise ManifestError(
                f"root of a workspace inferred but wasn't a root: {self.display(root)}"
            )
        return manifest.workspace

    # -- roots ----------------------------------------------------------------------------

    def _ws_root_of(self, manifest: Manifest, self_path: str, look_from: str) -> str | None:
        """``WorkspaceConfig::get_ws_root``."""
        if manifest.workspace is not None:
            return None if manifest.workspace.is_excluded(look_from) else self_path
        if manifest.workspace_pointer is not None:
            return normalize_path(
                posixpath.join(_parent(self_path), manifest.workspace_pointer, "Cargo.toml")
            )
        return None

    def find_workspace_root(self, manifest_path: str) -> str | None:
        """``find_workspace_root_with_loader``: known roots first, then each ancestor."""
        directory = _parent(manifest_path)
        while True:
            config = self.ws_roots.get(directory)
            if config is not None and not config.is_excluded(manifest_path):
                return _manifest(directory)
            parent = _parent(directory)
            if parent == directory:
                break
            directory = parent
        # find_root_iter: from the parent directory up, not below `target/package`, and not
        # above $CARGO_HOME (it is looked at, its parent is not)
        home = normalize_path(self.host.cargo_home)
        directory = _parent(_parent(manifest_path))
        last: str | None = None
        while True:
            if components(directory)[-2:] == ("target", "package") or last == home:
                return None
            ancestor = _manifest(directory)
            if self.host.read(ancestor) is not None:
                root = self._ws_root_of(self.load(ancestor), ancestor, manifest_path)
                if root is not None:
                    return root
            parent = _parent(directory)
            if parent == directory:
                return None
            last, directory = directory, parent

    def find_root(self, manifest_path: str) -> str | None:
        """``Workspace::find_root``: the manifest's own root config or pointer, else the walk."""
        current = self.load(manifest_path)
        root = self._ws_root_of(current, manifest_path, manifest_path)
        if root is not None:
            return root
        return self.find_workspace_root(manifest_path)


# ---------------------------------------------------------------------------------------------
# the workspace


def _members_paths(host: Host, root: str, globs: Sequence[str]) -> list[str]:
    """``members_paths``: each entry expanded with the glob crate relative to the root; no
    match keeps the literal path; matches that are not directories are dropped."""
    out: list[str] = []
    for entry in globs:
        pattern = posixpath.join(root, entry)
        if _GLOB_CHARS.intersection(entry):
            matches = host.glob(pattern)
        else:
            matches = [pattern] if host.exists(pattern) else []
        if not matches:
            out.append(pattern)
            continue
        out.extend(m for m in matches if host.is_dir(m))
    return out


def discover(
    host: Host,
    start: str,
    *,
    config_patches: Sequence[ConfigPatch] = (),
    base: str = "",
) -> tuple[Workspace, Loader]:
    """The workspace of the manifest ``start`` (absolute), validated as cargo validates it;
    :class:`ManifestError` for anything cargo refuses while loading it."""

    def display(path: str) -> str:
        return posixpath.relpath(path, base) if base and path.startswith("/") else path

    loader = Loader(host, display)
    start = normalize_path(start)
    root_manifest = loader.find_root(start)
    members: list[str] = []
    member_ids: dict[str, Manifest] = {}

    if root_manifest is None:
        current = loader.load(start)
        members.append(start)
        member_ids[start] = current
        root = current
        config: WorkspaceConfig | None = None
    else:
        root = loader.load(root_manifest)
        config = root.workspace
        if config is None:
            raise ManifestError(
                "`package.workspace` configuration points to a crate which is not configured "
                f"with [workspace]: configuration at: {display(start)}, points to: "
                f"{display(root_manifest)}"
            )

    if config is not None and root_manifest is not None:
        root_dir = _parent(root_manifest)

        def find_path_deps(manifest_path: str, is_path_dep: bool) -> None:
            manifest_path = normalize_path(manifest_path)
            if manifest_path in member_ids:
                return
            if (
                is_path_dep
                and not starts_with(_parent(manifest_path), root_dir)
                and loader.find_root(manifest_path) != root_manifest
            ):
                return
            if config.is_excluded(manifest_path):
                return
            members.append(manifest_path)
            manifest = loader.load(manifest_path)
            member_ids[manifest_path] = manifest
            if manifest.is_virtual:
                return
            for dep in manifest.dependencies:
                if isinstance(dep.source, PathSource):
                    try:
                        find_path_deps(_manifest(dep.source.path), True)
                    except ManifestError as exc:
                        raise ManifestError(
                            f"failed to load manifest for dependency `{dep.name_in_toml}`: {exc}"
                        ) from None

        for path in _members_paths(host, root_dir, config.members or ()):
            try:
                find_path_deps(_manifest(path), False)
            except ManifestError as exc:
                raise ManifestError(
                    f"failed to load manifest for workspace member `{display(path)}`: {exc}"
                ) from None
        find_path_deps(root_manifest, False)

        if root_manifest == start and config.default_members is not None:
            listed = {
                normalize_path(p) for p in _members_paths(host, root_dir, config.members or ())
            }
            for path in _members_paths(host, root_dir, config.default_members):
                normalized = normalize_path(path)
                if _manifest(normalized) in member_ids:
                    continue
                if normalized in listed and config.is_excluded(normalized):
                    continue
                raise ManifestError(
                    f"package `{display(path)}` is listed in default-members but is not a "
                    f"member for workspace at `{display(root_manifest)}`."
                )
        _validate(loader, root_manifest, start, members, member_ids, display)

    packages = [m for m in (member_ids[p] for p in members) if not m.is_virtual]
    if root_manifest is not None and not packages:
        raise ManifestError("you can't generate a lockfile for an empty workspace.")
    ordered = sorted(packages, key=lambda m: m.path != root.path)
    patches = _root_patches(host, root, config_patches, display)
    workspace = Workspace(root, tuple(ordered), (), tuple(patches), root.replacements, base)
    return _with_path_packages(loader, workspace), loader


def _validate(
    loader: Loader,
    root_manifest: str,
    start: str,
    members: list[str],
    member_ids: Mapping[str, Manifest],
    display: Callable[[str], str],
) -> None:
    """``Workspace::validate`` (``core/workspace.rs:1022-1184``)."""
    names: dict[str, str] = {}
    for path in members:
        manifest = member_ids[path]
        if manifest.name is None:
            continue
        previous = names.setdefault(manifest.name, path)
        if previous != path:
            raise ManifestError(
                f"two packages named `{manifest.name}` in this workspace: "
                f"{display(previous)}, {display(path)}"
            )
    roots = [p for p in members if member_ids[p].workspace is not None]
    if not roots:
        raise ManifestError(
            "`package.workspace` configuration points to a crate which is not configured with "
            f"[workspace]: configuration at: {display(start)}, points to: "
            f"{display(root_manifest)}"
        )
    if len(roots) > 1:
        listed = ", ".join(display(_parent(r)) for r in roots)
        raise ManifestError(f"multiple workspace roots found in the same workspace: {listed}")
    for path in members:
        found = loader.find_root(path)
        if found == root_manifest:
            continue
        if found is not None:
            raise ManifestError(
                f"package `{display(path)}` is a member of the wrong workspace: expected "
                f"{display(root_manifest)}, actual {display(found)}"
            )
        raise ManifestError(
            f"workspace member `{display(path)}` is not hierarchically below the workspace "
            f"root `{display(root_manifest)}`"
        )
    if start not in member_ids:
        raise ManifestError(
            "current package believes it's in a workspace when it's not: current "
            f"{display(start)}, workspace {display(root_manifest)}; add it to "
            "`workspace.members`, or to `workspace.exclude`, or give it an empty `[workspace]`"
        )


# ---------------------------------------------------------------------------------------------
# patches


def _root_patches(
    host: Host,
    root: Manifest,
    config_patches: Sequence[ConfigPatch],
    display: Callable[[str], str],
) -> list[Patch]:
    """``Workspace::root_patch``: configuration entries first, then the manifest's entries
    whose name the configuration does not patch for the same source."""
    from query.manifest import config_patch_dependency, patch_source

    out: list[Patch] = []
    taken: set[tuple[str, str]] = set()
    for entry in config_patches:
        source = patch_source(entry.key, host.registry_index)
        if source is None:
            raise ManifestError(
                f"{entry.origin}: [patch] entry `{entry.key}` should be a URL or registry name"
            )
        spec = dict(entry.fields)
        path = spec.get("path")
        if isinstance(path, str):
            spec["path"] = normalize_path(posixpath.join(entry.roots.get("path", "/"), path))
        dep = config_patch_dependency(
            entry.name, spec, entry.key, entry.origin, host.registry_index
        )
        out.append(Patch(entry.key, source, dep, entry.origin))
        taken.add((source, entry.name))
    for key, group in root.patches.items():
        source = root.patch_sources[key]
        for dep in group:
            if (source, dep.name_in_toml) not in taken:
                out.append(Patch(key, source, dep, display(root.manifest_path)))
    return out


# ---------------------------------------------------------------------------------------------
# other local packages


def _with_path_packages(loader: Loader, workspace: Workspace) -> Workspace:
    """``build_path_deps``: every local package reachable from the members through path
    dependencies of any kind, and the path targets of patches and replacements. A package that
    fails to load is kept in ``failed`` (cargo ignores it here; the resolver may need it)."""
    members = {m.path for m in workspace.members}
    found: dict[str, Manifest] = {}
    failed: dict[str, str] = {}
    pending: list[str] = [d for m in workspace.members for d in m.path_dependencies()]
    pending += [
        p.dependency.source.path
        for p in workspace.patches
        if isinstance(p.dependency.source, PathSource)
    ]
    pending += [
        r.dependency.source.path
        for r in workspace.replacements
        if isinstance(r.dependency.source, PathSource)
    ]
    while pending:
        directory = pending.pop(0)
        if directory in members or directory in found or directory in failed:
            continue
        loaded = loader.try_load(_manifest(directory))
        if isinstance(loaded, ManifestError):
            failed[directory] = str(loaded)
            continue
        if loaded.is_virtual:
            failed[directory] = (
                f"{loader.display(loaded.manifest_path)}: found a virtual manifest instead of a "
                "package manifest"
            )
            continue
        found[directory] = loaded
        pending += loaded.path_dependencies()
    return Workspace(
        workspace.root,
        workspace.members,
        tuple(found.values()),
        workspace.patches,
        workspace.replacements,
        workspace.base,
        failed,
    )


def local_requests(
    manifest: Manifest, features: set[str], member: bool
) -> list[tuple[ManifestDependency, set[str]]]:
    """The dependencies of a local package the resolver activates with ``features`` (every
    feature for a member), each with the features asked of it."""
    deps = tuple([d for d in manifest.dependencies if member or d.kind != "dev"])
    summary = FeatureSummary(_feature_map(manifest.features, deps), deps)
    asked = _requirements(summary, features, member)
    out = []
    for dep in deps:
        if dep.optional and dep.name_in_toml not in asked:
            continue
        wanted = set(asked.get(dep.name_in_toml, set())) | set(dep.features)
        if dep.default_features:
            wanted.add("default")
        out.append((dep, wanted))
    return out


def activate(workspace: Workspace) -> dict[str, set[str]]:
    """The local packages the resolver activates from the manifests alone (members with every
    feature; path dependencies, with the features asked of them; path patches of activated
    registry dependencies), by directory, with their features. Raises the load error of the
    first activated package that failed to load."""
    by_dir = {m.path: m for m in (*workspace.members, *workspace.path_packages)}
    members = {m.path for m in workspace.members}
    patched: dict[tuple[str, str], str] = {}
    for patch in workspace.patches:
        source = patch.dependency.source
        if isinstance(source, PathSource):
            patched.setdefault((patch.source, patch.dependency.package), source.path)
    features: dict[str, set[str]] = {m.path: set() for m in workspace.members}
    stack = list(features)
    while stack:
        directory = stack.pop()
        manifest = by_dir[directory]
        for dep, wanted in local_requests(manifest, features[directory], directory in members):
            if isinstance(dep.source, PathSource):
                target = dep.source.path
            elif isinstance(dep.source, RegistrySource) and dep.source.registry is None:
                target = patched.get((CRATES_IO_INDEX, dep.package), "")
                if not target:
                    continue
            else:
                continue
            if target in members:
                continue
            if target not in by_dir:
                error = workspace.failed.get(target)
                if error is not None:
                    raise ManifestError(
                        f"failed to get `{dep.package}` as a dependency of package "
                        f"`{manifest.name}`: {error}"
                    )
                continue
            have = features.get(target)
            if have is None:
                features[target] = set(wanted)
                stack.append(target)
            elif not wanted <= have:
                have |= wanted
                stack.append(target)
    return features


def check_patches(workspace: Workspace) -> None:
    """What registering the patches refuses (``PackageRegistry::patch``,
    ``core/registry.rs:341-517``): a path patch that does not load or holds no package of its
    name and requirement, a patch to the source it patches, two patches of one source
    resolving to the same package."""
    from query.requirement import Requirement

    by_dir = {m.path: m for m in workspace.path_packages}
    by_dir.update({m.path: m for m in workspace.members})
    seen: dict[tuple[str, str, str], str] = {}
    for patch in workspace.patches:
        dep = patch.dependency
        source = dep.source
        name = dep.package
        if isinstance(source, PathSource):
            error = workspace.failed.get(source.path)
            if error is not None:
                raise ManifestError(f"failed to load source for dependency `{name}`: {error}")
            manifest = by_dir.get(source.path)
            if manifest is None or manifest.version is None:
                continue
            if manifest.name != name or (
                dep.requirement is not None
                and not Requirement.parse(dep.requirement).matches(_parts(manifest.version))
            ):
                found = f", found version `{manifest.version}`" if manifest.name == name else ""
                raise ManifestError(
                    f"patch location `{source.path}` does not contain packages matching "
                    f"`{name}`{found} (check the `{name}` patch definition in {patch.origin})"
                )
            key = (patch.source, name, manifest.version)
            if key in seen:
                raise ManifestError(
                    f"several `[patch]` entries resolving to same version `{name} "
                    f"v{manifest.version}` (in {seen[key]} and {patch.origin})"
                )
            seen[key] = patch.origin
        elif (
            isinstance(source, RegistrySource)
            and source.registry is None
            and source.index_url is None
            and patch.source == CRATES_IO_INDEX
        ):
            raise ManifestError(
                f"patch for `{name}` points to the same source, but patches must point to "
                f"different sources (check the `{name}` patch definition in {patch.origin})"
            )


def _parts(version: str) -> VersionParts:
    from query.version import parse_parts

    return parse_parts(version)

"""Cargo workspace model for the null-build check, from already-parsed ``Cargo.toml`` mappings.

No I/O: every function takes mappings from :mod:`tomllib` and paths as strings. Paths are POSIX,
relative to the workspace root directory and normalized (``"."`` is the root, ``"../x"`` lies
outside it). A caller that owns the file system reads the manifests:

* :func:`manifest_from_mapping` models one ``Cargo.toml``: package name and version (inherited
  from ``[workspace.package]`` when ``version.workspace = true``), every dependency of the
  ``[dependencies]``, ``[dev-dependencies]`` and ``[build-dependencies]`` tables, top-level or under
  ``[target.<cfg or triple>]``, and, on a root, ``[workspace]``, ``[patch.<source>]`` and
  ``[replace]`` (raw, plus the parsed dependencies).
* A :class:`ManifestDependency` has a ``source``: ``("registry", name | None)`` (None = the
  default registry, crates.io), ``("path", dir)`` or ``("git", url, ref)`` where ``ref`` is
  ``"branch=x"``, ``"tag=x"``, ``"rev=x"`` or None. ``{ workspace = true }`` entries are resolved
  against the root's ``[workspace.dependencies]`` (features are added, ``optional`` is the
  member's, a path stays relative to the root) and marked ``workspace_inherited``.
* :func:`workspace_members` and :func:`expand_members` reproduce cargo's member list: glob
  patterns are matched against a list of candidate directories that the caller supplies, a
  pattern that matches nothing is kept literally (so loading it fails, as in cargo), and
  ``exclude`` entries are path prefixes that lose against a literal ``members`` prefix.
* :func:`discover_workspace` follows cargo's ``find_members`` with a ``load(dir)`` callback: listed
  members, then the root, then, transitively, path dependencies of members that live under the
  root and are not excluded. Other local packages the resolver reads (path dependencies outside
  the root, ``[patch]``/``[replace]`` paths) end up in :attr:`Workspace.path_packages`.

Errors are :class:`ManifestError`, one line starting with the manifest's relative path.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType

from query import TYPE_CHECKING
from query.errors import ParseError
from query.record import Record, field

if TYPE_CHECKING:
    from typing import Literal, TypeAlias

    DependencyKind: TypeAlias = Literal["normal", "dev", "build"]


__all__ = [
    "DependencySource",
    "GitSource",
    "Manifest",
    "ManifestDependency",
    "ManifestError",
    "PathSource",
    "RegistrySource",
    "Workspace",
    "WorkspaceConfig",
    "discover_workspace",
    "expand_members",
    "is_excluded",
    "manifest_from_mapping",
    "workspace_members",
]

_KIND_TABLES: tuple[tuple[DependencyKind, str, str], ...] = (
    ("normal", "dependencies", "dependencies"),
    ("dev", "dev-dependencies", "dev_dependencies"),
    ("build", "build-dependencies", "build_dependencies"),
)
_GIT_REFS = ("branch", "tag", "rev")
_GLOB_CHARS = frozenset("*?[")
_NO_TABLE: Mapping[str, object] = MappingProxyType({})
_NO_FEATURES: Mapping[str, tuple[str, ...]] = MappingProxyType({})


class ManifestError(ParseError):
    """A Cargo.toml that cannot be modelled; one line, starting with its relative path."""


class RegistrySource(Record):
    """A registry dependency; ``registry`` None means the default registry (crates.io);
    ``index_url`` is ``registry-index = "<url>"`` (published manifests)."""

    kind: Literal["registry"] = "registry"
    registry: str | None = None
    index_url: str | None = None


class PathSource(Record):
    """A local dependency; ``path`` is normalized and relative to the workspace root."""

    kind: Literal["path"] = "path"
    path: str = "."


class GitSource(Record):
    """A git dependency; ``ref`` is ``"branch=x"``, ``"tag=x"``, ``"rev=x"`` or None (default)."""

    kind: Literal["git"] = "git"
    url: str = ""
    ref: str | None = None


DependencySource = RegistrySource | PathSource | GitSource


class ManifestDependency(Record):
    """One dependency entry. ``package`` is the real crate name (``package =`` renames it);
    ``requirement`` is the version requirement as written, None when there is none ("*")."""

    name_in_toml: str
    package: str
    requirement: str | None
    kind: DependencyKind
    target: str | None
    source: DependencySource
    optional: bool = False
    workspace_inherited: bool = False
    features: tuple[str, ...] = ()
    default_features: bool = True

    # what feature resolution reads (query/nullbuild.py), named as an index dependency names it

    @property
    def name(self) -> str:
        return self.name_in_toml

    @property
    def package_name(self) -> str:
        return self.package

    @property
    def req(self) -> str | None:
        return self.requirement


class WorkspaceConfig(Record):
    """The ``[workspace]`` table of a root manifest (``root`` is that manifest's directory).
    The mappings are compared, not hashed."""

    root: str
    members: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    default_members: tuple[str, ...] | None = None
    resolver: str | None = None
    package: Mapping[str, object] = field(default=_NO_TABLE, hash=False)
    dependencies: Mapping[str, ManifestDependency] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )


class Manifest(Record):
    """One ``Cargo.toml``. ``path`` is its directory; ``name`` is None for a virtual manifest.

    ``version`` defaults to ``"0.0.0"`` when a package omits it (cargo >= 1.75).
    ``patch`` and ``replace`` are the raw tables; ``patches`` and ``replacements`` the parsed
    dependencies (paths relative to the workspace root). The mappings are compared, not hashed.
    """

    path: str
    name: str | None
    version: str | None
    dependencies: tuple[ManifestDependency, ...] = ()
    rust_version: str | None = None
    features: Mapping[str, tuple[str, ...]] = field(default=_NO_FEATURES, hash=False)
    workspace: WorkspaceConfig | None = None
    patch: Mapping[str, object] = field(default=_NO_TABLE, hash=False)
    replace: Mapping[str, object] = field(default=_NO_TABLE, hash=False)
    patches: Mapping[str, tuple[ManifestDependency, ...]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    replacements: Mapping[str, ManifestDependency] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )

    @property
    def is_virtual(self) -> bool:
        return self.name is None

    @property
    def manifest_path(self) -> str:
        return _manifest_file(self.path)

    def path_dependencies(
        self, kinds: Iterable[str] = ("normal", "dev", "build")
    ) -> tuple[str, ...]:
        """Directories of this manifest's path dependencies of the given kinds, in order."""
        wanted = set(kinds)
        dirs = [d.source for d in self.dependencies if d.kind in wanted]
        return tuple(dict.fromkeys(s.path for s in dirs if isinstance(s, PathSource)))

    def local_overrides(self) -> tuple[str, ...]:
        """Directories named by path entries of ``[patch.*]`` and ``[replace]``."""
        deps = [d for group in self.patches.values() for d in group]
        deps += self.replacements.values()
        return tuple(dict.fromkeys(d.source.path for d in deps if isinstance(d.source, PathSource)))


class Workspace(Record):
    """A root manifest, its members (the root first when it is a package) and other local
    packages the resolver reads (non-member path dependencies, path patches/replacements)."""

    root: Manifest
    members: tuple[Manifest, ...]
    path_packages: tuple[Manifest, ...] = ()

    @property
    def manifests(self) -> tuple[Manifest, ...]:
        """Every distinct manifest: the root, the members, the other path packages."""
        head = (self.root,) if self.root.is_virtual else ()
        return head + self.members + self.path_packages

    def member(self, name: str) -> Manifest | None:
        return next((m for m in self.members if m.name == name), None)


# ---------------------------------------------------------------------------------------------
# paths and globs


def _manifest_file(directory: str) -> str:
    return "Cargo.toml" if directory == "." else f"{directory}/Cargo.toml"


def _norm(path: str) -> str:
    """Normalize a relative POSIX path; ``""`` and ``"./"`` become ``"."``."""
    return posixpath.normpath(path) if path else "."


def _join(base: str, rel: str) -> str:
    return _norm(posixpath.join(base, rel))


def _parts(path: str) -> tuple[str, ...]:
    return () if path == "." else tuple(path.split("/"))


def _starts_with(path: str, prefix: str) -> bool:
    """Component-wise prefix test, like Rust's ``Path::starts_with``."""
    p, q = _parts(_norm(path)), _parts(_norm(prefix))
    return p[: len(q)] == q


def _outside(path: str) -> bool:
    return path == ".." or path.startswith("../") or path.startswith("/")


def _glob_match(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    """Match path components against glob components; ``**`` spans zero or more of them."""
    if not pattern:
        return not path
    from fnmatch import fnmatchcase  # glob members only: not imported by a plain workspace

    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_glob_match(rest, path[i:]) for i in range(len(path) + 1))
    return bool(path) and fnmatchcase(path[0], head) and _glob_match(rest, path[1:])


def is_excluded(path: str, exclude: Iterable[str], members: Iterable[str]) -> bool:
    """cargo's ``is_excluded``: under an ``exclude`` entry and under no literal ``members`` entry.

    Both lists are compared as path prefixes, so a glob ``members`` entry never overrides.
    """
    if not any(_starts_with(path, ex) for ex in exclude):
        return False
    return not any(_starts_with(path, mem) for mem in members)


def expand_members(
    globs: Iterable[str], exclude: Iterable[str], existing_dirs: Iterable[str]
) -> list[str]:
    """Expand ``workspace.members`` against ``existing_dirs`` (relative directory paths).

    A literal entry is kept as is; a glob gives its matches in sorted order, or itself when it
    matches nothing (cargo keeps it so that loading it fails). Entries excluded by
    :func:`is_excluded` are dropped; duplicates keep their first position.
    """
    members = [str(g) for g in globs]
    excluded = list(exclude)
    dirs = sorted({_norm(d) for d in existing_dirs}, key=_parts)
    out: dict[str, None] = {}
    for entry in members:
        pattern = _norm(entry)
        found = [pattern]
        if _GLOB_CHARS.intersection(pattern):
            parts = _parts(pattern)
            found = [d for d in dirs if _glob_match(parts, _parts(d))] or [pattern]
        for d in found:
            if not is_excluded(d, excluded, members):
                out.setdefault(d, None)
    return list(out)


# ---------------------------------------------------------------------------------------------
# manifests


def _type(value: object) -> str:
    return type(value).__name__


def _str_list(value: object, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ManifestError(f"{where}: `{key}` must be an array of strings")
    return tuple(value)


def workspace_members(root: Mapping[str, object]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(members, exclude)`` of a root manifest's ``[workspace]`` (empty when absent)."""
    ws = root.get("workspace")
    if not isinstance(ws, Mapping):
        return (), ()
    members = _str_list(ws.get("members", []), "Cargo.toml: [workspace]", "members")
    exclude = _str_list(ws.get("exclude", []), "Cargo.toml: [workspace]", "exclude")
    return members, exclude


def _table(value: object, where: str) -> Mapping[str, object]:
    if value is None:
        return _NO_TABLE
    if not isinstance(value, Mapping):
        raise ManifestError(f"{where} must be a table, not {_type(value)}")
    return value


def _opt_str(spec: Mapping[str, object], key: str, where: str) -> str | None:
    value = spec.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ManifestError(f"{where}: `{key}` must be a string, not {_type(value)}")


def _opt_bool(spec: Mapping[str, object], key: str, where: str) -> bool | None:
    value = spec.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise ManifestError(f"{where}: `{key}` must be a boolean, not {_type(value)}")


def _dependency(
    name: str,
    spec: object,
    where: str,
    *,
    base: str,
    ws: WorkspaceConfig | None,
    kind: DependencyKind = "normal",
    target: str | None = None,
) -> ManifestDependency:
    """Parse one entry; ``base`` is the directory its relative ``path`` is relative to."""
    if isinstance(spec, str):
        return ManifestDependency(name, name, spec, kind, target, RegistrySource())
    if not isinstance(spec, Mapping):
        raise ManifestError(f"{where}: expected a version string or a table, not {_type(spec)}")

    features = _str_list(spec["features"], where, "features") if "features" in spec else ()
    optional = _opt_bool(spec, "optional", where) is True
    default_features = _opt_bool(spec, "default-features", where)
    if default_features is None:
        default_features = _opt_bool(spec, "default_features", where)
    if "workspace" in spec:
        if spec["workspace"] is not True:
            raise ManifestError(f"{where}: `workspace` cannot be false")
        if ws is None:
            raise ManifestError(f"{where}: inherits from a workspace, but none is known")
        template = ws.dependencies.get(name)
        if template is None:
            raise ManifestError(f"{where}: `{name}` not found in `workspace.dependencies`")
        # cargo: the member can turn default features on, never off
        merged_default = template.default_features or default_features is True
        return ManifestDependency(
            template.name_in_toml,
            template.package,
            template.requirement,
            kind,
            target,
            template.source,
            optional=optional,
            workspace_inherited=True,
            features=tuple(dict.fromkeys(template.features + features)),
            default_features=merged_default,
        )
    version = _opt_str(spec, "version", where)
    package = _opt_str(spec, "package", where) or name
    path, git = _opt_str(spec, "path", where), _opt_str(spec, "git", where)
    registry = _opt_str(spec, "registry", where)
    refs = [(key, value) for key in _GIT_REFS if (value := _opt_str(spec, key, where)) is not None]
    source: DependencySource
    if git is not None and path is not None:
        raise ManifestError(f"{where}: only one of `git` or `path` is allowed")
    if git is not None and registry is not None:
        raise ManifestError(f"{where}: only one of `git` or `registry` is allowed")
    if len(refs) > 1:
        raise ManifestError(f"{where}: only one of `branch`, `tag` or `rev` is allowed")
    if path is not None:
        source = PathSource(path=_join(base, path))
    elif git is not None:
        source = GitSource(url=git, ref=f"{refs[0][0]}={refs[0][1]}" if refs else None)
    else:
        index = _opt_str(spec, "registry-index", where)
        source = RegistrySource(registry=registry, index_url=index)
    return ManifestDependency(
        name,
        package,
        version,
        kind,
        target,
        source,
        optional,
        False,
        features,
        default_features is not False,
    )


def _dependency_tables(
    table: Mapping[str, object],
    target: str | None,
    base: str,
    where: str,
    ws: WorkspaceConfig | None,
) -> list[ManifestDependency]:
    out: list[ManifestDependency] = []
    for kind, dashed, underscored in _KIND_TABLES:
        key = dashed if dashed in table else underscored
        prefix = f"target.{target!r}." if target is not None else ""
        deps = _table(table.get(key), f"{where}: [{prefix}{key}]")
        for name, spec in deps.items():
            label = f"{where}: [{prefix}{key}] {name}"
            out.append(_dependency(name, spec, label, base=base, ws=ws, kind=kind, target=target))
    return out


def _inherit(value: object, key: str, ws: WorkspaceConfig | None, where: str) -> str | None:
    """A package field, possibly ``{ workspace = true }``."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping) and value.get("workspace") is True:
        if ws is None:
            raise ManifestError(
                f"{where}: `package.{key}` inherits from a workspace, but none is known"
            )
        inherited = ws.package.get(key)
        if not isinstance(inherited, str):
            raise ManifestError(f"{where}: `workspace.package.{key}` was not defined")
        return inherited
    raise ManifestError(f"{where}: `package.{key}` must be a string or {{ workspace = true }}")


def _workspace_config(raw: object, directory: str, where: str) -> WorkspaceConfig:
    ws = _table(raw, f"{where}: [workspace]")
    members, exclude = workspace_members({"workspace": ws})
    default = ws.get("default-members")
    resolver = ws.get("resolver")
    if resolver is not None and not isinstance(resolver, str):
        raise ManifestError(f"{where}: `workspace.resolver` must be a string")
    package = _table(ws.get("package"), f"{where}: [workspace.package]")
    deps = _table(ws.get("dependencies"), f"{where}: [workspace.dependencies]")
    parsed: dict[str, ManifestDependency] = {}
    for name, spec in deps.items():
        label = f"{where}: [workspace.dependencies] {name}"
        if isinstance(spec, Mapping) and "workspace" in spec:
            raise ManifestError(f"{label}: cannot itself inherit from the workspace")
        parsed[name] = _dependency(name, spec, label, base=directory, ws=None)
    return WorkspaceConfig(
        directory,
        members,
        exclude,
        None if default is None else _str_list(default, where, "workspace.default-members"),
        resolver,
        MappingProxyType(dict(package)),
        MappingProxyType(parsed),
    )


def _spec_name(spec: str) -> str:
    """The package name of a ``[replace]`` key (``foo:1.0.0``, ``foo@1.0.0``, ``<url>#foo@1.0``)."""
    tail = spec.rsplit("#", 1)[-1]
    return tail.replace("@", ":").split(":", 1)[0]


def manifest_from_mapping(
    data: Mapping[str, object], path: str = ".", workspace: WorkspaceConfig | None = None
) -> Manifest:
    """Model one parsed ``Cargo.toml`` whose directory is ``path`` (relative to the root).

    ``workspace`` is the root's configuration, used for ``workspace = true`` inheritance; a
    manifest with its own ``[workspace]`` table uses that instead.
    """
    directory = _norm(path)
    where = _manifest_file(directory)
    own = _workspace_config(data["workspace"], directory, where) if "workspace" in data else None
    ws = own or workspace
    package = _table(data.get("package", data.get("project")), f"{where}: [package]")
    name = version = rust_version = None
    if package is not _NO_TABLE:
        raw_name = package.get("name")
        if not isinstance(raw_name, str) or not raw_name:
            raise ManifestError(f"{where}: `package.name` must be a non-empty string")
        name = raw_name
        version = _inherit(package.get("version"), "version", ws, where) or "0.0.0"
        rust_version = _inherit(package.get("rust-version"), "rust-version", ws, where)
    deps = _dependency_tables(data, None, directory, where, ws)
    for target, table in _table(data.get("target"), f"{where}: [target]").items():
        deps += _dependency_tables(
            _table(table, f"{where}: [target.{target!r}]"), target, directory, where, ws
        )
    features: dict[str, tuple[str, ...]] = {}
    for feature, enables in _table(data.get("features"), f"{where}: [features]").items():
        features[feature] = _str_list(enables, f"{where}: [features]", feature)
    patch = _table(data.get("patch"), f"{where}: [patch]")
    patches: dict[str, tuple[ManifestDependency, ...]] = {}
    for source, table in patch.items():
        entries = _table(table, f"{where}: [patch.{source}]")
        patches[source] = tuple(
            _dependency(n, s, f"{where}: [patch.{source}] {n}", base=directory, ws=ws)
            for n, s in entries.items()
        )
    replace_table = _table(data.get("replace"), f"{where}: [replace]")
    replacements = {
        spec: _dependency(_spec_name(spec), s, f"{where}: [replace] {spec}", base=directory, ws=ws)
        for spec, s in replace_table.items()
    }
    return Manifest(
        directory,
        name,
        version,
        tuple(deps),
        rust_version,
        MappingProxyType(features),
        own,
        patch,
        replace_table,
        MappingProxyType(patches),
        MappingProxyType(replacements),
    )


# ---------------------------------------------------------------------------------------------
# workspace discovery


def discover_workspace(
    root: Mapping[str, object],
    load: Callable[[str], Mapping[str, object]],
    existing_dirs: Iterable[str] = (),
) -> Workspace:
    """Find the members of the workspace whose root manifest is ``root`` (directory ``"."``).

    ``load(dir)`` returns the parsed ``Cargo.toml`` of a directory relative to the root (it may
    raise whatever the caller likes for a missing file); ``existing_dirs`` are the candidate
    directories for glob members. Without a ``[workspace]`` table the root is the only member.
    """
    root_manifest = manifest_from_mapping(root, ".")
    config = root_manifest.workspace
    loaded: dict[str, Manifest] = {".": root_manifest}

    def get(directory: str, ws: WorkspaceConfig | None) -> Manifest:
        manifest = loaded.get(directory)
        if manifest is None:
            manifest = loaded[directory] = manifest_from_mapping(load(directory), directory, ws)
        return manifest

    members: dict[str, Manifest] = {}

    def visit(directory: str, is_path_dep: bool) -> None:
        assert config is not None
        if directory in members or (is_path_dep and _outside(directory)):
            return
        if is_excluded(directory, config.exclude, config.members):
            return
        manifest = get(directory, config)
        if directory != "." and manifest.workspace is not None:
            raise ManifestError(
                f"{manifest.manifest_path}: is a member of the workspace at Cargo.toml "
                "but has its own [workspace] table (multiple workspace roots)"
            )
        members[directory] = manifest
        for dep_dir in manifest.path_dependencies():
            visit(dep_dir, True)

    if config is None:
        if root_manifest.is_virtual:
            raise ManifestError("Cargo.toml: a virtual manifest needs a [workspace] table")
        members["."] = root_manifest
    else:
        for directory in expand_members(config.members, config.exclude, existing_dirs):
            visit(directory, False)
        visit(".", False)

    # local packages outside the member set that the resolver still reads: path dependencies
    # of members (dev ones too) and of those packages (not dev), [patch] and [replace] paths
    others: dict[str, Manifest] = {}
    pending = [d for m in members.values() for d in m.path_dependencies()]
    pending += root_manifest.local_overrides()
    while pending:
        directory = pending.pop(0)
        if directory in members or directory in others:
            continue
        manifest = others[directory] = get(directory, None if _outside(directory) else config)
        pending += manifest.path_dependencies(("normal", "build"))

    ordered = ([members.pop(".")] if "." in members else []) + list(members.values())
    return Workspace(
        root_manifest, tuple(m for m in ordered if not m.is_virtual), tuple(others.values())
    )

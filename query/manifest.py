"""One ``Cargo.toml``, read the way cargo 1.95 reads it, from an already-parsed mapping.

No I/O: :func:`manifest_from_mapping` takes the mapping (from the subset reader, ``tomli`` or
:mod:`tomllib`), the manifest's directory and, for ``x.workspace = true`` fields, the
workspace they inherit from (or a callable that finds it, called only when something
inherits: cargo's lazy ``load_inheritable_fields``, ``src/cargo/util/toml/mod.rs:962-987`` at
tag 0.96.0). It follows cargo's ``read_manifest`` (``toml/mod.rs:64-154``):

1. the mapping must deserialize as ``TomlManifest`` (:mod:`query.manifest_schema`);
2. ``cargo-features``, the ``[workspace]`` table (:class:`WorkspaceConfig`), and whether it
   conflicts with ``package.workspace``;
3. normalization: package fields and dependencies inherited from the workspace
   (:func:`_inherit_dependency`: features appended, ``optional``/``public`` the member's, a
   relative ``path`` re-based from the workspace root, ``default-features`` as cargo merges it),
   deprecated ``_`` spellings, a virtual manifest without package-only sections;
4. what cargo checks of the result (:mod:`query.manifest_rules`): editions, ``rust-version``,
   ``resolver``, dependency sources and requirement strings, ``[features]``, lints, profiles,
   ``[patch]`` and ``[replace]``.

Anything cargo refuses raises :class:`ManifestError` with cargo's reason. Paths are POSIX
strings; a manifest's ``path`` is its directory as given (absolute when read from disk), and
every path dependency's directory is that joined with the written path and normalized
lexically, as cargo's ``paths::normalize_path`` does.

Which manifests form a workspace is :mod:`query.discovery`'s business; the records it builds
(:class:`Workspace`, :class:`Patch`) are defined here with the rest of the model.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType

from query import TYPE_CHECKING
from query import manifest_rules as rules
from query.errors import ParseError
from query.manifest_schema import (
    SchemaError,
    check_manifest_schema,
    dependency_error,
    package_id_spec,
)
from query.record import Record, field

if TYPE_CHECKING:
    from typing import Literal, TypeAlias

    from query.requirement import Requirement

    DependencyKind: TypeAlias = Literal["normal", "dev", "build"]
    #: The workspace a manifest inherits from: the config itself, a callable that finds it
    #: (raising ManifestError when there is none), or None (nothing to inherit from).
    Inheritance: TypeAlias = "WorkspaceConfig | Callable[[], WorkspaceConfig] | None"
    #: A registry name -> its index URL, or None when no configuration defines it.
    RegistryIndex: TypeAlias = Callable[[str], "str | None"]


__all__ = [
    "CRATES_IO_INDEX",
    "DependencySource",
    "GitSource",
    "Manifest",
    "ManifestDependency",
    "ManifestError",
    "Patch",
    "PathSource",
    "RegistrySource",
    "Replacement",
    "Workspace",
    "WorkspaceConfig",
    "components",
    "is_excluded",
    "manifest_from_mapping",
    "normalize_path",
    "starts_with",
    "workspace_members",
]

#: The crates.io index URL, as cargo names the crates.io source (``CRATES_IO_INDEX``).
CRATES_IO_INDEX = "https://github.com/rust-lang/crates.io-index"

_KIND_TABLES: tuple[tuple[DependencyKind, str, str], ...] = (
    ("normal", "dependencies", "dependencies"),
    ("dev", "dev-dependencies", "dev_dependencies"),
    ("build", "build-dependencies", "build_dependencies"),
)
_NO_TABLE: Mapping[str, object] = MappingProxyType({})
_NO_FEATURES: Mapping[str, tuple[str, ...]] = MappingProxyType({})

#: ``[workspace.package]`` keys a member may inherit (``InheritableFields``).
INHERITABLE_PACKAGE_KEYS = frozenset(
    [
        "authors",
        "categories",
        "description",
        "documentation",
        "edition",
        "exclude",
        "homepage",
        "include",
        "keywords",
        "license",
        "license-file",
        "publish",
        "readme",
        "repository",
        "rust-version",
        "version",
    ]
)


class ManifestError(ParseError):
    """A Cargo.toml cargo refuses; one line, starting with the manifest's path."""


class RegistrySource(Record):
    """A registry dependency; ``registry`` None means the default registry (crates.io);
    ``index_url`` is ``registry-index = "<url>"`` (published manifests)."""

    kind: Literal["registry"] = "registry"
    registry: str | None = None
    index_url: str | None = None


class PathSource(Record):
    """A local dependency; ``path`` is its directory, normalized."""

    kind: Literal["path"] = "path"
    path: str = "."


class GitSource(Record):
    """A git dependency; ``ref`` is ``"branch=x"``, ``"tag=x"``, ``"rev=x"`` or None (default)."""

    kind: Literal["git"] = "git"
    url: str = ""
    ref: str | None = None


DependencySource = RegistrySource | PathSource | GitSource

_CRATES_IO_SOURCE = RegistrySource()  # the usual source: one (immutable) instance


class ManifestDependency(Record):
    """One dependency entry. ``package`` is the real crate name (``package =`` renames it);
    ``requirement`` is the version requirement as written, None when there is none ("*").
    ``table`` is the key path of the table that declares it (``("dependencies",)``,
    ``("target", "cfg(unix)", "dev-dependencies")``, ``("patch", "crates-io")``): with
    ``name_in_toml`` it names the entry's own line."""

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
    table: tuple[str, ...] = field(default=(), compare=False)
    parsed: Requirement | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> tuple[str, ...]:
        """The key path of this entry in its manifest."""
        return (*self.table, self.name_in_toml)

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
    ``package``, ``dependencies`` and ``lints`` are the raw inheritable tables: cargo turns a
    ``[workspace.dependencies]`` entry into a dependency only when a member inherits it, so an
    entry nobody uses is never checked. ``members`` is None without a ``members`` key."""

    root: str
    members: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    default_members: tuple[str, ...] | None = None
    resolver: str | None = None
    package: Mapping[str, object] = field(default=_NO_TABLE, hash=False)
    dependencies: Mapping[str, object] | None = field(default=None, hash=False)
    lints: Mapping[str, object] | None = field(default=None, hash=False)

    def is_excluded(self, manifest_path: str) -> bool:
        """cargo's ``is_excluded`` (``core/workspace.rs:2169-2183``): under an ``exclude``
        entry and under no ``members`` entry, both taken literally as path prefixes."""
        return is_excluded(manifest_path, self.root, self.exclude, self.members or ())


class Patch(Record):
    """One effective ``[patch.<key>]`` entry: from the root manifest (``origin`` is its path)
    or a cargo configuration file (``origin`` names it). ``source`` is the canonical URL of the
    source it patches (crates.io: :data:`CRATES_IO_INDEX`)."""

    key: str
    source: str
    dependency: ManifestDependency
    origin: str


class Replacement(Record):
    """One ``[replace]`` entry: the package ``name`` ``version`` from ``source`` (a canonical
    URL) is replaced by ``dependency``."""

    spec: str
    name: str
    version: str
    source: str
    dependency: ManifestDependency


class Manifest(Record):
    """One ``Cargo.toml``. ``path`` is its directory; ``name`` is None for a virtual manifest.

    ``version`` defaults to ``"0.0.0"`` when a package omits it (cargo >= 1.75). ``edition`` is
    the package's own (after inheritance; ``"2015"`` when unset). ``workspace_pointer`` is
    ``package.workspace``. ``patches`` and ``replacements`` hold the root's ``[patch]`` (by
    table key) and ``[replace]``. The mappings are compared, not hashed.
    """

    path: str
    name: str | None
    version: str | None
    dependencies: tuple[ManifestDependency, ...] = ()
    rust_version: str | None = None
    features: Mapping[str, tuple[str, ...]] = field(default=_NO_FEATURES, hash=False)
    workspace: WorkspaceConfig | None = None
    patches: Mapping[str, tuple[ManifestDependency, ...]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    patch_sources: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    replacements: tuple[Replacement, ...] = ()
    edition: str = "2015"
    workspace_pointer: str | None = None
    resolver: str | None = None

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
        deps += [r.dependency for r in self.replacements]
        return tuple(dict.fromkeys(d.source.path for d in deps if isinstance(d.source, PathSource)))


class Workspace(Record):
    """A workspace as cargo resolves it: the root manifest, the members (the root first when
    it is a package), the other local packages cargo maps lock entries to (path dependencies
    outside the members, ``[patch]`` and ``[replace]`` targets: ``build_path_deps``), the
    effective patches (manifest and configuration) and replacements. ``base`` is the
    directory paths are shown relative to (see :meth:`display`); ``failed`` holds local
    packages that could not be loaded, by directory, with the error cargo would raise if it
    needed them."""

    root: Manifest
    members: tuple[Manifest, ...]
    path_packages: tuple[Manifest, ...] = ()
    patches: tuple[Patch, ...] = ()
    replacements: tuple[Replacement, ...] = ()
    base: str = ""
    failed: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    @property
    def manifests(self) -> tuple[Manifest, ...]:
        """Every distinct manifest: the root, the members, the other path packages."""
        head = (self.root,) if self.root.is_virtual else ()
        return head + self.members + self.path_packages

    def member(self, name: str) -> Manifest | None:
        return next((m for m in self.members if m.name == name), None)

    def display(self, path: str) -> str:
        """``path`` relative to :attr:`base` (as given when there is no base)."""
        if not self.base or not path.startswith("/"):
            return path
        return posixpath.relpath(path, self.base)


# ---------------------------------------------------------------------------------------------
# paths


def _manifest_file(directory: str) -> str:
    return "Cargo.toml" if directory == "." else f"{directory}/Cargo.toml"


def normalize_path(path: str) -> str:
    """Lexical normalization (``paths::normalize_path``): ``.`` and ``x/..`` removed;
    ``""`` is ``"."``."""
    return posixpath.normpath(path) if path else "."


def _join(base: str, rel: str) -> str:
    return normalize_path(posixpath.join(base, rel))


def components(path: str) -> tuple[str, ...]:
    """Rust's ``Path::components`` for a POSIX path: ``/`` first for an absolute path,
    ``.`` components dropped except a leading one, ``..`` kept."""
    absolute = path.startswith("/")
    parts = [p for p in path.split("/") if p and p != "."]
    if absolute:
        return ("/", *parts)
    if path.startswith("./") or path == ".":
        return (".", *parts)
    return tuple(parts)


def starts_with(path: str, prefix: str) -> bool:
    """Component-wise prefix test, like Rust's ``Path::starts_with`` (no normalization)."""
    p, q = components(path), components(prefix)
    return p[: len(q)] == q


def is_excluded(
    manifest_path: str, root: str, exclude: Iterable[str], members: Iterable[str]
) -> bool:
    """cargo's ``is_excluded``: ``manifest_path`` under ``root/<exclude entry>`` and under no
    ``root/<members entry>`` (entries literal: a glob ``members`` entry never overrides)."""
    if not any(starts_with(manifest_path, posixpath.join(root, ex)) for ex in exclude):
        return False
    return not any(starts_with(manifest_path, posixpath.join(root, m)) for m in members)


# ---------------------------------------------------------------------------------------------
# small readers (the schema check has run: types are right)


def workspace_members(root: Mapping[str, object]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(members, exclude)`` of a root manifest's ``[workspace]`` (empty when absent)."""
    ws = root.get("workspace")
    if not isinstance(ws, Mapping):
        return (), ()
    members = ws.get("members", [])
    exclude = ws.get("exclude", [])
    return tuple(members) if isinstance(members, list) else (), (
        tuple(exclude) if isinstance(exclude, list) else ()
    )


def _table(value: object) -> Mapping[str, object]:
    return value if isinstance(value, dict) else _NO_TABLE


def _workspace_config(raw: Mapping[str, object], directory: str) -> WorkspaceConfig:
    def strings(key: str) -> tuple[str, ...] | None:
        value = raw.get(key)
        return tuple(value) if isinstance(value, list) else None

    resolver = raw.get("resolver")
    deps = raw.get("dependencies")
    lints = raw.get("lints")
    return WorkspaceConfig(
        directory,
        strings("members"),
        strings("exclude") or (),
        strings("default-members"),
        resolver if isinstance(resolver, str) else None,
        MappingProxyType(dict(_table(raw.get("package")))),
        MappingProxyType(dict(deps)) if isinstance(deps, Mapping) else None,
        MappingProxyType(dict(lints)) if isinstance(lints, Mapping) else None,
    )


# ---------------------------------------------------------------------------------------------
# the manifest


class ManifestMemo(Record, frozen=False):
    """What the manifests of one workspace repeat, worked out once: requirement strings
    parsed (a failure is raised each time), platform keys checked. (The 23 manifests of an
    800-package workspace hold 346 requirement strings, 149 of them distinct: parsing each
    once saves ~9 M instructions, ~3 ms, of a full check.)"""

    requirements: dict[str, Requirement] = field(default_factory=dict)
    platforms: set[str] = field(default_factory=set)


class _Reader:
    """State of one ``read_manifest``: the mapping, where it is, what it inherits from."""

    def __init__(
        self,
        data: Mapping[str, object],
        directory: str,
        inherit: Inheritance,
        registry_index: RegistryIndex | None,
    ) -> None:
        self.data = data
        self.dir = directory
        self.where = _manifest_file(directory)
        self._inherit = inherit
        self._inherited: WorkspaceConfig | None = None
        self.registry_index = registry_index
        self.files: Callable[[str], bool] | None = None
        self.memo = ManifestMemo()

    def fail(self, message: str) -> ManifestError:
        return ManifestError(f"{self.where}: {message}")

    def workspace(self) -> WorkspaceConfig:
        """The inheritable fields' workspace (looked up on first use, as cargo's OnceCell)."""
        if self._inherited is None:
            inherit = self._inherit
            if inherit is None:
                raise self.fail("failed to find a workspace root")
            if isinstance(inherit, WorkspaceConfig):
                self._inherited = inherit
            else:
                try:
                    self._inherited = inherit()
                except ManifestError as exc:
                    raise self.fail(str(exc)) from None
        return self._inherited


def _package_field(reader: _Reader, package: Mapping[str, object], key: str) -> object:
    """``package.<key>``, or ``workspace.package.<key>`` for ``{ workspace = true }``."""
    value = package.get(key)
    if not isinstance(value, dict):
        return value
    ws = reader.workspace()
    inherited = ws.package.get(key)
    if key == "readme":
        inherited = _workspace_readme(reader, ws)
    if inherited is None:
        raise reader.fail(
            f"error inheriting `{key}` from workspace root manifest's "
            f"`workspace.package.{key}`: `workspace.package.{key}` was not defined"
        )
    return inherited


def _workspace_readme(reader: _Reader, ws: WorkspaceConfig) -> str | None:
    """``InheritableFields::readme``: the workspace's ``readme`` (``true`` is README.md,
    ``false`` is none), or without one the first default file at the workspace root
    (``normalize_package_readme``, ``toml/mod.rs``)."""
    value = ws.package.get("readme")
    if value is True:
        return "README.md"
    if isinstance(value, str):
        return value
    if value is None and reader.files is not None:
        for name in ("README.md", "README.txt", "README"):
            if reader.files(posixpath.join(ws.root, name)):
                return name
    return None


def manifest_from_mapping(
    data: Mapping[str, object],
    path: str = ".",
    workspace: Inheritance = None,
    *,
    registry_index: RegistryIndex | None = None,
    files: Callable[[str], bool] | None = None,
    memo: ManifestMemo | None = None,
) -> Manifest:
    """Model one parsed ``Cargo.toml`` whose directory is ``path``; raise
    :class:`ManifestError` for anything cargo refuses.

    ``workspace`` is what ``x.workspace = true`` inherits from (see :data:`Inheritance`); a
    manifest with its own ``[workspace]`` table inherits from that instead. ``registry_index``
    names the index of ``registry = "name"`` (None: names are not checked). ``files(relpath)``
    says whether a file exists in the package directory (targets and build scripts; None:
    not checked). ``memo`` holds what the manifests of one workspace repeat (requirement
    strings parsed, platforms checked).
    """

    directory = normalize_path(path)
    where = _manifest_file(directory)
    try:
        check_manifest_schema(data)
    except SchemaError as exc:
        raise ManifestError(f"{where}: {exc}") from None
    reader = _Reader(data, directory, workspace, registry_index)
    reader.files = files
    if memo is not None:
        reader.memo = memo
    try:
        rules.check_cargo_features(data.get("cargo-features"))
    except rules.RuleError as exc:
        raise reader.fail(str(exc)) from None

    raw_ws = data.get("workspace")
    package = data.get("package", data.get("project"))
    own: WorkspaceConfig | None = None
    pointer: str | None = None
    if isinstance(package, dict) and isinstance(package.get("workspace"), str):
        pointer = str(package["workspace"])
    if isinstance(raw_ws, dict):
        if pointer is not None:
            raise reader.fail(
                "cannot configure both `package.workspace` and `[workspace]`, only one can be "
                "specified"
            )
        try:
            rules.check_workspace_table(raw_ws)
        except rules.RuleError as exc:
            raise reader.fail(str(exc)) from None
        own = _workspace_config(raw_ws, directory)
        reader._inherit = own

    try:
        if isinstance(package, dict):
            return _real_manifest(reader, package, own, pointer, files)
        if own is None:
            # requires_package() first, then the missing [workspace]
            rules.check_virtual(data)
            raise reader.fail("manifest is missing either a `[package]` or a `[workspace]`")
        return _virtual_manifest(reader, own)
    except rules.RuleError as exc:
        raise reader.fail(str(exc)) from None


def _virtual_manifest(reader: _Reader, own: WorkspaceConfig) -> Manifest:

    data = reader.data
    rules.check_virtual(data)
    patches, patch_sources = _patches(reader)
    replacements = _replacements(reader)
    if "patch" in data and "replace" in data:
        raise rules.RuleError("cannot specify both [replace] and [patch]")
    rules.check_profiles(data.get("profile"), edition="2015")
    if own.resolver is not None:
        rules.check_resolver(own.resolver)
    return Manifest(
        reader.dir,
        None,
        None,
        workspace=own,
        patches=MappingProxyType(patches),
        patch_sources=MappingProxyType(patch_sources),
        replacements=replacements,
        resolver=own.resolver,
    )


def _real_manifest(
    reader: _Reader,
    package: Mapping[str, object],
    own: WorkspaceConfig | None,
    pointer: str | None,
    files: Callable[[str], bool] | None,
) -> Manifest:

    data = reader.data
    # normalize_package_toml: every inheritable field, in cargo's order
    fields: dict[str, object] = {}
    for key in ("edition", "rust-version"):
        fields[key] = _package_field(reader, package, key)
    name = package.get("name")
    if not isinstance(name, str):
        raise rules.RuleError("missing field `package.name`")
    for key in ("version", "authors"):
        fields[key] = _package_field(reader, package, key)
    rules.check_build(package.get("build"))
    for key in ("exclude", "include", "publish", "description", "homepage", "documentation"):
        fields[key] = _package_field(reader, package, key)
    for key in ("readme", "keywords", "categories", "license", "license-file", "repository"):
        fields[key] = _package_field(reader, package, key)

    edition_text = fields["edition"]
    edition = edition_text if edition_text in rules.EDITIONS else "2015"  # for normalization
    raw_version = fields["version"]
    version = str(raw_version).strip() if isinstance(raw_version, str) else None

    # dependencies (normalize_dependencies, deprecated_underscore), then lints
    raw_deps: list[tuple[DependencyKind, str | None, tuple[str, ...], str, dict[str, object]]] = []
    for kind, dashed, underscored in _KIND_TABLES:
        raw_deps += _dependency_table(reader, data, None, kind, dashed, underscored, edition)
    for target, platform in _table(data.get("target")).items():
        for kind, dashed, underscored in _KIND_TABLES:
            raw_deps += _dependency_table(
                reader, _table(platform), target, kind, dashed, underscored, edition
            )
    lints = data.get("lints")
    normalized_lints: Mapping[str, object] | None = None
    if isinstance(lints, dict):
        if lints.get("workspace") is True:
            if len(lints) > 1:
                raise rules.RuleError(
                    "cannot override `workspace.lints` in `lints`, either remove the overrides "
                    "or `lints.workspace = true` and manually specify the lints"
                )
            ws_lints = reader.workspace().lints
            if ws_lints is None:
                raise rules.RuleError(
                    "error inheriting `lints` from workspace root manifest's `workspace.lints`: "
                    "`workspace.lints` was not defined"
                )
            normalized_lints = ws_lints
        else:
            normalized_lints = lints

    # to_real_manifest
    resolved_edition = rules.check_edition(edition_text, fields["rust-version"])
    if "project" in data and "package" not in data and resolved_edition >= "2024":
        raise rules.RuleError(
            "`[project]` is not supported as of the 2024 Edition, please use `[package]`"
        )
    rules.check_package_keys(package, name)
    resolver = package.get("resolver")
    if isinstance(resolver, str):
        rules.check_resolver(resolver)
        if own is not None and own.resolver is not None:
            raise rules.RuleError(
                "cannot specify `resolver` field in both `[workspace]` and `[package]`"
            )
    elif own is not None and own.resolver is not None:
        rules.check_resolver(own.resolver)
    if files is not None:
        rules.check_targets(data, package, name, files, resolved_edition)
    for target in _table(data.get("target")):
        if target not in reader.memo.platforms:
            rules.check_cfg(target)
            reader.memo.platforms.add(target)

    deps: list[ManifestDependency] = []
    for kind, dep_target, table, dep_name, spec in raw_deps:
        deps.append(_dependency(reader, dep_name, spec, kind, dep_target, table))
    replacements = _replacements(reader)
    patches, patch_sources = _patches(reader)
    if "patch" in data and "replace" in data:
        raise rules.RuleError("cannot specify both [replace] and [patch]")
    rules.check_single_sources(deps)
    rules.check_lints(normalized_lints)
    rules.check_profiles(data.get("profile"), edition=resolved_edition)
    rules.check_publish(version, fields["publish"])
    features: dict[str, tuple[str, ...]] = {
        k: tuple(_strs(v)) for k, v in _table(data.get("features")).items()
    }
    rules.check_summary(deps, features)
    rules.check_default_run(data, package, name, files)
    rules.check_feature_gates(package)

    rust_version = fields["rust-version"]
    return Manifest(
        reader.dir,
        name,
        version or "0.0.0",
        tuple(deps),
        rust_version.strip() if isinstance(rust_version, str) else None,
        MappingProxyType(features),
        own,
        MappingProxyType(patches),
        MappingProxyType(patch_sources),
        replacements,
        resolved_edition,
        pointer,
        resolver if isinstance(resolver, str) else None,
    )


def _dependency_table(
    reader: _Reader,
    holder: Mapping[str, object],
    target: str | None,
    kind: DependencyKind,
    dashed: str,
    underscored: str,
    edition: str,
) -> list[tuple[DependencyKind, str | None, tuple[str, ...], str, dict[str, object]]]:
    """The entries of one dependency table, inheritance applied, as raw detailed tables.
    cargo reads the ``-`` spelling when both are present; the ``_`` one is an error from
    edition 2024 (``deprecated_underscore``, ``toml/mod.rs:2863-2887``)."""

    prefix: tuple[str, ...] = ("target", target) if target is not None else ()
    if dashed != underscored and underscored in holder:
        rules.check_underscore(underscored, dashed, edition, where=target)
    key = dashed if dashed in holder else underscored
    entries = _table(holder.get(key))
    out = []
    table_key = (*prefix, key)
    for name, spec in entries.items():
        if isinstance(spec, dict) and spec.get("workspace") is True:
            detailed = _inherit_dependency(reader, name, spec, edition)
        elif isinstance(spec, str):
            detailed = {"version": spec}
        else:
            detailed = dict(_table(spec))
        if "default_features" in detailed:
            rules.check_underscore("default_features", "default-features", edition, where=name)
        if "base" in detailed:
            if "path" in detailed:
                raise rules.RuleError(
                    f"resolving path dependency {name}: feature `path-bases` is required"
                )
            raise rules.RuleError("`base` can only be used with path dependencies")
        out.append((kind, target, table_key, name, detailed))
    return out


def _inherit_dependency(
    reader: _Reader, name: str, member: Mapping[str, object], edition: str
) -> dict[str, object]:
    """``inner_dependency_inherit_with`` (``toml/mod.rs:1177-1240``)."""

    label = (
        f"error inheriting `{name}` from workspace root manifest's `workspace.dependencies.{name}`"
    )
    ws = reader.workspace()
    if ws.dependencies is None:
        raise rules.RuleError(f"{label}: `workspace.dependencies` was not defined")
    if name not in ws.dependencies:
        raise rules.RuleError(
            f"{label}: `dependency.{name}` was not found in `workspace.dependencies`"
        )
    spec = ws.dependencies[name]
    merged: dict[str, object] = {"version": spec} if isinstance(spec, str) else dict(_table(spec))
    if isinstance(merged.get("path"), str) and "base" not in merged:
        merged["path"] = _join(ws.root, str(merged["path"]))
        merged["_absolute_path"] = True
    member_default = member.get("default-features", member.get("default_features"))
    ws_default = merged.get("default-features", merged.get("default_features"))
    if member_default is True and ws_default is False:
        merged["default-features"] = True
    elif member_default is False and ws_default is not False and edition >= "2024":
        raise rules.RuleError(
            f"{label}: `default-features = false` cannot override workspace's `default-features`"
        )
    features = [*_strs(merged.get("features")), *_strs(member.get("features"))]
    if "features" in merged or "features" in member:
        merged["features"] = features
    merged.pop("optional", None)
    merged.pop("public", None)
    if "optional" in member:
        merged["optional"] = member["optional"]
    merged["_inherited"] = True
    return merged


def _strs(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _dependency(
    reader: _Reader,
    name: str,
    spec: Mapping[str, object],
    kind: DependencyKind,
    target: str | None,
    table: tuple[str, ...],
) -> ManifestDependency:
    """``dep_to_dependency`` (``toml/mod.rs:2191-2345``) of a detailed table."""
    version = spec.get("version")
    rules.check_dependency(name, spec)
    source = _source(reader, name, spec)
    package = spec.get("package")
    pkg_name = package if isinstance(package, str) else name
    requirement = version if isinstance(version, str) else None
    parsed = None
    if requirement is not None:
        parsed = reader.memo.requirements.get(requirement)
        if parsed is None:
            parsed = reader.memo.requirements[requirement] = rules.check_requirement(
                requirement, pkg_name
            )
    default = spec.get("default-features", spec.get("default_features"))
    return ManifestDependency(
        name,
        pkg_name,
        requirement,
        kind,
        target,
        source,
        spec.get("optional") is True,
        spec.get("_inherited") is True,
        tuple(_strs(spec.get("features"))),
        default is not False,
        table,
        parsed,
    )


def _source(reader: _Reader, name: str, spec: Mapping[str, object]) -> DependencySource:
    """``to_dependency_source_id`` (``toml/mod.rs:2347-2430``)."""

    git, path = spec.get("git"), spec.get("path")
    registry, index = spec.get("registry"), spec.get("registry-index")
    if git is not None and (registry is not None or index is not None):
        raise rules.RuleError(
            f"dependency ({name}) specification is ambiguous. Only one of `git` or `registry` "
            "is allowed."
        )
    if registry is not None and index is not None:
        raise rules.RuleError(
            f"dependency ({name}) specification is ambiguous. Only one of `registry` or "
            "`registry-index` is allowed."
        )
    if git is not None and path is not None:
        raise rules.RuleError(
            f"dependency ({name}) specification is ambiguous. Only one of `git` or `path` is "
            "allowed."
        )
    if isinstance(git, str):
        refs = [(k, spec[k]) for k in ("branch", "tag", "rev") if isinstance(spec.get(k), str)]
        if len(refs) > 1:
            raise rules.RuleError(
                f"dependency ({name}) specification is ambiguous. Only one of `branch`, `tag` "
                "or `rev` is allowed."
            )
        rules.check_url(git, f"dependency ({name})")
        return GitSource(url=git, ref=f"{refs[0][0]}={refs[0][1]}" if refs else None)
    if isinstance(path, str):
        joined = path if spec.get("_absolute_path") else _join(reader.dir, path)
        return PathSource(path=normalize_path(joined))
    if isinstance(registry, str):
        if (
            registry != "crates-io"
            and reader.registry_index is not None
            and reader.registry_index(registry) is None
        ):
            raise rules.RuleError(
                f"registry index was not found in any configuration: `{registry}`"
            )
        return RegistrySource(registry=None if registry == "crates-io" else registry)
    if isinstance(index, str):
        rules.check_url(index, f"dependency ({name})")
        return RegistrySource(index_url=index)
    return _CRATES_IO_SOURCE


def patch_source(key: str, registry_index: RegistryIndex | None) -> str | None:
    """The canonical URL a ``[patch.<key>]`` table patches: crates.io for ``crates-io``, a
    configured registry's index, or ``key`` itself when it is a URL; None otherwise."""
    if key == "crates-io":
        return CRATES_IO_INDEX
    if registry_index is not None:
        index = registry_index(key)
        if index is not None:
            return canonical_url(index)
    if rules.url_error(key) is None:
        return canonical_url(key)
    return None


def canonical_url(url: str) -> str:
    """What cargo compares sources by (``CanonicalUrl``): no ``registry+`` prefix, no trailing
    slash or ``.git``, lower-case github.com paths."""
    url = url.removeprefix("registry+")
    url = url.rstrip("/")
    url = url.removesuffix(".git")
    if url.startswith(("https://github.com/", "http://github.com/")):
        url = url.lower()
    return url


def config_patch_dependency(
    name: str,
    spec: Mapping[str, object],
    key: str,
    origin: str,
    registry_index: RegistryIndex | None,
) -> ManifestDependency:
    """One ``[patch.<key>.<name>]`` entry of the cargo configuration as a dependency
    (``config_patch_to_dependency``): ``spec`` is its table, a ``path`` in it already made
    absolute (relative to its file's directory, as cargo resolves it); ManifestError naming
    ``origin`` (the file) otherwise."""
    where = f"patch.{key}.{name}"
    problem = dependency_error(dict(spec), where, inheritable=False)
    if problem:
        raise ManifestError(f"{origin}: {problem}")
    reader = _Reader({}, "/", None, registry_index)
    reader.where = origin
    detailed = dict(spec)
    if isinstance(detailed.get("path"), str):
        detailed["_absolute_path"] = True
    try:
        return _dependency(reader, name, detailed, "normal", None, ("patch", key))
    except rules.RuleError as exc:
        raise ManifestError(f"{origin}: [patch.{key}] {name}: {exc}") from None


def _patches(reader: _Reader) -> tuple[dict[str, tuple[ManifestDependency, ...]], dict[str, str]]:

    patches: dict[str, tuple[ManifestDependency, ...]] = {}
    sources: dict[str, str] = {}
    for key, entries in _table(reader.data.get("patch")).items():
        source = patch_source(key, reader.registry_index)
        if source is None:
            hint = "\nFor crates.io, use [patch.crates-io] (with a dash)" if key == "crates" else ""
            raise rules.RuleError(f"[patch] entry `{key}` should be a URL or registry name{hint}")
        group = []
        for name, spec in _table(entries).items():
            detailed = {"version": spec} if isinstance(spec, str) else dict(_table(spec))
            if "base" in detailed:
                raise rules.RuleError(
                    f"resolving path for patch of ({name}) for source ({key}): feature "
                    "`path-bases` is required"
                )
            group.append(_dependency(reader, name, detailed, "normal", None, ("patch", key)))
        patches[key] = tuple(group)
        sources[key] = source
    return patches, sources


def _replacements(reader: _Reader) -> tuple[Replacement, ...]:
    """``replace()`` (``toml/mod.rs:2078-2124``)."""

    out = []
    for spec, value in _table(reader.data.get("replace")).items():
        try:
            name, version, url = package_id_spec(spec)
        except SchemaError as exc:
            raise rules.RuleError(
                f"replacements must specify a valid semver version to replace, but `{spec}` "
                f"does not: {exc}"
            ) from None
        detailed = {"version": value} if isinstance(value, str) else dict(_table(value))
        if "version" in detailed:
            raise rules.RuleError(
                f"replacements cannot specify a version requirement, but found one for `{spec}`"
            )
        dep = _dependency(reader, name, detailed, "normal", None, ("replace",))
        full = rules.full_version(version)
        if full is None:
            raise rules.RuleError(
                f"replacements must specify a version to replace, but `{spec}` does not"
            )
        source = canonical_url(url) if url is not None else CRATES_IO_INDEX
        out.append(Replacement(spec, name, full, source, dep))
    return tuple(out)

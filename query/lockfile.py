"""``Cargo.lock`` model for formats v1-v4 (spec §8), built from an already-parsed TOML mapping.

No I/O: the caller reads the file, parses it with :mod:`tomllib` and passes the mapping (and,
for line numbers, the text) to :func:`lockfile_from_mapping`. The result is a :class:`Lockfile`
of :class:`LockedPackage` values whose ``dependencies`` are the :class:`LockDependency` strings
as written; :meth:`Lockfile.resolve_dependency` maps one to the package it designates.
Text exactly as cargo writes it can go straight to the model through an accelerator,
:func:`query.lockfile_fast.lockfile_from_cargo_text` (same result, no mapping in between); it
gives up, leaving the errors to this general path, on anything else.

Format detection follows cargo's ``EncodableResolve::into_resolve``:

* ``version = 3`` or ``4`` is taken as is; any other ``version`` value is rejected, as cargo 1.95
  does (even 1 and 2: those formats never had the key).
* No ``version`` key means v1, raised to v2 when a package has an inline ``checksum``, when a
  dependency string omits its version, or omits the source of a non-path package (the v2
  shortening, §8.3); a file holding exactly one package and ending in exactly one newline is v2.
* v1 keeps checksums in ``[metadata]`` as ``"checksum <name> <version> (<source>)" = "<hex>"``
  (``<none>`` = no checksum). They are moved onto the packages and removed from ``metadata``;
  keys naming no package are dropped, as cargo does. If such keys exist in a v2+ file, cargo
  assumes a bad merge and discards *all* checksums (to recompute them): so do we, and
  :attr:`Lockfile.checksums_discarded` says so.

Validation is stricter than cargo, which silently drops dependency strings that point nowhere;
here they raise :class:`LockfileError`, as do missing or mistyped fields, versions that are not
semver, unknown source kinds and duplicate packages. Messages are one line and name the package
(``package #12 (serde) has no "version"``; #N counts ``[[package]]`` tables from 1, with
``line N:`` in front when the text was given); the caller prefixes the file path.

Work is linear in the size of the file: packages are indexed name -> version -> source once,
and each distinct dependency string is resolved once, at load; the lockfile keeps those answers,
so :meth:`Lockfile.resolve_dependency` and :meth:`Lockfile.dependencies_of` are dict probes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType

from query.errors import ParseError
from query.record import Record, field, replace
from query.version import is_version

__all__ = [
    "LockDependency",
    "LockedPackage",
    "Lockfile",
    "LockfileError",
    "REGISTRY_SOURCE_PREFIXES",
    "SUPPORTED_VERSIONS",
    "lockfile_from_mapping",
    "package_lines",
    "parse_dependency",
]

SUPPORTED_VERSIONS = (3, 4)
REGISTRY_SOURCE_PREFIXES = ("registry+", "sparse+")
_SOURCE_KINDS = ("registry", "sparse", "git", "path")
_CHECKSUM_PREFIX = "checksum "
_NO_CHECKSUM = "<none>"

_EMPTY: Mapping[str, str] = MappingProxyType({})
_PATCH_KEYS = ("name", "version", "source")


class LockfileError(ParseError):
    """A Cargo.lock that cannot be modelled; one line, naming the package and field."""


class LockDependency(Record):
    """One entry of a package's ``dependencies`` array: ``name [version [(source)]]`` (§8.3)."""

    name: str
    version: str | None = None
    source: str | None = None

    def __str__(self) -> str:
        out = self.name
        if self.version is not None:
            out += f" {self.version}"
        if self.source is not None:
            out += f" ({self.source})"
        return out


class LockedPackage(Record):
    """One ``[[package]]`` table. ``index`` is its 0-based position, ``line`` its header line.

    Equality and hashing ignore ``line`` and ``index`` so that the same package read from two
    files (say a v1 and a v4 lockfile) compares equal.
    """

    name: str
    version: str
    source: str | None
    checksum: str | None
    dependencies: tuple[LockDependency, ...]
    line: int | None = field(default=None, compare=False)
    index: int = field(default=0, compare=False)
    replace: LockDependency | None = None

    @property
    def is_registry(self) -> bool:
        """From a registry (``registry+`` or ``sparse+`` source)."""
        return self.source is not None and self.source.startswith(REGISTRY_SOURCE_PREFIXES)

    @property
    def is_path(self) -> bool:
        """A path package (workspace member, path dependency or patch): no ``source``."""
        return self.source is None

    @property
    def is_git(self) -> bool:
        return self.source is not None and self.source.startswith("git+")

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


def _source_key(source: str | None) -> str | None:
    """What cargo compares: a git source without its ``#<commit>`` (the "precise" part)."""
    if source is not None and source.startswith("git+"):
        return source.split("#", 1)[0]
    return source


# name -> version -> source key -> position in ``Lockfile.packages``
PackageIndex = dict[str, dict[str, dict[str | None, int]]]


def lookup_target(index: PackageIndex, dep: LockDependency) -> tuple[int, bool]:
    """Position of the package ``dep`` designates, and whether the v2 shortening was needed.

    Follows cargo's ``lookup_id``: by name; then by version, or the only version when it is
    omitted; then by source, or, when it is omitted, the path package of that name and version,
    else the only package. Raises :class:`LockfileError` when nothing or several match.
    """
    by_version = index.get(dep.name)
    if not by_version:
        raise LockfileError(f'"{dep}" which names no package in the lock file')
    version = dep.version
    if version is None:
        if len(by_version) != 1:
            versions = ", ".join(sorted(by_version))
            raise LockfileError(f'"{dep}" which is ambiguous: versions {versions} are locked')
        by_source = next(iter(by_version.values()))
    else:
        found = by_version.get(version)
        if found is None:
            raise LockfileError(f'"{dep}" which names no package in the lock file')
        by_source = found
    source = dep.source
    if source is not None:
        pos = by_source.get(source.split("#", 1)[0] if source.startswith("git+") else source)
        if pos is None:
            raise LockfileError(f'"{dep}" which names no package in the lock file')
        return pos, version is None
    pos = by_source.get(None)
    if pos is not None:
        return pos, version is None
    if len(by_source) == 1:
        return next(iter(by_source.values())), True
    sources = ", ".join(sorted(str(s) for s in by_source))
    raise LockfileError(f'"{dep}" which is ambiguous: sources {sources} are locked')


# id(dependency) -> (that dependency, position of the package it designates): the edges a
# loader already resolved, so that resolving them again is one dict probe. The dependency is
# kept in the value, so its id cannot be reused while the entry lives.
ResolvedEdges = dict[int, tuple[LockDependency, int]]


class Lockfile(Record):
    """A whole Cargo.lock. ``version`` is the detected format, 1 to 4.

    ``metadata`` holds the ``[metadata]`` entries other than v1 checksums (compared, not
    hashed); ``checksums_discarded`` is True when v1 checksum keys were found in a v2+ file
    (cargo then drops every checksum); ``unused_patches`` lists the ``[[patch.unused]]`` entries.
    The last three fields are lookup caches, built on first use (or given by the loader).
    """

    version: int
    packages: tuple[LockedPackage, ...]
    metadata: Mapping[str, str] = field(default=_EMPTY, hash=False)
    checksums_discarded: bool = False
    unused_patches: tuple[LockDependency, ...] = ()
    _index: PackageIndex | None = field(default=None, init=False, compare=False, repr=False)
    _targets: ResolvedEdges | None = field(default=None, init=False, compare=False, repr=False)
    _edges: list[tuple[LockedPackage, ...] | None] | None = field(
        default=None, init=False, compare=False, repr=False
    )

    def _lookup_index(self) -> PackageIndex:
        index = self._index
        if index is None:
            index = {}
            for pos, p in enumerate(self.packages):
                by_source = index.setdefault(p.name, {}).setdefault(p.version, {})
                by_source[_source_key(p.source)] = pos
            object.__setattr__(self, "_index", index)
        return index

    def _target_map(self) -> ResolvedEdges:
        targets = self._targets
        if targets is None:
            targets = {}
            index = self._lookup_index()
            for package in self.packages:
                for dep in package.dependencies:
                    if id(dep) not in targets:
                        try:
                            targets[id(dep)] = (dep, lookup_target(index, dep)[0])
                        except LockfileError:
                            continue  # resolve_dependency raises it when asked
            object.__setattr__(self, "_targets", targets)
        return targets

    def __iter__(self) -> Iterator[LockedPackage]:
        return iter(self.packages)

    def __len__(self) -> int:
        return len(self.packages)

    def get(self, name: str, version: str, source: str | None = None) -> LockedPackage | None:
        """The package with exactly this id, if any (git sources compare without ``#commit``)."""
        pos = self._lookup_index().get(name, {}).get(version, {}).get(_source_key(source))
        return None if pos is None else self.packages[pos]

    def packages_named(self, name: str) -> tuple[LockedPackage, ...]:
        """Every locked package called ``name``, in file order."""
        by_version = self._lookup_index().get(name, {})
        return tuple(
            self.packages[i] for i in sorted(i for s in by_version.values() for i in s.values())
        )

    def resolve_dependency(self, dep: LockDependency) -> LockedPackage:
        """The package ``dep`` designates, as cargo's ``lookup_id`` finds it.

        By name; then by version, or the only version when it is omitted; then by source, or,
        when it is omitted, the path package of that name and version, else the only package.
        Raises :class:`LockfileError` when nothing or more than one package matches.
        """
        targets = self._targets
        hit = (self._target_map() if targets is None else targets).get(id(dep))
        if hit is not None and hit[0] is dep:
            return self.packages[hit[1]]
        try:
            pos, _ = lookup_target(self._lookup_index(), dep)
        except LockfileError as exc:
            raise LockfileError(f"no unique package for {exc}") from None
        return self.packages[pos]

    def dependencies_of(self, pkg: LockedPackage) -> tuple[LockedPackage, ...]:
        """The packages ``pkg`` depends on (validated at parse time, so this cannot fail)."""
        packages = self.packages
        pos = pkg.index
        if 0 <= pos < len(packages) and packages[pos] is pkg:
            edges = self._edges
            if edges is None:
                edges = [None] * len(packages)
                object.__setattr__(self, "_edges", edges)
            found = edges[pos]
            if found is None:
                found = edges[pos] = tuple([self.resolve_dependency(d) for d in pkg.dependencies])
            return found
        return tuple([self.resolve_dependency(d) for d in pkg.dependencies])

    def registry_packages(self) -> tuple[LockedPackage, ...]:
        """Packages from a registry (``registry+`` or ``sparse+`` source), in file order."""
        return tuple([p for p in self.packages if p.is_registry])

    def path_packages(self) -> tuple[LockedPackage, ...]:
        """Packages without a source: workspace members, path dependencies, path patches."""
        return tuple([p for p in self.packages if p.is_path])

    def git_packages(self) -> tuple[LockedPackage, ...]:
        return tuple([p for p in self.packages if p.is_git])


def package_lines(text: str) -> list[int]:
    """1-based line numbers of the ``[[package]]`` tables of ``text`` (a document ``tomllib``
    accepted), in order, read from its structure (:mod:`query.toml_lines`): a
    ``[[package]]`` inside a string or a comment is not a table, ``[[ "package" ]]`` is, and
    ``package = [{...}, ...]`` gives the line of each inline table."""
    from query.toml_lines import array_table_lines

    return array_table_lines(text, "package")


def parse_dependency(text: str) -> LockDependency:
    """Parse ``name``, ``name version`` or ``name version (source)`` (``splitn(3, ' ')``)."""
    name, sep, rest = text.partition(" ")
    if not sep:  # the v3/v4 form of most dependencies: the name alone
        if not name:
            raise LockfileError(f'invalid dependency string "{text}"')
        return LockDependency(name)
    version, sep, raw = rest.partition(" ")
    source: str | None = None
    if sep:
        if not (len(raw) > 2 and raw[0] == "(" and raw[-1] == ")"):
            raise LockfileError(
                f'invalid dependency string "{text}": source must be in parentheses'
            )
        source = raw[1:-1]
    if not name or not version:
        raise LockfileError(f'invalid dependency string "{text}"')
    return LockDependency(name, version, source)


# ---------------------------------------------------------------------------------------------
# parsing


def _label(index: int, line: int | None, name: object = None, version: object = None) -> str:
    """``line 5: package #2 (foo 1.0.0)`` for messages (#N counts from 1)."""
    where = f"line {line}: " if line is not None else ""
    if not isinstance(name, str) or not name:
        return f"{where}package #{index + 1}"
    what = f"{name} {version}" if isinstance(version, str) and version else name
    return f"{where}package #{index + 1} ({what})"


def source_problem(source: str) -> str | None:
    """Why ``source`` is not a source cargo's ``SourceId::from_url`` accepts, or None."""
    kind, plus, rest = source.partition("+")
    if not plus or not rest:
        return f'"{source}" that is not a source URL (expected "<kind>+<url>")'
    if kind not in _SOURCE_KINDS:
        return f'"{source}" with an unsupported source protocol "{kind}"'
    return None


def _check_fields(table: Mapping[str, object], label: str) -> None:
    """Raise the precise error for a table whose fields failed the fast check in
    :func:`_package`."""
    for key in ("name", "version", "source", "checksum", "replace"):
        value = table.get(key)
        if value is not None and not isinstance(value, str):
            raise LockfileError(
                f'{label} has a "{key}" that is not a string ({type(value).__name__})'
            )
    for key in ("name", "version"):
        if table.get(key) is None:
            raise LockfileError(f'{label} has no "{key}"')
        if not table.get(key):
            raise LockfileError(f'{label} has an empty "{key}"')


def _package(
    table: object, index: int, line: int | None, cache: dict[str, LockDependency]
) -> LockedPackage:
    """The package of one ``[[package]]`` table, its checksum not yet settled."""
    if not isinstance(table, Mapping):
        raise LockfileError(f"{_label(index, line)} is not a table ({type(table).__name__})")
    get = table.get
    name, version, source, checksum, replace_raw = (
        get("name"),
        get("version"),
        get("source"),
        get("checksum"),
        get("replace"),
    )
    if not (
        isinstance(name, str)
        and isinstance(version, str)
        and name
        and version
        and (source is None or isinstance(source, str))
        and (checksum is None or isinstance(checksum, str))
        and (replace_raw is None or isinstance(replace_raw, str))
    ):
        _check_fields(table, _label(index, line, name, version))
        raise AssertionError("unreachable")  # pragma: no cover
    if not is_version(version):
        label = _label(index, line, name, version)
        raise LockfileError(f'{label} has a "version" that is not a semver version: "{version}"')
    problem = source and source_problem(source)
    if problem:
        raise LockfileError(f'{_label(index, line, name, version)} has a "source" {problem}')
    replace = None
    try:
        if replace_raw is not None:
            try:
                replace = parse_dependency(replace_raw)
            except LockfileError as exc:
                raise LockfileError(f'has an invalid "replace": {exc}') from None
        deps = _dependencies(get("dependencies"), cache)
    except LockfileError as exc:
        raise LockfileError(f"{_label(index, line, name, version)} {exc}") from None
    return LockedPackage(name, version, source, checksum, deps, line, index, replace)


def _dependencies(raw: object, cache: dict[str, LockDependency]) -> tuple[LockDependency, ...]:
    """The parsed ``dependencies`` array; errors are phrased to follow a package label."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise LockfileError(f'has a "dependencies" that is not an array ({type(raw).__name__})')
    deps: list[LockDependency] = []
    for item in raw:
        dep = cache.get(item) if isinstance(item, str) else None
        if dep is None:
            if not isinstance(item, str):
                raise LockfileError(f'has a "dependencies" entry that is not a string: {item!r}')
            try:
                dep = parse_dependency(item)
            except LockfileError as exc:
                raise LockfileError(f'has an {exc} in "dependencies"') from None
            problem = dep.source and source_problem(dep.source)
            if problem:
                raise LockfileError(f'has a dependency "{item}" whose source is {problem}')
            cache[item] = dep
        deps.append(dep)
    return tuple(deps)


def _format_version(data: Mapping[str, object]) -> int:
    raw = data.get("version")
    if raw is None:
        return 1
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise LockfileError(f'"version" must be an integer, not {type(raw).__name__} {raw!r}')
    if raw not in SUPPORTED_VERSIONS:
        raise LockfileError(
            f"lock file version {raw} is not supported (cargo reads version 3 and 4, "
            "and files without a version key as v1/v2)"
        )
    return raw


def _package_tables(data: Mapping[str, object]) -> list[object]:
    raw = data.get("package", [])
    if not isinstance(raw, list):
        raise LockfileError(f'"package" must be an array of tables, not {type(raw).__name__}')
    root = data.get("root")  # pre-2017 lockfiles: the root package in a [root] table
    return raw if root is None else [root, *raw]


def _metadata(data: Mapping[str, object]) -> dict[str, str]:
    raw = data.get("metadata", {})
    if not isinstance(raw, Mapping):
        raise LockfileError(f'"metadata" must be a table, not {type(raw).__name__}')
    out: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(value, str):
            raise LockfileError(f'[metadata] "{key}" is not a string ({type(value).__name__})')
        out[key] = value
    return out


def _unused_patches(data: Mapping[str, object]) -> tuple[LockDependency, ...]:
    patch = data.get("patch")
    if patch is None:
        return ()
    unused = patch.get("unused", []) if isinstance(patch, Mapping) else None
    if not isinstance(unused, list):
        raise LockfileError('"patch.unused" must be an array of tables ([[patch.unused]])')
    out = []
    for i, entry in enumerate(unused, 1):
        fields = [entry.get(k) if isinstance(entry, Mapping) else 0 for k in _PATCH_KEYS]
        name, version, source = fields
        if not isinstance(name, str) or not isinstance(version, str):
            raise LockfileError(f'[[patch.unused]] #{i} needs string "name" and "version"')
        if source is not None and not isinstance(source, str):
            raise LockfileError(f'[[patch.unused]] #{i} has a "source" that is not a string')
        out.append(LockDependency(name, version, source))
    return tuple(out)


def _index_packages(packages: list[LockedPackage]) -> PackageIndex:
    """The lookup index of ``packages``; a repeated (name, version, source) is an error."""
    index: PackageIndex = {}
    for pos, package in enumerate(packages):
        by_source = index.setdefault(package.name, {}).setdefault(package.version, {})
        key = _source_key(package.source)
        first = by_source.setdefault(key, pos)
        if first != pos:
            label = _label(pos, package.line, package.name, package.version)
            raise LockfileError(
                f"{label} is specified twice in the lock file (also package #{first + 1})"
            )
    return index


def lockfile_from_mapping(
    data: Mapping[str, object], text: str | None = None, *, drop_dangling: bool = False
) -> Lockfile:
    """Model a parsed Cargo.lock; ``text`` (the file's text) adds line numbers.

    Raises :class:`LockfileError` for an unsupported format version or an invalid file. With
    ``drop_dangling``, a dependency string (or ``replace``) that designates no package, or
    several, is dropped instead, as cargo's ``into_resolve`` drops it
    (``core/resolver/encode.rs:226-307``): what ``check`` compares, like cargo's ``--locked``.
    """
    version = _format_version(data)
    tables = _package_tables(data)
    skip = 1 if "root" in data else 0
    lines: list[int | None] = [None] * len(tables)
    if text is not None:
        found = package_lines(text)
        if len(found) == len(tables) - skip:
            lines[skip:] = found
    cache: dict[str, LockDependency] = {}
    packages = [_package(table, i, lines[i], cache) for i, table in enumerate(tables)]
    index = _index_packages(packages)

    # every edge must designate one package; remember whether the v2 shortening was used
    shortened = False
    targets: ResolvedEdges = {}  # by id(): equal strings share one object
    for pos, package in enumerate(packages):
        deps = package.dependencies
        dangling: list[LockDependency] = []
        for dep in (*deps, package.replace) if package.replace else deps:
            hit = targets.get(id(dep))
            if hit is None:
                try:
                    found_pos, short = lookup_target(index, dep)
                except LockfileError as exc:
                    if drop_dangling:
                        dangling.append(dep)
                        continue
                    label = _label(pos, package.line, package.name, package.version)
                    raise LockfileError(f"{label} depends on {exc}") from None
                targets[id(dep)] = (dep, found_pos)
                shortened = shortened or short
        if dangling:
            kept = tuple(d for d in deps if not any(d is x for x in dangling))
            gone = package.replace is not None and any(package.replace is x for x in dangling)
            packages[pos] = replace(
                package, dependencies=kept, replace=None if gone else package.replace
            )
    if version == 1 and (shortened or any(p.checksum is not None for p in packages)):
        version = 2
    return finish_lockfile(version, packages, index, targets, {}, _metadata(data), text, data)


def finish_lockfile(
    version: int,
    packages: list[LockedPackage],
    index: PackageIndex,
    targets: ResolvedEdges,
    resolved: Mapping[str, tuple[int, bool]],
    metadata: dict[str, str],
    text: str | None,
    data: Mapping[str, object] | None,
) -> Lockfile:
    """The model of validated ``packages``, after settling checksums and the format version.

    ``resolved`` maps dependency strings already resolved (with :func:`_lookup`) to its answer,
    which saves parsing v1 checksum keys that repeat them; ``metadata`` is consumed; ``data``,
    the whole mapping, is read last for ``[[patch.unused]]``. The packages are still private to
    the caller: the checksums the metadata settles are set in place.
    """
    checksums: dict[int, str | None] = {}  # from v1 [metadata] keys, by position
    keys = [k for k in metadata if k.startswith(_CHECKSUM_PREFIX)]
    for key in keys:
        value = metadata.pop(key)
        hit = resolved.get(key[len(_CHECKSUM_PREFIX) :])
        if hit is None:
            try:
                dep = parse_dependency(key[len(_CHECKSUM_PREFIX) :])
            except LockfileError as exc:
                raise LockfileError(
                    f'[metadata] "{key}" is not a valid checksum key: {exc}'
                ) from None
            try:
                hit = lookup_target(index, dep)
            except LockfileError:
                continue  # cargo ignores checksum entries that name no package
        pos, short = hit
        if short and version == 1:
            version = 2
        checksums[pos] = None if value == _NO_CHECKSUM else value
    discarded = bool(keys) and version >= 2
    # The packages are still private to the loader: their checksums are settled in place.
    if discarded:
        for package in packages:
            object.__setattr__(package, "checksum", None)
    else:
        for pos, checksum in checksums.items():
            object.__setattr__(packages[pos], "checksum", checksum)
    one_newline = text is not None and text.endswith("\n") and not text.endswith("\n\n")
    if version == 1 and len(packages) == 1 and one_newline:
        version = 2

    unused = () if data is None else _unused_patches(data)
    lockfile = Lockfile(version, tuple(packages), MappingProxyType(metadata), discarded, unused)
    object.__setattr__(lockfile, "_index", index)
    object.__setattr__(lockfile, "_targets", targets)
    return lockfile


def without_packages(lock: Lockfile, drop: set[int]) -> Lockfile:
    """``lock`` without the packages at the positions ``drop``, as cargo's ``into_resolve``
    reads a lock whose path packages no longer exist (``core/resolver/encode.rs:193-199``):
    they are not nodes, and a dependency string can only designate a remaining package (one
    that designates none, or several, is dropped). Positions are renumbered; lines kept."""
    kept = [p for p in lock.packages if p.index not in drop]
    packages = [replace(p, index=i) if p.index != i else p for i, p in enumerate(kept)]
    index = _index_packages(packages)
    targets: ResolvedEdges = {}
    for pos, package in enumerate(packages):
        deps: list[LockDependency] = []
        for dep in package.dependencies:
            try:
                targets[id(dep)] = (dep, lookup_target(index, dep)[0])
            except LockfileError:
                continue
            deps.append(dep)
        link = package.replace
        if link is not None:
            try:
                targets[id(link)] = (link, lookup_target(index, link)[0])
            except LockfileError:
                link = None
        if len(deps) != len(package.dependencies) or link is not package.replace:
            packages[pos] = replace(package, dependencies=tuple(deps), replace=link)
    result = Lockfile(
        lock.version, tuple(packages), lock.metadata, lock.checksums_discarded, lock.unused_patches
    )
    object.__setattr__(result, "_index", index)
    object.__setattr__(result, "_targets", targets)
    return result

"""Index entries: one published version of a crate, built from an already-parsed JSON line.

A line of a sparse index file (spec §3) becomes an :class:`IndexEntry`. Classification follows
cargo's ``IndexSummary::parse`` (§3.5)::

    full parse ok?  ── no ──> {name, vers} parse? ── no ──> skipped (never cached)
         │ yes                      │ yes
         v                          v
    v > INDEX_V_MAX ?  ──────────> "unsupported"
         │ no
    invalid ? ─────────────────────> "invalid"
         │ no
    yanked ? ──────────────────────> "yanked"
         │ no
         └─────────────────────────> "candidate"

Only candidates are selectable by a resolver; a yanked version stays usable when a lockfile pins it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping

from query.record import FrozenRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from query.requirement import Requirement

INDEX_V_MAX = 2

CANDIDATE = "candidate"
YANKED = "yanked"
INVALID = "invalid"
UNSUPPORTED = "unsupported"

_PUBTIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")
_RUST_VERSION = re.compile(r"(0|[1-9]\d*)(\.(0|[1-9]\d*)){0,2}\Z")


# Plain slotted classes rather than dataclasses (see query.record): this module is on the CLI's
# hot path. ``_set`` sets a field of a frozen record in ``__init__``.
_set = object.__setattr__


class IndexDependency(FrozenRecord):
    """One entry of ``deps`` (§3.3). ``name`` is the name used in code; ``package`` the real one."""

    _fields = (
        "name",
        "req",
        "features",
        "optional",
        "default_features",
        "target",
        "kind",
        "registry",
        "package",
        "parsed",
    )
    _compare = _repr = _fields[:-1]  # not ``parsed``
    __slots__ = _fields

    name: str
    req: str
    features: tuple[str, ...]
    optional: bool
    default_features: bool
    target: str | None
    kind: str
    registry: str | None
    package: str | None
    parsed: Requirement | None

    def __init__(
        self,
        name: str,
        req: str,
        features: tuple[str, ...] = (),
        optional: bool = False,
        default_features: bool = True,
        target: str | None = None,
        kind: str = "normal",
        registry: str | None = None,
        package: str | None = None,
        parsed: Requirement | None = None,
    ) -> None:
        _set(self, "name", name)
        _set(self, "req", req)
        _set(self, "features", features)
        _set(self, "optional", optional)
        _set(self, "default_features", default_features)
        _set(self, "target", target)
        _set(self, "kind", kind)
        _set(self, "registry", registry)
        _set(self, "package", package)
        _set(self, "parsed", parsed)

    @property
    def package_name(self) -> str:
        """The crate this dependency refers to (``package`` when renamed)."""
        return self.package or self.name


class IndexEntry(FrozenRecord):
    """One version of a crate as the index describes it, with its raw line kept verbatim."""

    # all compared and hashed: like the dataclass, hash raises TypeError when features is a dict
    _fields = (
        "name",
        "vers",
        "status",
        "cksum",
        "deps",
        "features",
        "yanked",
        "links",
        "rust_version",
        "v",
        "problem",
        "raw",
    )
    __slots__ = _fields

    name: str
    vers: str
    status: str
    cksum: str | None
    deps: tuple[IndexDependency, ...]
    features: Mapping[str, tuple[str, ...]]
    yanked: bool
    links: str | None
    rust_version: str | None
    v: int
    problem: str | None
    raw: bytes

    def __init__(
        self,
        name: str,
        vers: str,
        status: str,
        cksum: str | None = None,
        deps: tuple[IndexDependency, ...] = (),
        features: Mapping[str, tuple[str, ...]] | None = None,
        yanked: bool = False,
        links: str | None = None,
        rust_version: str | None = None,
        v: int = 1,
        problem: str | None = None,
        raw: bytes = b"",
    ) -> None:
        _set(self, "name", name)
        _set(self, "vers", vers)
        _set(self, "status", status)
        _set(self, "cksum", cksum)
        _set(self, "deps", deps)
        _set(self, "features", {} if features is None else features)  # default: a fresh dict
        _set(self, "yanked", yanked)
        _set(self, "links", links)
        _set(self, "rust_version", rust_version)
        _set(self, "v", v)
        _set(self, "problem", problem)
        _set(self, "raw", raw)

    @property
    def selectable(self) -> bool:
        """True for candidates: what a resolver may pick for a new requirement."""
        return self.status == CANDIDATE


class EntryError(ValueError):
    """The line lacks even a usable ``name`` and ``vers``: cargo skips such lines."""


def _str_or_none(value: object, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"{what} is not a string")


def _dependency(raw: object, reqs: MutableMapping[str, Requirement]) -> IndexDependency:
    """One ``deps`` item. Runs for every dependency of every entry read, so the common case
    (plain types, a requirement seen before) is a few dict lookups; messages are built only
    when something is wrong."""
    if type(raw) is not dict:
        if not isinstance(raw, Mapping):
            raise ValueError("a dependency is not an object")
        raw = dict(raw)
    name = raw.get("name")
    req = raw.get("req")
    if type(name) is not str or type(req) is not str:
        raise ValueError("a dependency lacks a string name or req")
    parsed = reqs.get(req)
    if parsed is None:
        from query.requirement import Requirement

        parsed = reqs[req] = Requirement.parse(req)
    features = raw.get("features")
    if features:
        if type(features) is not list or not all(type(f) is str for f in features):
            raise ValueError(f"dependency {name} has non-string features")
        features = tuple(f for f in features if f)
    else:
        features = ()
    optional = raw.get("optional")
    default_features = raw.get("default_features")
    target = raw.get("target")
    registry = raw.get("registry")
    package = raw.get("package")
    if optional is None:
        optional = False
    elif type(optional) is not bool:
        raise ValueError(f"dependency {name} optional is not a boolean")
    if default_features is None:
        default_features = True
    elif type(default_features) is not bool:
        raise ValueError(f"dependency {name} default_features is not a boolean")
    if target is not None and type(target) is not str:
        raise ValueError(f"dependency {name} target is not a string")
    if registry is not None and type(registry) is not str:
        raise ValueError(f"dependency {name} registry is not a string")
    if package is not None and type(package) is not str:
        raise ValueError(f"dependency {name} package is not a string")
    kind = raw.get("kind")
    return IndexDependency(
        name,
        req,
        features,
        optional,
        default_features,
        target,
        kind if kind in ("dev", "build") else "normal",
        registry,
        package,
        parsed,
    )


def _features(data: Mapping[str, object]) -> dict[str, tuple[str, ...]]:
    merged: dict[str, list[str]] = {}
    for key in ("features", "features2"):
        table = data.get(key)
        if table is None:
            continue
        if not isinstance(table, Mapping):
            raise ValueError(f"{key} is not an object")
        for fname, values in table.items():
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ValueError(f"feature {fname} is not a list of strings")
            merged.setdefault(fname, []).extend(values)
    return {k: tuple(v) for k, v in merged.items()}


def _check_features(
    features: Mapping[str, tuple[str, ...]], deps: tuple[IndexDependency, ...]
) -> None:
    """The subset of cargo's ``Summary::new`` feature validation that can fail on index data."""
    dep_names = {d.name for d in deps}
    optional = {d.name for d in deps if d.optional}
    for fname, values in features.items():
        for value in values:
            if value.startswith("dep:"):
                target = value[4:]
                if target not in optional:
                    raise ValueError(
                        f'feature "{fname}" includes "{value}", '
                        f'but "{target}" is not an optional dependency'
                    )
            elif "/" in value:
                target = value.split("/", 1)[0].rstrip("?")
                if target not in dep_names and target not in features:
                    raise ValueError(
                        f'feature "{fname}" includes "{value}", but "{target}" is not a dependency'
                    )
            elif value not in features and value not in optional:
                raise ValueError(
                    f'feature "{fname}" includes "{value}" which is neither a dependency '
                    "nor another feature"
                )


def _v(data: Mapping[str, object]) -> int:
    value = data.get("v")
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("v is not an unsigned integer")
    return value


def entry_from_mapping(
    data: object,
    raw: bytes = b"",
    *,
    requirements: MutableMapping[str, Requirement] | None = None,
) -> IndexEntry:
    """Build and classify an entry from a parsed index line (§3.5).

    Raises :class:`EntryError` when not even ``name`` and ``vers`` are usable (cargo skips such a
    line). Every other defect gives an entry with status ``invalid`` and ``problem`` set.
    ``requirements`` memoizes parsed dependency requirements across entries (most repeat).
    """
    reqs: MutableMapping[str, Requirement] = {} if requirements is None else requirements
    from query.version import VersionError, parse_parts
    from query.versionsyntax import is_version

    if not isinstance(data, Mapping):
        raise EntryError("index line is not a JSON object")
    name = data.get("name")
    vers = data.get("vers")
    if not isinstance(name, str) or not isinstance(vers, str):
        raise EntryError("index line lacks a string name or vers")
    if not is_version(vers):  # the same grammar; parse_parts only to say what is wrong
        try:
            parse_parts(vers)
        except VersionError as exc:
            raise EntryError(str(exc)) from None

    yanked_raw = data.get("yanked")
    yanked = yanked_raw is True
    try:
        v = _v(data)
    except ValueError:
        v = 1
    rust_version = data.get("rust_version")
    rust_version = rust_version if isinstance(rust_version, str) else None
    try:
        deps_raw = data.get("deps")
        if not isinstance(deps_raw, list):
            raise ValueError('required field "deps" is missing or not a list')
        cksum = data.get("cksum")
        if not isinstance(cksum, str):
            raise ValueError('required field "cksum" is missing or not a string')
        deps = tuple(_dependency(d, reqs) for d in deps_raw)
        features = _features(data)
        _check_features(features, deps)
        if yanked_raw is not None and not isinstance(yanked_raw, bool):
            raise ValueError("yanked is not a boolean")
        links = _str_or_none(data.get("links"), "links")
        rv = data.get("rust_version")
        if rv is not None and (not isinstance(rv, str) or not _RUST_VERSION.match(rv)):
            raise ValueError(f"rust_version {rv!r} is not MAJOR[.MINOR[.PATCH]]")
        pubtime = data.get("pubtime")
        if pubtime is not None and (not isinstance(pubtime, str) or not _PUBTIME.match(pubtime)):
            raise ValueError(f"pubtime {pubtime!r} is not YYYY-MM-DDTHH:MM:SSZ")
        v = _v(data)
    except ValueError as exc:
        status = UNSUPPORTED if v > INDEX_V_MAX else INVALID
        raw_cksum = data.get("cksum")
        return IndexEntry(
            name=name,
            vers=vers,
            status=status,
            cksum=raw_cksum if isinstance(raw_cksum, str) else None,
            yanked=yanked,
            rust_version=rust_version,
            v=v,
            problem=str(exc),
            raw=raw,
        )
    if v > INDEX_V_MAX:
        status = UNSUPPORTED
    elif yanked:
        status = YANKED
    else:
        status = CANDIDATE
    return IndexEntry(
        name=name,
        vers=vers,
        status=status,
        cksum=cksum,
        deps=deps,
        features=features,
        yanked=yanked,
        links=links,
        rust_version=rust_version,
        v=v,
        raw=raw,
    )

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
from itertools import compress

from query import TYPE_CHECKING
from query.cargo_facts import INDEX_V_MAX
from query.errors import ParseError
from query.record import Record, field
from query.version import is_version

if TYPE_CHECKING:
    import semver

    from query.requirement import Requirement


CANDIDATE = "candidate"
YANKED = "yanked"
INVALID = "invalid"
UNSUPPORTED = "unsupported"

_PUBTIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")
_RUST_VERSION = re.compile(r"(0|[1-9]\d*)(\.(0|[1-9]\d*)){0,2}\Z")


class IndexDependency(Record):
    """One entry of ``deps`` (§3.3). ``name`` is the name used in code; ``package`` the real one."""

    name: str
    req: str
    features: tuple[str, ...] = ()
    optional: bool = False
    default_features: bool = True
    target: str | None = None
    kind: str = "normal"
    registry: str | None = None
    package: str | None = None
    parsed: Requirement | None = field(default=None, compare=False, repr=False)

    @property
    def package_name(self) -> str:
        """The crate this dependency refers to (``package`` when renamed)."""
        return self.package or self.name


class IndexEntry(Record):
    """One version of a crate as the index describes it, with its raw line kept verbatim.

    Every field is compared and hashed: hashing raises TypeError when ``features`` is a dict.
    """

    name: str
    vers: str
    status: str
    cksum: str | None = None
    deps: tuple[IndexDependency, ...] = ()
    features: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    yanked: bool = False
    links: str | None = None
    rust_version: str | None = None
    v: int = 1
    problem: str | None = None
    raw: bytes = b""

    @property
    def selectable(self) -> bool:
        """True for candidates: what a resolver may pick for a new requirement."""
        return self.status == CANDIDATE

    @property
    def version(self) -> semver.Version:
        """``vers`` as a ``semver.Version`` (imported on first use). Its ``==`` ignores build
        metadata, where cargo's does not: compare ``vers`` when that matters."""
        from query.version import parse_version

        return parse_version(self.vers)


class EntryError(ParseError):
    """The line lacks even a usable ``name`` and ``vers``: cargo skips such lines."""


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
    """``features`` and ``features2`` merged (a name in both: its values in that order)."""
    merged: dict[str, tuple[str, ...]] = {}
    for key in ("features", "features2"):
        table = data.get(key)
        if table is None:
            continue
        if not isinstance(table, Mapping):
            raise ValueError(f"{key} is not an object")
        for fname, values in table.items():
            # all(type(v) is str), in C; then isinstance, for str subclasses
            if not isinstance(values, list) or not (
                _STR_ONLY.issuperset(map(type, values)) or all(isinstance(v, str) for v in values)
            ):
                raise ValueError(f"feature {fname} is not a list of strings")
            merged[fname] = merged[fname] + tuple(values) if fname in merged else tuple(values)
    return merged


_STR_ONLY = frozenset({str})


def _check_features(
    features: Mapping[str, tuple[str, ...]], deps: tuple[IndexDependency, ...]
) -> None:
    """The subset of cargo's ``Summary::new`` feature validation that can fail on index data."""
    dep_names = None  # built on first need: most values just name another feature
    optional = None
    for fname in compress(features, features.values()):  # features with values (in C)
        for value in features[fname]:
            if value.startswith("dep:"):
                target = value[4:]
                if optional is None:
                    optional = {d.name for d in deps if d.optional}
                if target not in optional:
                    raise ValueError(
                        f'feature "{fname}" includes "{value}", '
                        f'but "{target}" is not an optional dependency'
                    )
            elif "/" in value:
                target = value.split("/", 1)[0].rstrip("?")
                if dep_names is None:
                    dep_names = {d.name for d in deps}
                if target not in dep_names and target not in features:
                    raise ValueError(
                        f'feature "{fname}" includes "{value}", but "{target}" is not a dependency'
                    )
            elif value not in features:
                if optional is None:
                    optional = {d.name for d in deps if d.optional}
                if value not in optional:
                    raise ValueError(
                        f'feature "{fname}" includes "{value}" which is neither a dependency '
                        "nor another feature"
                    )


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
    if type(data) is not dict and not isinstance(data, Mapping):
        raise EntryError("index line is not a JSON object")
    get = data.get
    name = get("name")
    vers = get("vers")
    if not isinstance(name, str) or not isinstance(vers, str):
        raise EntryError("index line lacks a string name or vers")
    if not is_version(vers):  # the same grammar; parse_parts only to say what is wrong
        from query.version import VersionError, parse_parts

        try:
            parse_parts(vers)
        except VersionError as exc:
            raise EntryError(str(exc)) from None

    yanked_raw = get("yanked")
    yanked = yanked_raw is True
    # A bad "v" counts as 1 for the classification, and is reported after every other defect.
    v_raw = get("v")
    if v_raw is None:
        v, bad_v = 1, False
    elif isinstance(v_raw, int) and not isinstance(v_raw, bool) and v_raw >= 0:
        v, bad_v = v_raw, False
    else:
        v, bad_v = 1, True
    rv = get("rust_version")
    rust_version = rv if isinstance(rv, str) else None
    try:
        deps_raw = get("deps")
        if not isinstance(deps_raw, list):
            raise ValueError('required field "deps" is missing or not a list')
        cksum = get("cksum")
        if not isinstance(cksum, str):
            raise ValueError('required field "cksum" is missing or not a string')
        deps = tuple([_dependency(raw, reqs) for raw in deps_raw])
        features = _features(data)
        if features:
            _check_features(features, deps)
        if yanked_raw is not None and not isinstance(yanked_raw, bool):
            raise ValueError("yanked is not a boolean")
        links = get("links")
        if links is not None and not isinstance(links, str):
            raise ValueError("links is not a string")
        if rv is not None and (not isinstance(rv, str) or not _RUST_VERSION.match(rv)):
            raise ValueError(f"rust_version {rv!r} is not MAJOR[.MINOR[.PATCH]]")
        pubtime = get("pubtime")
        if pubtime is not None and (not isinstance(pubtime, str) or not _PUBTIME.match(pubtime)):
            raise ValueError(f"pubtime {pubtime!r} is not YYYY-MM-DDTHH:MM:SSZ")
        if bad_v:
            raise ValueError("v is not an unsigned integer")
    except ValueError as exc:
        status = UNSUPPORTED if v > INDEX_V_MAX else INVALID
        raw_cksum = get("cksum")
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
        name, vers, status, cksum, deps, features, yanked, links, rust_version, v, None, raw
    )

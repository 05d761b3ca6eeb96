"""The fast paths of query/entry.py and query/validate.py agree with the straightforward code.

`entry_from_mapping` builds the common dependency and feature shapes inline and hands anything
else to the general code; `validate_lockfile` memoizes parsed versions and requirement verdicts
across packages. The references below are those functions as they were before the fast paths
(kept verbatim but for names): every result, every error message and every side effect on the
requirements memo must be the same, on well-formed AND malformed input.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, MutableMapping
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from query import entry as entry_module
from query.entry import (
    CANDIDATE,
    INDEX_V_MAX,
    INVALID,
    UNSUPPORTED,
    YANKED,
    EntryError,
    IndexDependency,
    IndexEntry,
    entry_from_mapping,
)
from query.lockfile import LockedPackage, Lockfile, lockfile_from_mapping
from query.requirement import Requirement
from query.validate import (
    ERROR,
    OK,
    PROBLEM,
    UNKNOWN,
    WARNING,
    Lookup,
    MissingCrate,
    MissingVersion,
    PackageResult,
    Problem,
    Unknown,
    judge_package,
    same_registry,
    validate_lockfile,
)
from query.version import VersionError, parse_parts
from query.versionsyntax import is_version

# =============================================================================================
# reference: query/entry.py without its fast paths


def _ref_str_or_none(value: object, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"{what} is not a string")


def _ref_dependency(raw: object, reqs: MutableMapping[str, Requirement]) -> IndexDependency:
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


def _ref_features(data: Mapping[str, object]) -> dict[str, tuple[str, ...]]:
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


def _ref_check_features(
    features: Mapping[str, tuple[str, ...]], deps: tuple[IndexDependency, ...]
) -> None:
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


def _ref_v(data: Mapping[str, object]) -> int:
    value = data.get("v")
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("v is not an unsigned integer")
    return value


def reference_entry(
    data: object,
    raw: bytes = b"",
    *,
    requirements: MutableMapping[str, Requirement] | None = None,
) -> IndexEntry:
    reqs: MutableMapping[str, Requirement] = {} if requirements is None else requirements
    if not isinstance(data, Mapping):
        raise EntryError("index line is not a JSON object")
    name = data.get("name")
    vers = data.get("vers")
    if not isinstance(name, str) or not isinstance(vers, str):
        raise EntryError("index line lacks a string name or vers")
    if not is_version(vers):
        try:
            parse_parts(vers)
        except VersionError as exc:
            raise EntryError(str(exc)) from None
    yanked_raw = data.get("yanked")
    yanked = yanked_raw is True
    try:
        v = _ref_v(data)
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
        deps = tuple(_ref_dependency(d, reqs) for d in deps_raw)
        features = _ref_features(data)
        _ref_check_features(features, deps)
        if yanked_raw is not None and not isinstance(yanked_raw, bool):
            raise ValueError("yanked is not a boolean")
        links = _ref_str_or_none(data.get("links"), "links")
        rv = data.get("rust_version")
        if rv is not None and (not isinstance(rv, str) or not entry_module._RUST_VERSION.match(rv)):
            raise ValueError(f"rust_version {rv!r} is not MAJOR[.MINOR[.PATCH]]")
        pubtime = data.get("pubtime")
        if pubtime is not None and (
            not isinstance(pubtime, str) or not entry_module._PUBTIME.match(pubtime)
        ):
            raise ValueError(f"pubtime {pubtime!r} is not YYYY-MM-DDTHH:MM:SSZ")
        v = _ref_v(data)
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


# =============================================================================================
# reference: query/validate.py's judge without its memo


CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"
PRIVATE = "sparse+https://corp.example/index/"


def _ref_dependency_problems(
    package: LockedPackage, entry: IndexEntry, lock: Lockfile
) -> list[Problem]:
    problems: list[Problem] = []
    usable = [d for d in entry.deps if d.kind != "dev"]
    by_package: dict[str, list[IndexDependency]] = {}
    for dep in usable:
        by_package.setdefault(dep.package_name, []).append(dep)
    locked_names: dict[str, list[str]] = {}
    for ldep in package.dependencies:
        target = lock.resolve_dependency(ldep)
        locked_names.setdefault(target.name, []).append(target.version)
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
        try:
            version = parse_parts(target.version)
        except VersionError:
            continue
        if not any((d.parsed or Requirement.parse(d.req)).matches(version) for d in candidates):
            reqs = ", ".join(sorted({d.req for d in candidates}))
            problems.append(
                Problem(
                    "dep-mismatch",
                    f"{package.name} {package.version} requires {target.name} {reqs}, "
                    f"but the lock has {target.name} {target.version}",
                )
            )
        elif target.source is not None and not any(
            same_registry(d, package.source or "", target.source) for d in candidates
        ):
            problems.append(
                Problem(
                    "dep-mismatch",
                    f"{package.name} {package.version} depends on {target.name} from "
                    f"{candidates[0].registry or 'its own registry'}, "
                    f"but the lock takes it from {target.source}",
                )
            )
    for dep in usable:
        if dep.optional or dep.package_name in locked_names:
            continue
        problems.append(
            Problem(
                "dep-mismatch",
                f"{package.name} {package.version} requires {dep.package_name} {dep.req} "
                f"({dep.kind}), but the lock lists no such dependency for it",
            )
        )
    return problems


def reference_judge(
    package: LockedPackage, lookup: Lookup, lock: Lockfile, *, deny_yanked: bool = False
) -> PackageResult:
    source = package.source or ""

    def result(status: str, *problems: Problem) -> PackageResult:
        return PackageResult(
            source, package.name, package.version, package.line, status, tuple(problems)
        )

    if isinstance(lookup, Unknown):
        return result(UNKNOWN, Problem("unknown", lookup.reason))
    if isinstance(lookup, MissingCrate):
        return result(
            PROBLEM, Problem("missing-crate", f"{package.name} does not exist in {source}")
        )
    if isinstance(lookup, MissingVersion):
        known = f" (newest known: {', '.join(lookup.known)})" if lookup.known else ""
        return result(
            PROBLEM,
            Problem(
                "missing-version",
                f"{package.name} has no version {package.version} in {source}{known}",
            ),
        )
    entry = lookup
    if entry.status == UNSUPPORTED:
        return result(
            PROBLEM,
            Problem(
                "unsupported-entry",
                f"{package.name} {package.version}: index schema v{entry.v} is newer than "
                "this tool reads",
            ),
        )
    if entry.status == INVALID:
        return result(
            PROBLEM,
            Problem(
                "invalid-entry",
                f"{package.name} {package.version}: the index entry is invalid ({entry.problem})",
            ),
        )
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
    problems.extend(_ref_dependency_problems(package, entry, lock))
    status = PROBLEM if any(p.severity == ERROR for p in problems) else OK
    return result(status, *problems)


# =============================================================================================
# comparing outcomes


def outcome(build: Callable[..., IndexEntry], data: object) -> tuple[object, ...]:
    """Everything observable about one call: the entry (with what equality leaves out: the
    dependencies' parsed requirements, the containers' types) or the error, and the memo."""
    reqs: dict[str, Requirement] = {}
    try:
        found = build(data, b"raw", requirements=reqs)
    except ValueError as exc:  # EntryError, or a bug: the very exception is compared
        return ("raised", type(exc), str(exc), sorted(reqs))
    return (
        "entry",
        found,
        found.problem,
        type(found.deps),
        [(type(d.features), d.parsed) for d in found.deps],
        type(found.features),
        sorted((k, type(v)) for k, v in found.features.items()),
        sorted(reqs),
    )


def assert_same_entry(data: object) -> None:
    assert outcome(entry_from_mapping, data) == outcome(reference_entry, data)


def mostly(valid: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``valid`` nine times in ten: enough well-formed input to take the fast paths."""
    return st.integers(0, 9).flatmap(lambda n: odd if n == 0 else valid)


DEP_NAMES = st.sampled_from(["a", "b", "x", "y", "std"])
REQS = st.sampled_from(["^1.0", "1", "*", ">=0.3, <0.5", "=1.2.3", "~0.4", "1.0.0-alpha", "^^1"])
FEATURE_VALUES = st.sampled_from(
    ["a", "b", "x", "y", "std", "q", "", "dep:x", "dep:a", "dep:", "x/std", "x?/std", "a/b", "q/z"]
)


class Str(str):
    """A str subclass: JSON never gives one, a caller's mapping may."""


ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 3),
    st.floats(allow_nan=False, width=16),
    st.text(max_size=3),
    st.builds(Str, st.sampled_from(["a", "^1", "dev"])),
    st.lists(st.one_of(st.text(max_size=2), st.integers()), max_size=2),
    st.tuples(st.text(max_size=2)),
    st.dictionaries(st.text(max_size=2), st.none(), max_size=1),
)

DEP_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "name": DEP_NAMES,
    "req": REQS,
    "features": st.one_of(st.just([]), st.lists(FEATURE_VALUES, max_size=3)),
    "optional": st.booleans(),
    "default_features": st.booleans(),
    "target": st.one_of(st.none(), st.just("cfg(unix)")),
    "kind": st.sampled_from(["normal", "dev", "build", "other"]),
}
DEP_EXTRA: dict[str, st.SearchStrategy[Any]] = {
    "registry": st.one_of(st.none(), st.just("https://github.com/rust-lang/crates.io-index")),
    "package": st.one_of(st.none(), DEP_NAMES),
    "extra": st.integers(),
}


@st.composite
def raw_dependency(draw: st.DrawFn) -> object:
    raw: dict[str, object] = {}
    for key, valid in DEP_FIELDS.items():
        if draw(st.integers(0, 19)) != 0:  # a key is missing one time in twenty
            raw[key] = draw(mostly(valid, ODD))
    for key, valid in DEP_EXTRA.items():
        if draw(st.integers(0, 4)) == 0:
            raw[key] = draw(mostly(valid, ODD))
    shape = draw(st.integers(0, 29))
    if shape == 0:
        return MappingProxyType(raw)
    if shape == 1:
        return draw(ODD)
    return raw


FEATURE_TABLE = st.dictionaries(
    st.sampled_from(["a", "b", "std", "default", "x/y", "dep:x"]),
    mostly(st.lists(FEATURE_VALUES, max_size=3), ODD),
    max_size=4,
)


@st.composite
def index_line(draw: st.DrawFn) -> object:
    data: dict[str, object] = {
        "name": draw(mostly(st.just("foo"), ODD)),
        "vers": draw(mostly(st.just("1.0.0"), st.sampled_from(["1.0.0-alpha.1", "01.0.0", "x"]))),
        "deps": draw(mostly(st.lists(raw_dependency(), max_size=4), ODD)),
        "cksum": draw(mostly(st.just("c" * 64), ODD)),
    }
    optional: dict[str, st.SearchStrategy[Any]] = {
        "features": mostly(FEATURE_TABLE, st.one_of(ODD, FEATURE_TABLE.map(MappingProxyType))),
        "features2": mostly(FEATURE_TABLE, ODD),
        "yanked": st.sampled_from([None, True, False, "yes", 1]),
        "v": st.sampled_from([None, 1, 2, 3, -1, True, "2", 2.0]),
        "links": st.sampled_from([None, "z", 3]),
        "rust_version": st.sampled_from([None, "1.70", "1.x", 5]),
        "pubtime": st.sampled_from([None, "2024-01-01T00:00:00Z", "bad"]),
    }
    for key, values in optional.items():
        if draw(st.booleans()):
            data[key] = draw(values)
    if draw(st.integers(0, 29)) == 0:
        return MappingProxyType(data)
    return data


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index_line())
def test_entry_matches_reference(data: object) -> None:
    assert_same_entry(data)


@settings(max_examples=600, deadline=None)
@given(st.lists(raw_dependency(), max_size=3), st.dictionaries(REQS, st.just(None), max_size=2))
def test_dependencies_match_the_general_path(deps: list[object], seen: dict[str, None]) -> None:
    """`_dependencies` against `_dependency` item by item, the memo warm or not."""
    memo_fast = {req: Requirement.parse(req) for req in seen if req != "^^1"}
    memo_slow = dict(memo_fast)

    def built(build: Callable[[], tuple[IndexDependency, ...]]) -> tuple[object, ...]:
        try:
            deps = build()
        except ValueError as exc:
            return ("raised", type(exc), str(exc))
        return ("built", deps, [d.parsed for d in deps], [type(d.features) for d in deps])

    fast = built(lambda: entry_module._dependencies(deps, memo_fast))
    slow = built(lambda: tuple(entry_module._dependency(d, memo_slow) for d in deps))
    assert fast == slow
    assert memo_fast == memo_slow


def dep(name: object, req: object, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "req": req,
        "features": [],
        "optional": False,
        "default_features": True,
        "target": None,
        "kind": "normal",
        **fields,
    }


def line(*deps: object, **fields: object) -> dict[str, object]:
    return {"name": "foo", "vers": "1.0.0", "deps": list(deps), "cksum": "c" * 64, **fields}


# Each row: one dependency item, for the table below (the well-formed shapes first).
DEPENDENCY_SHAPES: list[object] = [
    dep("a", "^1.0"),
    dep("a", "^1.0", features=["std", "derive"]),
    dep("a", "^1.0", features=["", "std", ""]),
    dep("a", "^1.0", kind="dev"),
    dep("a", "^1.0", kind="build", optional=True, default_features=False),
    dep("a", "^1.0", kind="weird"),
    dep("a", "^1.0", kind=None),
    dep("a", "^1.0", target="cfg(windows)"),
    dep("a", "^1.0", package="b"),
    dep("a", "^1.0", registry="https://github.com/rust-lang/crates.io-index"),
    dep("a", "^1.0", registry=None, package=None),
    dep("a", "^1.0", extra="ignored"),
    {"name": "a", "req": "^1.0"},
    dep("a", "^1.0", features=0),
    dep("a", "^1.0", features=None),
    dep("a", "^1.0", features={}),
    dep("a", "^1.0", optional=None, default_features=None),
    # malformed: each must give the general path's message
    dep("a", "^^1"),
    dep("a", "^^1", features=[3]),
    dep("a", "^1.0", features=[3]),
    dep("a", "^1.0", features=["std", None]),
    dep("a", "^1.0", features=("std",)),
    dep("a", "^1.0", features="std"),
    dep("a", "^1.0", features=[Str("std")]),
    dep("a", "^1.0", optional=1),
    dep("a", "^1.0", optional="false"),
    dep("a", "^1.0", default_features=0),
    dep("a", "^1.0", target=3),
    dep("a", "^1.0", target=["x"]),
    dep("a", "^1.0", registry=3),
    dep("a", "^1.0", package=False),
    dep("a", "^1.0", optional=1, target=3),
    dep(Str("a"), "^1.0"),
    dep("a", Str("^1.0")),
    dep(3, "^1.0"),
    dep("a", None),
    {"req": "^1.0"},
    {"name": "a"},
    {},
    MappingProxyType(dep("a", "^1.0")),
    MappingProxyType(dep("a", "^1.0", optional=1)),
    [("name", "a")],
    "a",
    None,
]


@pytest.mark.parametrize("raw", DEPENDENCY_SHAPES, ids=repr)
def test_dependency_shapes_match_reference(raw: object) -> None:
    assert_same_entry(line(raw))
    assert_same_entry(line(dep("z", "*"), raw, dep("y", "=1.2.3", kind="dev")))


FEATURE_TABLES: list[dict[str, object]] = [
    {},
    {"features": {}},
    {"features": {"default": ["std"], "std": []}},
    {"features": {"default": ["std"], "std": []}, "features2": {"std": ["dep:a"], "x": []}},
    {"features": {"default": ["std"]}, "features2": {"std": []}},
    {"features2": {"std": []}},
    {"features": None, "features2": {"std": []}},
    {"features": {"std": ["a/std", "b?/std", "dep:a"]}},
    {"features": {"std": [""]}},
    {"features": {"f": ["dep:a"]}, "deps_optional": True},
    {"features": {"f": ["a"]}, "deps_optional": True},
    # malformed
    {"features": {"f": ["dep:a"]}},  # "a" is not optional
    {"features": {"f": ["a"]}},
    {"features": {"std": ["nope"]}},
    {"features": {"std": ["dep:b"]}},
    {"features": {"std": ["b/x"]}},
    {"features": {"std": ["b?/x"]}},
    {"features": {"std": ("a",)}},
    {"features": {"std": "a"}},
    {"features": {"std": [3]}},
    {"features": {"std": [Str("std")]}},
    {"features": {"ok": ["std"], "std": [None]}},
    {"features": ["std"]},
    {"features": "std"},
    {"features": {"std": []}, "features2": ["x"]},
    {"features": {"std": []}, "features2": {"x": [1]}},
    {"features": MappingProxyType({"std": []})},
    {"features": {"std": []}, "features2": MappingProxyType({"x": ["std"]})},
]


@pytest.mark.parametrize("tables", FEATURE_TABLES, ids=repr)
def test_feature_tables_match_reference(tables: dict[str, object]) -> None:
    tables = dict(tables)
    optional = tables.pop("deps_optional", False)
    deps = [dep("a", "^1.0", optional=bool(optional)), dep("c", "^1.0", package="b")]
    assert_same_entry(line(*deps, **tables))
    assert_same_entry(line(**tables))


def test_entries_of_the_bundled_index_match_reference() -> None:
    """Every line of the bundled 2019 index: the real shapes, in bulk."""
    from tests.checkutil import INDEX

    count = 0
    for path in sorted(p for p in INDEX.rglob("*") if p.is_file() and p.name != "config.json"):
        for text in path.read_text(encoding="utf-8").splitlines():
            if text.strip():
                assert_same_entry(json.loads(text))
                count += 1
    assert count > 1000


# =============================================================================================
# validate_lockfile: the memo shared across packages changes nothing

NAMES = ["a", "b", "c"]
VERSIONS = ["1.0.0", "0.4.1", "2.0.0-beta.1", "1.2.3"]
SOURCES = [CRATES_IO, PRIVATE]


@st.composite
def lock_and_lookups(draw: st.DrawFn) -> tuple[Lockfile, dict[int, Lookup]]:
    packages: list[dict[str, object]] = [{"name": "app", "version": "0.1.0"}]
    ids: set[tuple[str, str, str]] = set()
    for _ in range(draw(st.integers(1, 5))):
        ident = (
            draw(st.sampled_from(NAMES)),
            draw(st.sampled_from(VERSIONS)),
            draw(st.sampled_from(SOURCES)),
        )
        if ident not in ids:
            ids.add(ident)
            packages.append({"name": ident[0], "version": ident[1], "source": ident[2]})
    for table in packages:
        chosen = draw(st.lists(st.sampled_from(sorted(ids)), max_size=3, unique=True))
        table["dependencies"] = [f"{n} {v} ({s})" for n, v, s in chosen]
        if table.get("source") is not None:
            table["checksum"] = draw(st.sampled_from(["c" * 64, "d" * 64]))
    lock = lockfile_from_mapping({"version": 3, "package": packages})  # every id is unique
    lookups: dict[int, Lookup] = {}
    for package in lock.registry_packages():
        shape = draw(st.integers(0, 9))
        if shape == 0:
            lookups[package.index] = MissingCrate()
            continue
        deps = draw(
            st.lists(
                st.builds(
                    dep,
                    st.sampled_from(NAMES),
                    st.sampled_from(["^1.0", "^0.4", "*", ">=1.0.0-alpha, <3", "=2.0.0-beta.1"]),
                    kind=st.sampled_from(["normal", "dev", "build"]),
                    optional=st.booleans(),
                    package=st.one_of(st.none(), st.sampled_from(NAMES)),
                    registry=st.sampled_from(
                        [None, "https://github.com/rust-lang/crates.io-index", PRIVATE[7:]]
                    ),
                ),
                max_size=4,
            )
        )
        data = {
            "name": package.name,
            "vers": package.version,
            "deps": deps,
            "cksum": "c" * 64,
            "yanked": draw(st.booleans()),
        }
        found = entry_from_mapping(data)
        if draw(st.booleans()) and found.deps:
            # a requirement that is not its text's: a verdict must not be borrowed across them
            other = Requirement.parse(draw(st.sampled_from(["^2", "<1", "*"])))
            swapped = []
            for d in found.deps:
                parsed: Requirement | None = draw(st.sampled_from([d.parsed, None, other]))
                swapped.append(
                    IndexDependency(
                        d.name,
                        d.req,
                        d.features,
                        d.optional,
                        d.default_features,
                        d.target,
                        d.kind,
                        d.registry,
                        d.package,
                        parsed,
                    )
                )
            found = IndexEntry(
                found.name,
                found.vers,
                found.status,
                found.cksum,
                tuple(swapped),
                found.features,
                found.yanked,
                v=found.v,
            )
        lookups[package.index] = found
    return lock, lookups


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lock_and_lookups(), st.booleans())
def test_validate_matches_reference(
    case: tuple[Lockfile, dict[int, Lookup]], deny_yanked: bool
) -> None:
    lock, lookups = case
    expected = [
        reference_judge(p, lookups[p.index], lock, deny_yanked=deny_yanked)
        for p in lock.registry_packages()
    ]
    assert validate_lockfile(lock, lookups, deny_yanked=deny_yanked) == expected
    assert [
        judge_package(p, lookups[p.index], lock, deny_yanked=deny_yanked)
        for p in lock.registry_packages()
    ] == expected

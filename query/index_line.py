"""One index line as cargo 1.95's ``IndexSummary::parse`` classifies it: the general path.

``IndexSummary::parse`` (``src/cargo/sources/registry/index/mod.rs:645-713`` at cargo 0.96.0)
turns a line into one of five outcomes::

    full parse (IndexPackage) and conversion ok? ── no ──> {name, vers} parse? ── no ──> dropped
         │ yes                                                  │ yes          (EntryError)
         v                                                      v
    v > INDEX_V_MAX ?  ──────────────────────────────────────> "unsupported"
         │ no                                                   │ no
         │                                                      └──────────> "invalid"
    yanked ? ──────────────────────────────────────────────────> "yanked"
         │ no
         └─────────────────────────────────────────────────────> "candidate"

* The *full parse* is serde's: every known field of ``IndexPackage`` and ``RegistryDependency``
  (``crates/cargo-util-schemas/src/index.rs``) must have its type (``null`` only where the
  field is an ``Option``; ``#[serde(default)]`` covers a missing key only), known keys may not
  repeat, unknown keys are ignored whatever they hold (:mod:`query.index_json` reads the line
  as serde_json does); a struct may also be given as an array, serde's other form.
* The *conversion* (``index_package_to_summary``, ``registry_dependency_into_dep``,
  ``Summary::new``, ``build_feature_map``): per dependency in order, ``registry`` must be a URL
  (:mod:`query.url_syntax`), ``req`` a requirement, ``target`` a platform (:mod:`query.cfg`),
  ``artifact`` valid; then feature names and values (`query.entry._feature_map_error`), no
  optional dev-dependency. ``rust_version`` and ``pubtime`` values are checked while
  deserializing (:mod:`query.index_fields`).
* A line whose full parse fails keeps its ``name`` and ``vers`` (the minimal parse), and its
  ``v`` and ``rust_version`` when each parses on its own (a ``v`` that is not a u32 counts as
  absent, so such a line is invalid rather than unsupported).
* A dependency whose package name is empty makes cargo 1.95 *panic* while it converts the line
  (``Dependency::new_override`` asserts a name, ``src/cargo/core/dependency.rs:148``), unless an
  earlier error stops the conversion first.

:mod:`query.entry` holds the records and the accelerator that reads ordinary lines without
this module (tests/test_index_lines.py pins the two together).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping

from query import TYPE_CHECKING
from query.cargo_facts import INDEX_V_MAX
from query.entry import (
    _DEP_DEFAULTS,
    _DEP_FIELDS,
    _PACKAGE_DEFAULTS,
    _PACKAGE_FIELDS,
    _PACKAGE_KEYS,
    _STR_ONLY,
    _U32_MAX,
    CANDIDATE,
    HUGE_LINE_BYTES,
    INVALID,
    UNSUPPORTED,
    YANKED,
    EntryError,
    EntryMemo,
    IndexDependency,
    IndexEntry,
    _Defer,
    _feature_map_error,
    _int,
    _no_constant,
    _plain_deps,
)
from query.version import is_version

if TYPE_CHECKING:
    from query.requirement import Requirement

__all__ = [
    "PACKAGE_DEPTH",
    "classify",
    "entry_from_mapping",
    "kept_name_version",
    "read_line",
    "read_plain",
]


#: The deepest container a field of ``IndexPackage`` can hold: the line (1), ``deps`` (2), one
#: dependency (3), its ``features`` or ``artifact`` (4); ``features`` and ``features2`` go 3
#: deep. A deeper one is a type error whatever it holds, so the general reader reads it for its
#: syntax only (:func:`query.index_json.read_json`'s ``depth``), as it does unknown fields.
PACKAGE_DEPTH = 4


class _Refused(Exception):
    """The full parse or the conversion fails: the line is invalid (if name and vers parse)."""


class _Panics(Exception):
    """cargo 1.95 panics converting the line."""


# --- the serde shapes -----------------------------------------------------------------------


def _struct(
    value: object, fields: tuple[str, ...], defaults: frozenset[str], plain: bool
) -> dict[object, object]:
    """The known fields of a serde struct given as an object or (serde's other form) an array;
    a missing ``Option`` field is absent, a missing field with a default absent too (the
    callers supply the default). Raises _Refused for what serde refuses at this level."""
    if type(value) is dict:
        if plain:
            return value
        from query.index_json import BadString, Duplicate

        for key, item in value.items():
            if isinstance(key, BadString):
                raise _Refused("a key is not valid UTF-8")
            if key in fields and isinstance(item, Duplicate):
                raise _Refused(f"duplicate field `{key}`")
        return value
    if type(value) is list:
        if len(value) > len(fields):
            raise _Refused("trailing elements")
        for name in fields[len(value) :]:
            if name not in defaults:  # even an Option: serde's sequence form needs it
                raise _Refused(f"invalid length {len(value)}")
        return dict(zip(fields, value, strict=False))
    raise _Refused("expected an object")


def _string(value: object, what: str) -> str:
    if type(value) is str:
        return value
    raise _Refused(f"{what} is not a string")


def _opt_string(value: object, what: str) -> str | None:
    if value is None or type(value) is str:
        return value
    raise _Refused(f"{what} is not a string")


def _strings(value: object, what: str) -> list[str]:
    if type(value) is list and all(type(v) is str for v in value):
        return value
    raise _Refused(f"{what} is not a list of strings")


def _feature_table(value: object, what: str, plain: bool) -> dict[str, list[str]]:
    """A ``BTreeMap<str, Vec<str>>``: an object of string lists (a repeated key: the last)."""
    if type(value) is not dict:
        raise _Refused(f"{what} is not an object")
    if plain:
        for key, values in value.items():
            if type(values) is not list or not all(type(v) is str for v in values):
                raise _Refused(f"{what} {key} is not a list of strings")
        return value
    from query.index_json import Duplicate

    out: dict[str, list[str]] = {}
    for key, values in value.items():
        if type(key) is not str:
            raise _Refused(f"{what} has a key that is not valid UTF-8")
        last = values.value if isinstance(values, Duplicate) else values  # a map: last wins
        out[key] = _strings(last, f"{what} {key}")
    return out


def _u32(value: object) -> int | None:
    """``Option<u32>``: None for null; _Refused for anything but an integer 0..=u32::MAX."""
    if value is None:
        return None
    if type(value) is int and 0 <= value <= _U32_MAX:
        return value
    raise _Refused("v is not an unsigned 32-bit integer")


# --- one dependency -------------------------------------------------------------------------


#: A dependency as serde reads it: the arguments of `_convert_dependency` but the memo.
_DepFields = tuple[
    str, str, tuple[str, ...], bool, bool, str | None, str | None, str | None, str | None,
    list[str] | None, str | None,
]  # fmt: skip


def _dependency(raw: object, plain: bool) -> _DepFields:
    """Deserialize one ``deps`` item (``RegistryDependency``)."""
    data = _struct(raw, _DEP_FIELDS, _DEP_DEFAULTS, plain)
    get = data.get
    name = _string(get("name"), "a dependency name")
    req = _string(get("req"), f"the req of dependency {name}")
    features = get("features", ())
    if features:
        features = tuple([f for f in _strings(features, f"features of {name}") if f])
    elif features == () or features == []:  # noqa: PLR1714 - a list and a tuple
        features = ()
    else:
        raise _Refused(f"features of dependency {name} is not a list")
    optional = get("optional", False)
    if optional is not False and optional is not True:
        raise _Refused(f"optional of dependency {name} is not a boolean")
    default_features = get("default_features", True)
    if default_features is not True and default_features is not False:
        raise _Refused(f"default_features of dependency {name} is not a boolean")
    target = _opt_string(get("target"), f"the target of dependency {name}")
    kind = _opt_string(get("kind"), f"the kind of dependency {name}")
    registry = _opt_string(get("registry"), f"the registry of dependency {name}")
    package = _opt_string(get("package"), f"the package of dependency {name}")
    public = get("public")
    if public is not None and public is not True and public is not False:
        raise _Refused(f"public of dependency {name} is not a boolean")
    artifact = get("artifact")
    if artifact is not None:
        artifact = _strings(artifact, f"artifact of dependency {name}")
    bindep_target = _opt_string(get("bindep_target"), f"bindep_target of dependency {name}")
    lib = get("lib", False)
    if lib is not True and lib is not False:
        raise _Refused(f"lib of dependency {name} is not a boolean")
    return (
        name, req, features, optional, default_features, target, kind, registry, package,
        artifact, bindep_target,
    )  # fmt: skip


def _convert_dependency(fields: _DepFields, memo: EntryMemo) -> IndexDependency:
    """``registry_dependency_into_dep`` (index/mod.rs:716-793): registry, req, the name,
    target, artifact, in that order."""
    (
        name, req, features, optional, default_features, target, kind, registry, package,
        artifact, bindep_target,
    ) = fields  # fmt: skip
    if registry is not None:
        from query.url_syntax import url_error

        problem = url_error(registry)
        if problem is not None:
            raise _Refused(f"invalid url `{registry}`: {problem}")
    reqs = memo.requirements
    parsed = reqs.get(req)
    if parsed is None:
        from query.requirement import Requirement, RequirementError

        try:
            parsed = reqs[req] = Requirement.parse(req)
        except RequirementError:
            real = name if package is None else package
            raise _Refused(
                f"failed to parse the version requirement `{req}` for dependency `{real}`"
            ) from None
    if (name if package is None else package) == "":
        raise _Panics("a dependency's package name is empty (cargo 1.95 panics on it)")
    if target is not None:
        targets = memo.targets
        if target in targets:
            problem = targets[target]
        else:
            from query.cfg import platform_error

            problem = targets[target] = platform_error(target)
        if problem is not None:
            raise _Refused(problem)
    if artifact is not None:
        from query.index_fields import artifact_error

        problem = artifact_error(artifact, bindep_target)
        if problem is not None:
            raise _Refused(problem)
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


def _merged_features(data: Mapping[object, object], plain: bool) -> dict[str, tuple[str, ...]]:
    """``features`` with ``features2`` appended (``index_package_to_summary``)."""
    merged: dict[str, tuple[str, ...]] = {}
    table = data.get("features")
    if plain and type(table) is dict:  # the common case, in one pass
        for name, values in table.items():
            if type(values) is not list or not _STR_ONLY.issuperset(map(type, values)):
                raise _Refused(f"features {name} is not a list of strings")
            merged[name] = tuple(values)
    elif table is not None or "features" in data:
        for name, values in _feature_table(table, "features", plain).items():
            merged[name] = tuple(values)
    table2 = data.get("features2")
    if table2 is not None:
        for name, values in _feature_table(table2, "features2", plain).items():
            merged[name] = merged[name] + tuple(values) if name in merged else tuple(values)
    return merged


# --- the whole line ---------------------------------------------------------------------------


def _minimal(value: object) -> tuple[str, str] | None:
    """``IndexPackageMinimum {name, vers}`` (index/mod.rs:230-234), or None when it fails."""
    if type(value) is dict:
        from query.index_json import BadString

        if any(isinstance(key, BadString) for key in value):
            return None
        name, vers = value.get("name"), value.get("vers")
    elif type(value) is list and len(value) == 2:
        name, vers = value
    else:
        return None
    if type(name) is not str or type(vers) is not str or not is_version(vers):
        return None
    return name, vers


def kept_name_version(value: object) -> tuple[str, str] | None:
    """(name, vers) of a line cargo keeps (its ``IndexSummary::parse`` returns anything), read
    into ``value`` by :func:`query.index_json.read_json`; None when cargo drops the line."""
    found = _minimal(value)
    if found is None and type(value) is list:  # the whole IndexPackage as an array
        try:
            entry = classify(value)
        except EntryError:
            return None
        return entry.name, entry.vers
    return found


def _fallback(value: object, key: str) -> object:
    """``IndexPackageV`` / ``IndexPackageRustVersion``: the one field, parsed alone (None when
    that parse fails or the field is absent)."""
    if type(value) is not dict:
        return None
    item = value.get(key)
    try:
        if key == "v":
            return _u32(item)
        if item is None or type(item) is not str:
            return None
        from query.index_fields import rust_version_error

        return None if rust_version_error(item) else item
    except _Refused:
        return None


def _full(value: object, raw: bytes, memo: EntryMemo, plain: bool) -> IndexEntry:
    """The entry of a line whose full parse and conversion succeed; _Refused or _Panics.
    ``plain``: read by a reader that leaves no BadString or Duplicate marker (no repeated key
    either)."""
    data = _struct(value, _PACKAGE_FIELDS, _PACKAGE_DEFAULTS, plain)
    get = data.get
    name = _string(get("name"), "name")
    vers = _string(get("vers"), "vers")
    if not is_version(vers):
        raise _Refused(f"vers {vers!r} is not a version")
    deps_raw = get("deps")
    if type(deps_raw) is not list:
        raise _Refused('"deps" is missing or not a list')
    cksum = _string(get("cksum"), '"cksum"')
    yanked = get("yanked")
    if yanked is not None and yanked is not True and yanked is not False:
        raise _Refused("yanked is not a boolean")
    links = _opt_string(get("links"), "links")
    rust_version = _opt_string(get("rust_version"), "rust_version")
    pubtime = _opt_string(get("pubtime"), "pubtime")
    v = _u32(get("v"))
    features = _merged_features(data, plain)
    if rust_version is not None:  # both are parsed while deserializing
        from query.index_fields import rust_version_error

        problem = rust_version_error(rust_version)
        if problem is not None:
            raise _Refused(problem)
    if pubtime is not None:
        from query.index_fields import pubtime_error

        problem = pubtime_error(pubtime)
        if problem is not None:
            raise _Refused(problem)
    found = _plain_deps(deps_raw, memo) if plain else None
    if found is not None:
        deps, _, any_optional = found
    else:
        fields = [_dependency(d, plain) for d in deps_raw]
        any_optional = any(d[3] for d in fields)
        # serde is done: now the conversion, in cargo's order
        deps = tuple([_convert_dependency(f, memo) for f in fields])
    if features or any_optional:
        problem = _feature_map_error(features, deps, memo.feature_names, any_optional)
        if problem is not None:
            raise _Refused(problem)
    version = 1 if v is None else v
    if version > INDEX_V_MAX:
        status = UNSUPPORTED
    elif yanked is True:
        status = YANKED
    else:
        status = CANDIDATE
    problem = f"index schema v{version}" if status == UNSUPPORTED else None
    return IndexEntry(
        name, vers, status, cksum, deps, features, yanked is True, links, rust_version,
        version, problem, raw, False,
    )  # fmt: skip


def classify(value: object, raw: bytes = b"", *, memo: EntryMemo | None = None,
             plain: bool = False) -> IndexEntry:  # fmt: skip
    """The entry of a line already read into ``value`` (see :mod:`query.index_json`; ``plain``:
    read by the stdlib ``json`` module, so it holds no BadString or Duplicate marker).

    Raises :class:`EntryError` when cargo drops the line.
    """
    memo = EntryMemo() if memo is None else memo
    try:
        return _full(value, raw, memo, plain)
    except (_Refused, _Panics) as exc:
        # the words only: the exception's traceback would keep the value alive (a cycle
        # through this frame) long after this returns, a huge line's fields with it
        problem, panics = str(exc), isinstance(exc, _Panics)
    found = _minimal(value)
    if found is None:
        raise EntryError(f"the index line has no usable name and vers ({problem})")
    name, vers = found
    rust_version = _fallback(value, "rust_version")
    v = _fallback(value, "v")
    version = 1 if v is None else v
    assert isinstance(version, int)
    status = UNSUPPORTED if version > INDEX_V_MAX else INVALID
    return IndexEntry(
        name=name,
        vers=vers,
        status=status,
        rust_version=rust_version if isinstance(rust_version, str) else None,
        v=version,
        problem=problem,
        raw=raw,
        panics=panics,
    )


def entry_from_mapping(
    data: object,
    raw: bytes = b"",
    *,
    requirements: MutableMapping[str, Requirement] | None = None,
) -> IndexEntry:
    """Classify an index line already parsed by a plain JSON reader (no duplicate keys
    possible, every string valid): :func:`classify` of it."""
    memo = EntryMemo()
    if requirements is not None:
        memo.requirements = requirements  # type: ignore[assignment]
    return classify(data, raw, memo=memo, plain=True)


# --- reading the bytes -----------------------------------------------------------------------


def _pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    data = dict(pairs)
    if len(data) != len(pairs):
        raise _Defer  # a repeated key: only the general reader tells struct from map
    return data


_DECODE = json.JSONDecoder(
    object_pairs_hook=_pairs, parse_constant=_no_constant, parse_int=_int
).decode


def read_plain(line: bytes) -> object:
    """The accelerator: ``line`` read by the stdlib ``json`` module, or raises _Defer when that
    reading could differ from serde_json's (see the module docstring). Twin:
    :func:`query.index_json.read_json`."""
    if b"\\u" in line and (b"\\ud" in line or b"\\uD" in line):
        raise _Defer  # a surrogate escape: maybe lone
    try:
        return _DECODE(line.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError too
        raise _Defer from None


def read_line(line: bytes) -> tuple[object, bool]:
    """``line``'s value for :func:`classify` and whether it is plain; JsonSyntaxError (a
    ParseError) when serde_json would not read it at all. A line over `HUGE_LINE_BYTES` is
    read by the general reader only, which builds the known fields only, and no container
    deeper than `PACKAGE_DEPTH` (any type refuses those whatever they hold)."""
    if len(line) <= HUGE_LINE_BYTES:
        try:
            return read_plain(line), True
        except _Defer:
            pass
    from query.index_json import read_json

    return read_json(line, _PACKAGE_KEYS, PACKAGE_DEPTH), False

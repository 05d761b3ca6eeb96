"""Index entries: one line of a sparse index file, as cargo 1.95 classifies it.

The records (:class:`IndexEntry`, :class:`IndexDependency`), the statuses, and the fast way to
an entry, :func:`entry_from_line`. What cargo's ``IndexSummary::parse`` makes of a line, and
why, is the general path, :mod:`query.index_line` (a faithful emulation of serde_json and of
cargo's conversion, with the cargo 0.96.0 sources cited); the five outcomes::

    dropped (EntryError) | unsupported (v > INDEX_V_MAX) | invalid | yanked | candidate

``name``, ``vers`` and ``yanked`` come from parsed fields only, and names are compared exactly
by callers (cargo's ``matches_id``). A dependency whose package name is empty makes cargo
1.95 panic: such an entry is "invalid" with ``panics`` set.

Accelerator (twin: :func:`query.index_line.classify` over :func:`query.index_json.read_json`):
nearly every line of a real index is read by the stdlib ``json`` module and checked in one
pass (`_plain_full`), a repeated key being caught by counting quotes; anything unusual --
a type serde refuses, a refusal to word, an escaped backslash or a surrogate escape, a
repeated key, a shape the pass does not cover -- goes to the general path, imported only then.
Gain (docs/performance.md): the general path costs ~65 µs a line and ~2 ms of imports; this
~25 µs a line. ``tests/test_index_lines.py`` pins the two together (the 426 lines of cargo's
verdicts, every line of the fixture index, generated lines).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping

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

_U32_MAX = 0xFFFFFFFF

#: A line longer than this is a hostile server's (crates.io's longest is ~30 KB): it goes
#: straight to the general reader, which builds none of its unknown fields
#: (:func:`query.index_json.read_json`'s ``keep``), never to a reader that builds all of it
#: (the stdlib ``json`` module, orjson). Peak memory then stays within a small multiple of the
#: line (README "Limits").
HUGE_LINE_BYTES = 1 << 20


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

    ``problem`` says why an invalid or unsupported entry is not usable; ``panics`` is True when
    cargo 1.95 crashes on the line (see the module docstring). Every field is compared and
    hashed: hashing raises TypeError when ``features`` is a dict.
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
    panics: bool = False

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
    """The line lacks even a usable ``name`` and ``vers``: cargo drops such a line."""


class EntryMemo(Record, frozen=False):
    """What classifying many lines may share: parsed requirements (by text) and the verdicts
    on ``target`` strings (None: accepted). Most repeat across entries."""

    requirements: dict[str, Requirement] = field(default_factory=dict)
    targets: dict[str, str | None] = field(default_factory=dict)
    feature_names: set[str] = field(default_factory=set)  # names known to be valid


class _Unsure(Exception):
    """The fast path (`_plain_full`) cannot vouch for a line: the careful path decides."""


# --- the serde shapes -----------------------------------------------------------------------

_PACKAGE_FIELDS = (
    "name",
    "vers",
    "deps",
    "features",
    "features2",
    "cksum",
    "yanked",
    "links",
    "rust_version",
    "pubtime",
    "v",
)
_PACKAGE_DEFAULTS = frozenset({"features", "pubtime"})  # #[serde(default)]
_DEP_FIELDS = (
    "name",
    "req",
    "features",
    "optional",
    "default_features",
    "target",
    "kind",
    "registry",
    "package",
    "public",
    "artifact",
    "bindep_target",
    "lib",
)
_DEP_DEFAULTS = frozenset({"features", "optional", "default_features", "lib"})
_PACKAGE_KEYS = frozenset(_PACKAGE_FIELDS)
_DEP_KEYS = frozenset(_DEP_FIELDS)


_COMMON_DEP_KEYS = frozenset(_DEP_FIELDS[:9])  # what crates.io writes (no artifact fields)
_STR_ONLY = frozenset({str})


def _plain_deps(
    deps_raw: list[object], memo: EntryMemo
) -> tuple[tuple[IndexDependency, ...], int, bool] | None:
    """The dependencies of a line read by the stdlib ``json`` module, deserialized and
    converted in one pass; the number of strings (keys and values) they hold; whether one is
    optional. None unless each has the common shape and converts (this runs for every
    dependency of every entry read): then the two passes of `_full` decide."""
    out = []
    strings = 0
    any_optional = False
    reqs, targets = memo.requirements, memo.targets
    for raw in deps_raw:
        if type(raw) is not dict or not _COMMON_DEP_KEYS.issuperset(raw):
            return None
        get = raw.get
        name, req, features = get("name"), get("req"), get("features", ())
        optional, default_features = get("optional", False), get("default_features", True)
        target, kind, package = get("target"), get("kind"), get("package")
        if not (
            type(name) is str
            and type(req) is str
            and (optional is False or optional is True)
            and (default_features is True or default_features is False)
            and get("registry") is None
            and (kind is None or type(kind) is str)
            and (package is None or type(package) is str)
            and (name if package is None else package)
            and type(features) in (list, tuple)
        ):
            return None  # something to refuse or to check: the general passes
        if features:
            try:
                "".join(features)  # strings only (a C-speed check)
            except TypeError:
                return None
        parsed = reqs.get(req)
        if parsed is None:
            from query.requirement import Requirement, RequirementError

            try:
                parsed = reqs[req] = Requirement.parse(req)
            except RequirementError:
                return None
        strings += len(raw) + 2 + len(features)
        if target is not None:
            if type(target) is not str:
                return None
            if target not in targets:
                from query.cfg import platform_error

                targets[target] = platform_error(target)
            if targets[target] is not None:
                return None  # refused: the general passes say why, in cargo's order
            strings += 1
        if kind is not None:
            strings += 1
            kind = kind if kind in ("dev", "build") else "normal"
        else:
            kind = "normal"
        if package is not None:
            strings += 1
        if optional:
            any_optional = True
        if features and "" in features:
            features = tuple([f for f in features if f])
        out.append(
            IndexDependency(
                name,
                req,
                tuple(features),
                optional,
                default_features,
                target,
                kind,
                None,
                package,
                parsed,
            )
        )
    return tuple(out), strings, any_optional


# --- features (Summary::new, build_feature_map: src/cargo/core/summary.rs:66-370) ------------


_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+."


def _name_ok(name: str) -> bool:
    """The common case of a valid feature name: ASCII letters, digits, ``_ - + .``, not starting
    with ``- + .`` (`query.index_fields.feature_name_error` decides the rest)."""
    if name.isascii() and name.isidentifier():  # in C: most names
        return True
    return name[:1] not in ("", "-", "+", ".") and not name.strip(_NAME_CHARS)


def _feature_map_error(
    features: Mapping[str, tuple[str, ...]],
    deps: tuple[IndexDependency, ...],
    good_names: set[str],
    any_optional: bool = True,
) -> str | None:
    """Why ``build_feature_map`` refuses the features of a line with these dependencies
    (``any_optional``: whether one of them is optional)."""
    for name in features:
        if name not in good_names:
            if not _name_ok(name):
                from query.index_fields import feature_name_error

                problem = feature_name_error(name)
                if problem is not None:
                    return problem
            good_names.add(name)
    if not any_optional and features.keys() >= set().union(*features.values()):
        return None  # every value names a feature, no dependency is optional: the common case
    # the values that name no feature
    pending = [
        (feature, value)
        for feature, values in features.items()
        for value in values
        if value not in features
    ]
    dep_map: dict[str, bool] = {}
    for dep in deps:
        if dep.optional:
            if dep.kind == "dev":
                return f"dev-dependencies are not allowed to be optional: `{dep.name}`"
            dep_map[dep.name] = True
        elif dep.name not in dep_map:
            dep_map[dep.name] = False
    # dep:NAME values (a value naming a feature never starts with dep: nor holds a slash)
    listed = {v[4:] for _, v in pending if v.startswith("dep:") and "/" not in v}
    used: set[str] = set()  # dependencies a `dep:` or `/` value names
    optional = [name for name, opt in dep_map.items() if opt]
    if optional:
        implicit = [name for name in optional if name not in features and name not in listed]
        for name in implicit:  # an implicit feature NAME = ["dep:NAME"]
            if name not in good_names and not _name_ok(name):
                from query.index_fields import feature_name_error

                problem = feature_name_error(name)
                if problem is not None:
                    return problem
                good_names.add(name)
        used.update(implicit)
    for feature, value in pending:
        problem = _feature_value_error(feature, value, features, dep_map, listed, used)
        if problem is not None:
            return problem
    for name in optional:
        if name not in used:
            return f"optional dependency `{name}` is not included in any feature"
    return None


def _feature_value_error(
    feature: str,
    value: str,
    features: Mapping[str, tuple[str, ...]],
    dep_map: Mapping[str, bool],
    listed: set[str],
    used: set[str],
) -> str | None:
    dep, slash, dep_feature = value.partition("/")
    if slash:
        weak = dep.endswith("?")
        dep_name = dep[:-1] if weak else dep
        used.add(dep_name)
        if "/" in dep_feature:
            return f"multiple slashes in feature `{value}` (included by feature `{feature}`)"
        if dep_name.startswith("dep:"):
            return f"feature `{feature}` includes `{value}` with both `dep:` and `/`"
        if dep_name not in dep_map:
            return f"feature `{feature}` includes `{value}`, but `{dep_name}` is not a dependency"
        if weak and not dep_map[dep_name]:
            return (
                f"feature `{feature}` includes `{value}` with a `?`, but `{dep_name}` is not "
                "an optional dependency"
            )
        return None
    if value.startswith("dep:"):
        dep_name = value[4:]
        used.add(dep_name)
        if dep_name not in dep_map:
            return (
                f"feature `{feature}` includes `{value}`, but `{dep_name}` is not listed as a "
                "dependency"
            )
        if not dep_map[dep_name]:
            return (
                f"feature `{feature}` includes `{value}`, but `{dep_name}` is not an optional "
                "dependency"
            )
        return None
    if value in features:
        return None
    if value not in dep_map:
        return (
            f"feature `{feature}` includes `{value}` which is neither a dependency nor another "
            "feature"
        )
    if not dep_map[value]:
        return (
            f"feature `{feature}` includes `{value}`, but `{value}` is not an optional dependency"
        )
    if value in listed:  # `dep:value` elsewhere: no implicit feature to enable
        return (
            f"feature `{feature}` includes `{value}`, but `{value}` is an optional dependency "
            "without an implicit feature"
        )
    return None


# --- the whole line ---------------------------------------------------------------------------


def _plain_full(
    data: dict[str, object], raw: bytes, memo: EntryMemo, quotes: int | None
) -> IndexEntry:
    """`_full` for the common shape of a line read by the stdlib ``json`` module, in one pass
    (this runs for every entry read); _Unsure for anything else (then `_full` decides).

    ``quotes``, when given, is the number of unescaped quotes of the line: every string of the
    value must account for two of them, else a repeated key was merged away (_Unsure)."""
    if not data.keys() <= _PACKAGE_KEYS:
        raise _Unsure
    get = data.get
    name, vers, cksum, deps_raw = get("name"), get("vers"), get("cksum"), get("deps")
    yanked, links, v = get("yanked"), get("links"), get("v")
    rust_version, pubtime = get("rust_version"), get("pubtime")
    features_raw, features2 = get("features", _ABSENT), get("features2")
    if not (
        type(name) is str
        and type(vers) is str
        and type(cksum) is str
        and type(deps_raw) is list
        and (yanked is None or yanked is True or yanked is False)
        and (links is None or type(links) is str)
        and (v is None or (type(v) is int and 0 <= v <= _U32_MAX))
        and (rust_version is None or type(rust_version) is str)
        and (pubtime is None or type(pubtime) is str)
        and is_version(vers)
    ):
        raise _Unsure
    strings = len(data) + 3 + (links is not None)
    features: dict[str, tuple[str, ...]] = {}
    if features_raw is not _ABSENT:
        if type(features_raw) is not dict:
            raise _Unsure
        for fname, values in features_raw.items():
            if type(values) is not list or not _STR_ONLY.issuperset(map(type, values)):
                raise _Unsure
            features[fname] = tuple(values)
            strings += 1 + len(values)
    if features2 is not None:  # merged: its lists extend those of features
        if type(features2) is not dict:
            raise _Unsure
        for fname, values in features2.items():
            if type(values) is not list or not _STR_ONLY.issuperset(map(type, values)):
                raise _Unsure
            features[fname] = features.get(fname, ()) + tuple(values)
            strings += 1 + len(values)
    if rust_version is not None:
        strings += 1
        checked = memo.targets  # verdicts on strings; a rust_version is never a target
        key = "\0rust_version " + rust_version
        if key not in checked:
            from query.index_fields import rust_version_error

            checked[key] = rust_version_error(rust_version)
        if checked[key] is not None:
            raise _Unsure
    if pubtime is not None:
        strings += 1
        from query.index_fields import pubtime_error

        if pubtime_error(pubtime) is not None:
            raise _Unsure
    found = _plain_deps(deps_raw, memo)
    if found is None:
        raise _Unsure
    deps, dep_strings, any_optional = found
    if quotes is not None and quotes != 2 * (strings + dep_strings):
        raise _Unsure
    if (features or any_optional) and _feature_map_error(
        features, deps, memo.feature_names, any_optional
    ):
        raise _Unsure
    if v is not None and v > INDEX_V_MAX:
        return IndexEntry(
            name, vers, UNSUPPORTED, cksum, deps, features, yanked is True, links,
            rust_version, v, f"index schema v{v}", raw, False,
        )  # fmt: skip
    return IndexEntry(
        name, vers, YANKED if yanked is True else CANDIDATE, cksum, deps, features,
        yanked is True, links, rust_version, 1 if v is None else v, None, raw, False,
    )  # fmt: skip


_ABSENT = object()


# --- reading the bytes -----------------------------------------------------------------------


class _Defer(Exception):
    """The accelerator cannot vouch for a line: the general reader decides."""


def _no_constant(text: str) -> object:
    raise _Defer  # NaN, Infinity: not JSON for serde_json


def _int(text: str) -> int | float:
    return -0.0 if text == "-0" else int(text)  # serde_json reads -0 as a float


_DECODE_UNCHECKED = json.JSONDecoder(parse_constant=_no_constant, parse_int=_int).decode


def entry_from_line(line: bytes, *, memo: EntryMemo | None = None) -> IndexEntry:
    """The entry of one raw index line, as cargo 1.95 classifies it; :class:`EntryError` when
    cargo drops the line (not one JSON value, or no usable ``name`` and ``vers``).

    Three readers, each deferring to the next: a line without an escaped backslash or a
    surrogate escape is read by the stdlib decoder as is, and a usable entry is trusted when
    its strings account for every quote of the line that is not escaped (so no key was
    repeated: a repeated key's quotes would be missing); then the stdlib decoder with a check
    for repeated keys (`read_plain`); then the general reader, which alone reads a line over
    `HUGE_LINE_BYTES`.
    """
    memo = EntryMemo() if memo is None else memo
    if len(line) > HUGE_LINE_BYTES:
        quotes: int | None = None  # a hostile server's line: the general reader only
    elif b"\\" not in line:
        quotes = line.count(b'"')
    elif b"\\\\" in line or (b"\\ud" in line or b"\\uD" in line):
        quotes = None  # an escaped backslash or a surrogate escape: the careful readers
    else:  # every backslash starts an escape, so each \" is a quote inside a string
        quotes = line.count(b'"') - line.count(b'\\"')
    if quotes is not None:
        try:
            value = _DECODE_UNCHECKED(line.decode("utf-8"))
        except (ValueError, RecursionError, _Defer):
            value = None
        if type(value) is dict:
            try:
                return _plain_full(value, line, memo, quotes)
            except _Unsure:
                pass  # the careful readers decide, and word the problem
    from query.index_line import read_line

    try:
        value, plain = read_line(line)
    except ParseError as exc:  # JsonSyntaxError
        raise EntryError(f"the index line is not JSON: {exc}") from None
    return classify(value, line, memo=memo, plain=plain)


def classify(
    value: object, raw: bytes = b"", *, memo: EntryMemo | None = None, plain: bool = False
) -> IndexEntry:
    """The entry of a line already read into ``value``: :func:`query.index_line.classify`."""
    from query.index_line import classify as general

    return general(value, raw, memo=memo, plain=plain)


def entry_from_mapping(
    data: object,
    raw: bytes = b"",
    *,
    requirements: MutableMapping[str, Requirement] | None = None,
) -> IndexEntry:
    """Classify an index line already parsed by a plain JSON reader (no repeated key, every
    string valid): :func:`query.index_line.entry_from_mapping`."""
    from query.index_line import entry_from_mapping as general

    return general(data, raw, requirements=requirements)

"""Does a parsed ``Cargo.toml`` deserialize as cargo's ``TomlManifest``? (types and names)

cargo 1.95 reads a manifest with serde into the types of
``crates/cargo-util-schemas/src/manifest/mod.rs`` (tag 0.96.0) before anything else looks at
it: a value of the wrong type, a name that is not a valid package, feature, registry, profile or
path-base name (``restricted_names.rs``), a ``version`` that is not semver, a ``rust-version``
that is not a bare version (``manifest/rust_version.rs``, ``core/partial_version.rs``) or
``workspace = false`` is an error there, and cargo refuses the manifest. Unknown keys are not
errors (cargo warns "unused manifest key").

:func:`check_manifest_schema` applies those rules to a mapping (from :mod:`tomllib`/``tomli``
or the subset reader) and raises :class:`SchemaError` naming the key, or returns None. It does
not convert anything: :mod:`query.manifest` models the manifest afterwards, and
:mod:`query.manifest_rules` checks what cargo checks after deserializing.

The shapes that matter most (``TomlManifest``, ``TomlPackage``, ``TomlWorkspace``,
``InheritablePackage``, ``TomlDetailedDependency``, ``TomlInheritedDependency``,
``TomlPlatform``, ``TomlTarget``, ``TomlProfile``, ``InheritableLints``) are tables of
``key -> checker``; an untagged enum of cargo (``InheritableField<T>``, ``StringOrBool``,
``VecStringOrBool``, ``StringOrVec``, ``TomlPackageBuild``, ``TomlDebugInfo``, ``TomlOptLevel``,
``TomlTrimPaths``, ``TomlLint``) is one function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from query.errors import ParseError
from query.requirement import Requirement, RequirementError
from query.version import VersionError, parse_parts

__all__ = [
    "SchemaError",
    "check_manifest_schema",
    "dependency_error",
    "package_id_spec",
    "package_name_error",
    "partial_version",
    "rust_version_error",
    "semver_version_error",
]


class SchemaError(ParseError):
    """A manifest value cargo's deserializer rejects; the message names the key."""


Checker = Callable[[object, str], None]

_KINDS = {bool: "boolean", int: "integer", float: "floating point", str: "string"}


def _what(value: object) -> str:
    """serde's ``Unexpected`` wording: ``integer `2021```, ``string "x"``, ``a sequence``."""
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f'string "{value}"'
    if isinstance(value, list):
        return "a sequence"
    if isinstance(value, dict):
        return "a map"
    return "a datetime"


def _fail(where: str, message: str) -> SchemaError:
    return SchemaError(f"`{where}`: {message}" if where else message)


def _invalid_type(value: object, where: str, expected: str) -> SchemaError:
    return _fail(where, f"invalid type: {_what(value)}, expected {expected}")


# ---------------------------------------------------------------------------------------------
# names (restricted_names.rs)


def _xid_start(ch: str) -> bool:
    # Unicode XID_Start, closely enough: letters and letter numbers (what `unicode_ident` holds
    # for the characters manifests use; ASCII exactly)
    if ch.isascii():
        return ch.isalpha()
    import unicodedata

    return unicodedata.category(ch) in ("Lu", "Ll", "Lt", "Lm", "Lo", "Nl")


def _xid_continue(ch: str) -> bool:
    if ch.isascii():
        return ch.isalnum() or ch == "_"
    import unicodedata

    return _xid_start(ch) or unicodedata.category(ch) in ("Mn", "Mc", "Nd", "Pc")


def _name_error(name: str, what: str) -> str | None:
    """``validate_name``: not empty, no leading digit, XID start (or ``_``), then XID
    continue or ``-``."""
    if name.isascii() and name[:1].isalpha() and name.replace("-", "_").replace("_", "a").isalnum():
        return None  # the usual name: ASCII letters, digits, `-`, `_`, starting with a letter
    if not name:
        return f"{what} cannot be empty"
    first = name[0]
    if first.isdigit():
        reason = "the name cannot start with a digit"
        return f"invalid character `{first}` in {what}: `{name}`, {reason}"
    if not (_xid_start(first) or first == "_"):
        reason = "the first character must be a Unicode XID start character (most letters or `_`)"
        return f"invalid character `{first}` in {what}: `{name}`, {reason}"
    for ch in name[1:]:
        if not (_xid_continue(ch) or ch == "-"):
            reason = (
                "characters must be Unicode XID characters (numbers, `-`, `_`, or most letters)"
            )
            return f"invalid character `{ch}` in {what}: `{name}`, {reason}"
    return None


def package_name_error(name: str) -> str | None:
    """Why ``name`` is not a valid package name (``validate_package_name``), or None. A name
    with ``::`` is checked part by part here; it also needs the unstable ``open-namespaces``."""
    for part in name.split("::"):
        problem = _name_error(part, "package name")
        if problem:
            return problem
    return None


def feature_name_error(name: str) -> str | None:
    """``validate_feature_name``."""
    what = "feature name"
    if not name:
        return f"{what} cannot be empty"
    if name.startswith("dep:"):
        return f"feature named `{name}` is not allowed to start with `dep:`"
    if "/" in name:
        return (
            f"invalid character `/` in {what}: `{name}`, feature name is not allowed to "
            "contain slashes"
        )
    first = name[0]
    if not (_xid_start(first) or first == "_" or first.isdigit()):
        return (
            f"invalid character `{first}` in {what}: `{name}`, the first character must be a "
            "Unicode XID start character or digit (most letters or `_` or `0` to `9`)"
        )
    for ch in name[1:]:
        if not (_xid_continue(ch) or ch in "-+."):
            return (
                f"invalid character `{ch}` in {what}: `{name}`, characters must be Unicode XID "
                "characters, '-', `+`, or `.` (numbers, `+`, `-`, `_`, `.`, or most letters)"
            )
    return None


_RESERVED_PROFILES = frozenset(
    [
        "build",
        "check",
        "clean",
        "config",
        "fetch",
        "fix",
        "install",
        "metadata",
        "package",
        "publish",
        "report",
        "root",
        "run",
        "rust",
        "rustc",
        "rustdoc",
        "target",
        "tmp",
        "uninstall",
    ]
)


def profile_name_error(name: str) -> str | None:
    """``validate_profile_name``."""
    for ch in name:
        if not (ch.isalnum() or ch in "_-"):
            return (
                f"invalid character `{ch}` in profile name: `{name}`, allowed characters are "
                "letters, numbers, underscore, and hyphen"
            )
    lower = name.lower()
    if lower in ("debug", "build-override") or lower in _RESERVED_PROFILES:
        return f"profile name `{name}` is reserved"
    if lower.startswith("cargo"):
        return f"profile name `{name}` is reserved"
    return None


# ---------------------------------------------------------------------------------------------
# versions


def semver_version_error(text: str) -> str | None:
    """Why ``text`` is not a semver version (``semver::Version::from_str``), or None."""
    try:
        parse_parts(text)
    except VersionError as exc:
        return str(exc)
    return None


_LIKE = 'expected a version like "1.32"'


def partial_version(text: str) -> tuple[tuple[int, int | None, int | None, str, str], str | None]:
    """cargo's ``PartialVersion::from_str``: ``((major, minor, patch, pre, build), None)``, or
    ``((0, None, None, "", ""), reason)`` when ``text`` is not one. A full semver version, or a
    requirement of exactly one comparator with the implicit caret, not written with ``^``."""
    nothing = (0, None, None, "", "")
    try:
        parts = parse_parts(text)
    except VersionError:
        pass
    else:
        return (
            parts.major,
            parts.minor,
            parts.patch,
            parts.prerelease or "",
            parts.build or "",
        ), None
    try:
        req = Requirement.parse(text)
    except RequirementError:
        if "-" in text:
            return nothing, f"unexpected prerelease field, {_LIKE}"
        if "+" in text:
            return nothing, f"unexpected build metadata field, {_LIKE}"
        return nothing, _LIKE
    comparators = req.comparators
    if len(comparators) != 1 or comparators[0].op != "^" or text.startswith("^"):
        return nothing, f"unexpected version requirement, {_LIKE}"
    c = comparators[0]
    return (c.major, c.minor, c.patch, c.pre, ""), None


def rust_version_error(text: str) -> str | None:
    """Why ``text`` is not a ``rust-version`` (``RustVersion::from_str``): a partial version
    without pre-release or build metadata."""
    (_, _, _, pre, build), problem = partial_version(text)
    if problem:
        return problem
    if pre:
        return f"unexpected prerelease field, {_LIKE}"
    if build:
        return f"unexpected build metadata field, {_LIKE}"
    return None


def rust_version_parts(text: str) -> tuple[int, int | None, int | None]:
    """``(major, minor, patch)`` of a valid ``rust-version`` (see :func:`rust_version_error`)."""
    (major, minor, patch, _, _), _ = partial_version(text)
    return major, minor, patch


# ---------------------------------------------------------------------------------------------
# scalar and list checkers


def _string(value: object, where: str) -> None:
    if not isinstance(value, str):
        raise _invalid_type(value, where, "a string")


def _boolean(value: object, where: str) -> None:
    if not isinstance(value, bool):
        raise _invalid_type(value, where, "a boolean")


def _integer(value: object, where: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _invalid_type(value, where, "an integer")


def _u32(value: object, where: str) -> None:
    _integer(value, where)
    assert isinstance(value, int)
    if not 0 <= value <= 0xFFFF_FFFF:
        raise _fail(where, f"invalid value: integer `{value}`, expected u32")


def _i8(value: object, where: str) -> None:
    _integer(value, where)
    assert isinstance(value, int)
    if not -128 <= value <= 127:
        raise _fail(where, f"invalid value: integer `{value}`, expected i8")


def _strings(value: object, where: str) -> None:
    if not isinstance(value, list):
        raise _invalid_type(value, where, "a sequence")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise _invalid_type(item, f"{where}[{i}]", "a string")


def _anything(value: object, where: str) -> None:
    return None


def _string_or_bool(value: object, where: str) -> None:
    if not isinstance(value, (str, bool)):
        raise _fail(
            where,
            "data did not match any variant of untagged enum StringOrBool",
        )


def _vec_string_or_bool(value: object, where: str) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, list):
        _strings(value, where)
        return
    raise _invalid_type(value, where, "a boolean or vector of strings")


def _string_or_vec(value: object, where: str) -> None:
    if isinstance(value, str):
        return
    if isinstance(value, list):
        _strings(value, where)
        return
    raise _invalid_type(value, where, "string or list of strings")


def _package_build(value: object, where: str) -> None:
    if isinstance(value, (bool, str)):
        return
    if isinstance(value, list):
        _strings(value, where)
        return
    raise _invalid_type(value, where, "a boolean, a string or a sequence of strings")


def _semver(value: object, where: str, *, trim: bool) -> None:
    if not isinstance(value, str):
        raise _invalid_type(value, where, "SemVer version")
    text = value.strip() if trim else value
    problem = semver_version_error(text)
    if problem:
        raise _fail(where, problem)


def _rust_version(value: object, where: str) -> None:
    if not isinstance(value, str):
        raise _invalid_type(value, where, "a semver or workspace")
    problem = rust_version_error(value)
    if problem:
        raise _fail(where, problem)


def _named(check_name: Callable[[str], str | None]) -> Checker:
    def check(value: object, where: str) -> None:
        _string(value, where)
        assert isinstance(value, str)
        problem = check_name(value)
        if problem:
            raise _fail(where, problem)

    return check


def _map_of(value_check: Checker, key_check: Callable[[str], str | None] | None = None) -> Checker:
    def check(value: object, where: str) -> None:
        if not isinstance(value, dict):
            raise _invalid_type(value, where, "a map")
        for key, item in value.items():
            sub = f"{where}.{key}" if where else key
            if key_check is not None:
                problem = key_check(key)
                if problem:
                    raise _fail(sub, problem)
            value_check(item, sub)

    return check


def _table(fields: Mapping[str, Checker], expected: str = "a map") -> Checker:
    """A struct: known keys checked, unknown ones ignored (cargo warns about them)."""

    def check(value: object, where: str) -> None:
        if not isinstance(value, dict):
            raise _invalid_type(value, where, expected)
        for key, item in value.items():
            checker = fields.get(key)
            if checker is not None:
                checker(item, f"{where}.{key}" if where else key)

    return check


# ---------------------------------------------------------------------------------------------
# inheritance: InheritableField<T>, TomlInheritedField


def _workspace_value(value: object, where: str) -> None:
    if not isinstance(value, bool):
        raise _invalid_type(value, where, "a boolean")
    if value is False:
        raise _fail(where, "`workspace` cannot be false")


def _inherited_field(value: Mapping[str, object], where: str) -> None:
    if "workspace" not in value:
        raise _fail(where, "missing field `workspace`")
    _workspace_value(value["workspace"], f"{where}.workspace")


def _inheritable(inner: Checker, expected: str, accepts: tuple[type, ...]) -> Checker:
    """``InheritableField<T>``: a value of ``T`` (of one of the types ``accepts``), or a table
    ``{ workspace = true }``."""

    def check(value: object, where: str) -> None:
        if isinstance(value, dict):
            _inherited_field(value, where)
        elif isinstance(value, accepts) and not (bool not in accepts and isinstance(value, bool)):
            inner(value, where)
        else:
            raise _invalid_type(value, where, expected)

    return check


def _semver_trimmed(value: object, where: str) -> None:
    _semver(value, where, trim=True)


def _semver_plain(value: object, where: str) -> None:
    _semver(value, where, trim=False)


_INHERITABLE_STRING = _inheritable(_string, "a string or workspace", (str,))
_INHERITABLE_VERSION = _inheritable(_semver_trimmed, "SemVer version", (str,))
_INHERITABLE_RUST_VERSION = _inheritable(_rust_version, "a semver or workspace", (str,))
_INHERITABLE_STRINGS = _inheritable(_strings, "a vector of strings or workspace", (list,))
_INHERITABLE_STRING_OR_BOOL = _inheritable(
    _string_or_bool, "a string, a bool, or workspace", (str, bool)
)
_INHERITABLE_VEC_OR_BOOL = _inheritable(
    _vec_string_or_bool, "a boolean, a vector of strings, or workspace", (list, bool)
)

_BADGES = _map_of(_map_of(_string))

_PACKAGE: dict[str, Checker] = {
    "edition": _INHERITABLE_STRING,
    "rust-version": _INHERITABLE_RUST_VERSION,
    "name": _named(package_name_error),
    "version": _INHERITABLE_VERSION,
    "authors": _INHERITABLE_STRINGS,
    "build": _package_build,
    "metabuild": _string_or_vec,
    "default-target": _string,
    "forced-target": _string,
    "links": _string,
    "exclude": _INHERITABLE_STRINGS,
    "include": _INHERITABLE_STRINGS,
    "publish": _INHERITABLE_VEC_OR_BOOL,
    "workspace": _string,
    "im-a-teapot": _boolean,
    "autolib": _boolean,
    "autobins": _boolean,
    "autoexamples": _boolean,
    "autotests": _boolean,
    "autobenches": _boolean,
    "default-run": _string,
    "description": _INHERITABLE_STRING,
    "homepage": _INHERITABLE_STRING,
    "documentation": _INHERITABLE_STRING,
    "readme": _INHERITABLE_STRING_OR_BOOL,
    "keywords": _INHERITABLE_STRINGS,
    "categories": _INHERITABLE_STRINGS,
    "license": _INHERITABLE_STRING,
    "license-file": _INHERITABLE_STRING,
    "repository": _INHERITABLE_STRING,
    "resolver": _string,
    "metadata": _anything,
}


def _package(value: object, where: str) -> None:
    _table(_PACKAGE)(value, where)
    assert isinstance(value, dict)
    if "cargo-features" in value:
        raise _fail(
            f"{where}.cargo-features",
            "the field `cargo-features` should be set at the top of Cargo.toml before any tables",
        )


_INHERITABLE_PACKAGE: dict[str, Checker] = {
    "version": _semver_plain,
    "authors": _strings,
    "description": _string,
    "homepage": _string,
    "documentation": _string,
    "readme": _string_or_bool,
    "keywords": _strings,
    "categories": _strings,
    "license": _string,
    "license-file": _string,
    "repository": _string,
    "publish": _vec_string_or_bool,
    "edition": _string,
    "badges": _BADGES,
    "exclude": _strings,
    "include": _strings,
    "rust-version": _rust_version,
}

# ---------------------------------------------------------------------------------------------
# dependencies

_DEPENDENCY_EXPECTED = (
    'a version string like "0.9.8" or a detailed dependency like { version = "0.9.8" }'
)

_DETAILED: dict[str, Checker] = {
    "version": _string,
    "registry": _named(lambda n: _name_error(n, "registry name")),
    "registry-index": _string,
    "path": _string,
    "base": _named(lambda n: _name_error(n, "path base name")),
    "git": _string,
    "branch": _string,
    "tag": _string,
    "rev": _string,
    "features": _strings,
    "optional": _boolean,
    "default-features": _boolean,
    "default_features": _boolean,
    "package": _named(package_name_error),
    "public": _boolean,
    "artifact": _string_or_vec,
    "lib": _boolean,
    "target": _string,
}
_DETAILED_CHECK = _table(_DETAILED, _DEPENDENCY_EXPECTED)

_INHERITED: dict[str, Checker] = {
    "workspace": _boolean,
    "features": _strings,
    "default-features": _boolean,
    "default_features": _boolean,
    "optional": _boolean,
    "public": _boolean,
}


def dependency_error(value: object, where: str, *, inheritable: bool) -> str | None:
    """Why a dependency entry does not deserialize (``TomlDependency`` or, where
    ``inheritable``, ``InheritableDependency``), or None."""
    try:
        (_inheritable_dependency if inheritable else _dependency)(value, where)
    except SchemaError as exc:
        return str(exc)
    return None


def _dependency(value: object, where: str) -> None:
    """``TomlDependency``: a version string, or a detailed table."""
    if isinstance(value, str):
        return
    if isinstance(value, bool):
        note = ""
        if value:
            note = (
                "\nnote: if you meant to use a workspace member, you can write\n"
                " dep.workspace = true"
            )
        raise _fail(where, f"invalid type: {_what(value)}, expected {_DEPENDENCY_EXPECTED}{note}")
    if not isinstance(value, dict):
        raise _invalid_type(value, where, _DEPENDENCY_EXPECTED)
    _DETAILED_CHECK(value, where)


def _inheritable_dependency(value: object, where: str) -> None:
    """``InheritableDependency``: ``TomlInheritedDependency`` when that deserializes (a
    boolean ``workspace`` and well-typed fields), else ``TomlDependency``."""
    if isinstance(value, dict) and isinstance(value.get("workspace"), bool):
        try:
            _table(_INHERITED)(value, where)
        except SchemaError:
            pass
        else:
            if value["workspace"] is False:
                raise _fail(where, "`workspace` cannot be false")
            return
    _dependency(value, where)


_DEPENDENCIES = _map_of(_inheritable_dependency, package_name_error)
_PLAIN_DEPENDENCIES = _map_of(_dependency, package_name_error)

_PLATFORM = _table(
    {
        "dependencies": _DEPENDENCIES,
        "build-dependencies": _DEPENDENCIES,
        "build_dependencies": _DEPENDENCIES,
        "dev-dependencies": _DEPENDENCIES,
        "dev_dependencies": _DEPENDENCIES,
    }
)

# ---------------------------------------------------------------------------------------------
# targets, lints, profiles

_TARGET = _table(
    {
        "name": _string,
        "crate-type": _strings,
        "crate_type": _strings,
        "path": _string,
        "filename": _string,
        "test": _boolean,
        "doctest": _boolean,
        "bench": _boolean,
        "doc": _boolean,
        "doc-scrape-examples": _boolean,
        "proc-macro": _boolean,
        "proc_macro": _boolean,
        "harness": _boolean,
        "required-features": _strings,
        "edition": _string,
    }
)


def _targets(value: object, where: str) -> None:
    if not isinstance(value, list):
        raise _invalid_type(value, where, "a sequence")
    for i, item in enumerate(value):
        _TARGET(item, f"{where}[{i}]")


_LINT_LEVELS = ("forbid", "deny", "warn", "allow")


def _lint_level(value: object, where: str) -> None:
    if not isinstance(value, str):
        raise _invalid_type(value, where, "a string")
    if value not in _LINT_LEVELS:
        raise _fail(
            where,
            f"unknown variant `{value}`, expected one of `forbid`, `deny`, `warn`, `allow`",
        )


def _lint(value: object, where: str) -> None:
    """``TomlLint``: a level, or ``{ level = ..., priority = i8, ... }``."""
    if isinstance(value, str):
        _lint_level(value, where)
        return
    if not isinstance(value, dict):
        raise _invalid_type(value, where, "string or map")
    if "level" not in value:
        raise _fail(where, "missing field `level`")
    _lint_level(value["level"], f"{where}.level")
    if "priority" in value:
        _i8(value["priority"], f"{where}.priority")


_TOOL_LINTS = _map_of(_lint)
LINTS = _map_of(_TOOL_LINTS)


def _inheritable_lints(value: object, where: str) -> None:
    if not isinstance(value, dict):
        raise _invalid_type(value, where, "a lints table")
    for key, item in value.items():
        if key == "workspace":
            _workspace_value(item, f"{where}.workspace")
        else:
            _TOOL_LINTS(item, f"{where}.{key}")


def _opt_level(value: object, where: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        return
    if isinstance(value, str):
        if value not in ("s", "z"):
            raise _fail(
                where,
                f'must be `0`, `1`, `2`, `3`, `s` or `z`, but found the string: "{value}"',
            )
        return
    raise _invalid_type(value, where, "an optimization level")


_DEBUG_EXPECTED = (
    'a boolean, 0, 1, 2, "none", "limited", "full", "line-tables-only", or "line-directives-only"'
)


def _debug_info(value: object, where: str) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if value not in (0, 1, 2):
            raise _fail(where, f"invalid value: integer `{value}`, expected {_DEBUG_EXPECTED}")
        return
    if isinstance(value, str):
        if value not in ("none", "limited", "full", "line-directives-only", "line-tables-only"):
            raise _fail(where, f'invalid value: string "{value}", expected {_DEBUG_EXPECTED}')
        return
    raise _invalid_type(value, where, _DEBUG_EXPECTED)


_TRIM_VALUES = ("diagnostics", "macro", "object")


def _trim_paths(value: object, where: str) -> None:
    expecting = (
        'a boolean, "none", "diagnostics", "macro", "object", "all", or an array with these options'
    )
    if isinstance(value, bool):
        return
    if isinstance(value, str):
        if value not in ("none", "all", *_TRIM_VALUES):
            raise _fail(where, f"expected {expecting}")
        return
    if isinstance(value, list):
        _strings(value, where)
        for item in value:
            if item not in _TRIM_VALUES:
                raise _fail(where, f"unknown variant `{item}`")
        return
    raise _invalid_type(value, where, expecting)


def package_id_spec(text: str) -> tuple[str, str | None, str | None]:
    """cargo's ``PackageIdSpec::parse``: ``(name, version text or None, url or None)`` of
    ``name``, ``name@1.2``, ``name:1.2.3``, ``<url>``, ``<url>#name``, ``<url>#name@1.2`` or
    ``<url>#1.2`` (the name is then the URL's last path segment). Raises :class:`SchemaError`.
    (A spec naming an existing file path is refused by cargo as "maybe a file path"; that needs
    the file system and is not modelled.)"""
    url: str | None = None
    rest = text
    name: str
    version: str | None
    if "://" in text:
        url, _, fragment = text.partition("#")
        scheme, _, tail = url.partition("://")
        last = tail.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] if "/" in tail else ""
        if not scheme or not tail:
            raise SchemaError(f"invalid package id spec `{text}`: not a URL")
        if not fragment:
            name, version = last, None
        else:
            parsed = _spec_name_version(fragment)
            if parsed is not None:
                name, version = parsed
            elif fragment[0].isalpha():
                name, version = fragment, None
            else:
                _partial(fragment, text)
                name, version = last, fragment
        if not name:
            raise SchemaError(f"package ID specification `{text}` looks like a URL without a path")
    else:
        parsed = _spec_name_version(rest)
        name, version = parsed if parsed is not None else (rest, None)
    problem = package_name_error(name)
    if problem:
        raise SchemaError(f"invalid package ID specification `{text}`: {problem}")
    if version is not None:
        _partial(version, text)
    return name, version, url


def _spec_name_version(spec: str) -> tuple[str, str] | None:
    """``parse_spec``: split at the last ``@``, else at the last ``:`` not after another ``:``."""
    name, sep, version = spec.rpartition("@")
    if sep:
        return name, version
    name, sep, version = spec.rpartition(":")
    if sep and not name.endswith(":"):
        return name, version
    return None


def _partial(version: str, spec: str) -> None:
    _, problem = partial_version(version)
    if problem:
        raise SchemaError(f"invalid package ID specification `{spec}`: {problem}")


def package_id_spec_error(text: str) -> str | None:
    try:
        package_id_spec(text)
    except SchemaError as exc:
        return str(exc)
    return None


def _profile_package_key(key: str) -> str | None:
    if key == "*":
        return None
    return package_id_spec_error(key)


def _profile(value: object, where: str) -> None:
    _table(_PROFILE_FIELDS)(value, where)


_PROFILE_FIELDS: dict[str, Checker] = {
    "opt-level": _opt_level,
    "lto": _string_or_bool,
    "codegen-backend": _string,
    "codegen-units": _u32,
    "debug": _debug_info,
    "split-debuginfo": _string,
    "debug-assertions": _boolean,
    "rpath": _boolean,
    "panic": _string,
    "overflow-checks": _boolean,
    "incremental": _boolean,
    "dir-name": _string,
    "inherits": _string,
    "strip": _string_or_bool,
    "rustflags": _strings,
    "package": _map_of(_profile, _profile_package_key),
    "build-override": _profile,
    "trim-paths": _trim_paths,
    "hint-mostly-unused": _boolean,
}

_WORKSPACE = _table(
    {
        "members": _strings,
        "exclude": _strings,
        "default-members": _strings,
        "resolver": _string,
        "metadata": _anything,
        "package": _table(_INHERITABLE_PACKAGE),
        "dependencies": _PLAIN_DEPENDENCIES,
        "lints": LINTS,
    }
)

_MANIFEST: dict[str, Checker] = {
    "cargo-features": _strings,
    "package": _package,
    "project": _package,
    "badges": _BADGES,
    "features": _map_of(_strings, feature_name_error),
    "lib": _TARGET,
    "bin": _targets,
    "example": _targets,
    "test": _targets,
    "bench": _targets,
    "dependencies": _DEPENDENCIES,
    "dev-dependencies": _DEPENDENCIES,
    "dev_dependencies": _DEPENDENCIES,
    "build-dependencies": _DEPENDENCIES,
    "build_dependencies": _DEPENDENCIES,
    "target": _map_of(_PLATFORM),
    "lints": _inheritable_lints,
    "hints": _table({"mostly-unused": _anything}),
    "workspace": _WORKSPACE,
    "profile": _map_of(_profile, profile_name_error),
    "patch": _map_of(_PLAIN_DEPENDENCIES),
    "replace": _map_of(_dependency),
}
_MANIFEST_CHECK = _table(_MANIFEST)


def check_manifest_schema(data: Mapping[str, object]) -> None:
    """Raise :class:`SchemaError` when ``data`` does not deserialize as cargo's
    ``TomlManifest`` (wrong types, invalid names, ``workspace = false``, ...)."""
    _MANIFEST_CHECK(data, "")

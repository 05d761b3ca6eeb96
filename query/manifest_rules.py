"""What cargo 1.95 checks of a manifest after deserializing it: the errors of ``read_manifest``
beyond types (``src/cargo/util/toml/mod.rs``, ``core/features.rs``, ``core/summary.rs``,
``crates/cargo-platform`` at tag 0.96.0).

Each ``check_*`` function raises :class:`RuleError` with cargo's reason, or returns. They are
called by :func:`query.manifest.manifest_from_mapping` in cargo's order (so the first error is
the one cargo reports), on values the schema check (:mod:`query.manifest_schema`) has already
typed. Warnings (deprecated spellings before edition 2024, stabilized ``cargo-features``,
``public`` on stable, unknown lint tools, ...) are not errors and are not reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from query import TYPE_CHECKING
from query.errors import ParseError
from query.manifest_schema import partial_version, rust_version_parts
from query.requirement import Requirement, RequirementError

if TYPE_CHECKING:
    from query.manifest import ManifestDependency

__all__ = ["EDITIONS", "RuleError"]


class RuleError(ParseError):
    """A manifest rule cargo enforces; the caller adds the manifest's path."""


EDITIONS = ("2015", "2018", "2021", "2024")
#: the first Rust version of each edition (``Edition::first_version``)
EDITION_FIRST_MINOR = {"2018": 31, "2021": 56, "2024": 85}

# core/features.rs: the `features!` table (name -> status)
_STABLE = "stable"
_UNSTABLE = "unstable"
_REMOVED = "removed"
CARGO_FEATURES = {
    "test-dummy-stable": _STABLE,
    "test-dummy-unstable": _UNSTABLE,
    "alternative-registries": _STABLE,
    "edition": _STABLE,
    "rename-dependency": _STABLE,
    "publish-lockfile": _REMOVED,
    "profile-overrides": _STABLE,
    "default-run": _STABLE,
    "metabuild": _UNSTABLE,
    "public-dependency": _UNSTABLE,
    "named-profiles": _STABLE,
    "resolver": _STABLE,
    "strip": _STABLE,
    "rust-version": _STABLE,
    "edition2021": _STABLE,
    "per-package-target": _UNSTABLE,
    "codegen-backend": _UNSTABLE,
    "different-binary-name": _UNSTABLE,
    "profile-rustflags": _UNSTABLE,
    "workspace-inheritance": _STABLE,
    "edition2024": _STABLE,
    "trim-paths": _UNSTABLE,
    "open-namespaces": _UNSTABLE,
    "path-bases": _UNSTABLE,
    "unstable-editions": _UNSTABLE,
    "multiple-build-scripts": _UNSTABLE,
    "panic-immediate-abort": _UNSTABLE,
}


def _nightly(feature: str) -> RuleError:
    return RuleError(
        f"the cargo feature `{feature}` requires a nightly version of Cargo, but this is the "
        "`stable` channel"
    )


def _requires(feature: str, what: str) -> RuleError:
    """``Features::require`` on stable cargo: an unstable feature is never enabled."""
    return RuleError(f"{what}: feature `{feature}` is required (a nightly-only cargo feature)")


def check_cargo_features(value: object) -> None:
    """``Features::new`` (``core/features.rs:603-720``) on the stable channel."""
    if not isinstance(value, list):
        return
    seen: set[str] = set()
    for name in value:
        status = None if "_" in name else CARGO_FEATURES.get(name)
        if status is None:
            hint = " (Feature names must use '-' instead of '_'.)" if "_" in name else ""
            raise RuleError(f"unknown Cargo.toml feature `{name}`{hint}")
        if name in seen:
            raise RuleError(f"the cargo feature `{name}` has already been activated")
        if status == _UNSTABLE:
            raise _nightly(name)
        if status == _REMOVED:
            raise RuleError(
                f"the cargo feature `{name}` has been removed in the 1.37 release; remove the "
                "feature from Cargo.toml to remove this error"
            )
        seen.add(name)


def check_workspace_table(ws: Mapping[str, object]) -> None:
    """``to_workspace_config``: ``[workspace.lints]`` verified, no ``optional``/``public``
    ``[workspace.dependencies]`` entry (used or not)."""
    lints = ws.get("lints")
    if isinstance(lints, Mapping):
        check_lints(lints, rustflags=False)
    deps = ws.get("dependencies")
    if isinstance(deps, Mapping):
        for name, dep in deps.items():
            if isinstance(dep, Mapping) and dep.get("optional") is True:
                raise RuleError(
                    f"{name} is optional, but workspace dependencies cannot be optional"
                )
            if isinstance(dep, Mapping) and dep.get("public") is True:
                raise RuleError(f"{name} is public, but workspace dependencies cannot be public")


_PACKAGE_ONLY = (
    "badges",
    "features",
    "lib",
    "bin",
    "example",
    "test",
    "bench",
    "dependencies",
    "dev-dependencies",
    "build-dependencies",
    "target",
    "lints",
    "hints",
)


def check_virtual(data: Mapping[str, object]) -> None:
    """A virtual manifest with a package-only section (``requires_package``)."""
    for key in _PACKAGE_ONLY:
        present = key in data
        if key == "dev-dependencies":
            present = present or "dev_dependencies" in data
        if key == "build-dependencies":
            present = present or "build_dependencies" in data
        if present:
            raise RuleError(
                f"this virtual manifest specifies a `{key}` section, which is not allowed"
            )


def check_build(value: object) -> None:
    """``package.build = [..]`` needs the unstable ``multiple-build-scripts``."""
    if isinstance(value, list):
        raise _requires("multiple-build-scripts", "`package.build` with several scripts")


def check_underscore(old: str, new: str, edition: str, *, where: str | None) -> None:
    """``deprecated_underscore``: an error from edition 2024, a warning before."""
    if edition >= "2024":
        place = f"\n(in the `{where}` dependency)" if where else ""
        raise RuleError(
            f"`{old}` is unsupported as of the 2024 edition; instead use `{new}`{place}"
        )


def check_edition(edition: object, rust_version: object) -> str:
    """The package's edition (``"2015"`` when unset), after cargo's checks: a known edition,
    stable, and a ``rust-version`` its first version matches with a caret."""
    if edition is None:
        return "2015"
    text = str(edition)
    if text not in EDITIONS:
        if text == "future":
            raise _requires("unstable-editions", "edition `future`")
        if text.isdigit() and 2024 < int(text) < 2050 and len(text) <= 5:
            raise RuleError(
                f"failed to parse the `edition` key: this version of Cargo is older than the "
                f"`{text}` edition, and only supports `2015`, `2018`, `2021`, and `2024` "
                "editions."
            )
        raise RuleError(
            "failed to parse the `edition` key: supported edition values are `2015`, `2018`, "
            f"`2021`, or `2024`, but `{text}` is unknown"
        )
    minor = EDITION_FIRST_MINOR.get(text)
    if minor is not None and isinstance(rust_version, str):
        major, pkg_minor, patch = rust_version_parts(rust_version)
        if not (major == 1 and (pkg_minor or 0, patch or 0) >= (minor, 0)):
            raise RuleError(
                f"rust-version {rust_version.strip()} is incompatible with the version "
                f"(1.{minor}.0) required by the specified edition ({text})"
            )
    return text


def check_resolver(value: str) -> None:
    """``ResolveBehavior::from_manifest``."""
    if value not in ("1", "2", "3"):
        raise RuleError(
            f'`resolver` setting `{value}` is not valid, valid options are "1", "2" or "3"'
        )


def check_package_keys(package: Mapping[str, object], name: str) -> None:
    """Package keys behind unstable features: ``::`` names, ``metabuild``."""
    if ":" in name:
        raise _requires("open-namespaces", f"package name `{name}`")
    if "metabuild" in package:
        raise _requires("metabuild", "`package.metabuild`")


def check_feature_gates(package: Mapping[str, object]) -> None:
    """``Manifest::feature_gate``."""
    if "im-a-teapot" in package:
        raise _requires("test-dummy-unstable", "the `im-a-teapot` manifest key")
    if "default-target" in package or "forced-target" in package:
        raise _requires(
            "per-package-target", "the `package.default-target` and `package.forced-target` keys"
        )


# -- targets (util/toml/targets.rs; which files exist is asked of ``files``) ------------------

_CONFLICTING_BIN_NAMES = ("deps", "examples", "build", "incremental")
_TARGET_DIRS = {"example": "examples", "test": "tests", "bench": "benches"}
_HUMAN = {
    "lib": "library",
    "bin": "binary",
    "example": "example",
    "test": "test",
    "bench": "benchmark",
}


def _tables(value: object) -> list[Mapping[str, object]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _build_script(package: Mapping[str, object], files: Callable[[str], bool]) -> bool:
    build = package.get("build")
    if build is False:
        return False
    if isinstance(build, str):
        return True
    return files("build.rs")


def _target_name(target: Mapping[str, object], kind: str, edition: str) -> str:
    """``validate_target_name`` and the 2024 spellings of a ``[lib]``/``[[bin]]``/... table."""
    name = target.get("name")
    if not isinstance(name, str):
        raise RuleError(f"{_HUMAN[kind]} target {kind}.name is required")
    if not name.strip():
        raise RuleError(f"{_HUMAN[kind]} target names cannot be empty")
    for old, new in (("proc_macro", "proc-macro"), ("crate_type", "crate-type")):
        if old in target:
            check_underscore(old, new, edition, where=None)
    return name


def _bin_found(name: str, package_name: str, files: Callable[[str], bool]) -> bool:
    """An inferred binary called ``name``: ``src/main.rs`` (the package's name),
    ``src/bin/<name>.rs`` or ``src/bin/<name>/main.rs``."""
    return (
        (name == package_name and files("src/main.rs"))
        or files(f"src/bin/{name}.rs")
        or files(f"src/bin/{name}/main.rs")
    )


def check_targets(
    data: Mapping[str, object],
    package: Mapping[str, object],
    name: str,
    files: Callable[[str], bool],
    edition: str,
) -> None:
    """The target rules of ``to_targets``: a ``[lib]`` must have a file and a name without
    ``-``; each ``[[bin]]``, ``[[example]]``, ``[[test]]``, ``[[bench]]`` a name (unique, not a
    build directory's for a binary) and a ``path`` or a file where cargo looks for it; a package
    needs some target; ``links`` needs a build script."""
    lib = data.get("lib")
    has_lib = False
    if isinstance(lib, Mapping):
        lib_name = lib.get("name", name.replace("-", "_"))
        lib_name = _target_name({**lib, "name": lib_name}, "lib", edition)
        if "-" in lib_name:
            raise RuleError(f"library target names cannot contain hyphens: {lib_name}")
        has_lib = (
            isinstance(lib.get("path"), str)
            or files("src/lib.rs")
            or (edition == "2015" and files(f"src/{lib_name}.rs"))
        )
        if not has_lib:
            raise RuleError(
                f"can't find library `{lib_name}`, rename file to `src/lib.rs` or specify lib.path"
            )
    elif package.get("autolib") is not False:
        has_lib = files("src/lib.rs")
    explicit = 0
    for kind in ("bin", "example", "test", "bench"):
        seen: set[str] = set()
        for target in _tables(data.get(kind)):
            explicit += 1
            target_name = _target_name(target, kind, edition)
            if kind == "bin" and target_name in _CONFLICTING_BIN_NAMES:
                raise RuleError(
                    f"the binary target name `{target_name}` is forbidden, it conflicts with "
                    "cargo's build directory names"
                )
            if target_name in seen:
                raise RuleError(
                    f"found duplicate {kind} name {target_name}, but all {kind} targets must "
                    "have a unique name"
                )
            seen.add(target_name)
            if kind != "bin" or isinstance(target.get("path"), str):
                continue  # a missing example, test or bench file is not fatal here
            found = _bin_found(target_name, name, files) or (
                edition == "2015"
                and (
                    (not has_lib and files(f"src/{target_name}.rs"))
                    or files("src/main.rs")
                    or files("src/bin/main.rs")
                )
            )
            if not found:
                raise RuleError(
                    f"can't find `{target_name}` bin at `src/bin/{target_name}.rs` or "
                    f"`src/bin/{target_name}/main.rs`. Please specify bin.path if you want to "
                    "use a non-default path."
                )
    if not has_lib and not explicit:
        inferred = package.get("autobins") is not False and (
            files("src/main.rs") or files("src/bin")
        )
        others = any(
            package.get(f"auto{_TARGET_DIRS[k]}") is not False and files(_TARGET_DIRS[k])
            for k in _TARGET_DIRS
        )
        if not inferred and not others:
            raise RuleError(
                "no targets specified in the manifest; either src/lib.rs, src/main.rs, a [lib] "
                "section, or [[bin]] section must be present"
            )
    links = package.get("links")
    if isinstance(links, str) and not _build_script(package, files):
        raise RuleError(
            f"package specifies that it links to `{links}` but does not have a custom build script"
        )


def check_default_run(
    data: Mapping[str, object],
    package: Mapping[str, object],
    name: str,
    files: Callable[[str], bool] | None,
) -> None:
    """``default-run`` must name a binary target."""
    run = package.get("default-run")
    if not isinstance(run, str) or files is None:
        return
    if any(b.get("name") == run for b in _tables(data.get("bin"))):
        return
    if package.get("autobins") is not False and _bin_found(run, name, files):
        return
    raise RuleError(f"default-run target `{run}` not found")


# -- platforms (crates/cargo-platform) --------------------------------------------------------


def check_cfg(target: str) -> None:
    """``Platform::from_str``: ``cfg(<expr>)`` must parse; anything else is a target name of
    alphanumerics, ``_``, ``-`` and ``.``."""
    if target.startswith("cfg(") and target.endswith(")"):
        _CfgParser(target[4:-1]).parse()
        return
    for ch in target:
        if not (ch.isalnum() or ch in "_-."):
            if "(" in target:
                raise RuleError(
                    f"failed to parse `{target}` as a cfg expression: unexpected `(` character, "
                    "cfg expressions must start with `cfg(`"
                )
            raise RuleError(
                f"failed to parse `{target}` as a cfg expression: unexpected character {ch} in "
                "target name"
            )


class _CfgParser:
    """``cargo-platform``'s cfg tokenizer and parser (errors only)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = self._tokens(text)
        self.pos = 0

    def fail(self, reason: str) -> RuleError:
        return RuleError(f"failed to parse `{self.text}` as a cfg expression: {reason}")

    def _tokens(self, s: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        i, n = 0, len(s)
        while i < n:
            ch = s[i]
            if ch == " ":
                i += 1
            elif ch in "(),=":
                out.append((ch, ch))
                i += 1
            elif ch == '"':
                end = s.find('"', i + 1)
                if end < 0:
                    raise self.fail("unterminated string in cfg")
                out.append(("string", s[i + 1 : end]))
                i = end + 1
            elif ch == "_" or (ch.isascii() and ch.isalpha()):
                start = i
                if ch == "r" and s.startswith("r#", i):
                    i += 2
                    if i >= n:
                        raise self.fail("expected identifier, but cfg expression ended")
                    if not (s[i] == "_" or (s[i].isascii() and s[i].isalpha())):
                        raise self.fail(f"unexpected character `{s[i]}` in cfg")
                    start = i
                while i < n and (s[i] == "_" or (s[i].isascii() and s[i].isalnum())):
                    i += 1
                out.append(("ident", s[start:i]))
            else:
                raise self.fail(f"unexpected character `{ch}` in cfg")
        return out

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def eat(self, kind: str) -> None:
        token = self.peek()
        if token is None:
            raise self.fail(f"expected {kind}, but cfg expression ended")
        if token[0] != kind:
            raise self.fail(f"expected {kind}, found {token[0]}")
        self.pos += 1

    def parse(self) -> None:
        self.expr()
        if self.pos < len(self.tokens):
            raise self.fail("unexpected content after cfg expression")

    def expr(self) -> None:
        token = self.peek()
        if token is None:
            raise self.fail("expected start of a cfg expression, but cfg expression ended")
        kind, value = token
        if kind == "ident" and value in ("all", "any"):
            self.pos += 1
            self.eat("(")
            while True:
                token = self.peek()
                if token is not None and token[0] == ")":
                    self.pos += 1
                    return
                self.expr()
                token = self.peek()
                if token is not None and token[0] == ",":
                    self.pos += 1
                    continue
                self.eat(")")
                return
        if kind == "ident" and value == "not":
            self.pos += 1
            self.eat("(")
            self.expr()
            self.eat(")")
            return
        if kind != "ident":
            raise self.fail(f"expected identifier, found {kind}")
        self.pos += 1
        token = self.peek()
        if token is not None and token[0] == "=":
            self.pos += 1
            self.eat("string")


# -- dependencies -----------------------------------------------------------------------------


def url_error(text: str) -> str | None:
    """Why ``text`` is not an absolute URL (``Url::parse`` / ``IntoUrl``), or None."""
    scheme, sep, _ = text.partition(":")
    if (
        not sep
        or not scheme
        or not scheme[0].isascii()
        or not scheme[0].isalpha()
        or any(not (c.isascii() and (c.isalnum() or c in "+-.")) for c in scheme)
    ):
        return f"invalid url `{text}`: relative URL without a base"
    if any(c in text for c in " \t\n"):
        return f"invalid url `{text}`: invalid character"
    return None


def check_url(text: str, what: str) -> None:
    problem = url_error(text)
    if problem:
        raise RuleError(f"{what}: {problem}")


def check_dependency(name: str, spec: Mapping[str, object]) -> None:
    """The checks of ``dep_to_dependency`` before the source and the requirement."""
    if "version" not in spec and "path" not in spec and "git" not in spec:
        raise RuleError(
            f"dependency ({name}) specified without providing a local path, Git repository, "
            "version, or workspace dependency to use"
        )
    if "git" not in spec:
        for key in ("branch", "tag", "rev"):
            if key in spec:
                raise RuleError(f"key `{key}` is ignored for dependency ({name}).")
    features = spec.get("features")
    for feature in features if isinstance(features, list) else ():
        if "/" in feature:
            raise RuleError(
                f"feature `{feature}` in dependency `{name}` is not allowed to contain slashes"
            )
        if feature.startswith("dep:"):
            raise RuleError(
                f"feature `{feature}` in dependency `{name}` is not allowed to use explicit "
                "`dep:` syntax"
            )
    if "artifact" in spec:
        raise RuleError(f"`artifact = …` requires `-Z bindeps` ({name})")
    for key in ("lib", "target"):
        if key in spec:
            raise RuleError(
                f"'{key}' specifier cannot be used without an 'artifact = …' value ({name})"
            )


def check_requirement(requirement: str, package: str) -> Requirement:
    """``Dependency::parse``: the requirement must parse, strictly (``semver::VersionReq``);
    the parsed requirement."""
    try:
        return Requirement.parse(requirement)
    except RequirementError as exc:
        raise RuleError(
            f"failed to parse the version requirement `{requirement}` for dependency "
            f"`{package}`: {exc.reason}"
        ) from None


def check_single_sources(deps: Sequence[ManifestDependency]) -> None:
    """One dependency name, one source, whatever the table or target."""
    seen: dict[str, object] = {}
    for dep in deps:
        previous = seen.setdefault(dep.name_in_toml, dep.source)
        if previous != dep.source:
            raise RuleError(
                f"Dependency '{dep.name_in_toml}' has different source paths depending on the "
                "build target. Each dependency must have a single canonical source path "
                "irrespective of build target."
            )


def full_version(text: str | None) -> str | None:
    """A partial version with major, minor and patch as a version string, else None."""
    if text is None:
        return None
    (major, minor, patch, pre, build), problem = partial_version(text)
    if problem or minor is None or patch is None:
        return None
    out = f"{major}.{minor}.{patch}"
    if pre:
        out += f"-{pre}"
    if build:
        out += f"+{build}"
    return out


# -- lints, profiles, publish ----------------------------------------------------------------

_LINT_TOOLS = ("cargo", "clippy", "rust", "rustdoc")


def check_lints(lints: Mapping[str, object] | None, *, rustflags: bool = True) -> None:
    """``verify_lints`` and the ``check-cfg`` check of ``lints_to_rustflags``."""
    if not lints:
        return
    for tool, table in lints.items():
        if tool not in _LINT_TOOLS or not isinstance(table, Mapping):
            continue
        for name in table:
            prefix, sep, suffix = name.partition("::")
            if not sep:
                continue
            if prefix == tool or (tool == "rust" and prefix in _LINT_TOOLS):
                raise RuleError(
                    f"`lints.{tool}.{name}` is not valid lint name; try `lints.{prefix}.{suffix}`"
                )
            raise RuleError(f"`lints.{tool}.{name}` is not a valid lint name")
    if not rustflags:
        return
    rust = lints.get("rust")
    config = rust.get("unexpected_cfgs") if isinstance(rust, Mapping) else None
    if isinstance(config, Mapping) and "check-cfg" in config:
        value = config["check-cfg"]
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise RuleError("`lints.rust.unexpected_cfgs.check-cfg` must be a list of string")


def _profile_layer(profile: Mapping[str, object]) -> None:
    for key, feature in (
        ("codegen-backend", "codegen-backend"),
        ("rustflags", "profile-rustflags"),
        ("trim-paths", "trim-paths"),
    ):
        if key in profile:
            raise _requires(feature, f"profile setting `{key}`")
    if profile.get("panic") == "immediate-abort":
        raise _requires("panic-immediate-abort", 'profile setting `panic = "immediate-abort"`')


def _profile_override(profile: Mapping[str, object], which: str) -> None:
    if "package" in profile:
        raise RuleError("package-specific profiles cannot be nested")
    if "build-override" in profile:
        raise RuleError("build-override profiles cannot be nested")
    for key in ("panic", "lto", "rpath"):
        if key in profile:
            raise RuleError(f"`{key}` may not be specified in a `{which}` profile")


def check_profiles(profiles: object, *, edition: str) -> None:
    """``validate_profiles`` (``toml/mod.rs:2506-2659``)."""
    if not isinstance(profiles, Mapping):
        return
    for name, profile in profiles.items():
        if not isinstance(profile, Mapping):
            continue
        _profile_layer(profile)
        override = profile.get("build-override")
        if isinstance(override, Mapping):
            _profile_override(override, "build-override")
            _profile_layer(override)
        packages = profile.get("package")
        if isinstance(packages, Mapping):
            for item in packages.values():
                if isinstance(item, Mapping):
                    _profile_override(item, "package")
                    _profile_layer(item)
        if "dir-name" in profile:
            raise RuleError(
                f'dir-name="{profile["dir-name"]}" in profile `{name}` is not currently '
                "allowed, directory names are tied to the profile name for custom profiles"
            )
        if profile.get("inherits") == "debug":
            raise RuleError(
                f'profile.{name}.inherits="debug" should be profile.{name}.inherits="dev"'
            )
        panic = profile.get("panic")
        if isinstance(panic, str) and panic not in ("unwind", "abort", "immediate-abort"):
            raise RuleError(
                f"`panic` setting of `{panic}` is not a valid setting, must be `unwind`, "
                "`abort`, or `immediate-abort`."
            )
        lto = profile.get("lto")
        if lto in ("true", "false"):
            raise RuleError(
                f'`lto` setting of string `"{lto}"` for `{name}` profile is not a valid setting, '
                'must be a boolean (`true`/`false`) or a string (`"thin"`/`"fat"`/`"off"`) or '
                "omitted."
            )


def check_publish(version: str | None, publish: object) -> None:
    """``package.publish`` other than ``false`` or ``[]`` needs ``package.version``."""
    if version is not None:
        return
    if publish is False or publish is None or publish == []:
        return
    raise RuleError("`package.publish` requires `package.version` be specified")


# -- features (core/summary.rs: Summary::new, build_feature_map) ------------------------------


def check_summary(
    deps: Iterable[ManifestDependency], features: Mapping[str, Sequence[str]]
) -> None:
    """Optional dev-dependencies, and every feature value naming what it may name."""
    dep_optional: dict[str, bool] = {}
    for dep in deps:
        if dep.optional and dep.kind == "dev":
            raise RuleError(
                f"dev-dependencies are not allowed to be optional: `{dep.name_in_toml}`"
            )
        dep_optional[dep.name_in_toml] = dep_optional.get(dep.name_in_toml, False) or dep.optional
    explicit = {v[4:] for values in features.values() for v in values if v.startswith("dep:")}
    fmap: dict[str, Sequence[str]] = dict(features)
    for name, optional in dep_optional.items():
        if optional and name not in features and name not in explicit:
            fmap[name] = (f"dep:{name}",)
    used: set[str] = set()
    for feature, values in fmap.items():
        for value in values:
            _feature_value(feature, value, features, fmap, dep_optional, explicit, used)
    for name, optional in dep_optional.items():
        if optional and name not in used:
            raise RuleError(
                f"optional dependency `{name}` is not included in any feature\nMake sure that "
                f"`dep:{name}` is included in one of features in the [features] table."
            )


def _feature_value(
    feature: str,
    value: str,
    features: Mapping[str, Sequence[str]],
    fmap: Mapping[str, Sequence[str]],
    dep_optional: Mapping[str, bool],
    explicit: set[str],
    used: set[str],
) -> None:
    dep_name, slash, dep_feature = value.partition("/")
    if slash:
        weak = dep_name.endswith("?")
        dep_name = dep_name.removesuffix("?")
        used.add(dep_name)
        if "/" in dep_feature:
            raise RuleError(
                f"multiple slashes in feature `{value}` (included by feature `{feature}`) are "
                "not allowed"
            )
        if dep_name.startswith("dep:"):
            raise RuleError(
                f"feature `{feature}` includes `{value}` with both `dep:` and `/`\nTo fix this, "
                "remove the `dep:` prefix."
            )
        if dep_name not in dep_optional:
            raise RuleError(
                f"feature `{feature}` includes `{value}`, but `{dep_name}` is not a dependency"
            )
        if weak and not dep_optional[dep_name]:
            raise RuleError(
                f"feature `{feature}` includes `{value}` with a `?`, but `{dep_name}` is not an "
                "optional dependency"
            )
        return
    if value.startswith("dep:"):
        name = value[4:]
        used.add(name)
        if name not in dep_optional:
            raise RuleError(
                f"feature `{feature}` includes `{value}`, but `{name}` is not listed as a "
                "dependency"
            )
        if not dep_optional[name]:
            raise RuleError(
                f"feature `{feature}` includes `{value}`, but `{name}` is not an optional "
                "dependency"
            )
        return
    if value in features:
        return
    if value not in dep_optional:
        raise RuleError(
            f"feature `{feature}` includes `{value}` which is neither a dependency nor another "
            "feature"
        )
    if dep_optional[value]:
        if value not in fmap:
            raise RuleError(
                f"feature `{feature}` includes `{value}`, but `{value}` is an optional dependency "
                f"without an implicit feature\nUse `dep:{value}` to enable the dependency."
            )
        return
    raise RuleError(
        f"feature `{feature}` includes `{value}`, but `{value}` is not an optional dependency"
    )

"""query.manifest: dependency tables, workspace inheritance, member globs, real workspaces."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

import pytest

from query.manifest import (
    GitSource,
    Manifest,
    ManifestDependency,
    ManifestError,
    PathSource,
    RegistrySource,
    Workspace,
    discover_workspace,
    expand_members,
    is_excluded,
    manifest_from_mapping,
    workspace_members,
)

PROJECTS = Path(__file__).parent / "fixtures" / "projects"
CRATES_IO = RegistrySource()


def manifest(text: str, path: str = ".", root: str | None = None) -> Manifest:
    ws = manifest_from_mapping(tomllib.loads(root), ".").workspace if root else None
    return manifest_from_mapping(tomllib.loads(text), path, ws)


def dep(
    name: str,
    req: str | None,
    source: RegistrySource | PathSource | GitSource = CRATES_IO,
    **kw: object,
) -> ManifestDependency:
    package = str(kw.pop("package", name))
    return ManifestDependency(name, package, req, source=source, **kw)  # type: ignore[arg-type]


PKG = '[package]\nname = "a"\nversion = "0.1.0"\n'

# (id, manifest text, directory, expected dependencies in order)
DEPENDENCY_CASES: list[tuple[str, str, str, list[ManifestDependency]]] = [
    (
        "short form",
        '[dependencies]\nserde = "1.0"\n',
        ".",
        [dep("serde", "1.0", kind="normal", target=None)],
    ),
    (
        "table form",
        '[dependencies]\nserde = { version = "1", features = ["derive"], default-features = false,'
        " optional = true }\n",
        ".",
        [
            dep(
                "serde",
                "1",
                kind="normal",
                target=None,
                optional=True,
                features=("derive",),
                default_features=False,
            )
        ],
    ),
    (
        "dotted table",
        '[dependencies.clap]\nversion = "2.32.0"\ndefault_features = false\n',
        ".",
        [dep("clap", "2.32.0", kind="normal", target=None, default_features=False)],
    ),
    (
        "renamed",
        '[dependencies]\nfoo = { package = "bar", version = "2" }\n',
        ".",
        [dep("foo", "2", package="bar", kind="normal", target=None)],
    ),
    (
        "kinds and aliases",
        '[dev-dependencies]\nd = "1"\n[build_dependencies]\nb = "2"\n[dependencies]\nn = "3"\n',
        ".",
        [
            dep("n", "3", kind="normal", target=None),
            dep("d", "1", kind="dev", target=None),
            dep("b", "2", kind="build", target=None),
        ],
    ),
    (
        "target deps",
        "[target.'cfg(windows)'.dependencies]\nwinapi = \"0.3\"\n"
        '[target.x86_64-unknown-linux-gnu.dev-dependencies]\nx = "1"\n'
        "[target.'cfg(unix)'.build-dependencies]\ncc = \"1\"\n",
        ".",
        [
            dep("winapi", "0.3", kind="normal", target="cfg(windows)"),
            dep("x", "1", kind="dev", target="x86_64-unknown-linux-gnu"),
            dep("cc", "1", kind="build", target="cfg(unix)"),
        ],
    ),
    (
        "registry",
        '[dependencies]\nfoo = { version = "1", registry = "my-reg" }\n'
        'bar = { version = "1", registry-index = "sparse+https://r.example/" }\n',
        ".",
        [
            dep("foo", "1", RegistrySource(registry="my-reg"), kind="normal", target=None),
            dep(
                "bar",
                "1",
                RegistrySource(index_url="sparse+https://r.example/"),
                kind="normal",
                target=None,
            ),
        ],
    ),
    (
        "path",
        '[dependencies]\nlocal = { path = "../local" }\nv = { path = "v", version = "0.2" }\n',
        "crates/a",
        [
            dep("local", None, PathSource(path="crates/local"), kind="normal", target=None),
            dep("v", "0.2", PathSource(path="crates/a/v"), kind="normal", target=None),
        ],
    ),
    (
        "git",
        '[dependencies]\ng = { git = "https://x/g", branch = "main" }\n'
        'h = { git = "https://x/h", rev = "abc", version = "1" }\n'
        'i = { git = "https://x/i", tag = "v1" }\nj = { git = "https://x/j" }\n',
        ".",
        [
            dep(
                "g",
                None,
                GitSource(url="https://x/g", ref="branch=main"),
                kind="normal",
                target=None,
            ),
            dep("h", "1", GitSource(url="https://x/h", ref="rev=abc"), kind="normal", target=None),
            dep("i", None, GitSource(url="https://x/i", ref="tag=v1"), kind="normal", target=None),
            dep("j", None, GitSource(url="https://x/j"), kind="normal", target=None),
        ],
    ),
    (
        "no version at all",
        "[dependencies]\nany = {}\n",
        ".",
        [dep("any", None, kind="normal", target=None)],
    ),
]


@pytest.mark.parametrize(
    ("text", "path", "expected"),
    [c[1:] for c in DEPENDENCY_CASES],
    ids=[c[0] for c in DEPENDENCY_CASES],
)
def test_dependencies(text: str, path: str, expected: list[ManifestDependency]) -> None:
    m = manifest(PKG + text, path)
    assert list(m.dependencies) == expected
    assert m.name == "a" and m.version == "0.1.0" and m.path == path


def test_source_fields() -> None:
    registry, path, git = (
        RegistrySource(registry="r"),
        PathSource(path="x"),
        GitSource(url="u", ref="tag=1"),
    )
    assert (registry.kind, registry.registry, registry.index_url) == ("registry", "r", None)
    assert (path.kind, path.path) == ("path", "x")
    assert (git.kind, git.url, git.ref) == ("git", "u", "tag=1")
    d = dep("x", "1", kind="normal", target=None)
    assert d.source.kind == "registry"


ROOT = """
[workspace]
members = ["crates/*"]
exclude = ["crates/skip"]
resolver = "2"
default-members = ["crates/a"]

[workspace.package]
version = "1.2.3"
rust-version = "1.70"

[workspace.dependencies]
serde = { version = "1", features = ["derive"], default-features = false }
local = { path = "crates/local" }
renamed = { package = "real", version = "0.3", registry = "other" }
short = "4"

[patch.crates-io]
serde = { path = "patched/serde" }

[replace]
"foo:0.1.0" = { git = "https://x/foo" }
"""


def test_workspace_inheritance() -> None:
    member = """
[package]
name = "a"
version.workspace = true
rust-version = { workspace = true }

[dependencies]
serde = { workspace = true, features = ["rc"], optional = true }
local.workspace = true
renamed = { workspace = true }

[target.'cfg(unix)'.dev-dependencies]
short = { workspace = true, default-features = true }
"""
    m = manifest(member, "crates/a", ROOT)
    assert (m.name, m.version, m.rust_version) == ("a", "1.2.3", "1.70")
    assert list(m.dependencies) == [
        dep("serde", "1", kind="normal", target=None, optional=True, workspace_inherited=True,
            features=("derive", "rc"), default_features=False),
        dep("local", None, PathSource(path="crates/local"), kind="normal", target=None,
            workspace_inherited=True),
        dep("renamed", "0.3", RegistrySource(registry="other"), package="real", kind="normal",
            target=None, workspace_inherited=True),
        dep("short", "4", kind="dev", target="cfg(unix)", workspace_inherited=True),
    ]  # fmt: skip


def test_root_workspace_patch_and_replace() -> None:
    root = manifest(ROOT)
    assert root.is_virtual and root.name is None and root.manifest_path == "Cargo.toml"
    ws = root.workspace
    assert ws is not None
    assert (ws.members, ws.exclude, ws.default_members, ws.resolver) == (
        ("crates/*",),
        ("crates/skip",),
        ("crates/a",),
        "2",
    )
    assert set(ws.dependencies) == {"serde", "local", "renamed", "short"}
    assert root.patch == {"crates-io": {"serde": {"path": "patched/serde"}}}
    assert root.replace == {"foo:0.1.0": {"git": "https://x/foo"}}
    assert root.patches["crates-io"] == (
        dep("serde", None, PathSource(path="patched/serde"), kind="normal", target=None),
    )
    assert root.replacements["foo:0.1.0"].source == GitSource(url="https://x/foo")
    assert root.local_overrides() == ("patched/serde",)
    assert workspace_members(tomllib.loads(ROOT)) == (("crates/*",), ("crates/skip",))
    assert workspace_members({}) == ((), ())


def test_package_details() -> None:
    m = manifest('[package]\nname = "x"\n[features]\ndefault = ["a"]\na = []\n')
    assert m.version == "0.0.0"  # cargo >= 1.75 default
    assert dict(m.features) == {"default": ("a",), "a": ()}
    legacy = manifest('[project]\nname = "old"\nversion = "0.1.0"\n', "sub/dir/")
    assert (legacy.name, legacy.path, legacy.manifest_path) == (
        "old",
        "sub/dir",
        "sub/dir/Cargo.toml",
    )


MANIFEST_ERRORS = [
    (
        "inherit missing",
        PKG + "[dependencies]\nnope.workspace = true\n",
        ROOT,
        "crates/a/Cargo.toml: [dependencies] nope: `nope` not found in `workspace.dependencies`",
    ),
    ("inherit no root", PKG + "[dependencies]\nx.workspace = true\n", None, "none is known"),
    (
        "workspace false",
        PKG + "[dependencies]\nx = { workspace = false }\n",
        ROOT,
        "cannot be false",
    ),
    (
        "version no root",
        '[package]\nname = "a"\nversion.workspace = true\n',
        None,
        "`package.version` inherits",
    ),
    (
        "version not defined",
        '[package]\nname = "a"\nversion.workspace = true\n',
        "[workspace]\n",
        "`workspace.package.version` was not defined",
    ),
    ("version type", '[package]\nname = "a"\nversion = 1\n', None, "`package.version` must be"),
    (
        "no name",
        '[package]\nversion = "1.0.0"\n',
        None,
        "`package.name` must be a non-empty string",
    ),
    (
        "dep type",
        PKG + "[dependencies]\nx = 1\n",
        None,
        "[dependencies] x: expected a version string",
    ),
    (
        "version type in dep",
        PKG + "[dependencies]\nx = { version = 1 }\n",
        None,
        "`version` must be a string, not int",
    ),
    (
        "optional type",
        PKG + '[dependencies]\nx = { version = "1", optional = "yes" }\n',
        None,
        "`optional` must be a boolean",
    ),
    (
        "features type",
        PKG + '[dependencies]\nx = { version = "1", features = "a" }\n',
        None,
        "`features` must be an array of strings",
    ),
    (
        "git and path",
        PKG + '[dependencies]\nx = { git = "u", path = "p" }\n',
        None,
        "only one of `git` or `path`",
    ),
    (
        "git and registry",
        PKG + '[dependencies]\nx = { git = "u", registry = "r" }\n',
        None,
        "only one of `git` or `registry`",
    ),
    (
        "two refs",
        PKG + '[dependencies]\nx = { git = "u", tag = "a", rev = "b" }\n',
        None,
        "only one of `branch`, `tag` or `rev`",
    ),
    ("deps not table", "dependencies = 3\n" + PKG, None, "[dependencies] must be a table"),
    ("target not table", PKG + "[target]\nx = 3\n", None, "[target.'x'] must be a table"),
    ("features value", PKG + "[features]\na = 1\n", None, "`a` must be an array of strings"),
    ("members type", "[workspace]\nmembers = 'a'\n", None, "`members` must be an array of strings"),
    (
        "nested inherit",
        "[workspace.dependencies]\nx = { workspace = true }\n",
        None,
        "cannot itself inherit",
    ),
]


@pytest.mark.parametrize(
    ("text", "root", "fragment"),
    [c[1:] for c in MANIFEST_ERRORS],
    ids=[c[0] for c in MANIFEST_ERRORS],
)
def test_manifest_errors(text: str, root: str | None, fragment: str) -> None:
    with pytest.raises(ManifestError) as info:
        manifest(text, "crates/a", root)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------------------------
# members

DIRS = [
    ".",
    "crates",
    "crates/a",
    "crates/b",
    "crates/skip",
    "crates/b/nested",
    "tools",
    "tools/cli",
    "tools/x/cli",
    "tools/x",
    "xa",
    "xb",
    "xc",
    "docs",
]

MEMBER_CASES = [
    ("glob", ["crates/*"], [], ["crates/a", "crates/b", "crates/skip"]),
    ("exclude", ["crates/*"], ["crates/skip"], ["crates/a", "crates/b"]),
    ("exclude prefix", ["crates/*"], ["crates"], []),
    (
        "literal beats exclude",
        ["crates/skip", "crates/*"],
        ["crates/skip"],
        ["crates/skip", "crates/a", "crates/b"],
    ),
    ("literal kept", ["missing", "./crates/a/"], [], ["missing", "crates/a"]),
    ("unmatched glob kept", ["nothing/*"], [], ["nothing/*"]),
    ("double star", ["tools/**/cli"], [], ["tools/cli", "tools/x/cli"]),
    ("question and class", ["x?", "x[ab]"], ["xc"], ["xa", "xb"]),
    ("dedupe", ["crates/a", "crates/*"], [], ["crates/a", "crates/b", "crates/skip"]),
    ("root", ["."], [], ["."]),
    ("component prefix", ["crates/*"], ["crates/s"], ["crates/a", "crates/b", "crates/skip"]),
]


@pytest.mark.parametrize(
    ("globs", "exclude", "expected"),
    [c[1:] for c in MEMBER_CASES],
    ids=[c[0] for c in MEMBER_CASES],
)
def test_expand_members(globs: list[str], exclude: list[str], expected: list[str]) -> None:
    assert expand_members(globs, exclude, DIRS) == expected


def test_is_excluded() -> None:
    assert is_excluded("a/b", ["a"], [])
    assert not is_excluded("ab", ["a"], [])
    assert not is_excluded("a/b", ["a"], ["a/b"])
    assert is_excluded("a/b", ["a"], ["a/*"])  # a glob member is compared literally


def dict_loader(files: Mapping[str, str]) -> tuple[dict[str, object], object, list[str]]:
    def load(directory: str) -> Mapping[str, object]:
        return tomllib.loads(files[directory])

    return tomllib.loads(files["."]), load, list(files)


def test_discover_workspace_synthetic() -> None:
    files = {
        ".": '[package]\nname = "root"\nversion = "1.0.0"\n[workspace]\nmembers = ["crates/*"]\n'
        'exclude = ["crates/skip"]\n[dependencies]\nimpl = { path = "impl" }\n'
        '[patch.crates-io]\nserde = { path = "vendor/serde" }\n',
        "crates/a": '[package]\nname = "a"\n[dev-dependencies]\nb = { path = "../b" }\n'
        'out = { path = "../../../outside" }\nskip = { path = "../skip" }\n',
        "crates/b": '[package]\nname = "b"\n',
        "crates/skip": '[package]\nname = "skip"\n',
        "impl": '[package]\nname = "impl"\n[build-dependencies]\nhelper = { path = "helper" }\n',
        "impl/helper": '[package]\nname = "helper"\n',
        "../outside": '[package]\nname = "outside"\n[dependencies]\nfar = { path = "../far" }\n'
        '[dev-dependencies]\nnot-read = { path = "../nope" }\n',
        "../far": '[package]\nname = "far"\n',
        "vendor/serde": '[package]\nname = "serde"\nversion = "1.0.99"\n',
    }
    root, load, dirs = dict_loader(files)
    ws = discover_workspace(root, load, dirs)  # type: ignore[arg-type]
    assert [m.name for m in ws.members] == ["root", "a", "b", "impl", "helper"]
    assert [m.path for m in ws.path_packages] == [
        "../outside",
        "crates/skip",
        "vendor/serde",
        "../far",
    ]
    assert len(ws.manifests) == 9
    assert ws.member("b") is not None and ws.member("skip") is None


def test_discover_workspace_without_workspace_table() -> None:
    files = {".": '[package]\nname = "solo"\n[dependencies]\nsub = { path = "sub" }\n',
             "sub": '[package]\nname = "sub"\n'}  # fmt: skip
    root, load, dirs = dict_loader(files)
    ws = discover_workspace(root, load, dirs)  # type: ignore[arg-type]
    assert [m.name for m in ws.members] == ["solo"]
    assert [m.name for m in ws.path_packages] == ["sub"]


def test_discover_workspace_errors() -> None:
    with pytest.raises(ManifestError, match="virtual manifest needs a"):
        discover_workspace({}, lambda d: {}, [])
    files = {".": '[workspace]\nmembers = ["m"]\n', "m": '[package]\nname = "m"\n[workspace]\n'}
    root, load, dirs = dict_loader(files)
    with pytest.raises(ManifestError, match=r"^m/Cargo.toml: is a member .* own \[workspace\]"):
        discover_workspace(root, load, dirs)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# the real workspaces, through a test-local loader


def load_fixture(project: str) -> Workspace:
    base = PROJECTS / project

    def load(directory: str) -> Mapping[str, object]:
        return tomllib.loads((base / directory / "Cargo.toml").read_text())

    dirs = [os.path.relpath(d, base) for d, _, _ in os.walk(base)]
    return discover_workspace(load("."), load, dirs)


def test_ripgrep_workspace() -> None:
    ws = load_fixture("ripgrep")
    assert len(ws.manifests) == 10
    names = [m.name for m in ws.members]
    assert names[0] == "ripgrep" and len(names) == 10 and ws.path_packages == ()
    assert set(names) == {
        "ripgrep", "globset", "grep", "grep-cli", "grep-matcher", "grep-pcre2", "grep-printer",
        "grep-regex", "grep-searcher", "ignore",
    }  # fmt: skip
    rg = ws.root
    by_name = {(d.name_in_toml, d.kind): d for d in rg.dependencies}
    assert by_name["grep", "normal"].source == PathSource(path="grep")
    assert by_name["grep", "normal"].requirement == "0.2.4"
    assert by_name["clap", "normal"].features == ("suggestions",)
    assert not by_name["clap", "normal"].default_features
    assert by_name["clap", "build"].requirement == "2.32.0"
    assert by_name["serde", "dev"].requirement == "1.0.77"
    jemalloc = by_name["jemallocator", "normal"]
    assert jemalloc.target == 'cfg(all(target_env = "musl", target_pointer_width = "64"))'
    # every member appears in the lockfile as a path package with the same version
    lock = tomllib.loads((PROJECTS / "ripgrep" / "Cargo.lock").read_text())
    path_pkgs = {(p["name"], p["version"]) for p in lock["package"] if "source" not in p}
    assert {(m.name, m.version) for m in ws.members} == path_pkgs


def test_alacritty_workspace() -> None:
    ws = load_fixture("alacritty")
    assert len(ws.manifests) == 7
    assert ws.root.is_virtual
    assert {m.name for m in ws.members} == {
        "alacritty", "alacritty_terminal", "copypasta", "font", "winpty",
    }  # fmt: skip
    assert [m.name for m in ws.path_packages] == ["servo-freetype-sys"]
    assert ws.root.patches["crates-io"][0].source == PathSource(path="servo-freetype-proxy")
    winpty = ws.member("winpty")
    assert winpty is not None
    kinds = {(d.name_in_toml, d.kind, d.target) for d in winpty.dependencies}
    assert ("named_pipe", "dev", "cfg(windows)") in kinds
    assert ("embed-resource", "build", "cfg(windows)") in kinds
    lock = tomllib.loads((PROJECTS / "alacritty" / "Cargo.lock").read_text())
    path_pkgs = {(p["name"], p["version"]) for p in lock["package"] if "source" not in p}
    assert {(m.name, m.version) for m in ws.manifests if m.name} == path_pkgs


@pytest.mark.parametrize(
    ("project", "count"),
    [("fd", 1), ("bat", 1), ("starship", 2), ("mdbook", 1), ("nushell", 1)],
)
def test_other_fixture_workspaces(project: str, count: int) -> None:
    ws = load_fixture(project)
    assert len(ws.manifests) == count
    assert len(ws.members) == 1

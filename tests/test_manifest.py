"""query.manifest and query.discovery: dependency tables, workspace inheritance, member globs,
workspace discovery (in memory), real workspaces."""

from __future__ import annotations

import re
import tomllib
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
    is_excluded,
    manifest_from_mapping,
    workspace_members,
)
from tests.memhost import MemoryHost

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
"""
REPLACING = """
[workspace]

[replace]
"foo:0.1.0" = { git = "https://x/foo" }
"bar@2.0.1" = { path = "local/bar" }
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
    assert ws.dependencies is not None
    assert set(ws.dependencies) == {"serde", "local", "renamed", "short"}
    assert root.patches["crates-io"] == (
        dep("serde", None, PathSource(path="patched/serde"), kind="normal", target=None),
    )
    assert root.patch_sources == {"crates-io": "https://github.com/rust-lang/crates.io-index"}
    assert root.local_overrides() == ("patched/serde",)
    replacing = manifest(REPLACING)
    assert [(r.name, r.version, r.dependency.source) for r in replacing.replacements] == [
        ("foo", "0.1.0", GitSource(url="https://x/foo")),
        ("bar", "2.0.1", PathSource(path="local/bar")),
    ]
    assert replacing.local_overrides() == ("local/bar",)
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
        "crates/a/Cargo.toml: error inheriting `nope` from workspace root manifest's "
        "`workspace.dependencies.nope`: `dependency.nope` was not found in "
        "`workspace.dependencies`",
    ),
    (
        "inherit no root",
        PKG + "[dependencies]\nx.workspace = true\n",
        None,
        "failed to find a workspace root",
    ),
    (
        "workspace false",
        PKG + "[dependencies]\nx = { workspace = false }\n",
        ROOT,
        "`workspace` cannot be false",
    ),
    (
        "version no root",
        '[package]\nname = "a"\nversion.workspace = true\n',
        None,
        "failed to find a workspace root",
    ),
    (
        "version not defined",
        '[package]\nname = "a"\nversion.workspace = true\n',
        "[workspace]\n",
        "`workspace.package.version` was not defined",
    ),
    (
        "version type",
        '[package]\nname = "a"\nversion = 1\n',
        None,
        "`package.version`: invalid type: integer `1`, expected SemVer version",
    ),
    ("no name", '[package]\nversion = "1.0.0"\n', None, "missing field `package.name`"),
    ("dep type", PKG + "[dependencies]\nx = 1\n", None, "`dependencies.x`: invalid type: integer"),
    (
        "version type in dep",
        PKG + "[dependencies]\nx = { version = 1 }\n",
        None,
        "`dependencies.x.version`: invalid type: integer `1`, expected a string",
    ),
    (
        "optional type",
        PKG + '[dependencies]\nx = { version = "1", optional = "yes" }\n',
        None,
        '`dependencies.x.optional`: invalid type: string "yes", expected a boolean',
    ),
    (
        "features type",
        PKG + '[dependencies]\nx = { version = "1", features = "a" }\n',
        None,
        '`dependencies.x.features`: invalid type: string "a", expected a sequence',
    ),
    (
        "git and path",
        PKG + '[dependencies]\nx = { git = "https://u", path = "p" }\n',
        None,
        "Only one of `git` or `path` is allowed",
    ),
    (
        "git and registry",
        PKG + '[dependencies]\nx = { git = "https://u", registry = "r" }\n',
        None,
        "Only one of `git` or `registry` is allowed",
    ),
    (
        "two refs",
        PKG + '[dependencies]\nx = { git = "https://u", tag = "a", rev = "b" }\n',
        None,
        "Only one of `branch`, `tag` or `rev` is allowed",
    ),
    ("deps not table", "dependencies = 3\n" + PKG, None, "`dependencies`: invalid type"),
    ("target not table", PKG + "[target]\nx = 3\n", None, "`target.x`: invalid type"),
    ("features value", PKG + "[features]\na = 1\n", None, "`features.a`: invalid type"),
    ("members type", "[workspace]\nmembers = 'a'\n", None, "`workspace.members`: invalid type"),
    (
        "bad requirement",
        PKG + '[dependencies]\nx = "latest"\n',
        None,
        "failed to parse the version requirement `latest` for dependency `x`",
    ),
    (
        "optional dev-dependency",
        PKG + '[dev-dependencies]\nx = { version = "1", optional = true }\n',
        None,
        "dev-dependencies are not allowed to be optional: `x`",
    ),
    (
        "feature naming nothing",
        PKG + '[features]\nf = ["nothing"]\n',
        None,
        "feature `f` includes `nothing` which is neither a dependency nor another feature",
    ),
    (
        "dep: of a required dependency",
        PKG + '[dependencies]\nx = "1"\n[features]\nf = ["dep:x"]\n',
        None,
        "`x` is not an optional dependency",
    ),
    (
        "optional workspace dependency",
        '[workspace.dependencies]\nx = { version = "1", optional = true }\n',
        None,
        "x is optional, but workspace dependencies cannot be optional",
    ),
    (
        "edition 2024 and default_features",
        PKG + 'edition = "2024"\n[dependencies]\nx = { version = "1", default_features = false }\n',
        None,
        "`default_features` is unsupported as of the 2024 edition",
    ),
    (
        "no version at all",
        PKG + "[dependencies]\nany = {}\n",
        None,
        "dependency (any) specified without providing a local path, Git repository, version",
    ),
    ("unknown edition", PKG + 'edition = "2019"\n', None, "but `2019` is unknown"),
    ("unknown resolver", PKG + 'resolver = "4"\n', None, "`resolver` setting `4` is not valid"),
    (
        "rust-version older than the edition",
        PKG + 'edition = "2021"\nrust-version = "1.55"\n',
        None,
        "rust-version 1.55 is incompatible with the version (1.56.0) required by the specified "
        "edition (2021)",
    ),
    (
        "unstable cargo-features",
        'cargo-features = ["metabuild"]\n' + PKG,
        None,
        "the cargo feature `metabuild` requires a nightly version of Cargo",
    ),
    (
        "virtual manifest with dependencies",
        '[workspace]\n[dependencies]\nx = "1"\n',
        None,
        "this virtual manifest specifies a `dependencies` section, which is not allowed",
    ),
    (
        "inheriting default-features = false, edition 2024",
        PKG + 'edition = "2024"\n[dependencies]\nserde = { workspace = true }\n'
        "short = { workspace = true, default-features = false }\n",
        ROOT,
        "`default-features = false` cannot override workspace's `default-features`",
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


# ---------------------------------------------------------------------------------------------
# members (query.discovery over an in-memory file system)

TREE = ["crates/a", "crates/b", "crates/skip", "crates/b/nested", "tools/cli", "tools/x/cli",
        "xa", "xb", "xc"]  # fmt: skip

MEMBER_CASES = [
    ("glob", ["crates/*"], [], ["crates/a", "crates/b", "crates/skip"]),
    ("exclude", ["crates/*"], ["crates/skip"], ["crates/a", "crates/b"]),
    (
        "literal beats exclude",
        ["crates/skip", "crates/*"],
        ["crates/skip"],
        ["crates/skip", "crates/a", "crates/b"],
    ),
    ("double star", ["tools/**/cli"], [], ["tools/cli", "tools/x/cli"]),
    ("question and class", ["x?", "x[ab]"], ["xc"], ["xa", "xb"]),
    ("dedupe", ["crates/a", "crates/*"], [], ["crates/a", "crates/b", "crates/skip"]),
    ("component prefix", ["crates/*"], ["crates/s"], ["crates/a", "crates/b", "crates/skip"]),
]


@pytest.mark.parametrize(
    ("globs", "exclude", "expected"),
    [c[1:] for c in MEMBER_CASES],
    ids=[c[0] for c in MEMBER_CASES],
)
def test_members(globs: list[str], exclude: list[str], expected: list[str]) -> None:
    manifests = {d: f'[package]\nname = "{d.replace("/", "-")}"\n' for d in TREE}
    manifests["."] = f"[workspace]\nmembers = {globs!r}\nexclude = {exclude!r}\n"
    ws, _ = MemoryHost(manifests).discover()
    assert [m.path.removeprefix("/ws/") for m in ws.members] == expected


def test_unmatched_member_globs_and_literals_are_kept_and_fail() -> None:
    for entry in ("nothing/*", "missing"):
        host = MemoryHost({".": f"[workspace]\nmembers = [{entry!r}]\n"})
        with pytest.raises(ManifestError, match=re.escape(f"workspace member `{entry}`")):
            host.discover()


def test_is_excluded() -> None:
    assert is_excluded("/r/a/b/Cargo.toml", "/r", ["a"], [])
    assert not is_excluded("/r/ab/Cargo.toml", "/r", ["a"], [])
    assert not is_excluded("/r/a/b/Cargo.toml", "/r", ["a"], ["a/b"])
    assert is_excluded("/r/a/b/Cargo.toml", "/r", ["a"], ["a/*"])  # a glob member: literal
    assert not is_excluded("/r/a/b/Cargo.toml", "/r", ["a"], ["."])  # "." is a prefix of all


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
    ws, _ = MemoryHost(files).discover()
    assert [m.name for m in ws.members] == ["root", "a", "b", "impl", "helper"]
    assert [m.path for m in ws.path_packages] == [
        "/outside",
        "/ws/crates/skip",
        "/ws/vendor/serde",
        "/far",
    ]
    # a dev-dependency of a non-member that does not exist: cargo ignores it here
    assert dict(ws.failed) == {
        "/nope": "failed to read `../nope/Cargo.toml`: No such file or directory"
    }
    assert ws.member("b") is not None and ws.member("skip") is None
    assert [p.dependency.name_in_toml for p in ws.patches] == ["serde"]


def test_discover_workspace_without_workspace_table() -> None:
    files = {".": '[package]\nname = "solo"\n[dependencies]\nsub = { path = "sub" }\n',
             "sub": '[package]\nname = "sub"\n'}  # fmt: skip
    ws, _ = MemoryHost(files).discover()
    assert [m.name for m in ws.members] == ["solo"]
    assert [m.name for m in ws.path_packages] == ["sub"]


def test_discover_workspace_errors() -> None:
    with pytest.raises(
        ManifestError, match="missing either a `\\[package\\]` or a `\\[workspace\\]`"
    ):
        MemoryHost({".": "a = 1\n"}).discover()
    files = {".": '[workspace]\nmembers = ["m"]\n', "m": '[package]\nname = "m"\n[workspace]\n'}
    with pytest.raises(ManifestError, match="multiple workspace roots"):
        MemoryHost(files).discover()


def test_cargo_fuzz_layout_inherits_from_the_parent_crates_own_workspace() -> None:
    files = {
        ".": '[workspace]\nmembers = ["lib"]\n[workspace.package]\nversion = "0.3.0"\n',
        "lib": '[package]\nname = "lib"\nversion.workspace = true\n',
        "lib/fuzz": '[package]\nname = "lib-fuzz"\n[workspace]\nmembers = ["."]\n'
        '[dependencies]\nlib = { path = ".." }\n',
    }
    ws, _ = MemoryHost(files).discover("lib/fuzz")
    assert [m.name for m in ws.members] == ["lib-fuzz"]
    assert [(m.name, m.version) for m in ws.path_packages] == [("lib", "0.3.0")]


def test_excluded_package_is_its_own_workspace() -> None:
    files = {
        ".": '[workspace]\nmembers = ["a"]\nexclude = ["tools"]\n',
        "a": '[package]\nname = "a"\n',
        "tools/sub": '[package]\nname = "sub"\n',
    }
    ws, _ = MemoryHost(files).discover("tools/sub")
    assert ws.root.path == "/ws/tools/sub" and [m.name for m in ws.members] == ["sub"]
    files["."] = '[workspace]\nmembers = ["a", "."]\nexclude = ["tools"]\n'  # "." beats exclude
    with pytest.raises(ManifestError, match="believes it's in a workspace when it's not"):
        MemoryHost(files).discover("tools/sub")


# ---------------------------------------------------------------------------------------------
# the real workspaces, through the disk host


def load_fixture(project: str) -> Workspace:
    from registry.config.cargo_config import CargoConfig
    from registry.config.source_replacement import SourceMap
    from registry.workspace import CheckInputs, load_workspace

    config = CargoConfig([], [], [])
    base = PROJECTS / project
    loaded = load_workspace(
        str(base / "Cargo.toml"),
        SourceMap.from_config(config),
        config,
        CheckInputs(),
        "/nonexistent",
    )
    return loaded.workspace


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
    assert by_name["grep", "normal"].source == PathSource(path=str(PROJECTS / "ripgrep" / "grep"))
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
    assert ws.root.patches["crates-io"][0].source == PathSource(
        path=str(PROJECTS / "alacritty" / "servo-freetype-proxy")
    )
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

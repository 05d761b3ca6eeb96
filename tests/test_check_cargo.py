"""``registry check`` agrees with cargo: ``cargo update --workspace --locked --offline``.

One served copy of the bundled index, one CARGO_HOME and one registry cache for the module.
Each project is warmed once (cargo online fills its cache, ``registry fetch`` fills ours), then
every case copies the project, applies a manifest mutation and asks both tools offline. Each case
also states what cargo answers, so a mutation that stopped mattering is noticed too.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.checkutil import INDEX, PROJECT_NAMES, PROJECTS, edit
from tests.httpserver import IndexServer

pytestmark = pytest.mark.cargo

CARGO = shutil.which("cargo")


@dataclass
class World:
    server: IndexServer
    base: Path
    home: Path
    cache: Path
    env: dict[str, str]
    warmed: set[str] = field(default_factory=set)
    count: int = 0

    @property
    def url(self) -> str:
        return "sparse+" + self.server.url

    def copy(self, project: str, lockfile: str = "Cargo.lock") -> Path:
        self.count += 1
        target = self.base / "work" / f"{self.count:03d}" / project
        shutil.copytree(PROJECTS / project, target)
        if lockfile != "Cargo.lock":
            (target / "Cargo.lock").write_bytes((target / lockfile).read_bytes())
        for extra in ("Cargo.lock.v3", "Cargo.lock.v4"):
            (target / extra).unlink()
        if project not in self.warmed:
            self.warm(project, target)
        return target

    def warm(self, project: str, directory: Path) -> None:
        scratch = self.base / "warm" / project
        shutil.copytree(directory, scratch)
        online = self.cargo(scratch, offline=False)
        assert online.returncode == 0, online.stderr
        fetched = subprocess.run(
            [
                *REGISTRY,
                "--index-url",
                self.url,
                "--cache-dir",
                str(self.cache),
                "fetch",
                "--lockfile",
                str(scratch / "Cargo.lock"),
            ],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert fetched.returncode == 0, fetched.stdout + fetched.stderr
        self.warmed.add(project)

    def cargo(self, directory: Path, *, offline: bool = True) -> subprocess.CompletedProcess[str]:
        assert CARGO is not None
        args = [CARGO, "update", "--workspace", "--locked"] + (["--offline"] if offline else [])
        return subprocess.run(
            args, cwd=directory, env=self.env, capture_output=True, text=True, check=False
        )

    def registry(self, directory: Path) -> tuple[int, str]:
        """``registry --offline check --no-fingerprint`` in-process (the real entry point)."""
        from registry.__main__ import main

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(
                [
                    "--index-url",
                    self.url,
                    "--cache-dir",
                    str(self.cache),
                    "--offline",
                    "check",
                    "--no-fingerprint",
                    "--manifest-path",
                    str(directory / "Cargo.toml"),
                ]
            )
        assert "Traceback" not in err.getvalue()
        return code, out.getvalue() + err.getvalue()

    def compare(self, directory: Path) -> tuple[bool, int, int, str]:
        """(cargo succeeded, the exit code cargo's answer maps to, registry's exit code, both
        outputs for messages). cargo's failures map as in tests/modern_manifests.py: the lock
        must change or cannot be kept: 1; a manifest or workspace cargo refuses to load: 2."""
        from tests.modern_manifests import EXPECTED_EXIT, classify

        cargo = self.cargo(directory)
        code, text = self.registry(directory)
        expected = EXPECTED_EXIT[classify(cargo.returncode, cargo.stderr)]
        lock_text = (directory / "Cargo.lock").read_text()
        detail = f"cargo exit {cargo.returncode}:\n{cargo.stderr}\nregistry exit {code}:\n{text}"
        return cargo.returncode == 0, expected, code, detail + f"\n(lock {len(lock_text)} bytes)"


REGISTRY = [sys.executable, "-m", "registry"]


@contextlib.contextmanager
def cargo_world(base: Path, index: Path) -> Iterator[World]:
    """Serve ``index``, give cargo a CARGO_HOME replacing crates.io with it, and give registry
    a cache dir; skip (or, with CI set, fail) when cargo is missing."""
    if CARGO is None:
        if os.environ.get("CI"):
            pytest.fail("cargo is not installed, and CI is set: the cargo agreement tests must run")
        pytest.skip("cargo is not installed (set CI to turn this skip into a failure)")
    home = base / "cargo-home"
    home.mkdir()
    with IndexServer(index) as server, pytest.MonkeyPatch.context() as mp:
        (home / "config.toml").write_text(
            '[source.crates-io]\nreplace-with = "local-sparse"\n\n'
            f'[source.local-sparse]\nregistry = "sparse+{server.url}"\n'
        )
        # cargo's own environment, minus anything CARGO_* that could redirect it (rustup's
        # variables stay: cargo may be a rustup proxy)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CARGO_", "REGISTRY_"))}
        env.update(CARGO_HOME=str(home), CARGO_TERM_COLOR="never")
        for name in list(os.environ):
            if name.startswith("REGISTRY_"):
                mp.delenv(name)
        mp.setenv("CARGO_HOME", str(home))
        yield World(server, base, home, base / "registry-cache", env)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with cargo_world(tmp_path_factory.mktemp("cargo-agreement"), INDEX) as made:
        yield made


def assert_agree(world: World, directory: Path, cargo_succeeds: bool) -> None:
    cargo_ok, expected, code, detail = world.compare(directory)
    assert cargo_ok == cargo_succeeds, "cargo did not answer as this case expects\n" + detail
    assert code == expected, "registry check disagrees with cargo\n" + detail


# ---------------------------------------------------------------------------------------------
# unmutated projects: every project, v1 and v4 lockfiles


@pytest.mark.parametrize("lockfile", ["Cargo.lock", "Cargo.lock.v4"])
@pytest.mark.parametrize("project", PROJECT_NAMES)
def test_unmutated_projects_agree(world: World, project: str, lockfile: str) -> None:
    directory = world.copy(project, lockfile)
    assert_agree(world, directory, cargo_succeeds=True)


# ---------------------------------------------------------------------------------------------
# mutations


Mutation = Callable[[Path], None]


def new_crate(root: Path, rel: str, name: str, body: str = "") -> None:
    crate = root / rel
    (crate / "src").mkdir(parents=True)
    (crate / "src" / "lib.rs").write_text("")
    (crate / "Cargo.toml").write_text(
        f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2018"\n\n{body}'
    )


def done(_: tuple[None, ...]) -> None:
    """For a lambda that makes several edits, in order, as a tuple."""


def add_dependency(path: Path, anchor: str, line: str) -> None:
    edit(path, anchor, anchor + line + "\n")


# -- ripgrep: root package + 9 members, all path dependencies of the root or of grep -----------


def rg_member_added(d: Path) -> None:
    new_crate(d, "newcrate", "newcrate")
    edit(d / "Cargo.toml", '  "ignore",\n]', '  "ignore",\n  "newcrate",\n]')


def rg_member_removed(d: Path) -> None:
    # out of the members and no longer a path dependency of grep: its lock entry is extra
    edit(d / "Cargo.toml", '  "grep-pcre2",\n', "")
    edit(
        d / "grep" / "Cargo.toml",
        'grep-pcre2 = { version = "0.1.3", path = "../grep-pcre2", optional = true }\n',
        "",
    )
    edit(d / "grep" / "Cargo.toml", 'pcre2 = ["grep-pcre2"]', "pcre2 = []")


def rg_moved_to_dev(d: Path) -> None:
    edit(d / "Cargo.toml", 'log = "0.4.5"\n', "")
    edit(d / "Cargo.toml", "[dev-dependencies]\n", '[dev-dependencies]\nlog = "0.4.5"\n')


def rg_clap_suggestions_off(d: Path) -> None:
    # both clap entries (normal and build) ask for "suggestions", clap's only way to strsim
    text = (d / "Cargo.toml").read_text()
    assert text.count('features = ["suggestions"]\n') == 2
    (d / "Cargo.toml").write_text(text.replace('features = ["suggestions"]\n', ""))


RG_DEPS = "[dependencies]\n"
RIPGREP: dict[str, tuple[Mutation, bool]] = {
    "requirement raised above the locked version": (
        lambda d: edit(d / "Cargo.toml", 'regex = "1.0.5"', 'regex = "1.3"'),
        False,
    ),
    "requirement raised to an exact newer version": (
        lambda d: edit(d / "Cargo.toml", 'regex = "1.0.5"', 'regex = "=1.2.1"'),
        False,
    ),
    "requirement lowered (lock still satisfies it)": (
        lambda d: edit(d / "Cargo.toml", 'regex = "1.0.5"', 'regex = "1"'),
        True,
    ),
    "new dependency that is not in the lock": (
        lambda d: add_dependency(d / "Cargo.toml", RG_DEPS, 'semver = "0.9"'),
        False,
    ),
    "new dependency that the lock has elsewhere": (
        lambda d: add_dependency(d / "Cargo.toml", RG_DEPS, 'memchr = "2"'),
        False,
    ),
    "dependency removed (its package stays for others)": (
        lambda d: edit(d / "Cargo.toml", 'bstr = "0.2.0"\n', ""),
        False,
    ),
    "dependency removed (its package goes)": (
        lambda d: edit(d / "Cargo.toml", 'serde_json = "1.0.23"\n', ""),
        False,
    ),
    "dev-dependency removed": (
        lambda d: edit(d / "Cargo.toml", 'serde_derive = "1.0.77"\n', ""),
        False,
    ),
    "target-specific dependency removed": (
        lambda d: edit(
            d / "Cargo.toml",
            '[target.\'cfg(all(target_env = "musl", target_pointer_width = "64"))\''
            '.dependencies.jemallocator]\nversion = "0.3.0"\n',
            "",
        ),
        False,
    ),
    "dependency renamed with package = (same crate)": (
        lambda d: edit(
            d / "Cargo.toml", 'log = "0.4.5"', 'logging = { package = "log", version = "0.4.5" }'
        ),
        True,
    ),
    "dependency made optional": (
        lambda d: edit(
            d / "Cargo.toml", 'log = "0.4.5"', 'log = { version = "0.4.5", optional = true }'
        ),
        True,
    ),
    "dependency moved to dev-dependencies": (rg_moved_to_dev, True),
    "same dependency added for one target triple": (
        lambda d: edit(
            d / "Cargo.toml",
            "[build-dependencies]\n",
            '[target.x86_64-pc-windows-msvc.dependencies]\nbstr = "0.2.0"\n\n'
            "[build-dependencies]\n",
        ),
        True,
    ),
    "same dependency for one target triple, requirement raised": (
        lambda d: edit(
            d / "Cargo.toml",
            "[build-dependencies]\n",
            '[target.x86_64-pc-windows-msvc.dependencies]\nbstr = "0.2.99"\n\n'
            "[build-dependencies]\n",
        ),
        False,
    ),
    "path dependency's version requirement unsatisfied": (
        lambda d: edit(
            d / "Cargo.toml",
            'grep = { version = "0.2.4", path = "grep" }',
            'grep = { version = "0.3", path = "grep" }',
        ),
        False,
    ),
    "new path dependency outside the workspace": (
        lambda d: done(
            (
                new_crate(d.parent, "outside", "outside"),
                add_dependency(d / "Cargo.toml", RG_DEPS, 'outside = { path = "../outside" }'),
            )
        ),
        False,
    ),
    "git dependency added": (
        lambda d: add_dependency(
            d / "Cargo.toml", RG_DEPS, 'gitdep = { git = "https://127.0.0.1:9/gitdep.git" }'
        ),
        False,
    ),
    "member added": (rg_member_added, False),
    "member removed": (rg_member_removed, False),
    "member removed from the list but still a path dependency": (
        lambda d: edit(d / "Cargo.toml", '  "globset",\n', ""),
        True,
    ),
    "member's version bumped": (
        lambda d: edit(d / "grep-cli" / "Cargo.toml", 'version = "0.1.3"', 'version = "0.1.4"'),
        False,
    ),
    "root package's version bumped": (
        lambda d: edit(d / "Cargo.toml", 'version = "11.0.2"', 'version = "11.0.3"'),
        False,
    ),
    "feature that turns on an optional dependency of a registry crate": (
        lambda d: edit(
            d / "Cargo.toml",
            'serde = "1.0.77"',
            'serde = { version = "1.0.77", features = ["derive"] }',
        ),
        False,
    ),
    "feature that turned on an optional dependency removed": (rg_clap_suggestions_off, False),
    "feature added that turns on no optional dependency": (
        lambda d: edit(
            d / "Cargo.toml",
            'regex = "1.0.5"',
            'regex = { version = "1.0.5", features = ["use_std"] }',
        ),
        True,
    ),
}


# -- alacritty: virtual workspace, 5 members, a [patch] -----------------------------------------


def at(d: Path) -> Path:
    return d / "alacritty_terminal" / "Cargo.toml"


def proxy(d: Path) -> Path:
    return d / "servo-freetype-proxy" / "Cargo.toml"


def al_unused_patch(d: Path) -> None:
    new_crate(d, "unused", "unused-crate")
    edit(
        d / "Cargo.toml",
        "[patch.crates-io]",
        '[patch.crates-io]\nunused-crate = { path = "unused" }',
    )


def al_patch_log(d: Path) -> None:
    new_crate(d, "mylog", "log")
    edit(d / "mylog" / "Cargo.toml", 'version = "0.1.0"', 'version = "0.4.8"')
    edit(d / "Cargo.toml", "[patch.crates-io]", '[patch.crates-io]\nlog = { path = "mylog" }')


ALACRITTY: dict[str, tuple[Mutation, bool]] = {
    "requirement raised above the locked version": (
        lambda d: edit(at(d), 'serde = "1"', 'serde = "1.0.100"'),
        False,
    ),
    "target-specific requirement raised": (
        lambda d: edit(at(d), 'nix = "0.14.1"', 'nix = "0.15"'),
        False,
    ),
    "new dependency that is not in the lock": (
        lambda d: add_dependency(at(d), 'fnv = "1"\n', 'bstr = "0.2"'),
        False,
    ),
    "new dependency that the lock has elsewhere (another member's)": (
        lambda d: add_dependency(at(d), 'fnv = "1"\n', 'xdg = "2"'),
        False,
    ),
    "dependency removed": (lambda d: edit(at(d), 'fnv = "1"\n', ""), False),
    "target-specific dependency removed": (lambda d: edit(at(d), 'x11-dl = "2"\n', ""), False),
    "member added": (
        lambda d: done(
            (
                new_crate(d, "newcrate", "newcrate"),
                edit(d / "Cargo.toml", '    "winpty"\n]', '    "winpty",\n    "newcrate",\n]'),
            )
        ),
        False,
    ),
    "member added with a dependency the lock has": (
        lambda d: done(
            (
                new_crate(d, "newcrate", "newcrate", '[dependencies]\nlog = "0.4"\n'),
                edit(d / "Cargo.toml", '    "winpty"\n]', '    "winpty",\n    "newcrate",\n]'),
            )
        ),
        False,
    ),
    "member removed": (lambda d: edit(d / "Cargo.toml", '    "alacritty",\n', ""), False),
    "member removed from the list but still a path dependency": (
        lambda d: edit(d / "Cargo.toml", '    "font",\n', ""),
        True,
    ),
    "member's version bumped": (
        lambda d: edit(d / "font" / "Cargo.toml", 'version = "0.1.0"', 'version = "0.1.1"'),
        False,
    ),
    "[patch] removed": (
        lambda d: edit(
            d / "Cargo.toml", 'servo-freetype-sys = { path = "servo-freetype-proxy" }\n', ""
        ),
        False,
    ),
    "dependency inherited from [workspace.dependencies]": (
        lambda d: done(
            (
                edit(
                    d / "Cargo.toml",
                    "[profile.release]",
                    '[workspace.dependencies]\nlog = "0.4"\n\n[profile.release]',
                ),
                edit(at(d), 'log = "0.4"', "log.workspace = true"),
            )
        ),
        True,
    ),
    "inherited requirement raised in [workspace.dependencies]": (
        lambda d: done(
            (
                edit(
                    d / "Cargo.toml",
                    "[profile.release]",
                    '[workspace.dependencies]\nlog = "0.4.100"\n\n[profile.release]',
                ),
                edit(at(d), 'log = "0.4"', "log.workspace = true"),
            )
        ),
        False,
    ),
    "members written as a glob": (
        lambda d: edit(
            d / "Cargo.toml", '"alacritty",\n    "alacritty_terminal",', '"alacritty*",'
        ),
        True,
    ),
    "members glob picks up a new directory": (
        lambda d: done(
            (
                edit(d / "Cargo.toml", '"alacritty",\n    "alacritty_terminal",', '"alacritty*",'),
                new_crate(d, "alacritty_extra", "alacritty_extra"),
            )
        ),
        False,
    ),
    "dev-dependency added to the [patch] package (not a member: ignored)": (
        lambda d: edit(
            proxy(d), "[dependencies]", '[dev-dependencies]\nlog = "0.4"\n\n[dependencies]'
        ),
        True,
    ),
    "build-dependency added to the [patch] package": (
        lambda d: edit(
            proxy(d), "[dependencies]", '[build-dependencies]\nlog = "0.4"\n\n[dependencies]'
        ),
        False,
    ),
    "requirement of the [patch] package raised": (
        lambda d: edit(proxy(d), 'freetype-sys = "*"', 'freetype-sys = "0.9"'),
        False,
    ),
    "unused [patch] added": (al_unused_patch, False),
    "[patch] added for a locked crate": (al_patch_log, False),
    'explicit registry = "crates-io"': (
        lambda d: edit(at(d), 'fnv = "1"', 'fnv = { version = "1", registry = "crates-io" }'),
        True,
    ),
    "default-members added": (
        lambda d: edit(
            d / "Cargo.toml", '    "winpty"\n]', '    "winpty"\n]\ndefault-members = ["alacritty"]'
        ),
        True,
    ),
    "member renamed": (
        lambda d: edit(d / "font" / "Cargo.toml", 'name = "font"', 'name = "font2"'),
        False,
    ),
    "member version inherited from [workspace.package] (same value)": (
        lambda d: done(
            (
                edit(
                    d / "Cargo.toml",
                    "[profile.release]",
                    '[workspace.package]\nversion = "0.1.0"\n\n[profile.release]',
                ),
                edit(d / "font" / "Cargo.toml", 'version = "0.1.0"', "version.workspace = true"),
            )
        ),
        True,
    ),
    "member excluded (a literal member entry wins)": (
        lambda d: edit(
            d / "Cargo.toml", '    "winpty"\n]', '    "winpty"\n]\nexclude = ["alacritty"]'
        ),
        True,
    ),
}


# -- nushell: one package, no [workspace] ---------------------------------------------------------


def nu(d: Path) -> Path:
    return d / "Cargo.toml"


def nu_member_added(d: Path) -> None:
    new_crate(d, "sub", "sub")
    edit(nu(d), "[features]", '[workspace]\nmembers = ["sub"]\n\n[features]')


def nu_member_removed(d: Path) -> None:
    # the only member goes: a virtual manifest with a new, dependency-free member
    new_crate(d, "sub", "sub")
    (d / "Cargo.toml").write_text('[workspace]\nmembers = ["sub"]\n')


NUSHELL: dict[str, tuple[Mutation, bool]] = {
    "requirement raised above the locked version": (
        lambda d: edit(nu(d), 'serde = { version = "1.0.100"', 'serde = { version = "1.0.102"'),
        False,
    ),
    "build-dependency requirement raised": (
        lambda d: edit(nu(d), 'serde = { version = "1.0.101"', 'serde = { version = "1.0.102"'),
        False,
    ),
    "new dependency that is not in the lock": (
        lambda d: add_dependency(nu(d), 'cfg-if = "0.1"\n', 'bit-vec = "0.5"'),
        False,
    ),
    "new dependency that the lock has elsewhere": (
        lambda d: add_dependency(nu(d), 'cfg-if = "0.1"\n', 'memchr = "2"'),
        False,
    ),
    "dependency removed": (lambda d: edit(nu(d), 'subprocess = "0.1.18"\n', ""), False),
    "optional dependency removed": (
        lambda d: edit(nu(d), 'battery = {version = "0.7.4", optional = true }\n', ""),
        False,
    ),
    "member added": (nu_member_added, False),
    "member removed": (nu_member_removed, False),
    "version bumped": (
        lambda d: edit(nu(d), 'name = "nu"\nversion = "0.5.0"', 'name = "nu"\nversion = "0.5.1"'),
        False,
    ),
    "dependency renamed with package =": (
        lambda d: edit(nu(d), 'glob = "0.3.0"', 'globby = { package = "glob", version = "0.3.0" }'),
        True,
    ),
    "renamed dependency's requirement raised": (
        lambda d: edit(nu(d), 'glob = "0.3.0"', 'globby = { package = "glob", version = "0.3.5" }'),
        False,
    ),
    "default features of a registry dependency turned off": (
        lambda d: edit(
            nu(d),
            'rustyline = "5.0.4"',
            'rustyline = { version = "5.0.4", default-features = false }',
        ),
        False,
    ),
    "default features turned off, but another dependent keeps them on": (
        lambda d: edit(
            nu(d),
            'chrono = { version = "0.4.9", features = ["serde"] }',
            'chrono = { version = "0.4.9", features = ["serde"], default-features = false }',
        ),
        True,
    ),
    "feature of a registry dependency that does not exist": (
        lambda d: edit(nu(d), 'regex = "1"', 'regex = { version = "1", features = ["no-such"] }'),
        False,
    ),
}


CASES = [
    pytest.param(project, name, mutation, succeeds, id=f"{project}: {name}")
    for project, table in (("ripgrep", RIPGREP), ("alacritty", ALACRITTY), ("nushell", NUSHELL))
    for name, (mutation, succeeds) in table.items()
]


@pytest.mark.parametrize(("project", "name", "mutation", "cargo_succeeds"), CASES)
def test_mutation_agrees_with_cargo(
    world: World, project: str, name: str, mutation: Mutation, cargo_succeeds: bool
) -> None:
    directory = world.copy(project)
    mutation(directory)
    assert_agree(world, directory, cargo_succeeds)


def test_mismatch_message_names_manifest_requirement_and_lock(world: World) -> None:
    directory = world.copy("alacritty")
    edit(at(directory), 'serde = "1"', 'serde = "^1.0.100"')
    code, text = world.registry(directory)
    assert code == 1
    assert 'serde = "^1.0.100" in ' in text
    assert "alacritty_terminal/Cargo.toml" in text
    assert "lock has serde 1.0.92" in text


# ---------------------------------------------------------------------------------------------
# features on a small synthetic registry: weak (`bar?/std`) and namespaced (`dep:baz`)
# features, default features, unification. Each lock is written by cargo for one feature set,
# then checked against the manifest of every feature set.


FEATURE_SETS: dict[str, str] = {
    "plain": 'foo = "1"',
    "weak-std": 'foo = { version = "1", features = ["std"] }',
    "dep-fast": 'foo = { version = "1", features = ["fast"] }',
    "both": 'foo = { version = "1", features = ["std", "fast"] }',
    "no-default": 'foo = { version = "1", default-features = false }',
    "mid-too": 'foo = { version = "1", default-features = false }\nmid = "1"',
}


def _synthetic_index(root: Path) -> None:
    import json

    from tests.httpserver import index_path

    root.mkdir()
    (root / "config.json").write_text('{"dl": "http://127.0.0.1:9/dl"}')

    def dep(name: str, optional: bool = False, **extra: object) -> dict[str, object]:
        return {"name": name, "req": "^1", "features": [], "optional": optional,
                "default_features": True, "target": None, "kind": "normal", **extra}  # fmt: skip

    lines = {
        "bar": {"features": {"std": []}},
        "baz": {"features": {}},
        "qux": {"features": {}},
        "foo": {
            "deps": [dep("bar", True), dep("baz", True), dep("qux", True)],
            "features": {"default": ["qux"]},
            "features2": {"std": ["bar?/std"], "fast": ["dep:baz"]},
            "v": 2,
        },
        "mid": {"deps": [dep("foo")], "features": {}},
    }
    for name, fields in lines.items():
        line = {"name": name, "vers": "1.0.0", "deps": [], "cksum": "ab" * 32, "yanked": False}
        line.update(fields)
        path = root / index_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(line) + "\n")


@dataclass
class Synthetic:
    world: World
    locks: dict[str, str]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthetic]:
    base = tmp_path_factory.mktemp("cargo-features")
    _synthetic_index(base / "index")
    with cargo_world(base, base / "index") as world:
        env = world.env
        fetched = subprocess.run(
            [*REGISTRY, "--index-url", world.url, "--cache-dir", str(world.cache), "fetch",
             "foo", "bar", "baz", "qux", "mid"],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert fetched.returncode == 0, fetched.stderr
        locks: dict[str, str] = {}
        for name, deps in FEATURE_SETS.items():
            project = _feature_project(base / "gen" / name, deps)
            made = subprocess.run(
                [CARGO, "generate-lockfile"], cwd=project, env=env, capture_output=True,
                text=True, check=False,
            )  # fmt: skip
            assert made.returncode == 0, made.stderr
            locks[name] = (project / "Cargo.lock").read_text()
        yield Synthetic(world, locks)


def _feature_project(directory: Path, deps: str) -> Path:
    (directory / "src").mkdir(parents=True)
    (directory / "src" / "lib.rs").write_text("")
    (directory / "Cargo.toml").write_text(
        f'[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n{deps}\n'
    )
    return directory


def test_synthetic_locks_differ_as_expected(synthetic: Synthetic) -> None:
    def names(text: str) -> set[str]:
        return {line.split('"')[1] for line in text.splitlines() if line.startswith("name = ")}

    locks = synthetic.locks
    assert names(locks["plain"]) == {"app", "foo", "qux"}
    assert names(locks["weak-std"]) == {"app", "foo", "bar", "qux"}  # weak still locks bar
    assert names(locks["dep-fast"]) == {"app", "foo", "baz", "qux"}
    assert names(locks["no-default"]) == {"app", "foo"}
    assert names(locks["mid-too"]) == {"app", "foo", "mid", "qux"}  # mid keeps the defaults


@pytest.mark.parametrize("lock_from", list(FEATURE_SETS))
@pytest.mark.parametrize("manifest", list(FEATURE_SETS))
def test_feature_sets_agree_with_cargo(synthetic: Synthetic, lock_from: str, manifest: str) -> None:
    world = synthetic.world
    world.count += 1
    directory = _feature_project(world.base / "work" / f"{world.count:03d}", FEATURE_SETS[manifest])
    (directory / "Cargo.lock").write_text(synthetic.locks[lock_from])
    same = synthetic.locks[lock_from] == synthetic.locks[manifest]
    assert_agree(world, directory, cargo_succeeds=same)

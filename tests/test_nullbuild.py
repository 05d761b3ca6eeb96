"""query/nullbuild.py: the null-build rules on small hand-built workspaces and lockfiles.

Every workspace here is TOML text per directory, read through query.manifest
(discover_workspace / manifest_from_mapping); every lock is TOML text read through
query.lockfile. No I/O beyond parsing strings.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

import pytest

from query.entry import IndexEntry, entry_from_mapping
from query.lockfile import Lockfile, LockfileError, lockfile_from_mapping, without_packages
from query.manifest import ManifestError, Workspace, manifest_from_mapping
from query.nullbuild import check_features, check_workspace
from query.verdict import Mismatch
from tests.memhost import MemoryHost

CRATES = "registry+https://github.com/rust-lang/crates.io-index"
CORP = "sparse+https://corp.example/index/"
GIT = "git+https://github.com/example/gitdep?branch=main#0123456789abcdef0123456789abcdef01234567"


def registries(name: str | None) -> str | None:
    """Default registry: crates.io; "corp": a private sparse registry; anything else unknown."""
    return {None: CRATES, "crates-io": CRATES, "corp": CORP}.get(name)


def workspace(files: Mapping[str, str]) -> Workspace:
    """A workspace from ``{directory: Cargo.toml text}`` ("." is the root, at /ws)."""
    return MemoryHost(files, registries={"corp": CORP}).discover()[0]


def lock(text: str) -> Lockfile:
    return lockfile_from_mapping(tomllib.loads(text), text)


def check(files: Mapping[str, str], lock_text: str) -> list[Mismatch]:
    return check_workspace(workspace(files), lock(lock_text), registries)


def codes(found: list[Mismatch]) -> list[str]:
    return [m.code for m in found]


def registry_pkg(name: str, version: str, *deps: str, source: str = CRATES) -> str:
    text = f'[[package]]\nname = "{name}"\nversion = "{version}"\nsource = "{source}"\n'
    text += f'checksum = "{"0" * 64}"\n' if source != GIT and not source.startswith("git") else ""
    if deps:
        text += "dependencies = [\n" + "".join(f' "{d}",\n' for d in deps) + "]\n"
    return text + "\n"


def path_pkg(name: str, version: str, *deps: str) -> str:
    text = f'[[package]]\nname = "{name}"\nversion = "{version}"\n'
    if deps:
        text += "dependencies = [\n" + "".join(f' "{d}",\n' for d in deps) + "]\n"
    return text + "\n"


def lock_text(*packages: str) -> str:
    return "version = 4\n\n" + "".join(packages)


APP = '[package]\nname = "app"\nversion = "0.1.0"\n\n'
SERDE_LOCK = lock_text(path_pkg("app", "0.1.0", "serde"), registry_pkg("serde", "1.0.102"))


# ---------------------------------------------------------------------------------------------
# up to date


def test_single_package_up_to_date() -> None:
    files = {".": APP + '[dependencies]\nserde = "1.0.100"\n'}
    assert check(files, SERDE_LOCK) == []


def test_every_dependency_table_is_held_to_the_lock() -> None:
    files = {
        ".": APP
        + '[dependencies]\nserde = "1"\n\n[dev-dependencies]\nitoa = "0.4"\n\n'
        + '[build-dependencies]\ncc = "1.0.40"\n\n'
        + "[target.'cfg(windows)'.dependencies]\nwinapi = \"0.3\"\n\n"
        + "[target.'cfg(unix)'.build-dependencies]\npkg-config = \"0.3\"\n"
    }
    full = lock_text(
        path_pkg("app", "0.1.0", "cc", "itoa", "pkg-config", "serde", "winapi"),
        registry_pkg("cc", "1.0.45"),
        registry_pkg("itoa", "0.4.4"),
        registry_pkg("pkg-config", "0.3.16"),
        registry_pkg("serde", "1.0.102"),
        registry_pkg("winapi", "0.3.8"),
    )
    assert check(files, full) == []
    # each one missing from the member's edges (and so stale) is reported
    for name, version in [
        ("cc", "1.0.45"),
        ("itoa", "0.4.4"),
        ("pkg-config", "0.3.16"),
        ("winapi", "0.3.8"),
    ]:
        text = full.replace(f' "{name}",\n', "", 1)
        found = check(files, text)
        assert codes(found) == ["missing-dependency", "stale-package"], name
        assert found[0].message.startswith(f"{name} = ")
        assert found[0].file == "Cargo.toml"
        assert found[1].message == (
            f"{name} {version} is in Cargo.lock but no workspace member depends on it any more"
        )


def test_optional_dependencies_of_members_are_locked() -> None:
    files = {".": APP + '[dependencies]\nserde = { version = "1", optional = true }\n'}
    assert check(files, SERDE_LOCK) == []
    bare = lock_text(path_pkg("app", "0.1.0"))
    assert codes(check(files, bare)) == ["missing-dependency"]


# ---------------------------------------------------------------------------------------------
# one case per mismatch code


def test_unsatisfied_requirement_message_format() -> None:
    files = {".": APP + '[dependencies]\nserde = "^1.0.150"\n'}
    found = check(files, SERDE_LOCK)
    assert found == [
        Mismatch(
            "unsatisfied-requirement",
            'serde = "^1.0.150" in Cargo.toml, lock has serde 1.0.102',
            "Cargo.toml",
        )
    ]


def test_unsatisfied_requirement_in_a_member_names_its_manifest() -> None:
    files = {
        ".": '[workspace]\nmembers = ["alacritty"]\n',
        "alacritty": '[package]\nname = "alacritty"\nversion = "0.3.3"\n\n'
        '[dependencies]\nserde = "^1.0.150"\n',
    }
    text = lock_text(path_pkg("alacritty", "0.3.3", "serde"), registry_pkg("serde", "1.0.102"))
    found = check(files, text)
    assert [(m.code, m.message, m.file) for m in found] == [
        (
            "unsatisfied-requirement",
            'serde = "^1.0.150" in alacritty/Cargo.toml, lock has serde 1.0.102',
            "alacritty/Cargo.toml",
        )
    ]


def test_requirement_is_quoted_as_written() -> None:
    files = {".": APP + '[dependencies]\nserde = "1.0.150"\n'}
    (found,) = check(files, SERDE_LOCK)
    assert found.message == 'serde = "1.0.150" in Cargo.toml, lock has serde 1.0.102'
    files = {".": APP + '[dependencies]\nserde = "=1.0.101"\n'}
    (found,) = check(files, SERDE_LOCK)
    assert found.message == 'serde = "=1.0.101" in Cargo.toml, lock has serde 1.0.102'


def test_missing_dependency() -> None:
    files = {".": APP + '[dependencies]\nserde = "1"\nlog = "0.4"\n'}
    found = check(files, SERDE_LOCK)
    assert [(m.code, m.message, m.file) for m in found] == [
        (
            "missing-dependency",
            'log = "0.4" in Cargo.toml is not a dependency of app in Cargo.lock',
            "Cargo.toml",
        )
    ]


def test_missing_dependency_that_the_lock_has_elsewhere() -> None:
    files = {
        ".": '[workspace]\nmembers = ["a", "b"]\n',
        "a": '[package]\nname = "a"\nversion = "0.1.0"\n[dependencies]\nlog = "0.4"\n',
        "b": '[package]\nname = "b"\nversion = "0.1.0"\n[dependencies]\nlog = "0.4"\n',
    }
    text = lock_text(
        path_pkg("a", "0.1.0", "log"), path_pkg("b", "0.1.0"), registry_pkg("log", "0.4.8")
    )
    found = check(files, text)
    assert [(m.code, m.message) for m in found] == [
        (
            "missing-dependency",
            'log = "0.4" in b/Cargo.toml is not a dependency of b in Cargo.lock '
            "(lock has log 0.4.8 elsewhere)",
        )
    ]


def test_stale_dependency() -> None:
    files = {".": APP}
    found = check(files, SERDE_LOCK)
    assert [(m.code, m.message, m.file) for m in found] == [
        (
            "stale-dependency",
            "Cargo.lock lists serde 1.0.102 as a dependency of app, "
            "which Cargo.toml no longer declares",
            "Cargo.toml",
        ),
    ]


def test_stale_package() -> None:
    files = {".": APP}
    text = lock_text(path_pkg("app", "0.1.0"), registry_pkg("serde", "1.0.102"))
    found = check(files, text)
    assert [(m.code, m.message, m.file, m.line) for m in found] == [
        (
            "stale-package",
            "serde 1.0.102 is in Cargo.lock but no workspace member depends on it any more",
            "Cargo.lock",
            7,  # the [[package]] header of serde
        ),
    ]


def test_stale_subtree() -> None:
    files = {".": APP + '[dependencies]\nserde = "1"\n'}
    text = lock_text(
        path_pkg("app", "0.1.0", "serde"),
        registry_pkg("serde", "1.0.102"),
        registry_pkg("old", "1.0.0", "older"),
        registry_pkg("older", "2.0.0"),
    )
    found = check(files, text)
    assert [(m.code, m.message.split(" is in")[0]) for m in found] == [
        ("stale-package", "old 1.0.0"),
        ("stale-package", "older 2.0.0"),
    ]


def test_member_missing() -> None:
    files = {
        ".": '[workspace]\nmembers = ["a", "new"]\n',
        "a": '[package]\nname = "a"\nversion = "0.1.0"\n',
        "new": '[package]\nname = "new"\nversion = "0.2.0"\n',
    }
    found = check(files, lock_text(path_pkg("a", "0.1.0")))
    assert [(m.code, m.message, m.file) for m in found] == [
        (
            "member-missing",
            "workspace member new 0.2.0 (new/Cargo.toml) is not in Cargo.lock",
            "new/Cargo.toml",
        )
    ]


def test_member_version() -> None:
    files = {".": '[package]\nname = "app"\nversion = "0.2.0"\n'}
    found = check(files, lock_text(path_pkg("app", "0.1.0")))
    assert [(m.code, m.message) for m in found] == [
        ("member-version", "app is 0.2.0 in Cargo.toml, Cargo.lock has 0.1.0")
    ]


def test_lock_entry_of_a_deleted_local_package_is_dropped() -> None:
    """cargo ignores a path entry that maps to no local package (``into_resolve``): a deleted
    member is no difference by itself."""
    files = {
        ".": '[workspace]\nmembers = ["a"]\n',
        "a": '[package]\nname = "a"\nversion = "0.1.0"\n',
    }
    assert check(files, lock_text(path_pkg("a", "0.1.0"), path_pkg("gone", "0.1.0"))) == []


def test_deleted_local_package_leaves_what_only_it_used_stale() -> None:
    files = {
        ".": '[workspace]\nmembers = ["a"]\n',
        "a": '[package]\nname = "a"\nversion = "0.1.0"\n',
    }
    text = lock_text(
        path_pkg("a", "0.1.0"), path_pkg("gone", "0.1.0", "log"), registry_pkg("log", "0.4.8")
    )
    found = check(files, text)
    assert [(m.code, m.message) for m in found] == [
        (
            "stale-package",
            "log 0.4.8 is in Cargo.lock but no workspace member depends on it any more",
        )
    ]


def test_removed_member_that_is_still_a_path_dependency_stays() -> None:
    # like ripgrep's globset: dropped from members, still a path dependency of a member
    files = {
        ".": '[workspace]\nmembers = ["a"]\n',
        "a": '[package]\nname = "a"\nversion = "0.1.0"\n[dependencies]\nb = { path = "../b" }\n',
        "b": '[package]\nname = "b"\nversion = "0.1.0"\n',
    }
    text = lock_text(path_pkg("a", "0.1.0", "b"), path_pkg("b", "0.1.0"))
    assert check(files, text) == []


def test_source_mismatch() -> None:
    files = {".": APP + '[dependencies]\nserde = { version = "1", registry = "corp" }\n'}
    found = check(files, SERDE_LOCK)
    assert [(m.code, m.message) for m in found] == [
        (
            "source-mismatch",
            f'serde = "1" in Cargo.toml comes from {CORP}, Cargo.lock has serde from {CRATES}',
        )
    ]


def test_unknown_registry_is_refused() -> None:
    """cargo: "registry index was not found in any configuration" while loading the manifest."""
    files = {".": APP + '[dependencies]\nserde = { version = "1", registry = "nope" }\n'}
    with pytest.raises(
        ManifestError, match="registry index was not found in any configuration: `nope`"
    ):
        check(files, SERDE_LOCK)


# ---------------------------------------------------------------------------------------------
# how dependencies are named and found


def test_renamed_dependency() -> None:
    files = {".": APP + '[dependencies]\njson = { package = "serde_json", version = "1" }\n'}
    text = lock_text(path_pkg("app", "0.1.0", "serde_json"), registry_pkg("serde_json", "1.0.41"))
    assert check(files, text) == []
    raised = {".": APP + '[dependencies]\njson = { package = "serde_json", version = "1.0.50" }\n'}
    found = check(raised, text)
    assert [(m.code, m.message) for m in found] == [
        (
            "unsatisfied-requirement",
            'json = "1.0.50" in Cargo.toml, lock has serde_json 1.0.41',
        )
    ]
    # the lock's edge names the real crate, never the rename
    missing = lock_text(path_pkg("app", "0.1.0"), registry_pkg("json", "1.0.0"))
    assert codes(check(files, missing)) == ["missing-dependency", "stale-package"]


def test_one_crate_renamed_twice_to_two_versions() -> None:
    files = {
        ".": APP + '[dependencies]\nrand = "0.7"\nrand06 = { package = "rand", version = "0.6" }\n'
    }
    text = lock_text(
        path_pkg("app", "0.1.0", "rand 0.6.5", "rand 0.7.2"),
        registry_pkg("rand", "0.6.5"),
        registry_pkg("rand", "0.7.2"),
    )
    assert check(files, text) == []


def test_workspace_dependencies_inheritance() -> None:
    root = '[workspace]\nmembers = ["a"]\n\n[workspace.dependencies]\nserde = "{req}"\n'
    member = '[package]\nname = "a"\nversion = "0.1.0"\n[dependencies]\nserde.workspace = true\n'
    text = lock_text(path_pkg("a", "0.1.0", "serde"), registry_pkg("serde", "1.0.102"))
    assert check({".": root.replace("{req}", "1.0.100"), "a": member}, text) == []
    found = check({".": root.replace("{req}", "1.0.150"), "a": member}, text)
    assert [(m.code, m.message, m.file) for m in found] == [
        (
            "unsatisfied-requirement",
            'serde = "1.0.150" in a/Cargo.toml, lock has serde 1.0.102',
            "a/Cargo.toml",
        )
    ]


def test_workspace_dependency_renamed_and_from_another_registry() -> None:
    root = (
        '[workspace]\nmembers = ["a"]\n\n[workspace.dependencies]\n'
        'j = { package = "serde_json", version = "1", registry = "corp" }\n'
    )
    member = '[package]\nname = "a"\nversion = "0.1.0"\n[dependencies]\nj = { workspace = true }\n'
    text = lock_text(
        path_pkg("a", "0.1.0", "serde_json"), registry_pkg("serde_json", "1.0.41", source=CORP)
    )
    assert check({".": root, "a": member}, text) == []
    from_crates = text.replace(CORP, CRATES)
    assert codes(check({".": root, "a": member}, from_crates)) == ["source-mismatch"]


def test_target_specific_dependencies() -> None:
    files = {
        ".": APP
        + "[target.'cfg(windows)'.dependencies]\nwinapi = \"0.3.9\"\n"
        + '[target.x86_64-unknown-linux-gnu.dependencies]\nlibc = "0.2"\n'
    }
    text = lock_text(
        path_pkg("app", "0.1.0", "libc", "winapi"),
        registry_pkg("libc", "0.2.65"),
        registry_pkg("winapi", "0.3.8"),
    )
    found = check(files, text)
    assert [(m.code, m.message) for m in found] == [
        ("unsatisfied-requirement", 'winapi = "0.3.9" in Cargo.toml, lock has winapi 0.3.8')
    ]


def test_alternative_registry() -> None:
    files = {".": APP + '[dependencies]\ninternal = { version = "2", registry = "corp" }\n'}
    text = lock_text(
        path_pkg("app", "0.1.0", "internal"), registry_pkg("internal", "2.1.0", source=CORP)
    )
    assert check(files, text) == []
    # the same name from crates.io as well: each dependency picks its own source
    both = {
        ".": APP
        + '[dependencies]\ninternal = { version = "2", registry = "corp" }\n'
        + 'pub-internal = { package = "internal", version = "1" }\n'
    }
    text = lock_text(
        path_pkg("app", "0.1.0", f"internal 1.0.0 ({CRATES})", f"internal 2.1.0 ({CORP})"),
        registry_pkg("internal", "1.0.0"),
        registry_pkg("internal", "2.1.0", source=CORP),
    )
    assert check(both, text) == []


def test_path_dependencies_inside_the_workspace() -> None:
    files = {
        ".": '[workspace]\nmembers = ["app"]\n',
        "app": '[package]\nname = "app"\nversion = "0.1.0"\n[dependencies]\n'
        'font = { version = "0.1", path = "../font" }\n',
        "font": '[package]\nname = "font"\nversion = "0.1.0"\n[dependencies]\nlibc = "0.2"\n',
    }
    text = lock_text(
        path_pkg("app", "0.1.0", "font"),
        path_pkg("font", "0.1.0", "libc"),
        registry_pkg("libc", "0.2.65"),
    )
    ws = workspace(files)
    assert [m.name for m in ws.members] == ["app", "font"]  # a path dependency is a member
    assert check(files, text) == []
    # its own dependencies are held to the lock like any member's
    raised = dict(files, font=files["font"].replace('libc = "0.2"', 'libc = "0.2.70"'))
    assert [(m.code, m.message) for m in check(raised, text)] == [
        ("unsatisfied-requirement", 'libc = "0.2.70" in font/Cargo.toml, lock has libc 0.2.65')
    ]
    # the version requirement on the path dependency itself
    bumped = dict(files, font=files["font"].replace('version = "0.1.0"', 'version = "0.2.0"'))
    assert codes(check(bumped, text)) == ["member-version"]


def test_path_package_outside_the_workspace_dev_dependencies_ignored() -> None:
    files = {
        ".": APP + '[dependencies]\nhelper = { path = "../helper" }\n',
        "../helper": '[package]\nname = "helper"\nversion = "1.0.0"\n'
        '[dependencies]\nlog = "0.4"\n[dev-dependencies]\nquickcheck = "0.9"\n'
        '[dependencies.opt]\nversion = "1"\noptional = true\n',
    }
    text = lock_text(
        path_pkg("app", "0.1.0", "helper"),
        path_pkg("helper", "1.0.0", "log"),
        registry_pkg("log", "0.4.8"),
    )
    ws = workspace(files)
    assert [m.name for m in ws.members] == ["app"]
    assert [m.name for m in ws.path_packages] == ["helper"]
    assert check(files, text) == []


def test_git_dependency_is_unknown() -> None:
    files = {
        ".": APP + '[dependencies]\ngitdep = { git = "https://github.com/example/gitdep", '
        'branch = "main" }\n'
    }
    text = lock_text(
        path_pkg("app", "0.1.0", "gitdep"), registry_pkg("gitdep", "0.3.0", source=GIT)
    )
    found = check(files, text)
    assert [m.code for m in found] == ["unknown"]
    assert found[0].message.startswith("gitdep 0.3.0 comes from git (")
    assert found[0].file == "Cargo.lock"
    assert found[0].line == 10
    # a lock that takes it from somewhere else is a mismatch, unknown or not
    other = text.replace("github.com/example/gitdep", "github.com/fork/gitdep")
    assert "missing-dependency" in codes(check(files, other))


def test_git_patch_is_unknown() -> None:
    files = {
        ".": APP + '[dependencies]\nserde = "1"\n\n[patch.crates-io]\n'
        'serde = { git = "https://github.com/serde-rs/serde" }\n'
    }
    found = check(files, SERDE_LOCK)
    assert codes(found) == ["unknown"]
    assert "[patch.crates-io] serde points at git" in found[0].message


def test_path_patch_replaces_the_registry_package() -> None:
    files = {
        ".": '[workspace]\nmembers = ["app"]\n\n[patch.crates-io]\n'
        'servo-freetype-sys = { path = "proxy" }\n',
        "app": '[package]\nname = "app"\nversion = "0.1.0"\n'
        '[dependencies]\nservo-freetype-sys = "4"\n',
        "proxy": '[package]\nname = "servo-freetype-sys"\nversion = "4.0.3"\n',
    }
    text = lock_text(
        path_pkg("app", "0.1.0", "servo-freetype-sys"), path_pkg("servo-freetype-sys", "4.0.3")
    )
    assert check(files, text) == []


PATCHED = {
    ".": '[workspace]\nmembers = ["app"]\n\n[patch.crates-io]\nlog = { path = "vendor/log" }\n',
    "app": '[package]\nname = "app"\nversion = "0.1.0"\n[dependencies]\nlog = "0.4"\n',
    "vendor/log": '[package]\nname = "log"\nversion = "0.4.9"\n',
}


def unused(name: str, version: str) -> str:
    return f'[[patch.unused]]\nname = "{name}"\nversion = "{version}"\n\n'


def test_newer_patch_recorded_as_unused_is_up_to_date() -> None:
    """A patch with a newer compatible version stays unused while the lock pins the old one
    (cargo locks the dependency to =0.4.8): cargo records it under [[patch.unused]]."""
    text = lock_text(path_pkg("app", "0.1.0", "log"), registry_pkg("log", "0.4.8"))
    assert check(PATCHED, text + unused("log", "0.4.9")) == []
    found = check(PATCHED, text)  # not recorded: cargo would add the [[patch.unused]] entry
    assert [m.code for m in found] == ["member-missing"]
    assert "neither in Cargo.lock's graph nor under [[patch.unused]]" in found[0].message


def test_unused_patch_of_the_locked_version_would_be_used() -> None:
    files = dict(PATCHED, **{"vendor/log": '[package]\nname = "log"\nversion = "0.4.8"\n'})
    text = lock_text(path_pkg("app", "0.1.0", "log"), registry_pkg("log", "0.4.8"))
    found = check(files, text + unused("log", "0.4.8"))
    assert [m.code for m in found] == ["stale-package"]
    assert "cargo would use it" in found[0].message


def test_unused_entry_of_a_patch_that_is_gone() -> None:
    files = {".": APP + '[dependencies]\nserde = "1"\n'}
    # a path entry mapping to no local package is dropped by cargo; one with a source is not
    assert check(files, SERDE_LOCK + unused("gone", "1.0.0")) == []
    found = check(
        files, SERDE_LOCK + unused("gone", "1.0.0").replace("\n\n", f'\nsource = "{CRATES}"\n\n')
    )
    assert [m.code for m in found] == ["stale-package"]


def test_replaced_package_keeps_no_edges_and_points_at_its_replacement() -> None:
    files = {
        ".": APP + '[dependencies]\nlog = "0.4"\n\n[replace]\n"log:0.4.8" = { path = "log" }\n',
        "log": '[package]\nname = "log"\nversion = "0.4.8"\n[dependencies]\ncfg-if = "0.1"\n',
    }
    replaced = registry_pkg("log", "0.4.8").replace("\n\n", '\nreplace = "log 0.4.8"\n\n')
    text = lock_text(
        path_pkg("app", "0.1.0", "log 0.4.8 (" + CRATES + ")"),
        replaced,
        path_pkg("log", "0.4.8", "cfg-if"),
        registry_pkg("cfg-if", "0.1.10"),
    )
    assert check(files, text) == []
    plain = text.replace('replace = "log 0.4.8"\n', "")
    assert "stale-dependency" in codes(check(files, plain))


def test_dangling_dependency_strings_are_dropped_when_asked() -> None:
    """cargo ignores a dependency string that names no package (into_resolve)."""
    text = lock_text(
        path_pkg("app", "0.1.0", "serde", "no-such-package"), registry_pkg("serde", "1.0.102")
    )
    with pytest.raises(LockfileError, match="names no package"):
        lock(text)
    lenient = lockfile_from_mapping(tomllib.loads(text), text, drop_dangling=True)
    assert [str(d) for d in lenient.packages[0].dependencies] == ["serde"]
    files = {".": APP + '[dependencies]\nserde = "1"\n'}
    assert check_workspace(workspace(files), lenient, registries) == []


def test_without_packages_renumbers_and_drops_edges_to_them() -> None:
    text = lock_text(
        path_pkg("app", "0.1.0", "serde"),
        path_pkg("gone", "0.1.0", "serde"),
        registry_pkg("serde", "1.0.102"),
    )
    kept = without_packages(lock(text), {1})
    assert [(p.name, p.index) for p in kept.packages] == [("app", 0), ("serde", 1)]
    assert [p.name for p in kept.dependencies_of(kept.packages[0])] == ["serde"]


def test_manifest_from_mapping_feeds_the_check() -> None:
    """A workspace assembled by hand from manifest_from_mapping works the same."""
    root = manifest_from_mapping(tomllib.loads(APP + '[dependencies]\nserde = "^1.0.150"\n'))
    ws = Workspace(root, (root,))
    found = check_workspace(ws, lock(SERDE_LOCK), registries, lock_name="sub/Cargo.lock")
    assert [m.message for m in found] == [
        'serde = "^1.0.150" in Cargo.toml, lock has serde 1.0.102'
    ]


def test_lock_name_is_used_in_messages() -> None:
    text = lock_text(path_pkg("app", "0.1.0"), registry_pkg("serde", "1.0.102"))
    found = check_workspace(
        workspace({".": APP + '[dependencies]\nlog = "0.4"\n'}),
        lock(text),
        registries,
        lock_name="x/Cargo.lock",
    )
    assert {m.file for m in found} == {"Cargo.toml", "x/Cargo.lock"}
    assert all("x/Cargo.lock" in m.message for m in found)


@pytest.mark.parametrize(
    ("manifest_deps", "expected"),
    [
        ('serde = "1"', []),
        ('serde = "1.0.102"', []),
        ('serde = "~1.0.102"', []),
        ('serde = ">=1.0, <1.0.102"', ["unsatisfied-requirement"]),
        ('serde = "0.9"', ["unsatisfied-requirement"]),
        ('serde = "*"', []),
        ('serde = { version = "1", features = ["derive"], default-features = false }', []),
    ],
)
def test_requirement_matching(manifest_deps: str, expected: list[str]) -> None:
    files = {".": APP + "[dependencies]\n" + manifest_deps + "\n"}
    assert codes(check(files, SERDE_LOCK)) == expected


# ---------------------------------------------------------------------------------------------
# features: optional dependencies of locked packages (check_features, needs index entries)


def idx(
    name: str, vers: str, *deps: dict[str, Any], features: dict[str, list[str]] | None = None
) -> IndexEntry:
    data = {"name": name, "vers": vers, "deps": list(deps), "cksum": "0" * 64}
    data["features"] = features or {}
    return entry_from_mapping(data)


def idep(name: str, req: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "req": req, "features": [], "optional": False,
            "default_features": True, "target": None, "kind": "normal", **fields}  # fmt: skip


def with_features(
    files: Mapping[str, str], lock_text_: str, *entries: IndexEntry
) -> list[Mismatch]:
    """check_workspace + check_features, the way registry check runs them."""
    ws, lk = workspace(files), lock(lock_text_)
    by_id = {(e.name, e.vers): e for e in entries}
    found = {p.index: by_id[(p.name, p.version)] for p in lk.registry_packages()
             if (p.name, p.version) in by_id}  # fmt: skip
    return check_workspace(ws, lk, registries) + check_features(ws, lk, found)


SERDE = idx(
    "serde",
    "1.0.102",
    idep("serde_derive", "=1.0.102", optional=True),
    idep("serde_derive", "^1", kind="dev"),
    features={"default": ["std"], "std": [], "derive": ["serde_derive"], "alloc": []},
)
SERDE_DERIVE = idx("serde_derive", "1.0.102")
WITH_DERIVE = lock_text(
    path_pkg("app", "0.1.0", "serde"),
    registry_pkg("serde", "1.0.102", "serde_derive"),
    registry_pkg("serde_derive", "1.0.102"),
)


def app(dep: str, extra: str = "") -> dict[str, str]:
    return {".": APP + "[dependencies]\n" + dep + "\n" + extra}


def test_features_that_enable_no_optional_dependency() -> None:
    assert with_features(app('serde = "1"'), SERDE_LOCK, SERDE) == []
    both = app('serde = { version = "1", features = ["alloc"], default-features = false }')
    assert with_features(both, SERDE_LOCK, SERDE) == []


def test_feature_enabling_an_optional_dependency_the_lock_lacks() -> None:
    files = app('serde = { version = "1", features = ["derive"] }')
    found = with_features(files, SERDE_LOCK, SERDE)
    assert [(m.code, m.message, m.file, m.line) for m in found] == [
        (
            "missing-dependency",
            "serde 1.0.102 needs its optional dependency serde_derive =1.0.102 (enabled by "
            "features), which Cargo.lock does not list for it",
            "Cargo.lock",
            10,
        )
    ]
    assert with_features(files, WITH_DERIVE, SERDE, SERDE_DERIVE) == []


def test_optional_dependency_locked_though_no_feature_enables_it() -> None:
    found = with_features(app('serde = "1"'), WITH_DERIVE, SERDE, SERDE_DERIVE)
    assert [(m.code, m.message, m.line) for m in found] == [
        (
            "stale-dependency",
            "Cargo.lock lists serde_derive 1.0.102 as a dependency of serde 1.0.102, but no "
            "enabled feature turns on that optional dependency",
            10,
        )
    ]


FOO = idx(
    "foo",
    "1.0.0",
    idep("bar", "^1", optional=True),
    features={"default": ["bar"], "std": ["bar?/std"], "b": []},
)
BAR = idx("bar", "1.0.0", features={"std": []})
FOO_BAR = lock_text(
    path_pkg("app", "0.1.0", "foo"),
    registry_pkg("bar", "1.0.0"),
    registry_pkg("foo", "1.0.0", "bar"),
)
FOO_ALONE = lock_text(path_pkg("app", "0.1.0", "foo"), registry_pkg("foo", "1.0.0"))


def test_default_features_enable_an_optional_dependency() -> None:
    assert with_features(app('foo = "1"'), FOO_BAR, FOO, BAR) == []
    assert codes(with_features(app('foo = "1"'), FOO_ALONE, FOO)) == ["missing-dependency"]
    off = app('foo = { version = "1", default-features = false }')
    assert with_features(off, FOO_ALONE, FOO) == []
    assert codes(with_features(off, FOO_BAR, FOO, BAR)) == ["stale-dependency"]


def test_features_are_unified_over_every_dependent() -> None:
    """foo's defaults are off for app, but on for mid: foo keeps bar."""
    mid = idx("mid", "1.0.0", idep("foo", "^1"))
    files = app('foo = { version = "1", default-features = false }\nmid = "1"')
    text = lock_text(
        path_pkg("app", "0.1.0", "foo", "mid"),
        registry_pkg("bar", "1.0.0"),
        registry_pkg("foo", "1.0.0", "bar"),
        registry_pkg("mid", "1.0.0", "foo"),
    )
    assert with_features(files, text, FOO, BAR, mid) == []
    mid_off = idx("mid", "1.0.0", idep("foo", "^1", default_features=False))
    assert codes(with_features(files, text, FOO, BAR, mid_off)) == ["stale-dependency"]


def test_weak_dependency_feature_still_locks_the_dependency() -> None:
    """cargo#10801: `bar?/std` puts bar in the lock even though nothing else enables bar."""
    files = app('foo = { version = "1", default-features = false, features = ["std"] }')
    assert with_features(files, FOO_BAR, FOO, BAR) == []
    assert codes(with_features(files, FOO_ALONE, FOO)) == ["missing-dependency"]


def test_namespaced_dependency_features() -> None:
    foo = idx(
        "foo",
        "1.0.0",
        idep("bar", "^1", optional=True),
        features={"fast": ["dep:bar"]},
    )
    fast = app('foo = { version = "1", features = ["fast"] }')
    assert with_features(fast, FOO_BAR, foo, BAR) == []
    assert codes(with_features(fast, FOO_ALONE, foo)) == ["missing-dependency"]
    # `dep:bar` hides the implicit feature `bar`: asking for it is an error in cargo
    implicit = app('foo = { version = "1", features = ["bar"] }')
    found = with_features(implicit, FOO_BAR, foo, BAR)
    assert codes(found) == ["missing-feature", "stale-dependency"]


def test_renamed_optional_dependency_in_the_index() -> None:
    foo = idx(
        "foo",
        "1.0.0",
        idep("b2", "^1", optional=True, package="bar"),
        features={"x": ["b2/std"]},
    )
    files = app('foo = { version = "1", features = ["x"] }')
    assert with_features(files, FOO_BAR, foo, BAR) == []
    assert codes(with_features(files, FOO_ALONE, foo)) == ["missing-dependency"]


def test_missing_feature() -> None:
    files = app('serde = { version = "1", features = ["nope"] }')
    found = with_features(files, SERDE_LOCK, SERDE)
    assert [(m.code, m.message, m.file) for m in found] == [
        (
            "missing-feature",
            "serde 1.0.102 has no feature `nope`, which app 0.1.0 asks for",
            "Cargo.toml",
        )
    ]
    # "default" may be asked of a crate without one
    assert with_features(app('bar = "1"'), lock_text(
        path_pkg("app", "0.1.0", "bar"), registry_pkg("bar", "1.0.0")), BAR) == []  # fmt: skip


def test_member_features_reach_registry_dependencies() -> None:
    """Members are resolved with all their features: `serde/derive` in [features] counts."""
    files = app('serde = "1"', '\n[features]\nmacros = ["serde/derive"]\n')
    assert with_features(files, WITH_DERIVE, SERDE, SERDE_DERIVE) == []
    assert codes(with_features(files, SERDE_LOCK, SERDE)) == ["missing-dependency"]


def test_nothing_called_stale_below_a_package_without_an_entry() -> None:
    files = app('mid = "1"')
    text = lock_text(
        path_pkg("app", "0.1.0", "mid"),
        registry_pkg("bar", "1.0.0"),
        registry_pkg("foo", "1.0.0", "bar"),
        registry_pkg("mid", "1.0.0", "foo"),
    )
    mid_off = idx("mid", "1.0.0", idep("foo", "^1", default_features=False))
    assert codes(with_features(files, text, FOO, BAR, mid_off)) == ["stale-dependency"]
    # without mid's entry, foo's features are not known: no claim either way
    assert with_features(files, text, FOO, BAR) == []

"""``registry validate``: the pure rules of query/validate.py, then real lockfiles against the
bundled 2019 index (clean, mutated, offline, private registries, source replacement, request
counts) and malformed input through the CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from query.entry import INVALID, UNSUPPORTED, IndexEntry, entry_from_mapping
from query.lockfile import Lockfile, lockfile_from_mapping
from query.validate import (
    CRATES_IO_GIT_URL,
    ERROR,
    OK,
    PROBLEM,
    UNKNOWN,
    WARNING,
    MissingCrate,
    MissingVersion,
    Unknown,
    judge_package,
    same_registry,
    validate_lockfile,
)
from tests.checkutil import (
    CRATES_IO,
    INDEX,
    LOCKFILES,
    PROJECT_NAMES,
    PROJECTS,
    Result,
    edit_package,
    isolate,
    lock_packages,
    package_line,
    problem_packages,
    replace_once,
    run_cli,
    run_sub,
    tree,
)
from tests.httpserver import IndexServer, index_path

CKSUM_A = "a" * 64
CKSUM_B = "b" * 64
CKSUM_C = "c" * 64
PRIVATE = "sparse+https://corp.example/index/"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path)


# =============================================================================================
# pure rules: hand-built lockfiles and index entries


def pkg(
    name: str,
    version: str,
    *deps: str,
    source: str | None = CRATES_IO,
    checksum: str | None = None,
) -> dict[str, Any]:
    table: dict[str, Any] = {"name": name, "version": version}
    if source is not None:
        table["source"] = source
    if checksum is not None:
        table["checksum"] = checksum
    if deps:
        table["dependencies"] = list(deps)
    return table


def make_lock(*packages: dict[str, Any], version: int | None = 4, **extra: Any) -> Lockfile:
    data: dict[str, Any] = {"package": list(packages), **extra}
    if version is not None:
        data["version"] = version
    return lockfile_from_mapping(data)


def dep(name: str, req: str, **fields: Any) -> dict[str, Any]:
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


def entry(
    name: str,
    vers: str,
    *deps: dict[str, Any],
    cksum: str = CKSUM_A,
    **fields: Any,
) -> IndexEntry:
    data = {"name": name, "vers": vers, "deps": list(deps), "cksum": cksum, "features": {}}
    data.update(fields)
    return entry_from_mapping(data, json.dumps(data).encode())


# A small graph: app (path) -> foo 1.2.3 -> bar 0.4.1; every index entry in agreement.
BASE_LOCK = (
    pkg("app", "0.1.0", "foo", source=None),
    pkg("foo", "1.2.3", "bar", checksum=CKSUM_A),
    pkg("bar", "0.4.1", checksum=CKSUM_B),
)
FOO = entry("foo", "1.2.3", dep("bar", "^0.4"), dep("quickcheck", "^0.8", kind="dev"))
BAR = entry("bar", "0.4.1", cksum=CKSUM_B)


def judge(
    lock: Lockfile, name: str, lookup: Any, *, deny_yanked: bool = False
) -> tuple[str, list[tuple[str, str]], list[str]]:
    package = next(p for p in lock.registry_packages() if p.name == name)
    result = judge_package(package, lookup, lock, deny_yanked=deny_yanked)
    assert (result.source, result.name, result.version) == (
        package.source,
        package.name,
        package.version,
    )
    return (
        result.status,
        [(p.code, p.severity) for p in result.problems],
        [p.message for p in result.problems],
    )


def test_sound_package_is_ok() -> None:
    lock = make_lock(*BASE_LOCK)
    assert judge(lock, "foo", FOO) == (OK, [], [])
    assert judge(lock, "bar", BAR) == (OK, [], [])


# Each row: description, lockfile packages, the package judged, its lookup, deny_yanked,
# expected status, expected (code, severity) list, a fragment every message must contain.
CASES: list[tuple[str, tuple[dict[str, Any], ...], str, Any, bool, str, list[Any], str]] = [
    (
        "unknown",
        BASE_LOCK,
        "foo",
        Unknown("offline and not cached"),
        False,
        UNKNOWN,
        [("unknown", ERROR)],
        "offline and not cached",
    ),
    (
        "missing-crate",
        BASE_LOCK,
        "foo",
        MissingCrate(),
        False,
        PROBLEM,
        [("missing-crate", ERROR)],
        f"foo does not exist in {CRATES_IO}",
    ),
    (
        "missing-version",
        BASE_LOCK,
        "foo",
        MissingVersion(("1.2.2", "1.2.1")),
        False,
        PROBLEM,
        [("missing-version", ERROR)],
        "foo has no version 1.2.3",
    ),
    (
        "invalid-entry",
        BASE_LOCK,
        "foo",
        entry("foo", "1.2.3", features={"x": ["nope"]}),
        False,
        PROBLEM,
        [("invalid-entry", ERROR)],
        "foo 1.2.3: the index entry is invalid",
    ),
    (
        "unsupported-entry",
        BASE_LOCK,
        "foo",
        entry("foo", "1.2.3", dep("bar", "^0.4"), v=3),
        False,
        PROBLEM,
        [("unsupported-entry", ERROR)],
        "index schema v3",
    ),
    (
        "missing-checksum (v4 lock)",
        (BASE_LOCK[0], pkg("foo", "1.2.3", "bar"), BASE_LOCK[2]),
        "foo",
        FOO,
        False,
        PROBLEM,
        [("missing-checksum", ERROR)],
        f"index cksum {CKSUM_A}",
    ),
    (
        "checksum-mismatch",
        (BASE_LOCK[0], pkg("foo", "1.2.3", "bar", checksum=CKSUM_C), BASE_LOCK[2]),
        "foo",
        FOO,
        False,
        PROBLEM,
        [("checksum-mismatch", ERROR)],
        f"lockfile checksum {CKSUM_C} is not the index cksum {CKSUM_A}",
    ),
    (
        "yanked: a warning",
        BASE_LOCK,
        "bar",
        entry("bar", "0.4.1", cksum=CKSUM_B, yanked=True),
        False,
        OK,
        [("yanked", WARNING)],
        "bar 0.4.1 is yanked",
    ),
    (
        "yanked: an error with deny_yanked",
        BASE_LOCK,
        "bar",
        entry("bar", "0.4.1", cksum=CKSUM_B, yanked=True),
        True,
        PROBLEM,
        [("yanked", ERROR)],
        "bar 0.4.1 is yanked",
    ),
    (
        "dep-mismatch: locked edge the entry does not declare",
        BASE_LOCK,
        "foo",
        entry("foo", "1.2.3"),
        False,
        PROBLEM,
        [("dep-mismatch", ERROR)],
        "locks a dependency on bar 0.4.1, which its index entry does not declare",
    ),
    (
        "dep-mismatch: locked edge only declared as a dev-dependency",
        BASE_LOCK,
        "foo",
        entry("foo", "1.2.3", dep("bar", "^0.4", kind="dev")),
        False,
        PROBLEM,
        [("dep-mismatch", ERROR)],
        "which its index entry does not declare",
    ),
    (
        "dep-mismatch: locked version outside the requirement",
        BASE_LOCK,
        "foo",
        entry("foo", "1.2.3", dep("bar", "^0.5")),
        False,
        PROBLEM,
        [("dep-mismatch", ERROR)],
        "requires bar ^0.5, but the lock has bar 0.4.1",
    ),
    (
        "dep-mismatch: non-optional normal dependency absent from the lock",
        BASE_LOCK,
        "foo",
        entry("foo", "1.2.3", dep("bar", "^0.4"), dep("baz", "^1")),
        False,
        PROBLEM,
        [("dep-mismatch", ERROR)],
        "requires baz ^1 (normal), but the lock lists no such dependency",
    ),
    (
        "dep-mismatch: build dependency absent from the lock",
        BASE_LOCK,
        "foo",
        entry("foo", "1.2.3", dep("bar", "^0.4"), dep("cc", "^1", kind="build")),
        False,
        PROBLEM,
        [("dep-mismatch", ERROR)],
        "requires cc ^1 (build)",
    ),
    (
        "dep-mismatch: target-specific dependency absent (the lock holds every target)",
        BASE_LOCK,
        "foo",
        entry("foo", "1.2.3", dep("bar", "^0.4"), dep("winapi", "^0.3", target="cfg(windows)")),
        False,
        PROBLEM,
        [("dep-mismatch", ERROR)],
        "requires winapi ^0.3 (normal)",
    ),
    (
        "dep-mismatch: locked from another registry than the entry says",
        BASE_LOCK,
        "foo",
        entry("foo", "1.2.3", dep("bar", "^0.4", registry=PRIVATE.removeprefix("sparse+"))),
        False,
        PROBLEM,
        [("dep-mismatch", ERROR)],
        f"but the lock takes it from {CRATES_IO}",
    ),
    (
        "every problem at once, in order",
        (BASE_LOCK[0], pkg("foo", "1.2.3", "bar", checksum=CKSUM_C), BASE_LOCK[2]),
        "foo",
        entry("foo", "1.2.3", dep("bar", "^0.5"), yanked=True),
        False,
        PROBLEM,
        [("checksum-mismatch", ERROR), ("yanked", WARNING), ("dep-mismatch", ERROR)],
        "foo 1.2.3",
    ),
]


@pytest.mark.parametrize(
    ("packages", "name", "lookup", "deny", "status", "problems", "fragment"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_problem_codes(
    packages: tuple[dict[str, Any], ...],
    name: str,
    lookup: Any,
    deny: bool,
    status: str,
    problems: list[tuple[str, str]],
    fragment: str,
) -> None:
    lock = make_lock(*packages)
    got_status, got_problems, messages = judge(lock, name, lookup, deny_yanked=deny)
    assert got_status == status
    assert got_problems == problems
    assert any(fragment in m for m in messages), messages
    for message in messages:
        assert "\n" not in message


def test_every_documented_code_has_a_case() -> None:
    import query.validate

    documented = set(re.findall(r"^    ([a-z-]+)\s{2,}", query.validate.__doc__ or "", re.M))
    covered = {code for case in CASES for code, _ in case[6]}
    assert documented == covered


def test_missing_version_message_lists_known_versions() -> None:
    lock = make_lock(*BASE_LOCK)
    _, _, messages = judge(lock, "foo", MissingVersion(("1.2.2", "1.2.1")))
    assert messages == [f"foo has no version 1.2.3 in {CRATES_IO} (newest known: 1.2.2, 1.2.1)"]
    _, _, messages = judge(lock, "foo", MissingVersion())
    assert messages == [f"foo has no version 1.2.3 in {CRATES_IO}"]


def test_entries_that_are_not_problems() -> None:
    lock = make_lock(*BASE_LOCK)
    optional = entry("foo", "1.2.3", dep("bar", "^0.4"), dep("serde", "^1", optional=True))
    assert judge(lock, "foo", optional) == (OK, [], [])
    dev_only = entry("foo", "1.2.3", dep("bar", "^0.4"), dep("rand", "^0.6", kind="dev"))
    assert judge(lock, "foo", dev_only) == (OK, [], [])
    # renamed in the index (name = how the code calls it, package = the crate): ok
    renamed = entry("foo", "1.2.3", dep("bar_renamed", "^0.4", package="bar"))
    assert judge(lock, "foo", renamed) == (OK, [], [])
    # two requirements on the same crate (say per target): one matching is enough
    two = entry("foo", "1.2.3", dep("bar", "^0.5", target="cfg(unix)"), dep("bar", "^0.4"))
    assert judge(lock, "foo", two) == (OK, [], [])
    # a dependency on crates.io named explicitly by its git URL
    explicit = entry("foo", "1.2.3", dep("bar", "^0.4", registry=CRATES_IO_GIT_URL))
    assert judge(lock, "foo", explicit) == (OK, [], [])


def test_renamed_dependency_absent_is_named_by_its_package() -> None:
    lock = make_lock(*BASE_LOCK)
    renamed = entry("foo", "1.2.3", dep("bar", "^0.4"), dep("s", "^1", package="serde"))
    _, problems, messages = judge(lock, "foo", renamed)
    assert problems == [("dep-mismatch", ERROR)]
    assert "requires serde ^1" in messages[0]


def test_checksum_rules_by_lockfile_format() -> None:
    # v1: no [metadata] checksum is no checksum, never a problem
    app = pkg("app", "0.1.0", f"foo 1.2.3 ({CRATES_IO})", source=None)
    v1 = make_lock(
        app, pkg("foo", "1.2.3", f"bar 0.4.1 ({CRATES_IO})"), pkg("bar", "0.4.1"), version=None
    )
    assert v1.version == 1
    assert judge(v1, "foo", FOO) == (OK, [], [])
    # v1 [metadata] checksums are judged like inline ones
    key = f"checksum foo 1.2.3 ({CRATES_IO})"
    v1_meta = make_lock(
        app,
        pkg("foo", "1.2.3", f"bar 0.4.1 ({CRATES_IO})"),
        pkg("bar", "0.4.1"),
        version=None,
        metadata={key: CKSUM_C},
    )
    assert v1_meta.version == 1
    assert judge(v1_meta, "foo", FOO)[1] == [("checksum-mismatch", ERROR)]
    v1_ok = make_lock(
        app,
        pkg("foo", "1.2.3", f"bar 0.4.1 ({CRATES_IO})"),
        pkg("bar", "0.4.1"),
        version=None,
        metadata={key: CKSUM_A},
    )
    assert judge(v1_ok, "foo", FOO) == (OK, [], [])
    # v2+ file with v1 checksum keys: cargo discards every checksum, so nothing is missing
    mixed = make_lock(
        BASE_LOCK[0],
        pkg("foo", "1.2.3", "bar", checksum=CKSUM_C),
        BASE_LOCK[2],
        metadata={key: CKSUM_C},
    )
    assert mixed.checksums_discarded
    assert judge(mixed, "foo", FOO) == (OK, [], [])


def test_same_registry() -> None:
    from query.entry import IndexDependency

    own = IndexDependency("bar", "^1")
    assert same_registry(own, CRATES_IO, CRATES_IO)
    assert not same_registry(own, CRATES_IO, PRIVATE)
    assert not same_registry(own, CRATES_IO, None)
    crates = IndexDependency("bar", "^1", registry=CRATES_IO_GIT_URL)
    assert same_registry(crates, PRIVATE, CRATES_IO)
    assert same_registry(crates, PRIVATE, "sparse+https://index.crates.io/")
    assert not same_registry(crates, PRIVATE, PRIVATE)
    other = IndexDependency("bar", "^1", registry="https://other.example/index")
    assert same_registry(other, CRATES_IO, "registry+https://other.example/index")
    assert not same_registry(other, CRATES_IO, CRATES_IO)


def test_validate_lockfile_judges_registry_packages_only() -> None:
    lock = make_lock(
        *BASE_LOCK,
        pkg("gitdep", "0.1.0", source="git+https://example.com/g#abc"),
    )
    by_index = {p.index: (FOO if p.name == "foo" else BAR) for p in lock.registry_packages()}
    results = validate_lockfile(lock, by_index)
    assert [(r.name, r.status) for r in results] == [("foo", OK), ("bar", OK)]
    seen: list[str] = []

    def lookup(package: Any) -> Any:
        seen.append(package.name)
        return MissingCrate()

    results = validate_lockfile(lock, lookup)
    assert seen == ["foo", "bar"]
    assert [r.status for r in results] == [PROBLEM, PROBLEM]
    subset = validate_lockfile(lock, lookup, packages=[lock.registry_packages()[1]])
    assert [r.name for r in subset] == ["bar"]


def test_identity_is_source_name_version() -> None:
    lock = make_lock(
        pkg("app", "0.1.0", f"foo 1.0.0 ({CRATES_IO})", f"foo 1.0.0 ({PRIVATE})", source=None),
        pkg("foo", "1.0.0", checksum=CKSUM_A),
        pkg("foo", "1.0.0", source=PRIVATE, checksum=CKSUM_B),
    )
    crates, private = lock.registry_packages()
    entries = {
        crates.index: entry("foo", "1.0.0"),
        private.index: entry("foo", "1.0.0", cksum=CKSUM_B),
    }
    results = validate_lockfile(lock, entries)
    assert [(r.source, r.status) for r in results] == [(CRATES_IO, OK), (PRIVATE, OK)]
    swapped = {crates.index: entries[private.index], private.index: entries[crates.index]}
    results = validate_lockfile(lock, swapped)
    assert [[p.code for p in r.problems] for r in results] == [
        ["checksum-mismatch"],
        ["checksum-mismatch"],
    ]


def test_invalid_and_unsupported_entries_are_classified() -> None:
    assert entry("foo", "1.2.3", features={"x": ["nope"]}).status == INVALID
    assert entry("foo", "1.2.3", v=3).status == UNSUPPORTED


# =============================================================================================
# real lockfiles, bundled index (a local index directory: no server needed)


def validate(
    capsys: pytest.CaptureFixture[str], cache: Path, lockfile: Path, *options: str, index: str = ""
) -> Result:
    return run_cli(
        capsys,
        "--index-url",
        index or str(INDEX),
        "--cache-dir",
        str(cache),
        "validate",
        str(lockfile),
        "--format",
        "json",
        *options,
    )


def verdicts(report: Mapping[str, Any]) -> list[tuple[str, str, str, str, tuple[Any, ...]]]:
    return sorted(
        (
            p["source"],
            p["name"],
            p["version"],
            p["status"],
            tuple((q["code"], q["severity"]) for q in p["problems"]),
        )
        for p in report["packages"]
    )


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("validate-cache")


@pytest.mark.parametrize("project", PROJECT_NAMES)
def test_real_projects_validate_clean_in_every_format(
    project: str, shared_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = []
    for lockname in LOCKFILES:
        path = PROJECTS / project / lockname
        result = validate(capsys, shared_cache, path)
        assert result.code == 0, result.out + result.err
        report = result.json()
        assert report["status"] == "sound"
        locked = lock_packages(path)
        registry = [p for p in locked if "source" in p]
        assert report["summary"]["checked"] == len(registry)
        assert report["summary"]["skipped"] == len(locked) - len(registry)
        assert report["summary"]["problems"] == 0
        assert report["summary"]["unknown"] == 0
        warned = [
            (p["name"], p["version"], [q["code"] for q in p["problems"]])
            for p in problem_packages(report)
        ]
        if project == "alacritty":
            assert warned == [("libflate", "0.1.23", ["yanked"])]
            assert report["summary"]["warnings"] == 1
            libflate = next(p for p in report["packages"] if p["name"] == "libflate")
            assert libflate["status"] == OK
            assert libflate["problems"][0]["severity"] == WARNING
            assert libflate["line"] == package_line(path.read_text(), "libflate", "0.1.23")
        else:
            assert warned == []
        seen.append(verdicts(report))
    assert seen[0] == seen[1] == seen[2]


def copy_lock(src: Path, dest_dir: Path, name: str = "Cargo.lock") -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / name
    target.write_text(src.read_text())
    return target


def single_problem(report: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    flagged = problem_packages(report)
    assert len(flagged) == 1, flagged
    assert len(flagged[0]["problems"]) == 1, flagged[0]
    return flagged[0], flagged[0]["problems"][0]


RIPGREP_V4 = PROJECTS / "ripgrep" / "Cargo.lock.v4"
RIPGREP_V1 = PROJECTS / "ripgrep" / "Cargo.lock"
REGEX_SUM = "6b23da8dfd98a84bd7e08700190a5d9f7d2d38abd4369dd1dae651bc40bfd2cc"
BAD_SUM = "0" * 64


def test_mutation_checksum_inline_v4(
    tmp_path: Path, shared_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = RIPGREP_V4.read_text()
    text = edit_package(text, "regex", "1.2.0", REGEX_SUM, BAD_SUM)
    lock = tmp_path / "Cargo.lock"
    lock.write_text(text)
    result = validate(capsys, shared_cache, lock)
    assert result.code == 1
    package, problem = single_problem(result.json())
    assert (package["name"], package["version"], package["status"]) == ("regex", "1.2.0", PROBLEM)
    assert problem["code"] == "checksum-mismatch"
    assert BAD_SUM in problem["message"] and REGEX_SUM in problem["message"]
    assert package["line"] == package_line(text, "regex", "1.2.0") == 461


def test_mutation_checksum_v1_metadata(
    tmp_path: Path, shared_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = RIPGREP_V1.read_text()
    key = f'"checksum regex 1.2.0 ({CRATES_IO})" = "{REGEX_SUM}"'
    text = replace_once(text, key, key.replace(REGEX_SUM, BAD_SUM))
    lock = tmp_path / "Cargo.lock"
    lock.write_text(text)
    result = validate(capsys, shared_cache, lock)
    assert result.code == 1
    package, problem = single_problem(result.json())
    assert (package["name"], package["version"]) == ("regex", "1.2.0")
    assert problem["code"] == "checksum-mismatch"
    assert package["line"] == package_line(text, "regex", "1.2.0")


def test_mutation_version_that_does_not_exist(
    tmp_path: Path, shared_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # v1: every reference names the version; rename them all (checksum key included)
    text = RIPGREP_V1.read_text()
    assert "regex 1.2.99" not in text
    text = text.replace("regex 1.2.0 (", "regex 1.2.99 (")
    text = edit_package(text, "regex", "1.2.0", 'version = "1.2.0"', 'version = "1.2.99"')
    lock = tmp_path / "Cargo.lock"
    lock.write_text(text)
    result = validate(capsys, shared_cache, lock)
    assert result.code == 1
    package, problem = single_problem(result.json())
    assert (package["name"], package["version"]) == ("regex", "1.2.99")
    assert problem["code"] == "missing-version"
    assert "newest known: 1.3.1" in problem["message"]
    assert package["line"] == package_line(text, "regex", "1.2.99")


def test_mutation_crate_that_does_not_exist(
    tmp_path: Path, shared_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = RIPGREP_V4.read_text()
    block = (
        '[[package]]\nname = "no-such-crate-registry-test"\nversion = "1.0.0"\n'
        f'source = "{CRATES_IO}"\nchecksum = "{BAD_SUM}"\n\n'
    )
    text = replace_once(
        text, '[[package]]\nname = "regex"\n', block + '[[package]]\nname = "regex"\n'
    )
    lock = tmp_path / "Cargo.lock"
    lock.write_text(text)
    result = validate(capsys, shared_cache, lock)
    assert result.code == 1
    package, problem = single_problem(result.json())
    assert package["name"] == "no-such-crate-registry-test"
    assert problem["code"] == "missing-crate"
    assert package["line"] == package_line(text, "no-such-crate-registry-test") == 461


def _yanked_lock(tmp_path: Path) -> tuple[Path, str]:
    """alacritty's v4 lock with matches 0.1.8 replaced by the yanked 0.1.1 (index cksum)."""
    lines = (INDEX / index_path("matches")).read_text().splitlines()
    yanked = next(json.loads(line) for line in lines if '"vers":"0.1.1"' in line)
    assert yanked["yanked"] is True and yanked["deps"] == []
    text = (PROJECTS / "alacritty" / "Cargo.lock.v4").read_text()
    start = text.index('[[package]]\nname = "matches"\nversion = "0.1.8"\n')
    block_end = text.index("\n\n", start)
    block = text[start:block_end]
    new_block = re.sub(r'checksum = "[0-9a-f]+"', f'checksum = "{yanked["cksum"]}"', block)
    new_block = new_block.replace('version = "0.1.8"', 'version = "0.1.1"')
    text = text[:start] + new_block + text[block_end:]
    lock = tmp_path / "Cargo.lock"
    lock.write_text(text)
    return lock, text


def test_mutation_yanked_version(
    tmp_path: Path, shared_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock, text = _yanked_lock(tmp_path)
    result = validate(capsys, shared_cache, lock)
    assert result.code == 0, result.out
    report = result.json()
    assert report["status"] == "sound"
    yanked = {
        (p["name"], p["version"]): [(q["code"], q["severity"]) for q in p["problems"]]
        for p in problem_packages(report)
    }
    assert yanked == {
        ("matches", "0.1.1"): [("yanked", WARNING)],
        ("libflate", "0.1.23"): [("yanked", WARNING)],
    }
    matches = next(p for p in report["packages"] if p["name"] == "matches")
    assert matches["status"] == OK
    assert matches["line"] == package_line(text, "matches", "0.1.1")

    denied = validate(capsys, shared_cache, lock, "--deny-yanked")
    assert denied.code == 1
    report = denied.json()
    assert report["status"] == "problems"
    statuses = {(p["name"], p["status"]) for p in problem_packages(report)}
    assert statuses == {("matches", PROBLEM), ("libflate", PROBLEM)}
    assert {q["severity"] for p in problem_packages(report) for q in p["problems"]} == {ERROR}


def test_mutation_dependency_edge_removed(
    tmp_path: Path, shared_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = RIPGREP_V4.read_text()
    text = edit_package(text, "regex", "1.2.0", ' "thread_local",\n', "")
    lock = tmp_path / "Cargo.lock"
    lock.write_text(text)
    result = validate(capsys, shared_cache, lock)
    assert result.code == 1
    package, problem = single_problem(result.json())
    assert (package["name"], package["version"]) == ("regex", "1.2.0")
    assert problem["code"] == "dep-mismatch"
    assert "thread_local" in problem["message"]
    assert package["line"] == 461


def test_human_output_names_the_line(
    tmp_path: Path, shared_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = edit_package(RIPGREP_V4.read_text(), "regex", "1.2.0", REGEX_SUM, BAD_SUM)
    lock = tmp_path / "Cargo.lock"
    lock.write_text(text)
    result = run_cli(
        capsys, "--index-url", str(INDEX), "--cache-dir", str(shared_cache), "validate", str(lock)
    )
    assert result.code == 1
    assert "checksum-mismatch (1 error)" in result.out
    assert "regex 1.2.0 (line 461):" in result.out


# --- offline, unknowns -------------------------------------------------------------------------


def test_offline_on_an_empty_cache(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lockfile = PROJECTS / "fd" / "Cargo.lock"
    registry = [p for p in lock_packages(lockfile) if "source" in p]
    with IndexServer(INDEX) as server:
        base = ["--index-url", "sparse+" + server.url, "--cache-dir", str(tmp_path / "c")]
        base += ["--offline", "validate", str(lockfile), "--format", "json"]
        result = run_cli(capsys, *base)
        assert result.code == 3
        report = result.json()
        assert report["status"] == "unknown"
        assert len(report["packages"]) == len(registry)
        assert {p["status"] for p in report["packages"]} == {UNKNOWN}
        assert {q["code"] for p in report["packages"] for q in p["problems"]} == {"unknown"}
        assert report["summary"]["unknown"] == len(registry)
        for policy in ("warn", "ignore"):
            result = run_cli(capsys, *base, f"--unknown={policy}")
            assert result.code == 0, policy
            assert result.json()["summary"]["unknown"] == len(registry)
        human = run_cli(capsys, *base[:-2], "--unknown=ignore")
        assert human.code == 0
        assert "unknown" not in human.out.split("\n", 1)[-1]
        assert server.requests == []


# --- identity by source, source mapping ------------------------------------------------------


ITOA_SUM = "501266b7edd0174f8530248f87f99c88fbe60ca4ef3dd486835b8d8d53136f7f"


def _two_itoas(private: str, crates_sum: str, private_sum: str) -> str:
    return f"""version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "itoa 0.4.4 ({CRATES_IO})",
 "itoa 0.4.4 ({private})",
]

[[package]]
name = "itoa"
version = "0.4.4"
source = "{CRATES_IO}"
checksum = "{crates_sum}"

[[package]]
name = "itoa"
version = "0.4.4"
source = "{private}"
checksum = "{private_sum}"
"""


@pytest.fixture
def private_server(tmp_path: Path) -> Iterator[IndexServer]:
    """A private sparse registry with its own itoa 0.4.4 (another cksum than crates.io's)."""
    root = tmp_path / "private-index"
    root.mkdir()
    (root / "config.json").write_text('{"dl": "http://127.0.0.1/dl"}')
    line = {"name": "itoa", "vers": "0.4.4", "deps": [], "cksum": CKSUM_C, "features": {}}
    path = root / index_path("itoa")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(line) + "\n")
    with IndexServer(root) as server:
        yield server


def test_private_registry_package_is_judged_by_its_own_index(
    tmp_path: Path, private_server: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    private = "sparse+" + private_server.url
    lock = tmp_path / "app" / "Cargo.lock"
    lock.parent.mkdir()
    lock.write_text(_two_itoas(private, ITOA_SUM, CKSUM_C))
    result = validate(capsys, tmp_path / "cache", lock)
    assert result.code == 0, result.out
    report = result.json()
    assert [(p["source"], p["status"]) for p in report["packages"]] == [
        (CRATES_IO, OK),
        (private, OK),
    ]
    assert sorted(r.rel or "" for r in private_server.requests) == ["config.json", "it/oa/itoa"]

    lock.write_text(_two_itoas(private, CKSUM_C, ITOA_SUM))
    result = validate(capsys, tmp_path / "cache", lock)
    assert result.code == 1
    report = result.json()
    assert [(p["source"], [q["code"] for q in p["problems"]]) for p in report["packages"]] == [
        (CRATES_IO, ["checksum-mismatch"]),
        (private, ["checksum-mismatch"]),
    ]
    crates, own = report["packages"]
    assert ITOA_SUM in crates["problems"][0]["message"].split("index cksum")[1]
    assert CKSUM_C in own["problems"][0]["message"].split("index cksum")[1]


def test_unknown_registry_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = "registry+https://example.invalid/index"
    text = _two_itoas(other, ITOA_SUM, CKSUM_C)
    lock = tmp_path / "Cargo.lock"
    lock.write_text(text)
    result = validate(capsys, tmp_path / "cache", lock)
    assert result.code == 3
    report = result.json()
    assert [(p["source"], p["status"]) for p in report["packages"]] == [
        (CRATES_IO, OK),
        (other, UNKNOWN),
    ]
    message = report["packages"][1]["problems"][0]["message"]
    assert message == f"no sparse index known for {other}"
    assert (
        run_cli(
            capsys,
            "--index-url",
            str(INDEX),
            "--cache-dir",
            str(tmp_path / "cache"),
            "validate",
            str(lock),
            "--unknown=warn",
        ).code
        == 0
    )


def test_source_replacement_from_cargo_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "proj"
    lock = copy_lock(PROJECTS / "fd" / "Cargo.lock.v4", project)
    names = {p["name"] for p in lock_packages(lock) if "source" in p}
    with IndexServer(INDEX) as mirror:
        (project / ".cargo").mkdir()
        (project / ".cargo" / "config.toml").write_text(
            '[source.crates-io]\nreplace-with = "mirror"\n\n'
            f'[source.mirror]\nregistry = "sparse+{mirror.url}"\n'
        )
        cache = tmp_path / "cache"
        # no --index-url: the config next to the lockfile sends crates.io to the mirror
        result = run_cli(capsys, "--cache-dir", str(cache), "validate", str(lock))
        assert result.code == 0, result.out + result.err
        rels = sorted(r.rel or "" for r in mirror.requests)
        assert rels == sorted(["config.json", *(index_path(n) for n in names)])
        # --index-url overrides the replacement: the mirror sees nothing more
        mirror.clear_requests()
        result = run_cli(
            capsys, "--index-url", str(INDEX), "--cache-dir", str(cache), "validate", str(lock)
        )
        assert result.code == 0, result.out + result.err
        assert mirror.requests == []


def test_source_replacement_in_a_parent_directory_and_cargo_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = copy_lock(PROJECTS / "fd" / "Cargo.lock.v4", tmp_path / "a" / "b")
    with IndexServer(INDEX) as mirror:
        home = tmp_path / "home"
        home.mkdir()
        (home / "config.toml").write_text(
            '[source.crates-io]\nreplace-with = "m"\n\n'
            f'[source.m]\nregistry = "sparse+{mirror.url}"\n'
        )
        monkeypatch.setenv("CARGO_HOME", str(home))
        result = run_cli(capsys, "--cache-dir", str(tmp_path / "c1"), "validate", str(lock))
        assert result.code == 0, result.out + result.err
        assert mirror.requests
        # a nearer config (in a parent of the lockfile's directory) wins over CARGO_HOME's,
        # which now points nowhere
        (home / "config.toml").write_text(
            '[source.crates-io]\nreplace-with = "m"\n\n'
            '[source.m]\nregistry = "sparse+http://127.0.0.1:9/never/"\n'
        )
        (tmp_path / "a" / ".cargo").mkdir()
        (tmp_path / "a" / ".cargo" / "config.toml").write_text(
            '[source.crates-io]\nreplace-with = "near"\n\n'
            f'[source.near]\nregistry = "sparse+{mirror.url}"\n'
        )
        mirror.clear_requests()
        result = run_cli(capsys, "--cache-dir", str(tmp_path / "c2"), "validate", str(lock))
        assert result.code == 0, result.out + result.err
        assert mirror.requests


# --- request counts ------------------------------------------------------------------------


def test_one_request_per_distinct_index_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lockfile = PROJECTS / "alacritty" / "Cargo.lock"
    locked = [p for p in lock_packages(lockfile) if "source" in p]
    names = [p["name"] for p in locked]
    assert len(names) > len(set(names)), "the lock should hold two versions of some crate"
    expected = sorted(["config.json", *{index_path(n) for n in names}])

    from cache.store import IndexStore

    reads: dict[str, int] = {}
    original = IndexStore.read_with_record

    def counting_read(self: IndexStore, rel: str) -> tuple[bytes, bytes | None] | None:
        data = original(self, rel)
        if data is not None:  # looking again for a file that is not there is no read
            reads[rel] = reads.get(rel, 0) + 1
        return data

    monkeypatch.setattr(IndexStore, "read_with_record", counting_read)
    with IndexServer(INDEX) as server:
        url = "sparse+" + server.url
        cache = tmp_path / "cache"
        result = validate(capsys, cache, lockfile, index=url)
        assert result.code == 0, result.out
        rels = [r.rel or "" for r in server.requests]
        assert sorted(rels) == expected  # each file once, config.json once
        assert {r.method for r in server.requests} == {"GET"}
        assert not reads  # nothing was cached: nothing read back

        # warm rerun: every file revalidated once more (conditional), read once each
        server.clear_requests()
        reads.clear()
        result = validate(capsys, cache, lockfile, index=url)
        assert result.code == 0
        rels = [r.rel or "" for r in server.requests]
        assert sorted(rels) == [r for r in expected if r != "config.json"]
        assert all(
            r.header("If-None-Match") or r.header("If-Modified-Since") for r in server.requests
        )
        assert max(reads.values()) == 1
        assert set(reads) == {r for r in expected if r != "config.json"}

        # offline rerun: no request at all
        server.clear_requests()
        result = run_cli(
            capsys,
            "--index-url",
            url,
            "--cache-dir",
            str(cache),
            "--offline",
            "validate",
            str(lockfile),
        )
        assert result.code == 0
        assert server.requests == []


def test_missing_files_are_fetched_in_one_concurrent_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fetches go out through as few transport calls as the client allows (not one per
    package): count calls to SparseClient.fetch and fetch_config_with (config.json goes in
    the first batch)."""
    from registry.index.sparse import SparseClient

    calls: list[int] = []

    def counting(name: str) -> None:
        original = getattr(SparseClient, name)

        def count(self: SparseClient, items: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(len(list(items)))
            return original(self, items, *args, **kwargs)

        monkeypatch.setattr(SparseClient, name, count)

    counting("fetch")
    counting("fetch_config_with")
    lockfile = PROJECTS / "bat" / "Cargo.lock"
    names = {p["name"] for p in lock_packages(lockfile) if "source" in p}
    with IndexServer(INDEX) as server:
        result = validate(capsys, tmp_path / "cache", lockfile, index="sparse+" + server.url)
        assert result.code == 0
        # config.json and every file at once
        assert len(server.requests) == len(names) + 1
    assert calls == [len(names)]


# =============================================================================================
# malformed input: exit 2, one line naming the file, nothing written outside the cache


BAD_INPUTS: dict[str, tuple[str, str]] = {
    "malformed-toml": ('version = 4\n\n[[package]\nname = "x"\n', "line 3, column"),
    "version-5": ('version = 5\n\n[[package]]\nname = "a"\nversion = "1.0.0"\n', "version 5"),
    "missing-name": ('version = 4\n\n[[package]]\nversion = "1.0.0"\n', 'has no "name"'),
    "duplicate": (
        'version = 4\n\n[[package]]\nname = "a"\nversion = "1.0.0"\n\n'
        '[[package]]\nname = "a"\nversion = "1.0.0"\n',
        "specified twice",
    ),
    "dangling-dependency": (
        'version = 4\n\n[[package]]\nname = "a"\nversion = "1.0.0"\ndependencies = ["nope"]\n',
        '"nope" which names no package',
    ),
    "name-dotdot": (
        f'version = 4\n\n[[package]]\nname = "../x"\nversion = "1.0.0"\nsource = "{CRATES_IO}"\n',
        "invalid crate name",
    ),
    "name-nul": (
        'version = 4\n\n[[package]]\nname = "a\\u0000b"\nversion = "1.0.0"\n'
        f'source = "{CRATES_IO}"\n',
        "invalid crate name",
    ),
    "name-100-chars": (
        f'version = 4\n\n[[package]]\nname = "{"a" * 100}"\nversion = "1.0.0"\n'
        f'source = "{CRATES_IO}"\n',
        "invalid crate name",
    ),
    "name-slash": (
        f'version = 4\n\n[[package]]\nname = "a/../../../etc"\nversion = "1.0.0"\n'
        f'source = "{CRATES_IO}"\n',
        "invalid crate name",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_bad_input_exits_2_with_one_line(
    case: str,
    offline: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text, fragment = BAD_INPUTS[case]
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # a relative write would land in the tree compared below
    lock = work / "Cargo.lock"
    lock.write_text(text)
    cache = tmp_path / "cache"
    before = tree(tmp_path)
    with IndexServer(INDEX) as server:
        args = ["--index-url", "sparse+" + server.url, "--cache-dir", str(cache)]
        if offline:
            args.append("--offline")
        result = run_cli(capsys, *args, "validate", str(lock))
        requests = server.requests
    assert result.code == 2, result.out + result.err
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith(f"error: {lock}:"), lines[0]
    assert fragment in lines[0]
    assert "\0" not in result.err
    after = tree(tmp_path)
    outside = {p for p in after - before if not p.startswith("cache")}
    assert outside == set()
    assert all(r.rel in ("config.json", None) or "x" not in (r.rel or "") for r in requests)
    assert not any(".." in (r.path or "") for r in requests)


def test_bad_input_through_a_subprocess(tmp_path: Path) -> None:
    lock = tmp_path / "Cargo.lock"
    lock.write_text(BAD_INPUTS["name-dotdot"][0])
    result = run_sub(
        "--index-url", str(INDEX), "--cache-dir", str(tmp_path / "c"), "validate", str(lock)
    )
    assert result.code == 2
    assert len(result.err.splitlines()) == 1
    assert str(lock) in result.err


def test_missing_lockfile_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope" / "Cargo.lock"
    result = run_cli(
        capsys, "--index-url", str(INDEX), "--cache-dir", str(tmp_path), "validate", str(missing)
    )
    assert result.code == 2
    assert result.err.strip() == f"error: {missing}: no such file"

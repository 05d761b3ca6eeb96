"""cache/fingerprint.py: ``registry check`` answers an unchanged rerun from its stored record.

A run of the full check is detected by counting calls to ``registry.commands.check.full_check`` (the
only way to a verdict besides the record): a replay makes none. Runs go through
``registry.__main__.main`` (the fast path a CI job takes) unless stated otherwise.
"""

from __future__ import annotations

import json
import marshal
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cache import fingerprint
from tests.checkutil import INDEX, PROJECTS, Result, edit, isolate
from tests.httpserver import IndexServer


def read_record(path: Path) -> dict[str, Any]:
    data = fingerprint.decode(path.read_bytes())
    assert isinstance(data, dict)
    return data


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path)


@pytest.fixture
def full_checks(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every call of the full check, by manifest path."""
    import registry.commands.check

    calls: list[Path] = []
    original = registry.commands.check.full_check

    def counting(options: Any, manifest_path: Path, *args: Any, **kwargs: Any) -> Any:
        calls.append(manifest_path)
        return original(options, manifest_path, *args, **kwargs)

    monkeypatch.setattr(registry.commands.check, "full_check", counting)
    return calls


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """ripgrep (root package + 9 members), its members written partly as a glob."""
    target = tmp_path / "work" / "ripgrep"
    shutil.copytree(PROJECTS / "ripgrep", target)
    edit(
        target / "Cargo.toml",
        '  "grep",\n  "grep-cli",\n  "grep-matcher",\n  "grep-pcre2",\n  "grep-printer",\n'
        '  "grep-regex",\n  "grep-searcher",\n',
        '  "grep*",\n',
    )
    return target


class Runner:
    def __init__(self, capsys: pytest.CaptureFixture[str], cache: Path, project: Path) -> None:
        self.capsys = capsys
        self.cache = cache
        self.project = project
        self.index = str(INDEX)

    def __call__(self, *options: str, offline: bool = True, via: str = "main") -> Result:
        args = ["--index-url", self.index, "--cache-dir", str(self.cache)]
        if offline:
            args.append("--offline")
        args += ["check", "--manifest-path", str(self.project / "Cargo.toml"), *options]
        self.capsys.readouterr()
        if via == "main":
            from registry.__main__ import main

            code = main(args)
        else:
            from registry.cli import run

            code = run(args)
        out, err = self.capsys.readouterr()
        assert "Traceback" not in err
        return Result(code, out, err)

    def records(self) -> list[Path]:
        directory = self.cache / "registry" / "fingerprints"
        return sorted(directory.iterdir()) if directory.is_dir() else []


@pytest.fixture
def check(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Runner:
    # cargo reads its configuration from the current directory upwards: run in the project
    monkeypatch.chdir(project)
    runner = Runner(capsys, tmp_path / "cache", project)
    # warm the cache (a local index directory reads from disk even offline)
    first = runner("--no-fingerprint")
    assert first.code == 0, first.out + first.err
    return runner


def test_first_run_stores_a_record(check: Runner, full_checks: list[Path]) -> None:
    assert check.records() == []
    result = check()
    assert result.code == 0
    assert "up to date" in result.out
    assert len(full_checks) == 1
    (record_file,) = check.records()
    assert record_file.suffix == ".fp"
    assert record_file.read_bytes().startswith(fingerprint.MAGIC)
    record = read_record(record_file)
    assert record["format"] == fingerprint.FORMAT
    assert record["format_version"] == fingerprint.FORMAT_VERSION
    assert record["exit_code"] == 0
    assert record["output"] == result.out.rstrip("\n")
    assert str(check.project / "Cargo.lock") in record["files"]
    assert str(check.project / "grep-cli" / "Cargo.toml") in record["files"]
    assert str(check.project) in record["dirs"]  # the members glob was expanded there
    assert str(check.project / ".cargo" / "config.toml") in record["absent"]
    assert len(record["cache"]) == 65  # every consulted cache file: (path, mtime_ns, size)
    for path, mtime_ns, size in record["cache"]:
        st = os.stat(path)
        assert (st.st_mtime_ns, st.st_size) == (mtime_ns, size)
    assert fingerprint.load(str(check.cache), record_file.stem) is not None


@pytest.mark.parametrize("via", ["main", "cli"])
def test_unchanged_rerun_replays(check: Runner, full_checks: list[Path], via: str) -> None:
    first = check(via=via)
    assert len(full_checks) == 1
    for _ in range(2):
        again = check(via=via)
        assert (again.code, again.out, again.err) == (first.code, first.out, first.err)
    assert len(full_checks) == 1


def test_replay_keeps_a_failing_verdict(check: Runner, full_checks: list[Path]) -> None:
    edit(check.project / "Cargo.toml", 'regex = "1.0.5"', 'regex = "1.3"')
    first = check()
    assert first.code == 1
    assert 'regex = "1.3" in' in first.out
    again = check()
    assert (again.code, again.out) == (1, first.out)
    assert len(full_checks) == 1


def test_deleted_index_cache_is_not_replayed(check: Runner, full_checks: list[Path]) -> None:
    """The consulted cache files are inputs: once they are gone, the full check runs."""
    first = check("--format", "json")
    assert first.code == 0
    index_dirs = list((check.cache / "registry" / "index").iterdir())
    assert index_dirs
    for directory in index_dirs:
        shutil.rmtree(directory)
    again = check("--format", "json")
    assert again.code == 0
    assert len(full_checks) == 2  # the cache files were gone: the full check ran again


# -- every input invalidates -----------------------------------------------------------------


def _lockfile(project: Path) -> None:
    with open(project / "Cargo.lock", "a") as handle:
        handle.write("# a comment changes the bytes, not the meaning\n")


def _member_manifest(project: Path) -> None:
    with open(project / "grep-cli" / "Cargo.toml", "a") as handle:
        handle.write("\n# touched\n")


def _root_manifest(project: Path) -> None:
    with open(project / "Cargo.toml", "a") as handle:
        handle.write("\n# touched\n")


def _glob_directory(project: Path) -> None:
    (project / "grep-zzz").mkdir()


def _cargo_config(project: Path) -> None:
    (project / ".cargo").mkdir()
    (project / ".cargo" / "config.toml").write_text("[net]\nretry = 3\n")


def _cargo_home_config() -> None:
    home = Path(os.environ["CARGO_HOME"])
    (home / "config.toml").write_text("[net]\nretry = 3\n")


def _member_source_removed(project: Path) -> None:
    (project / "grep-cli" / "src" / "lib.rs").unlink()  # now a package without targets


def _cache_file(cache: Path, how: str) -> None:
    record = next(iter((cache / "registry" / "fingerprints").iterdir()))
    path, mtime_ns, _ = read_record(record)["cache"][0]
    if how == "mtime":
        os.utime(path, ns=(mtime_ns, mtime_ns + 1_000_000_000))
    else:
        with open(path, "ab") as handle:
            handle.write(b"x")
        os.utime(path, ns=(mtime_ns, mtime_ns))  # same mtime, another size


CHANGES: dict[str, Callable[[Runner], None]] = {
    "lockfile bytes": lambda r: _lockfile(r.project),
    "member manifest": lambda r: _member_manifest(r.project),
    "root manifest": lambda r: _root_manifest(r.project),
    "new directory matching a members glob": lambda r: _glob_directory(r.project),
    "new .cargo/config.toml": lambda r: _cargo_config(r.project),
    "new .cargo/config.toml in a parent directory": lambda r: _cargo_config(r.project.parent),
    "new $CARGO_HOME/config.toml": lambda r: _cargo_home_config(),
    "a member's src/lib.rs removed": lambda r: _member_source_removed(r.project),
    "cache file mtime": lambda r: _cache_file(r.cache, "mtime"),
    "cache file size": lambda r: _cache_file(r.cache, "size"),
}


def test_outside_inputs_invalidate(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    full_checks: list[Path],
) -> None:
    """A lone package's answer also depends on a path package outside it, on every ancestor
    directory's (absent) Cargo.toml, and on [patch] in the configuration of the current
    directory: each change reruns the full check."""
    target = tmp_path / "work" / "fd"
    shutil.copytree(PROJECTS / "fd", target)
    outside = tmp_path / "work" / "helper"
    (outside / "src").mkdir(parents=True)
    (outside / "src" / "lib.rs").write_text("")
    (outside / "Cargo.toml").write_text('[package]\nname = "helper"\nversion = "0.1.0"\n')
    edit(
        target / "Cargo.toml",
        "[dependencies]\n",
        '[dependencies]\nhelper = { path = "../helper" }\n',
    )
    monkeypatch.chdir(target)
    runner = Runner(capsys, tmp_path / "cache", target)
    first = runner()
    assert first.code == 1  # helper is not in the lock
    runner()
    assert len(full_checks) == 1
    changes = [
        lambda: (outside / "Cargo.toml").write_text(
            '[package]\nname = "helper"\nversion = "0.2.0"\n'
        ),
        # a package in an ancestor directory: cargo parses it, and passes over it
        lambda: (
            (tmp_path / "src").mkdir()
            or (tmp_path / "src" / "lib.rs").write_text("")
            or (tmp_path / "Cargo.toml").write_text('[package]\nname = "outer"\n')
        ),
        lambda: (
            (target / ".cargo").mkdir()
            or (target / ".cargo" / "config.toml").write_text(
                '[patch.crates-io]\nhelper = { path = "../helper" }\n'
            )
        ),
    ]
    for n, change in enumerate(changes, start=2):
        change()
        runner()
        assert len(full_checks) == n, f"change {n - 1} was replayed"
        runner()
        assert len(full_checks) == n


@pytest.mark.parametrize("change", list(CHANGES))
def test_each_input_change_invalidates(check: Runner, full_checks: list[Path], change: str) -> None:
    check()
    assert len(full_checks) == 1
    CHANGES[change](check)
    after = check()
    assert len(full_checks) == 2, f"{change}: the record was replayed"
    # and the new answer is recorded in turn
    check()
    refused = ("new directory matching a members glob", "a member's src/lib.rs removed")
    assert len(full_checks) == 2 or change in refused
    if change in refused:
        # a directory without Cargo.toml is a member cargo cannot load, a package without a
        # target a manifest it refuses: input errors (not recorded)
        assert after.code == 2
    else:
        assert after.code == 0, after.out + after.err


def test_new_member_directory_changes_the_answer(check: Runner, full_checks: list[Path]) -> None:
    assert check().code == 0
    crate = check.project / "grep-zzz"
    (crate / "src").mkdir(parents=True)
    (crate / "src" / "lib.rs").write_text("")
    (crate / "Cargo.toml").write_text('[package]\nname = "grep-zzz"\nversion = "0.1.0"\n')
    result = check()
    assert result.code == 1
    assert "grep-zzz" in result.out
    assert len(full_checks) == 2


@pytest.mark.parametrize(
    "options",
    [("--format", "json"), ("--format", "github"), ("--unknown=warn",), ("--deny-yanked",)],
    ids=["format-json", "format-github", "unknown-warn", "deny-yanked"],
)
def test_other_options_do_not_replay(
    check: Runner, full_checks: list[Path], options: tuple[str, ...]
) -> None:
    plain = check()
    assert len(full_checks) == 1
    other = check(*options)
    assert len(full_checks) == 2
    assert other.code == plain.code
    # each option set has its own record, and both replay afterwards
    assert check().out == plain.out
    assert check(*options).out == other.out
    assert len(full_checks) == 2
    assert len(check.records()) == 2


def test_quiet_and_format_outputs_are_not_mixed(check: Runner, full_checks: list[Path]) -> None:
    human = check()
    as_json = check("--format", "json")
    assert json.loads(as_json.out)["status"] == "up-to-date"
    assert check("--format", "json").out == as_json.out
    assert check().out == human.out
    assert len(full_checks) == 2


def test_refresh_and_no_fingerprint_never_replay(check: Runner, full_checks: list[Path]) -> None:
    check()
    assert len(full_checks) == 1
    records = {p: p.read_bytes() for p in check.records()}
    for _ in range(2):
        check("--no-fingerprint")
    assert len(full_checks) == 3
    assert {p: p.read_bytes() for p in check.records()} == records  # not rewritten either
    # --refresh (a global option) revalidates; with a local index it still works offline
    args_refresh = ["--index-url", check.index, "--cache-dir", str(check.cache), "--refresh"]
    from registry.__main__ import main

    for _ in range(2):
        code = main([*args_refresh, "check", "--manifest-path", str(check.project / "Cargo.toml")])
        assert code == 0
    assert len(full_checks) == 5


@pytest.mark.parametrize(
    "damage",
    [
        "garbage",
        "truncated",
        "foreign",
        "wrong-version",
        "garbage-after-magic",
        "json-version-1",
        "empty",
        "not-an-object",
        "bad-types",
        "deeply-nested",
    ],
)
def test_corrupt_record_is_ignored_and_rewritten(
    check: Runner, full_checks: list[Path], damage: str
) -> None:
    first = check()
    (record_file,) = check.records()
    good = record_file.read_bytes()
    data = read_record(record_file)
    magic = fingerprint.MAGIC
    if damage == "garbage":
        record_file.write_bytes(b"\x00\xff garbage \x81")
    elif damage == "garbage-after-magic":
        record_file.write_bytes(magic + b"\x00\xff garbage \x81")
    elif damage == "truncated":
        record_file.write_bytes(good[: len(good) // 2])
    elif damage == "foreign":
        record_file.write_bytes(fingerprint.encode({**data, "format": "someone-else"}))
    elif damage == "wrong-version":
        record_file.write_bytes(fingerprint.encode({**data, "format_version": 999}))
    elif damage == "json-version-1":
        record_file.write_text(json.dumps({**data, "format_version": 1}))
    elif damage == "empty":
        record_file.write_bytes(b"")
    elif damage == "not-an-object":
        record_file.write_bytes(magic + marshal.dumps([1, 2, 3]))
    elif damage == "deeply-nested":
        record_file.write_bytes(magic + b"[\x01\x00\x00\x00" * 200_000 + b"N")
    else:
        record_file.write_bytes(fingerprint.encode({**data, "exit_code": "0", "cache": {}}))
    again = check()
    assert (again.code, again.out) == (first.code, first.out)
    assert "Traceback" not in again.err
    assert len(full_checks) == 2
    rewritten = read_record(record_file)
    assert rewritten["format"] == fingerprint.FORMAT
    assert rewritten["exit_code"] == 0
    check()
    assert len(full_checks) == 2  # the rewritten record replays


def test_a_record_with_a_different_output_is_replayed_verbatim(
    check: Runner, full_checks: list[Path]
) -> None:
    """The record's output and exit code are what a hit prints (proof it was the record)."""
    check()
    (record_file,) = check.records()
    data = read_record(record_file)
    data["output"] = "replayed from the record"
    data["exit_code"] = 1
    record_file.write_bytes(fingerprint.encode(data))
    result = check()
    assert (result.code, result.out) == (1, "replayed from the record\n")
    assert len(full_checks) == 1


def test_record_holds_no_token(
    check: Runner, full_checks: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_TOKEN", "s3cr3t-token")
    check()
    check("--format", "json")
    assert len(full_checks) == 2
    records = check.records()
    assert records
    for path in (check.cache / "registry").rglob("*"):
        if path.is_file():
            assert b"s3cr3t" not in path.read_bytes(), path
    # a token given or not is part of the key: no replay across the two
    monkeypatch.delenv("REGISTRY_TOKEN")
    check()
    assert len(full_checks) == 3


def test_records_are_written_atomically(check: Runner) -> None:
    for options in [(), ("--format", "json"), ("--format", "sarif")]:
        check(*options)
    names = [p.name for p in check.records()]
    assert len(names) == 3
    assert all(n.endswith(".fp") and not n.startswith(".") for n in names)


def test_nothing_written_outside_the_cache(check: Runner, tmp_path: Path) -> None:
    from tests.checkutil import tree

    before = tree(check.project)
    check()
    check()
    assert tree(check.project) == before


# -- online: replay only while the consulted cache is fresh ----------------------------------


@pytest.fixture
def served() -> Iterator[IndexServer]:
    with IndexServer(INDEX, max_age=300) as server:
        yield server


def test_online_replay_until_fresh_until(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    project: Path,
    served: IndexServer,
    full_checks: list[Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runner = Runner(capsys, tmp_path / "cache", project)
    runner.index = "sparse+" + served.url
    first = runner(offline=False)
    assert first.code == 0, first.out + first.err
    assert len(full_checks) == 1
    (record_file,) = runner.records()
    until = read_record(record_file)["fresh_until"]
    assert isinstance(until, float | int)
    assert time.time() < until <= time.time() + 300

    served.clear_requests()
    again = runner(offline=False)
    assert (again.code, again.out) == (0, first.out)
    assert len(full_checks) == 1
    assert served.requests == []  # a replay touches neither cache nor network

    # later than fresh_until: a revalidation is due, so the full check runs (online)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 3600)
    late = runner(offline=False)
    assert late.code == 0
    assert len(full_checks) == 2
    assert served.requests  # it revalidated


def test_online_record_without_fresh_until_is_not_replayed(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    project: Path,
    full_checks: list[Path],
) -> None:
    """A local index directory (or a server without max-age) gives no fresh_until: online runs
    always check in full, offline runs replay."""
    runner = Runner(capsys, tmp_path / "cache", project)
    runner(offline=False)
    runner(offline=False)
    assert len(full_checks) == 2
    (record_file,) = runner.records()
    assert read_record(record_file)["fresh_until"] is None
    runner(offline=True)
    runner(offline=True)
    assert len(full_checks) == 3


def test_offline_by_cargo_configuration_replays_like_offline(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    project: Path,
    full_checks: list[Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """net.offline in the project's .cargo/config.toml (or CARGO_NET_OFFLINE=true) makes the run
    offline: its record replays without a fresh_until, as one made with --offline does; turning
    it off (the file is an input) checks in full again."""
    monkeypatch.chdir(project)  # cargo reads its configuration from the current directory up
    runner = Runner(capsys, tmp_path / "cache", project)
    (project / ".cargo").mkdir()
    config = project / ".cargo" / "config.toml"
    config.write_text("[net]\noffline = true\n")
    runner(offline=False)
    runner(offline=False)
    assert len(full_checks) == 1
    (record_file,) = runner.records()
    record = read_record(record_file)
    assert record["offline"] is True and record["fresh_until"] is None
    config.write_text("[net]\noffline = false\n")
    runner(offline=False)
    runner(offline=False)
    assert len(full_checks) == 3  # online, no max-age from a local index: never replayed
    config.unlink()
    monkeypatch.setenv("CARGO_NET_OFFLINE", "true")
    runner(offline=False)
    runner(offline=False)
    assert len(full_checks) == 4


def test_replay_function_directly(check: Runner) -> None:
    """fingerprint.replay refuses an online record past its fresh_until, accepts it before."""
    check()
    (record_file,) = check.records()
    record = fingerprint.load(str(check.cache), record_file.stem)
    assert record is not None
    # the options exactly as the command builds them (the record key includes them); the
    # colour's inputs besides cargo's configuration files: no --color, not a terminal
    from registry.options import RunOptions

    options = fingerprint.check_options(
        manifest=str(check.project / "Cargo.toml"),
        fmt="human",
        unknown="error",
        deny_yanked=False,
        offline=True,
        index_url=record_options_index(check),
        quiet=False,
        color=RunOptions.defaults().color_key(False, os.environ),
        token_given=False,
    )
    assert fingerprint.record_key(str(check.project / "Cargo.toml"), options) == record_file.stem
    from registry import __version__

    assert fingerprint.replay(record, __version__, options, offline=True) is not None
    # as made by an online run
    online = dict(record, fresh_until=time.time() + 60, offline=False)
    assert fingerprint.replay(online, __version__, options, offline=False) is not None
    stale = dict(record, fresh_until=time.time() - 1, offline=False)
    assert fingerprint.replay(stale, __version__, options, offline=False) is None
    assert (
        fingerprint.replay(
            dict(record, fresh_until=None, offline=False), __version__, options, offline=False
        )
        is None
    )
    # a run offline by net.offline in the (unchanged) configuration files: no freshness needed
    assert record["offline"] is True and record["fresh_until"] is None
    assert fingerprint.replay(record, __version__, options, offline=False) is not None
    assert fingerprint.replay(record, "0.0.0-other", options, offline=True) is None


def record_options_index(check: Runner) -> str:
    """The --index-url the record's options hold: as given (commands/check.py)."""
    return check.index


def test_a_verdict_with_unknowns_is_never_replayed(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    project: Path,
    served: IndexServer,
    full_checks: list[Path],
) -> None:
    """Offline, a cache file missing makes its package unknown (exit 3). That depends on the
    cache, not on the recorded inputs: once the file is fetched the next offline run must
    check again and say up to date, not replay the unknown."""
    runner = Runner(capsys, tmp_path / "cache", project)
    runner.index = "sparse+" + served.url
    assert runner(offline=False).code == 0
    (record_file,) = runner.records()
    record_file.unlink()
    (regex,) = [p for p in (tmp_path / "cache").rglob("regex") if ".cache" in p.parts]
    regex.unlink()
    unknown = runner()
    assert unknown.code == 3
    assert "regex 1.2.0" in unknown.out
    assert runner.records() == []  # nothing stored
    assert runner(offline=False, via="cli").code == 0  # fetches regex again
    full_checks.clear()
    again = runner()
    assert again.code == 0
    assert len(full_checks) == 1


# --- inputs that are not regular files -------------------------------------------------------


def test_only_regular_files_have_a_fingerprint(tmp_path: Path) -> None:
    """A pipe cannot be read twice and a device may never end: with one among the inputs
    there is no digest (the full check runs, and stores nothing). A FIFO without a writer is
    opened without waiting for one."""
    regular = tmp_path / "Cargo.toml"
    regular.write_text("[package]\n")
    fifo = tmp_path / "Cargo.lock"
    os.mkfifo(fifo)
    assert fingerprint.input_digest("v", {}, [str(regular)], [], []) is not None
    for other in (str(fifo), os.devnull, "/dev/zero"):
        assert fingerprint.input_digest("v", {}, [str(regular), other], [], []) is None


def test_the_input_cap_is_the_command_lines() -> None:
    from registry.options import MAX_INPUT_BYTES

    assert fingerprint.MAX_INPUT_BYTES == MAX_INPUT_BYTES

"""C. Hostile input: crate names, index URLs with credentials, a 100,000-package lockfile, deeply
nested and huge TOML, a config.json that is not JSON, a config.json whose ``dl`` points
elsewhere.

Each case runs the CLI as a subprocess and checks: the exit code, ONE stderr line ``error: ...``
(no traceback), no request the case should not make, and that not one byte was written outside
the cache dir: the whole tmp tree (paths, kinds, sizes, mtimes) is snapshotted before and after.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from registry.api import Registry
from registry.errors import RegistryConfigError, RegistryError, UsageError
from tests.httpserver import IndexServer
from tests.reliability.support import (
    CliResult,
    assert_one_error_line,
    assert_same_tree,
    cache_dir_of,
    run_cli,
    snapshot,
)

MakeIndexDir = Callable[..., Path]

CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"
SECRET = "pA55w0rd-do-not-print"

HOSTILE_NAMES = {
    "slash": "a/b",
    "dotdot": "..",
    "dotdot-path": "../../etc/passwd",
    "abs-path": "/etc/passwd",
    "backslash": "a\\b",
    "backslash-dotdot": "..\\..\\x",
    "cyrillic-s": "\u0455erde",  # Cyrillic dze, looks like serde
    "cyrillic-upper": "\u0405ERDE",  # Cyrillic capital dze, looks like SERDE
    "greek-omicron": "serde_js\u03bfn",
    "fullwidth": "\uff53\uff45\uff52\uff44\uff45",
    "zero-width": "ser\u200bde",
    "leading-dash": "-serde",
    "leading-digit": "1serde",
    "too-long": "a" * 65,
    "way-too-long": "b" * 10_000,
    "space": "ser de",
    "trailing-newline": "serde\n",
    "percent": "se%2Frde",
    "query": "serde?x=1",
    "fragment": "serde#x",
    "tilde": "~root",
    "dollar": "$HOME",
    "dot": ".",
    "empty": "",
}
#: NUL cannot travel in argv; it is tested through the lockfile and the API.
NUL_NAMES = {"nul": "ser\x00de", "nul-dotdot": "..\x00/x"}
#: The default run takes these through every command; the slow run takes every name.
QUICK_NAMES = {"slash", "dotdot-path", "backslash", "cyrillic-s", "leading-dash", "too-long", "nul"}
COMMANDS = ["query", "query-exact", "versions", "fetch"]


def _params(names: dict[str, str], commands: list[str] | None = None) -> list[object]:
    """(name[, command]) params; those outside the quick set are marked slow."""
    out: list[object] = []
    for ident, name in names.items():
        for command in commands or [None]:
            quick = ident in QUICK_NAMES or command == "query-exact"
            marks = [] if quick else [pytest.mark.slow]
            if command is None:
                out.append(pytest.param(name, id=ident, marks=marks))
            else:
                out.append(pytest.param(command, name, id=f"{command}-{ident}", marks=marks))
    return out


@pytest.fixture(autouse=True)
def _no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_RETRY_SLEEP_MS", "0")


@pytest.fixture
def index(make_index_dir: MakeIndexDir) -> Path:
    line = {"name": "serde", "vers": "1.0.0", "deps": [], "cksum": "a" * 64, "features": {}}
    return make_index_dir({"serde": [line]})


class World:
    """tmp_path laid out as: index/ (served), cache/, home/, work/ (lockfiles, manifests)."""

    def __init__(self, tmp_path: Path, server: IndexServer) -> None:
        self.root = tmp_path
        self.server = server
        self.cache = tmp_path / "cache"
        self.home = tmp_path / "home"
        self.work = tmp_path / "work"
        self.work.mkdir(exist_ok=True)
        self.home.mkdir(exist_ok=True)

    def run(
        self, *args: str, env: dict[str, str] | None = None, url: str | None = None
    ) -> CliResult:
        """Run the CLI; assert nothing outside the cache dir changed."""
        before = snapshot(self.root, exclude=[self.cache])
        result = run_cli(
            ["--index-url", url or self.server.url, "--cache-dir", str(self.cache), *args],
            home=self.home,
            cwd=self.work,
            env=env,
        )
        assert_same_tree(before, snapshot(self.root, exclude=[self.cache]))
        return result


@pytest.fixture
def world(tmp_path: Path, index: Path, index_server: IndexServer) -> World:
    return World(tmp_path, index_server)


def _lockfile(packages: list[tuple[str, str, str | None]], version: int = 3) -> str:
    out = [f"version = {version}", ""]
    for name, vers, source in packages:
        out += ["[[package]]", f"name = {json.dumps(name)}", f'version = "{vers}"']
        if source is not None:
            out += [f'source = "{source}"', f'checksum = "{"0" * 64}"']
        out.append("")
    return "\n".join(out)


# --- crate names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "name"), _params(HOSTILE_NAMES, COMMANDS))
def test_hostile_name_on_the_command_line(world: World, command: str, name: str) -> None:
    if command == "query":
        args = ["query", "--", name]
    elif command == "query-exact":
        args = ["query", "--", f"{name}==1.0.0"]
    elif command == "versions":
        args = ["versions", "--", name]
    else:
        args = ["fetch", "--", name]
    result = world.run(*args)
    line = assert_one_error_line(result, code=2)
    assert "invalid" in line
    assert result.stdout == ""
    assert world.server.requests == []  # refused before any request, config.json included


@pytest.mark.parametrize("name", _params({**HOSTILE_NAMES, **NUL_NAMES}))
def test_hostile_name_in_a_lockfile(world: World, name: str) -> None:
    lock = world.work / "Cargo.lock"
    lock.write_text(_lockfile([("serde", "1.0.0", CRATES_IO), (name, "1.0.0", CRATES_IO)]))
    for args in (["validate", str(lock)], ["--offline", "validate", str(lock)]):
        result = world.run(*args)
        assert_one_error_line(result, str(lock), code=2)
        assert result.stdout == ""
    result = world.run("fetch", "--lockfile", str(lock))
    assert_one_error_line(result, str(lock), code=2)
    assert world.server.requests == []


@pytest.mark.parametrize(
    "name", [*HOSTILE_NAMES.values(), *NUL_NAMES.values()], ids=[*HOSTILE_NAMES, *NUL_NAMES]
)
def test_hostile_name_through_the_api(
    tmp_path: Path, index: Path, index_server: IndexServer, name: str
) -> None:
    cache = tmp_path / "cache"
    before = snapshot(tmp_path, exclude=[cache])
    with Registry(index_server.url, cache_dir=cache) as reg:
        for call in (
            lambda: reg.get(name, "1.0.0"),
            lambda: reg.query(name),
            lambda: reg.query_all(name),
            lambda: reg.versions(name),
        ):
            with pytest.raises(UsageError) as info:
                call()
            assert info.value.exit_code == 2
            assert "\n" not in str(info.value)
        report = reg.fetch([name])
        assert isinstance(report.errors[name], UsageError)
        assert reg.may_revalidate(name) is False
    assert index_server.requests == []
    assert_same_tree(before, snapshot(tmp_path, exclude=[cache]))


def test_uppercase_is_the_same_crate_not_another_path(world: World) -> None:
    """ASCII uppercase is a legal spelling of a crate name: cargo lowercases the path (one file,
    one request), and then matches names exactly (the lines are `serde`'s: not found)."""
    result = world.run("query", "SERDE==1.0.0", "--json")
    assert result.code == 1, result.stderr
    assert "named 'serde'" in result.stderr
    assert [r.rel for r in world.server.requests] == ["config.json", "se/rd/serde"]
    files = sorted(
        p.name for p in (cache_dir_of(world.cache, world.server.url) / ".cache").rglob("*")
    )
    assert "SERDE" not in files


# --- index URLs with credentials --------------------------------------------------------------


def _credential_urls(port: int) -> dict[str, str]:
    return {
        "user-pass": f"https://user:{SECRET}@127.0.0.1:{port}/",
        "sparse-user-pass": f"sparse+http://user:{SECRET}@127.0.0.1:{port}/",
        "token-as-user": f"http://{SECRET}@127.0.0.1:{port}/",
        "empty-user": f"http://:{SECRET}@127.0.0.1:{port}/",
        "with-query": f"http://user:{SECRET}@127.0.0.1:{port}/?a=b#c",
        "bad-port": f"https://user:{SECRET}@127.0.0.1:99999/",
        "broken-ipv6": f"https://user:{SECRET}@[::1/",
        "no-host": f"https://user:{SECRET}@/",
        "git": f"registry+https://user:{SECRET}@127.0.0.1:{port}/",
        "ftp": f"ftp://user:{SECRET}@127.0.0.1:{port}/",
        "file-host": f"file://user:{SECRET}@127.0.0.1/x",
    }


CREDENTIAL_IDS = list(_credential_urls(1))


@pytest.mark.parametrize("case", CREDENTIAL_IDS)
@pytest.mark.parametrize(
    ("how", "command"),
    [
        pytest.param("option", ["query", "serde==1.0.0"], id="option-query"),
        pytest.param("env", ["versions", "serde"], id="env-versions"),
        pytest.param("env", ["query", "serde==1.0.0"], id="env-query", marks=pytest.mark.slow),
        pytest.param("option", ["versions", "serde"], id="option-versions", marks=pytest.mark.slow),
    ],
)
def test_index_url_with_credentials_is_refused(
    world: World, case: str, how: str, command: list[str]
) -> None:
    url = _credential_urls(world.server.port)[case]
    before = snapshot(world.root, exclude=[world.cache])
    if how == "option":
        argv = ["--index-url", url, "--cache-dir", str(world.cache), "-vv", *command]
        env = None
    else:
        argv = ["--cache-dir", str(world.cache), "-vv", *command]
        env = {"REGISTRY_INDEX_URL": url}
    result = run_cli(argv, home=world.home, cwd=world.work, env=env)
    assert_same_tree(before, snapshot(world.root, exclude=[world.cache]))
    assert_one_error_line(result, "index URL", code=2)
    assert SECRET.encode() not in result.output
    assert world.server.requests == []
    assert not world.cache.exists()


@pytest.mark.parametrize("case", CREDENTIAL_IDS)
def test_index_url_with_credentials_through_the_api(
    tmp_path: Path, index_server: IndexServer, case: str
) -> None:
    url = _credential_urls(index_server.port)[case]
    with pytest.raises(UsageError) as info:
        Registry(url, cache_dir=tmp_path / "cache")
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert info.value.__cause__ is None or SECRET not in str(info.value.__cause__)
    assert not (tmp_path / "cache").exists()


def test_lockfile_source_with_credentials(world: World) -> None:
    source = f"sparse+http://user:{SECRET}@127.0.0.1:{world.server.port}/"
    lock = world.work / "Cargo.lock"
    lock.write_text(_lockfile([("serde", "1.0.0", source)]))
    for args in (["validate", str(lock)], ["-vv", "--offline", "validate", str(lock)]):
        result = world.run(*args)
        assert result.code in (2, 3), result.stderr
        assert "Traceback" not in result.stderr
        assert SECRET.encode() not in result.output
    assert world.server.requests == []


# --- a 100,000-package lockfile ---------------------------------------------------------------


@pytest.mark.slow
def test_validate_offline_on_100k_packages(world: World) -> None:
    lock = world.work / "Cargo.lock"
    lock.write_text(
        _lockfile([(f"crate-{i:06d}", f"1.{i % 100}.{i % 7}", CRATES_IO) for i in range(100_000)])
    )
    result = world.run("--offline", "validate", "--format", "json", str(lock))
    assert result.code == 3, result.stderr[-2000:]  # nothing is cached: every package unknown
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert json.dumps(report).count("not in the cache") >= 100_000
    print(
        f"\n100,000-package validate --offline: exit {result.code}, "
        f"peak RSS {result.maxrss_kib} KiB"
    )
    assert result.maxrss_kib < 1536 * 1024, f"peak RSS {result.maxrss_kib} KiB"
    assert world.server.requests == []


# --- nested and huge TOML ----------------------------------------------------------------------

DEEP = "a = " + "[" * 10_000 + "]" * 10_000 + "\n"
DEEP_TABLES = "a = " + "{b = " * 5_000 + "1" + "}" * 5_000 + "\n"
DEEP_HEADER = "[" + ".".join(["t"] * 10_000) + "]\n"


@pytest.mark.parametrize("text", [DEEP, DEEP_TABLES], ids=["arrays", "tables"])
def test_deeply_nested_lockfile(world: World, text: str) -> None:
    lock = world.work / "Cargo.lock"
    lock.write_text(_lockfile([("serde", "1.0.0", CRATES_IO)]) + "\n" + text)
    result = world.run("validate", str(lock))
    assert_one_error_line(result, str(lock), code=2)
    result = world.run("fetch", "--lockfile", str(lock))
    assert_one_error_line(result, str(lock), code=2)
    assert world.server.requests == []


def test_ten_thousand_dotted_keys_in_a_lockfile(world: World) -> None:
    """Valid TOML (nested 10,000 tables deep through one dotted header) in an unused table:
    the lockfile is judged like the same one without it (cksum mismatch: exit 1)."""
    lock = world.work / "Cargo.lock"
    plain = _lockfile([("serde", "1.0.0", CRATES_IO)])
    lock.write_text(plain)
    expected = world.run("validate", "--format", "json", str(lock))
    lock.write_text(plain + "\n" + DEEP_HEADER)
    result = world.run("validate", "--format", "json", str(lock))
    assert "Traceback" not in result.stderr, result.stderr[-500:]
    assert (result.code, result.stdout) == (expected.code, expected.stdout)
    assert expected.code == 1


@pytest.mark.parametrize("text", [DEEP, DEEP_TABLES], ids=["arrays", "tables"])
def test_deeply_nested_manifest(world: World, text: str) -> None:
    manifest = world.work / "Cargo.toml"
    manifest.write_text('[package]\nname = "x"\nversion = "0.1.0"\n\n[workspace]\n' + text)
    (world.work / "Cargo.lock").write_text(_lockfile([("x", "0.1.0", None)]))
    result = world.run("check", "--manifest-path", str(manifest))
    assert_one_error_line(result, "Cargo.toml", code=2)


@pytest.mark.parametrize("where", ["config", "credentials"])
def test_deeply_nested_cargo_config_is_no_traceback(world: World, where: str) -> None:
    """A cargo config or credentials file nested too deeply: no traceback, and the run still
    answers (such files are treated like any other unparsable cargo config)."""
    if where == "config":
        path = world.work / ".cargo" / "config.toml"
    else:
        path = world.home / ".cargo" / "credentials.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(DEEP)
    lock = world.work / "Cargo.lock"
    lock.write_text(_lockfile([("serde", "1.0.0", f"sparse+{world.server.url}")]))
    result = world.run("validate", str(lock))
    assert "Traceback" not in result.stderr, result.stderr
    assert result.code in (0, 1, 2, 3)
    if result.code == 2:
        assert_one_error_line(result, code=2)


def test_huge_lockfile_is_refused_before_reading(world: World) -> None:
    lock = world.work / "Cargo.lock"
    with lock.open("wb") as handle:
        handle.truncate(300 * 1024 * 1024)  # sparse: no disk, no memory
    result = world.run("validate", str(lock))
    assert_one_error_line(result, str(lock), code=2)
    assert result.maxrss_kib < 256 * 1024


def test_huge_manifest_is_refused_before_reading(world: World) -> None:
    manifest = world.work / "Cargo.toml"
    with manifest.open("wb") as handle:
        handle.truncate(300 * 1024 * 1024)
    result = world.run("check", "--manifest-path", str(manifest))
    assert_one_error_line(result, "Cargo.toml", code=2)
    assert result.maxrss_kib < 256 * 1024


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe not utf-8", b"[[package]\nname=", b"version = 3\n[[package]]\nname = 5\n", b""],
    ids=["not-utf8", "bad-toml", "bad-types", "empty"],
)
def test_malformed_lockfile(world: World, content: bytes) -> None:
    lock = world.work / "Cargo.lock"
    lock.write_bytes(content)
    result = world.run("validate", str(lock))
    assert "Traceback" not in result.stderr
    if content:
        assert_one_error_line(result, str(lock), code=2)
    else:
        assert result.code in (0, 2), result.stderr


def test_lockfile_is_a_directory_or_missing(world: World) -> None:
    (world.work / "dir.lock").mkdir()
    assert_one_error_line(world.run("validate", str(world.work / "dir.lock")), code=2)
    assert_one_error_line(world.run("validate", str(world.work / "missing.lock")), code=2)


# --- config.json ---------------------------------------------------------------------------------

BAD_CONFIGS = {
    "not-json": b"this is not json",
    "array": b"[1, 2, 3]",
    "no-dl": b'{"api": "https://x"}',
    "dl-not-string": b'{"dl": 5}',
    "not-utf8": b'{"dl": "\xff\xfe"}',
    "empty": b"",
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "deep-object": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "nul": b'{"dl": "x"}\x00',
}


@pytest.mark.parametrize("content", list(BAD_CONFIGS.values()), ids=list(BAD_CONFIGS))
def test_config_json_that_is_not_a_config(
    make_index_dir: MakeIndexDir, world: World, content: bytes
) -> None:
    make_index_dir({}, config=content)
    result = world.run("query", "serde==1.0.0")
    assert_one_error_line(result, world.server.url + "config.json", code=3)
    # the index file went in config.json's batch (no round trip of its own for config.json)
    assert sorted(r.rel or "" for r in world.server.requests) == ["config.json", "se/rd/serde"]
    assert not (cache_dir_of(world.cache, world.server.url) / "config.json").exists()
    assert not (cache_dir_of(world.cache, world.server.url) / ".cache").exists()


@pytest.mark.parametrize("content", list(BAD_CONFIGS.values()), ids=list(BAD_CONFIGS))
def test_config_json_that_is_not_a_config_api(
    make_index_dir: MakeIndexDir, tmp_path: Path, index_server: IndexServer, content: bytes
) -> None:
    make_index_dir({}, config=content)
    with (
        Registry(index_server.url, cache_dir=tmp_path / "cache") as reg,
        pytest.raises(RegistryConfigError) as info,
    ):
        reg.get("serde", "1.0.0")
    assert "\n" not in str(info.value) and index_server.url in str(info.value)


@pytest.mark.parametrize("content", list(BAD_CONFIGS.values()), ids=list(BAD_CONFIGS))
def test_corrupt_cached_config_json_is_refetched(world: World, index: Path, content: bytes) -> None:
    assert world.run("query", "serde==1.0.0").code == 0
    cached = cache_dir_of(world.cache, world.server.url) / "config.json"
    cached.write_bytes(content)
    world.server.clear_requests()
    result = world.run("query", "serde==1.0.0")
    assert result.code == 0, result.stderr
    assert cached.read_bytes() == (index / "config.json").read_bytes()
    assert "config.json" in [r.rel for r in world.server.requests]


@pytest.fixture
def dl_host() -> Iterator[IndexServer]:
    """A server on another loopback address standing for the download host."""
    with IndexServer(Path("/nonexistent-dl-root"), host="127.0.0.2") as server:
        yield server


def test_config_dl_elsewhere_is_never_contacted(
    make_index_dir: MakeIndexDir, world: World, dl_host: IndexServer
) -> None:
    make_index_dir(
        {},
        config={
            "dl": dl_host.url + "api/v1/crates/{crate}/{version}/download",
            "api": dl_host.url,
        },
    )
    lock = world.work / "Cargo.lock"
    lock.write_text(_lockfile([("serde", "1.0.0", CRATES_IO)]))
    for args in (
        ["query", "serde==1.0.0"],
        ["query", "serde"],
        ["versions", "serde"],
        ["fetch", "serde"],
        ["--refresh", "validate", str(lock)],
        ["--offline", "validate", str(lock)],
    ):
        result = world.run(*args)
        assert result.code in (0, 1), (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert world.server.requests_for("se/rd/serde")
    assert dl_host.requests == []


def test_errors_never_escape_as_foreign_exceptions(
    make_index_dir: MakeIndexDir, tmp_path: Path, index_server: IndexServer
) -> None:
    """Every hostile config through the API raises a RegistryError subclass, nothing else."""
    for content in BAD_CONFIGS.values():
        make_index_dir({}, config=content)
        with (
            Registry(index_server.url, cache_dir=tmp_path / "cache") as reg,
            pytest.raises(RegistryError),
        ):
            reg.versions("serde")


# --- deep JSON where we parse JSON: index lines, fingerprint records --------------------------

#: 990 levels: within orjson's limit (so the line is cached), beyond the stdlib json's.
DEEP_LINES = [
    pytest.param(depth, offline, id=f"{'offline' if offline else 'online'}-{depth}", marks=marks)
    for depth in (120, 990, 5000, 100_000)
    for offline in (False, True)
    for marks in [[] if depth in (990, 100_000) else [pytest.mark.slow]]
]


@pytest.mark.parametrize(("depth", "offline"), DEEP_LINES)
def test_deeply_nested_index_line(
    make_index_dir: MakeIndexDir, world: World, depth: int, offline: bool
) -> None:
    deep = "[" * depth + "]" * depth
    line = (
        '{"name":"serde","vers":"1.0.0","deps":[],"cksum":"' + "a" * 64 + '","features":{},'
        f'"x":{deep}}}'
    )
    ok = {"name": "serde", "vers": "1.0.1", "deps": [], "cksum": "b" * 64, "features": {}}
    make_index_dir({"serde": [line, ok]})
    results = [world.run("query", "serde==1.0.1", "--json")]
    args = ["--offline"] if offline else []
    for spec in (
        ["query", "serde==1.0.0"],
        ["query", "serde==1.0.0", "--json"],
        ["query", "serde"],
    ):
        results.append(world.run(*args, *spec))
    results.append(world.run(*args, "versions", "serde"))
    for result in results:
        assert "Traceback" not in result.stderr, result.stderr[-800:]
        assert result.code in (0, 1, 3), result.stderr
        if result.code:
            assert_one_error_line(result)
    assert results[0].code == 0


def test_deeply_nested_fingerprint_record(world: World) -> None:
    (world.work / "Cargo.toml").write_text('[package]\nname = "x"\nversion = "0.1.0"\n')
    (world.work / "src").mkdir(exist_ok=True)
    (world.work / "src" / "lib.rs").write_text("")  # a package needs a target (cargo)
    (world.work / "Cargo.lock").write_text(_lockfile([("x", "0.1.0", None)]))
    first = world.run("check", "--manifest-path", str(world.work / "Cargo.toml"))
    assert first.code == 0, first.stderr
    records = list((world.cache / "registry" / "fingerprints").glob("*"))
    assert records
    from cache.fingerprint import MAGIC

    # as text (the version-1 JSON records) and as marshal data after our magic bytes
    for nested in (b"[" * 100_000 + b"]" * 100_000, MAGIC + b"[\x01\x00\x00\x00" * 100_000):
        for record in records:
            record.write_bytes(nested)
        again = world.run("check", "--manifest-path", str(world.work / "Cargo.toml"))
        assert (again.code, again.stdout) == (first.code, first.stdout), again.stderr[-800:]


# --- a local index directory whose files are not index files --------------------------------

LOCAL_ODDITIES = {
    "fifo": "not a regular file",  # would block a plain open() for ever
    "dev-zero": "not a regular file",  # a symlink to a device that never ends
    "huge": "over the 256 MiB limit",  # sparse: no disk, no memory
    "empty": "it is empty",
    "garbage": "not an index file",
}


@pytest.mark.parametrize("kind", sorted(LOCAL_ODDITIES))
def test_local_index_file_that_is_no_index_file(
    world: World, make_index_dir: MakeIndexDir, kind: str
) -> None:
    local = make_index_dir({"other": []}, root=world.root / "local")
    path = local / "3" / "f" / "foo"
    path.parent.mkdir(parents=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "huge":
        with path.open("wb") as handle:
            handle.truncate(300 * 1024 * 1024)
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        path.write_bytes(b"<html>not an index</html>\n\x00\xff\n")
    result = world.run("query", "foo", url=str(local))
    assert_one_error_line(result, str(path), LOCAL_ODDITIES[kind], code=3)
    assert result.maxrss_kib < 256 * 1024
    assert not (cache_dir_of(world.cache, str(local)) / ".cache" / "3" / "f" / "foo").exists()

"""The command line: in-process through `registry.cli.run` (capsys), and as a real
`python -m registry` subprocess for the warm exact query (`registry.commands.query.warm_exact`).

Exact stdout, one-line stderr and exit codes; no test sleeps or measures time.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cache.dirhash import source_dir_name
from registry.cli import run
from tests.checkutil import cksum, line
from tests.httpserver import Fault, IndexServer

MakeIndexDir = Callable[..., Path]

ENV_VARS = ("REGISTRY_INDEX_URL", "REGISTRY_CACHE_DIR", "REGISTRY_OFFLINE", "REGISTRY_TOKEN")
HEAVY = ("httpx", "asyncio", "click", "semver", "orjson", "pycurl", "filelock")


def dep(name: str, req: str, **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "req": req,
        "features": [],
        "optional": False,
        "default_features": True,
        "target": None,
        "kind": "normal",
    }
    entry.update(fields)
    return entry


FOO = [
    line("foo", "0.9.0"),
    line("foo", "1.0.0", deps=[dep("bar", "^1")]),
    line("foo", "1.1.0", features={"std": [], "default": ["std"]}),
    line("foo", "1.2.0"),
    line("foo", "1.3.0", yanked=True),
    line("foo", "2.0.0-rc.1"),
]
BAR = [line("bar", "1.0.0"), line("bar", "1.0.1")]
RICH = line(
    "rich",
    "1.0.0",
    deps=[
        dep("serde", "^1.0.100", features=["derive", ""], optional=True),
        dep("cc", ">=1.0.40, <2", kind="build"),
        dep("quickcheck", "^1", kind="dev", default_features=False),
        dep("winapi", "^0.3", target="cfg(windows)"),
        dep("rand_core", "^0.6", package="rand-core"),
        dep("ext", "^2", registry="https://github.com/rust-lang/crates.io-index"),
    ],
    features={"default": ["std"], "std": [], "serde": ["dep:serde"], "naïve-q": []},
    features2={"derive": ["serde?/derive"], "std": ["cc/parallel"]},
    links="rich-sys",
    rust_version="1.60",
    v=2,
    description="Ünïcödé ✓ text",
)
RICH_LINES = [
    json.dumps(RICH, ensure_ascii=False),
    json.dumps(line("rich", "1.1.0", yanked=True)),
    json.dumps(line("rich", "1.2.0")) + "\r",  # cargo keeps the \r in the cache blob
    json.dumps({"name": "rich", "vers": "1.3.0", "cksum": "00"}),  # invalid: no deps
    json.dumps(line("rich", "1.4.0", v=3)),
    json.dumps(line("rich", "1.5.0", v=123456789012345678901234567890)),
    json.dumps(line("rich", "1.6.0", deps=[dep("big", "^1", req2=10**30)], x=-(2**70))),
    json.dumps(line("rich", "1.7.0+build.5", features={"a": ["b"], "b": []})),
    json.dumps(line("rich", "1.8.0", links=10**30, deps=[dep("huge", 2**64)])),
    json.dumps(line("rich", "1.9.0", links=2**64 - 1, deps=[dep("neg", -(2**63))])),
]
RICH_VERSIONS = [
    "1.0.0",
    "1.1.0",
    "1.2.0",
    "1.3.0",
    "1.4.0",
    "1.5.0",
    "1.6.0",
    "1.7.0+build.5",
    "1.8.0",
    "1.9.0",
]


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("REGISTRY_RETRY_SLEEP_MS", "0")
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def index(make_index_dir: MakeIndexDir) -> Path:
    root = make_index_dir({"foo": FOO, "bar": BAR, "rich": RICH_LINES})
    return root


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str],
    index_server: IndexServer,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Result]:
    """Run the CLI in-process against the served index, without the warm exact query (the
    accelerator `warm_exact` defers, so `answer` always runs: the general path)."""
    import registry.commands.query

    monkeypatch.setattr(registry.commands.query, "warm_exact", lambda *args: None)

    def invoke(*args: str, globals_: tuple[str, ...] | None = None) -> Result:
        capsys.readouterr()
        prefix = globals_ if globals_ is not None else base_args(index_server, cache)
        code = run([*prefix, *args])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return Result(code, captured.out, captured.err)

    return invoke


def base_args(server: IndexServer, cache: Path) -> tuple[str, ...]:
    return ("--index-url", server.url, "--cache-dir", str(cache))


def subprocess_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.update(
        XDG_CACHE_HOME=str(tmp_path / "xdg"),
        REGISTRY_RETRY_SLEEP_MS="0",
        PYTHONIOENCODING="utf-8",
        **extra,
    )
    for name in ("PYTHONWARNINGS", "PYTHONDEVMODE"):
        env.pop(name, None)
    return env


def python_m(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(
        [sys.executable, "-m", "registry", *args],
        capture_output=True,
        cwd=tmp_path,
        env=subprocess_env(tmp_path, **env),
        timeout=120,
        check=False,
    )
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    return proc


PROBE = """\
import sys
from registry.__main__ import main
code = main(sys.argv[1:])
sys.stdout.flush()
heavy = sorted(m for m in sys.modules if m.split(".")[0] in set(HEAVY))
sys.stderr.write("PROBE %d %r %r\\n" % (code, heavy, "registry.api" in sys.modules))
""".replace("HEAVY", repr(HEAVY))


@dataclass
class Probe:
    code: int
    out: bytes
    err: str
    heavy: list[str]
    full_cli: bool


def probe(tmp_path: Path, *args: str, **env: str) -> Probe:
    """Run `registry.__main__.main(args)` in a fresh interpreter; report what it imported."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        cwd=tmp_path,
        env=subprocess_env(tmp_path, **env),
        timeout=120,
        check=False,
    )
    err = proc.stderr.decode()
    assert "Traceback" not in err, err
    match = re.search(r"^PROBE (\d+) (\[.*\]) (True|False)$", err, re.M)
    assert match, err
    return Probe(
        int(match.group(1)),
        proc.stdout,
        err[: match.start()],
        eval(match.group(2)),
        match.group(3) == "True",
    )


def index_line(root: Path, rel: str, vers: str) -> bytes:
    for raw in (root / rel).read_bytes().split(b"\n"):
        if raw and json.loads(raw)["vers"] == vers:
            return raw
    raise AssertionError(vers)


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    return lines[0]


# --- query ------------------------------------------------------------------------------------


def test_query_exact_human(index: Path, cli: Callable[..., Result]) -> None:
    result = cli("query", "foo==1.0.0")
    assert result.code == 0, result.err
    assert result.out == (
        "foo 1.0.0\n"
        f"checksum: {cksum('foo', '1.0.0')}\n"
        "yanked: no\n"
        "dependencies (1):\n"
        '  bar = "^1"\n'
        "features: none\n"
    )
    assert result.err == ""


def test_query_exact_rich_human(index: Path, cli: Callable[..., Result]) -> None:
    result = cli("query", "rich==1.0.0")
    assert result.code == 0, result.err
    assert result.out == (
        "rich 1.0.0\n"
        f"checksum: {cksum('rich', '1.0.0')}\n"
        "yanked: no\n"
        "links: rich-sys\n"
        "rust-version: 1.60\n"
        "index schema: v2\n"
        "dependencies (6):\n"
        '  serde = "^1.0.100" (optional; features: derive)\n'
        '  cc = ">=1.0.40, <2" (build)\n'
        '  quickcheck = "^1" (dev; no default features)\n'
        '  winapi = "^0.3" (target: cfg(windows))\n'
        '  rand_core = "^0.6" (package: rand-core)\n'
        '  ext = "^2" (registry: https://github.com/rust-lang/crates.io-index)\n'
        "features (5):\n"
        '  default = ["std"]\n'
        '  derive = ["serde?/derive"]\n'
        "  naïve-q = []\n"
        '  serde = ["dep:serde"]\n'
        '  std = ["cc/parallel"]\n'
    )


def test_query_exact_yanked_human(index: Path, cli: Callable[..., Result]) -> None:
    result = cli("query", "foo==1.3.0")
    assert result.code == 0
    assert result.out.splitlines()[:3] == [
        "foo 1.3.0",
        f"checksum: {cksum('foo', '1.3.0')}",
        "yanked: yes",
    ]


def test_query_exact_json_is_the_raw_line(index: Path, cli: Callable[..., Result]) -> None:
    for vers in ("1.0.0", "1.3.0"):
        result = cli("query", f"foo=={vers}", "--json")
        assert result.code == 0
        assert result.out.encode() == index_line(index, "3/f/foo", vers) + b"\n"


def test_query_json_strips_the_carriage_return(index: Path, cli: Callable[..., Result]) -> None:
    result = cli("query", "rich==1.2.0", "--json")
    assert result.code == 0
    assert result.out.encode() == index_line(index, "ri/ch/rich", "1.2.0").rstrip(b"\r") + b"\n"


def test_query_requirement_json_newest_match(index: Path, cli: Callable[..., Result]) -> None:
    result = cli("query", "foo@^1.0", "--json")
    assert result.code == 0
    assert result.out.encode() == index_line(index, "3/f/foo", "1.2.0") + b"\n"


def test_query_requirement_all_json_one_line_each(index: Path, cli: Callable[..., Result]) -> None:
    result = cli("query", "foo@^1.0", "--all", "--json")
    assert result.code == 0
    expected = [index_line(index, "3/f/foo", v) for v in ("1.0.0", "1.1.0", "1.2.0", "1.3.0")]
    assert result.out.encode() == b"".join(raw + b"\n" for raw in expected)


def test_query_all_human_marks_yanked(index: Path, cli: Callable[..., Result]) -> None:
    result = cli("query", "foo@>=1.1", "--all")
    assert result.code == 0
    assert result.out == "1.1.0\n1.2.0\n1.3.0 (yanked)\n"


def test_query_name_only_is_newest_release(index: Path, cli: Callable[..., Result]) -> None:
    result = cli("query", "foo")
    assert result.code == 0
    assert result.out.splitlines()[0] == "foo 1.2.0"  # 1.3.0 yanked, 2.0.0-rc.1 pre-release
    assert cli("query", "rich").out.splitlines()[0] == "rich 1.7.0+build.5"


def test_versions_marks_yanked(index: Path, cli: Callable[..., Result]) -> None:
    result = cli("versions", "foo")
    assert result.code == 0
    assert result.out == "0.9.0\n1.0.0\n1.1.0\n1.2.0\n1.3.0 (yanked)\n2.0.0-rc.1\n"
    result = cli("versions", "rich")
    # cargo's classification of each line (query.entry): no deps, a v that is not a u32 and a
    # numeric links or req make a line invalid; v 3 is unsupported
    marks = {
        "1.1.0": " (yanked)",
        "1.3.0": " (invalid)",
        "1.4.0": " (unsupported)",
        "1.5.0": " (invalid)",
        "1.8.0": " (invalid)",
        "1.9.0": " (invalid)",
    }
    assert result.out.splitlines() == [v + marks.get(v, "") for v in RICH_VERSIONS]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("query", "foo==9.9.9"), 1, "foo has no version 9.9.9"),
        (("query", "foo@^7"), 1, "foo has no usable version matching ^7"),
        (("query", "foo@=1.3.0"), 1, "foo has no usable version"),
        (("query", "nope"), 1, "nope"),
        (("query", "nope==1.0.0"), 1, "nope"),
        (("versions", "nope"), 1, "nope"),
    ],
)
def test_not_found_exit_1(
    index: Path, cli: Callable[..., Result], args: tuple[str, ...], code: int, message: str
) -> None:
    result = cli(*args)
    assert result.code == code
    assert result.out == ""
    assert message in one_error_line(result.err)


def test_server_failure_exit_3(
    index: Path, index_server: IndexServer, cli: Callable[..., Result]
) -> None:
    index_server.faults["3/f/foo"] = [Fault.status(500)] * 4
    result = cli("query", "foo==1.0.0")
    assert result.code == 3
    line_ = one_error_line(result.err)
    assert "HTTP 500" in line_ and index_server.url in line_
    assert len(index_server.requests_for("3/f/foo")) == 4


def test_auth_error_exit_3_and_token_not_printed(
    make_index_dir: MakeIndexDir, tmp_path: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_index_dir(
        {"foo": FOO}, config={"dl": "x", "auth-required": True}, root=tmp_path / "auth"
    )
    with IndexServer(root, auth_token="tok-abcdef-123") as server:
        code = run([*base_args(server, cache), "query", "foo==1.0.0"])
        captured = capsys.readouterr()
        assert code == 3
        assert "--token" in one_error_line(captured.err)
        code = run([*base_args(server, cache), "--token", "bad-token-999", "query", "foo==1.0.0"])
        captured = capsys.readouterr()
        assert code == 3
        assert "bad-token-999" not in captured.err + captured.out
        code = run([*base_args(server, cache), "--token", "tok-abcdef-123", "query", "foo"])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        assert "tok-abcdef-123" not in captured.err + captured.out
        assert captured.out.startswith("foo 1.2.0\n")


# --- fetch ------------------------------------------------------------------------------------

SUMMARY = re.compile(
    r"(\d+) crates: (\d+) downloaded, (\d+) unchanged, (\d+) from cache, (\d+) not found, "
    r"(\d+) failed \(\d+\.\d\d s\)\n"
)


def test_fetch_summary(index: Path, index_server: IndexServer, cli: Callable[..., Result]) -> None:
    result = cli("fetch", "foo", "bar", "rich")
    assert result.code == 0, result.err
    match = SUMMARY.fullmatch(result.out)
    assert match, result.out
    assert match.groups() == ("3", "3", "0", "0", "0", "0")
    assert result.err == ""
    for rel in ("3/f/foo", "3/b/bar", "ri/ch/rich"):
        assert len(index_server.requests_for(rel)) == 1
    result = cli("fetch", "foo", "bar", "rich", "foo")
    match = SUMMARY.fullmatch(result.out)
    assert match and match.groups() == ("3", "0", "3", "0", "0", "0")


def test_fetch_verbose_reports_the_index_and_its_requests(
    index: Path, index_server: IndexServer, cli: Callable[..., Result], cache: Path
) -> None:
    url = "sparse+" + index_server.url
    cache_dir = cache / "registry" / "index" / source_dir_name(url)
    result = cli("-v", "fetch", "foo", "bar")
    assert result.code == 0, result.err
    assert f"{url}: cache {cache_dir}; 3 requests, 2 downloaded, 0 not modified\n" in result.err
    result = cli("-v", "--refresh", "fetch", "foo")
    assert f"{url}: cache {cache_dir}; 2 requests, 0 downloaded, 1 not modified\n" in result.err


def test_fetch_quiet_prints_nothing(index: Path, cli: Callable[..., Result]) -> None:
    result = cli("-q", "fetch", "foo")
    assert result.code == 0
    assert result.out == ""
    assert result.err == ""


def test_fetch_missing_crate_exit_1(index: Path, cli: Callable[..., Result]) -> None:
    result = cli("fetch", "foo", "nope")
    assert result.code == 1
    match = SUMMARY.fullmatch(result.out)
    assert match and match.groups() == ("2", "1", "0", "0", "1", "0")
    assert result.err == "not found: nope\n"


def test_fetch_failure_exit_3(
    index: Path, index_server: IndexServer, cli: Callable[..., Result]
) -> None:
    index_server.faults["3/b/bar"] = [Fault.status(503)] * 4
    result = cli("fetch", "foo", "bar")
    assert result.code == 3
    match = SUMMARY.fullmatch(result.out)
    assert match and match.groups() == ("2", "1", "0", "0", "0", "1")
    assert "HTTP 503" in one_error_line(result.err)


def test_fetch_without_names_is_usage_error(index: Path, cli: Callable[..., Result]) -> None:
    result = cli("fetch")
    assert result.code == 2
    assert result.out == ""


_ZERO_TIME = re.compile(rb"\(\d+\.\d\d s\)")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("fetch", "foo", "bar"), 0),
        (("--refresh", "fetch", "foo"), 0),
        (("-q", "fetch", "foo"), 0),
        (("fetch", "foo", "nope"), 1),
        (("--offline", "fetch", "foo", "zzz"), 3),
        (("fetch", "--lockfile", "LOCK"), 0),
        (("fetch", "--lockfile=LOCK", "rich"), 0),
        (("--refresh", "fetch", "--lockfile", "missing.lock"), 2),
    ],
)
def test_fast_fetch_matches_the_full_cli(
    index: Path,
    index_server: IndexServer,
    cli: Callable[..., Result],
    cache: Path,
    tmp_path: Path,
    args: tuple[str, ...],
    code: int,
) -> None:
    (tmp_path / "Cargo.lock").write_text(
        "version = 4\n\n"
        '[[package]]\nname = "bar"\nversion = "1.0.0"\n'
        'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
        f'checksum = "{cksum("bar", "1.0.0")}"\n'
    )
    _warm(cli, "foo", "bar", "rich")  # both runs then meet the same cache
    args = tuple(a.replace("LOCK", str(tmp_path / "Cargo.lock")) for a in args)
    fast = probe(tmp_path, *base_args(index_server, cache), *args)
    assert "click" not in fast.heavy, "fetch loaded click"
    assert {m.split(".")[0] for m in fast.heavy} <= {"orjson", "pycurl", "semver"}
    full = cli(*args)
    assert (fast.code, full.code) == (code, code)
    assert _ZERO_TIME.sub(b"", fast.out) == _ZERO_TIME.sub(b"", full.out.encode())
    assert fast.err == full.err


@pytest.mark.parametrize(
    "args",
    [
        ("fetch",),  # usage error, worded by click
        ("--offline", "--refresh", "fetch", "foo"),  # contradiction, worded by click
        ("-v", "fetch", "foo"),
        ("fetch", "--lockfile"),
        ("fetch", "--bogus", "foo"),
    ],
)
def test_fast_fetch_defers_to_the_full_cli(
    index: Path,
    index_server: IndexServer,
    cli: Callable[..., Result],
    cache: Path,
    tmp_path: Path,
    args: tuple[str, ...],
) -> None:
    _warm(cli, "foo")
    result = probe(tmp_path, *base_args(index_server, cache), *args)
    in_process = cli(*args)
    assert result.code == in_process.code
    assert _ZERO_TIME.sub(b"", result.out) == _ZERO_TIME.sub(b"", in_process.out.encode())


# --- offline ----------------------------------------------------------------------------------


def test_offline_empty_cache_exit_3(
    index: Path, index_server: IndexServer, cli: Callable[..., Result]
) -> None:
    for args in (("query", "foo==1.0.0"), ("query", "foo"), ("versions", "foo")):
        result = cli("--offline", *args)
        assert result.code == 3
        assert result.out == ""
        assert one_error_line(result.err) == (
            "error: foo is not in the cache, and --offline was given: run without --offline"
        )
    assert index_server.requests == []


def test_offline_env_var(
    index: Path,
    index_server: IndexServer,
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REGISTRY_OFFLINE", "1")
    result = cli("query", "foo==1.0.0")
    assert result.code == 3
    assert "--offline" in one_error_line(result.err)
    assert index_server.requests == []


def test_offline_warm_cache_answers_without_requests(
    index: Path, index_server: IndexServer, cli: Callable[..., Result]
) -> None:
    assert cli("fetch", "foo").code == 0
    index_server.clear_requests()
    result = cli("--offline", "query", "foo==1.0.0")
    assert result.code == 0
    assert result.out.startswith("foo 1.0.0\n")
    assert cli("--offline", "versions", "foo").code == 0
    assert cli("--offline", "query", "foo==9.9.9").code == 1
    assert index_server.requests == []


# --- bad input --------------------------------------------------------------------------------

HOSTILE = ["../x", "a/b", "a\0b", "..", ".", "a\\b", "", " foo", "foo bar", "ü", "x" * 65, "/etc"]


@pytest.mark.parametrize("name", HOSTILE, ids=[repr(n) for n in HOSTILE])
@pytest.mark.parametrize(
    "args",
    [
        ("query", "{}"),
        ("query", "{}==1.0.0"),
        ("query", "{}@^1"),
        ("versions", "{}"),
        ("fetch", "{}"),
        ("fetch", "foo", "{}"),
    ],
)
def test_hostile_names_exit_2(
    index: Path,
    index_server: IndexServer,
    cli: Callable[..., Result],
    name: str,
    args: tuple[str, ...],
) -> None:
    result = cli(*[a.replace("{}", name) for a in args])
    assert result.code == 2
    assert result.out == ""
    one_error_line(result.err)
    assert all(r.rel in (None, "config.json", "3/f/foo") for r in index_server.requests)
    assert not any(".." in r.path for r in index_server.requests)


@pytest.mark.parametrize(
    "spec",
    [
        "foo==1.0",
        "foo==01.0.0",
        "foo==v1.0.0",
        "foo==1.0.0 ",
        "foo@^^1",
        "foo@",
        "foo==",
        "@1",
        "foo@1.0.0.0",
        "foo==1.0.0==2",
    ],
)
def test_invalid_specs_exit_2(index: Path, cli: Callable[..., Result], spec: str) -> None:
    result = cli("query", spec)
    assert result.code == 2
    assert result.out == ""
    one_error_line(result.err)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://host/index/",
        "registry+https://github.com/x/y",
        "sparse+https://h/no-slash",
        "https://user:pw@host/",
        "/does/not/exist",
    ],
)
def test_invalid_index_url_exit_2(cli: Callable[..., Result], cache: Path, url: str) -> None:
    result = cli("query", "foo==1.0.0", globals_=("--index-url", url, "--cache-dir", str(cache)))
    assert result.code == 2
    assert result.out == ""
    message = one_error_line(result.err)
    assert "pw" not in message


def test_usage_errors_exit_2(index: Path, cli: Callable[..., Result]) -> None:
    for args in (
        ("query",),
        ("no-such-command",),
        ("--offline", "--refresh", "query", "foo"),
        ("query", "foo", "--bogus"),
    ):
        result = cli(*args)
        assert result.code == 2, args
        assert result.out == ""
        assert result.err.strip()


# --- cache commands -----------------------------------------------------------------------------


def test_cache_dir(index_server: IndexServer, cli: Callable[..., Result], cache: Path) -> None:
    result = cli("cache", "dir")
    assert result.code == 0
    expected = cache / "registry" / "index" / source_dir_name("sparse+" + index_server.url)
    assert result.out == f"{expected}\n"
    assert expected.name.startswith("127.0.0.1-")


def test_cache_dir_default_and_env(
    cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = cli("cache", "dir", globals_=())
    default = tmp_path / "xdg" / "registry" / "registry" / "index"
    assert result.out == f"{default / 'index.crates.io-1949cf8c6b5b557f'}\n"
    monkeypatch.setenv("REGISTRY_CACHE_DIR", str(tmp_path / "envcache"))
    monkeypatch.setenv("REGISTRY_INDEX_URL", "sparse+http://127.0.0.1:8719/")
    result = cli("cache", "dir", globals_=())
    assert (
        result.out
        == f"{tmp_path / 'envcache' / 'registry' / 'index' / '127.0.0.1-f8c18ac7967056a9'}\n"
    )


def test_cache_stats_and_clean(
    index: Path, index_server: IndexServer, cli: Callable[..., Result], cache: Path
) -> None:
    result = cli("cache", "stats")
    assert result.code == 0
    assert result.out == f"{cache}: empty\n"
    assert cli("fetch", "foo", "bar").code == 0
    result = cli("cache", "stats")
    assert result.code == 0
    directory = cache / "registry" / "index" / source_dir_name("sparse+" + index_server.url)
    files = [p for p in directory.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    assert result.out == f"{directory.name}: {len(files)} files, {size} bytes\n"
    assert sorted(
        p.relative_to(directory).as_posix() for p in files if ".registry" not in p.parts
    ) == [
        ".cache/3/b/bar",
        ".cache/3/f/foo",
        "config.json",
    ]

    result = cli("cache", "clean")
    assert result.code == 0
    assert result.out == f"removed {size} bytes from {cache}\n"
    assert not directory.exists()
    assert cli("cache", "stats").out == f"{cache}: empty\n"
    assert cli("--offline", "query", "foo==1.0.0").code == 3


# --- help -------------------------------------------------------------------------------------


def test_help_lists_env_vars_and_exit_codes(cli: Callable[..., Result]) -> None:
    result = cli("--help", globals_=())
    assert result.code == 0
    for name in ENV_VARS:
        assert name in result.out, name
    text = " ".join(result.out.split())
    assert "Exit codes:" in text
    for code in ("0 answered", "1 not found", "2 bad usage or input", "3 could not answer"):
        assert code in text, code
    for command in ("query", "versions", "fetch", "cache"):
        assert re.search(rf"^\s+{command}\s", result.out, re.M), command


def test_version_option(cli: Callable[..., Result]) -> None:
    from registry import __version__

    result = cli("--version", globals_=())
    assert result.code == 0
    assert __version__ in result.out


# --- subprocess: python -m registry and the fast path --------------------------------------------


def test_python_m_registry_help(tmp_path: Path) -> None:
    proc = python_m(tmp_path, "--help")
    assert proc.returncode == 0
    for name in ENV_VARS:
        assert name.encode() in proc.stdout


def test_python_m_offline_empty_cache(tmp_path: Path, cache: Path) -> None:
    proc = python_m(tmp_path, "--cache-dir", str(cache), "--offline", "query", "serde==1.0.0")
    assert proc.returncode == 3
    assert proc.stdout == b""
    assert proc.stderr == (
        b"error: serde is not in the cache, and --offline was given: run without --offline\n"
    )


def test_python_m_hostile_name(tmp_path: Path, cache: Path) -> None:
    for spec in ("../x==1.0.0", "a/b", "../../etc/passwd"):
        proc = python_m(tmp_path, "--cache-dir", str(cache), "--offline", "query", spec)
        assert proc.returncode == 2
        assert proc.stdout == b""
        assert proc.stderr.startswith(b"error: ") and proc.stderr.count(b"\n") == 1


def _warm(cli: Callable[..., Result], *names: str) -> None:
    result = cli("fetch", *names)
    assert result.code == 0, result.err


@pytest.mark.parametrize("vers", RICH_VERSIONS)
@pytest.mark.parametrize("as_json", [False, True], ids=["human", "json"])
def test_fast_path_and_full_cli_print_the_same_bytes(
    index: Path,
    index_server: IndexServer,
    cli: Callable[..., Result],
    cache: Path,
    tmp_path: Path,
    vers: str,
    as_json: bool,
) -> None:
    _warm(cli, "rich")
    index_server.clear_requests()
    args = [*base_args(index_server, cache), "--offline", "query", f"rich=={vers}"]
    if as_json:
        args.append("--json")
    fast = probe(tmp_path, *args)
    assert fast.code == 0, fast.err
    assert not fast.full_cli, "the fast path did not answer"
    full = cli(*args, globals_=())  # registry.cli.run: never the fast path
    assert full.code == 0, full.err
    assert fast.out == full.out.encode()
    assert full.err == ""
    assert fast.out.startswith(b"{" if as_json else f"rich {vers}\n".encode())
    assert index_server.requests == []


def test_fast_path_with_env_vars(
    index: Path, index_server: IndexServer, cli: Callable[..., Result], cache: Path, tmp_path: Path
) -> None:
    _warm(cli, "foo")
    fast = probe(
        tmp_path,
        "query",
        "foo==1.0.0",
        REGISTRY_OFFLINE="1",
        REGISTRY_INDEX_URL=index_server.url,
        REGISTRY_CACHE_DIR=str(cache),
    )
    assert (fast.code, fast.full_cli) == (0, False)
    assert fast.out.startswith(b"foo 1.0.0\n")


def test_warm_offline_exact_query_imports_nothing_heavy(
    index: Path, index_server: IndexServer, cli: Callable[..., Result], cache: Path, tmp_path: Path
) -> None:
    _warm(cli, "foo")
    for extra in ((), ("--json",)):
        fast = probe(
            tmp_path, *base_args(index_server, cache), "--offline", "query", "foo==1.0.0", *extra
        )
        assert fast.code == 0
        assert fast.heavy == []
        assert not fast.full_cli


@pytest.mark.parametrize("index_server", [{"max_age": 60}], indirect=True)
def test_fast_path_within_max_age_makes_no_request(
    index: Path, index_server: IndexServer, cli: Callable[..., Result], cache: Path, tmp_path: Path
) -> None:
    _warm(cli, "foo")
    index_server.clear_requests()
    fast = probe(tmp_path, *base_args(index_server, cache), "query", "foo==1.1.0")
    assert (fast.code, fast.full_cli, fast.heavy) == (0, False, [])
    assert fast.out.startswith(b"foo 1.1.0\n")
    assert index_server.requests == []


def test_fast_path_defers_when_not_fresh(
    index: Path, index_server: IndexServer, cli: Callable[..., Result], cache: Path, tmp_path: Path
) -> None:
    _warm(cli, "foo")
    index_server.clear_requests()
    full = probe(tmp_path, *base_args(index_server, cache), "query", "foo==1.1.0")
    assert full.code == 0 and full.full_cli
    assert full.out.startswith(b"foo 1.1.0\n")
    assert [r.rel for r in index_server.requests] == ["3/f/foo"]  # revalidated once


@pytest.mark.parametrize(
    "args",
    [
        ("query", "foo==9.9.9"),  # a miss
        ("query", "nope==1.0.0"),  # not cached
        ("query", "foo@^1"),  # not exact
        ("query", "foo==1.0.0", "--all"),
        ("versions", "foo"),
    ],
)
def test_fast_path_defers_to_the_full_cli(
    index: Path,
    index_server: IndexServer,
    cli: Callable[..., Result],
    cache: Path,
    tmp_path: Path,
    args: tuple[str, ...],
) -> None:
    _warm(cli, "foo")
    result = probe(tmp_path, *base_args(index_server, cache), "--offline", *args)
    assert result.full_cli
    in_process = cli("--offline", *args)
    assert result.code == in_process.code
    assert result.out.decode() == in_process.out
    assert result.err == in_process.err


def test_fast_path_rejects_a_foreign_blob(
    index: Path, index_server: IndexServer, cli: Callable[..., Result], cache: Path, tmp_path: Path
) -> None:
    from cache.format import serialize

    _warm(cli, "foo")
    path = (
        cache
        / "registry"
        / "index"
        / source_dir_name("sparse+" + index_server.url)
        / ".cache"
        / "3"
        / "f"
        / "foo"
    )
    path.write_bytes(serialize("Unknown", [("1.0.0", index_line(index, "3/b/bar", "1.0.0"))]))
    result = probe(tmp_path, *base_args(index_server, cache), "--offline", "query", "foo==1.0.0")
    assert result.full_cli
    # bar's line is not a version of foo: names match exactly, as in cargo (not found)
    assert result.code == 1
    assert result.out == b""
    assert "named 'bar'" in one_error_line(result.err)
    # a line of foo under another version's key: a damaged entry (exit 3)
    path.write_bytes(serialize("Unknown", [("1.0.0", index_line(index, "3/f/foo", "1.1.0"))]))
    result = probe(tmp_path, *base_args(index_server, cache), "--offline", "query", "foo==1.0.0")
    assert result.full_cli
    assert result.code == 3
    assert one_error_line(result.err).startswith("error: cache entry for foo")


ODD_BLOBS = {
    "nan": b'{"name":"foo","vers":"1.0.0","deps":[],"cksum":"00","x":NaN}',
    "infinity": b'{"name":"foo","vers":"1.0.0","deps":[],"cksum":"00","x":-Infinity}',
    "huge-float": b'{"name":"foo","vers":"1.0.0","deps":[],"cksum":"00","x":1e400}',
    "bom": b'\xef\xbb\xbf{"name":"foo","vers":"1.0.0","deps":[],"cksum":"00"}',
    "lone-surrogate": b'{"name":"foo","vers":"1.0.0","deps":[],"cksum":"\\ud800"}',
    "bad-utf8": b'{"name":"foo","vers":"1.0.0","deps":[],"cksum":"\xff"}',
}


#: What cargo makes of each odd line (query.entry): NaN and a BOM are not JSON (dropped: not a
#: line of foo), 1e400 in an unknown field is skipped (usable), a cksum that is not valid text
#: makes the line invalid.
ODD_VERDICTS = {
    "nan": None,
    "infinity": None,
    "huge-float": "checksum: 00",
    "bom": None,
    "lone-surrogate": "status: invalid",
    "bad-utf8": "status: invalid",
}


@pytest.mark.parametrize("blob", list(ODD_BLOBS.values()), ids=list(ODD_BLOBS))
def test_fast_path_and_full_cli_agree_on_odd_lines(
    index: Path,
    index_server: IndexServer,
    cli: Callable[..., Result],
    cache: Path,
    tmp_path: Path,
    blob: bytes,
) -> None:
    """A hand-made cache line: the fast path classifies it as the general path does (the same
    function), or defers; both print the same, and a line cargo drops is a damaged entry."""
    from cache.format import serialize

    _warm(cli, "foo")
    path = (
        cache
        / "registry"
        / "index"
        / source_dir_name("sparse+" + index_server.url)
        / ".cache"
        / "3"
        / "f"
        / "foo"
    )
    path.write_bytes(serialize("Unknown", [("1.0.0", blob)]))
    verdict = ODD_VERDICTS[next(k for k, v in ODD_BLOBS.items() if v == blob)]
    for extra in ((), ("--json",)):
        args = (*base_args(index_server, cache), "--offline", "query", "foo==1.0.0", *extra)
        result = probe(tmp_path, *args)
        if not (extra and b"\xff" in blob):  # capsys cannot capture bytes that are not UTF-8
            in_process = cli(*args, globals_=())
            assert (result.code, result.out.decode(), result.err) == (
                in_process.code,
                in_process.out,
                in_process.err,
            )
        if verdict is None:
            assert result.full_cli
            assert result.code == 3
            assert one_error_line(result.err).startswith("error: cache entry for foo")
        else:
            assert result.code == 0, result.err
            assert not result.full_cli, "the fast path did not answer"
            if extra:
                assert result.out == blob + b"\n"
            else:
                assert verdict in result.out.decode()


def test_main_runs_without_the_cyclic_collector_and_restores_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from registry import __main__

    seen: list[bool] = []

    def spy(args: list[str]) -> int:
        seen.append(gc.isenabled())
        return 0

    monkeypatch.setattr(__main__, "_main", spy)
    assert gc.isenabled()
    assert __main__.main(["--version"]) == 0
    assert seen == [False]
    assert gc.isenabled()
    gc.disable()
    try:
        __main__.main(["--version"])
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


@pytest.mark.parametrize(("args", "code"), [(("versions", "serde"), 0), (("query", "nope"), 1)])
def test_console_entry_flushes_and_keeps_the_exit_code(
    args: tuple[str, ...], code: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m registry`` (like the console script) leaves through os._exit after
    flushing: the whole output arrives and the exit code is main's."""
    from tests.checkutil import INDEX, run_sub

    argv = ("--index-url", str(INDEX), "--cache-dir", str(tmp_path), *args)
    sub = run_sub(*argv)
    capsys.readouterr()
    assert run(list(argv)) == code
    out, err = capsys.readouterr()
    assert (sub.code, sub.out, sub.err) == (code, out, err)
    assert len(sub.out) > 1000 or code == 1

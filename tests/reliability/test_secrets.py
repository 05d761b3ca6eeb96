"""D. Secrets: registry tokens from ``--token``, ``REGISTRY_TOKEN``, cargo's
``CARGO_REGISTRIES_<NAME>_TOKEN`` and ``$CARGO_HOME/credentials.toml``.

Each token goes only to the registry's own host: the auth-requiring server sees it; a redirect to
another host (127.0.0.2) arrives WITHOUT ``Authorization``; the config.json ``dl`` host is never
contacted. And it never shows anywhere: not in stdout/stderr at any verbosity, not in error
messages (a rejected token, a server echoing it in a 500 body), not in the str/repr/traceback of
any exception the API raises, not in any file under the cache dir (the fingerprint record of
``check`` included) or anywhere else under tmp. Every check greps ALL the bytes a run produced
for the token.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from registry.api import Registry
from registry.errors import RegistryError
from registry.transport.base import TransportOptions
from tests.httpserver import Fault, IndexServer
from tests.reliability.support import CliResult, all_bytes_under, run_cli

MakeIndexDir = Callable[..., Path]

TOKEN_FLAG = "tok-flag-8c1d5f0e9a7b3c2d"
TOKEN_ENV = "tok-env-4e6a2b9c0d1f8e7a"
TOKEN_CARGO_ENV = "tok-cargoenv-7f3e1a9b5c2d4e6f"
TOKEN_CREDENTIALS = "tok-credfile-2a9c4e6b8d0f1a3c"
WRONG_TOKEN = "tok-wrong-5b7d9f1a3c5e7a9b"
ALL_TOKENS = (TOKEN_FLAG, TOKEN_ENV, TOKEN_CARGO_ENV, TOKEN_CREDENTIALS, WRONG_TOKEN)

CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"
SERDE_CKSUM = "c" * 64
BAR_CKSUM = "d" * 64


def _line(name: str, vers: str, cksum: str) -> dict[str, Any]:
    return {"name": name, "vers": vers, "deps": [], "cksum": cksum, "features": {}}


@pytest.fixture(autouse=True)
def _no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_RETRY_SLEEP_MS", "0")


@pytest.fixture
def dl_host(tmp_path: Path) -> Iterator[IndexServer]:
    with IndexServer(tmp_path / "no-dl-root", host="127.0.0.2") as server:
        yield server


@pytest.fixture
def index(make_index_dir: MakeIndexDir, dl_host: IndexServer) -> Path:
    return make_index_dir(
        {
            "serde": [_line("serde", "1.0.0", SERDE_CKSUM)],
            "bar": [_line("bar", "1.0.0", BAR_CKSUM)],
        },
        config={
            "dl": dl_host.url + "api/v1/crates/{crate}/{version}/download",
            "api": dl_host.url,
            "auth-required": True,
        },
    )


@pytest.fixture
def other_host(index: Path) -> Iterator[IndexServer]:
    """The same index on 127.0.0.2, no auth: where the registry redirects ``bar``."""
    with IndexServer(index, host="127.0.0.2") as server:
        yield server


def _auth_server(index: Path, token: str, other: IndexServer) -> IndexServer:
    server = IndexServer(index, auth_token=token)
    server.start()
    server.faults["3/b/bar"] = [Fault.redirect(other.url + "3/b/bar") for _ in range(50)]
    return server


def _lockfile(source: str) -> str:
    return "\n".join(
        [
            "version = 3",
            "",
            "[[package]]",
            'name = "app"',
            'version = "0.1.0"',
            'dependencies = ["bar", "serde"]',
            "",
            "[[package]]",
            'name = "bar"',
            'version = "1.0.0"',
            f'source = "{source}"',
            f'checksum = "{BAR_CKSUM}"',
            "",
            "[[package]]",
            'name = "serde"',
            'version = "1.0.0"',
            f'source = "{source}"',
            f'checksum = "{SERDE_CKSUM}"',
            "",
        ]
    )


def _manifest(registry: str | None) -> str:
    extra = f', registry = "{registry}"' if registry else ""
    return (
        '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n'
        f'serde = {{ version = "1"{extra} }}\nbar = {{ version = "1"{extra} }}\n'
    )


class Run:
    """Everything one scenario produced: each CLI result, for the final grep."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.results: list[tuple[list[str], CliResult]] = []

    def cli(self, args: list[str], *, env: dict[str, str] | None = None, cwd: Path) -> CliResult:
        result = run_cli(args, home=self.tmp / "home", cwd=cwd, env=env)
        self.results.append((args, result))
        return result

    def assert_no_token_anywhere(self, *, allowed_files: tuple[Path, ...] = ()) -> None:
        allowed = {p.resolve() for p in allowed_files}
        for args, result in self.results:
            for token in ALL_TOKENS:
                assert token.encode() not in result.output, (args, token, result.output[-500:])
        for path, content in all_bytes_under(self.tmp):
            if path.resolve() in allowed:
                continue
            for token in ALL_TOKENS:
                assert token.encode() not in content, f"{token} found in {path}"


def _assert_only_own_host_saw_it(
    server: IndexServer, other: IndexServer, dl: IndexServer, token: str
) -> None:
    own = server.requests
    assert own, "the registry was never asked"
    served = [r for r in own if r.rel not in (None,) and r.header("Authorization") == token]
    assert served, "the token never reached the registry"
    # Every header the registry saw is either the token or absent (the first config.json
    # request goes out without, as in cargo's auth dance).
    assert {r.header("Authorization") for r in own} <= {token, None}
    # The redirect to another host drops it.
    assert other.requests, "the redirect to the other host was not followed"
    for request in other.requests:
        assert request.header("Authorization") is None, request
        assert all(token not in value for _, value in request.headers)
    assert dl.requests == []


# --- token sources, end to end ------------------------------------------------------------------


#: Every command at -vv by default; the slow run repeats them at the default verbosity and -v.
VERBOSITY = [
    pytest.param(("-vv",), id="vv"),
    pytest.param((), id="quiet", marks=pytest.mark.slow),
    pytest.param(("-v",), id="v", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("verbosity", VERBOSITY)
@pytest.mark.parametrize("how", ["flag", "env"])
def test_token_for_the_index_url_registry(
    how: str,
    verbosity: tuple[str, ...],
    tmp_path: Path,
    index: Path,
    other_host: IndexServer,
    dl_host: IndexServer,
) -> None:
    token = TOKEN_FLAG if how == "flag" else TOKEN_ENV
    server = _auth_server(index, token, other_host)
    try:
        work = tmp_path / "work"
        work.mkdir()
        (work / "Cargo.lock").write_text(_lockfile(CRATES_IO))
        (work / "Cargo.toml").write_text(_manifest(None))
        (work / "src").mkdir()
        (work / "src" / "lib.rs").write_text("")
        cache = tmp_path / "cache"
        base = ["--index-url", server.url, "--cache-dir", str(cache)]
        env = None
        if how == "flag":
            base += ["--token", token]
        else:
            env = {"REGISTRY_TOKEN": token}
        run = Run(tmp_path)
        for command in (
            ["query", "serde==1.0.0"],
            ["query", "serde", "--json"],
            ["versions", "bar"],
            ["fetch", "serde", "bar"],
            ["--refresh", "validate", str(work / "Cargo.lock")],
            ["validate", "--format", "json", str(work / "Cargo.lock")],
            ["check", "--manifest-path", str(work / "Cargo.toml")],
            ["--offline", "check", "--manifest-path", str(work / "Cargo.toml")],
        ):
            result = run.cli([*base, *verbosity, *command], env=env, cwd=work)
            assert result.code == 0, (command, result.stderr)
        assert list((cache / "registry" / "fingerprints").glob("*")), "check stored no record"
        _assert_only_own_host_saw_it(server, other_host, dl_host, token)
        run.assert_no_token_anywhere()
    finally:
        server.stop()


@pytest.mark.parametrize("verbosity", VERBOSITY)
@pytest.mark.parametrize("how", ["cargo-env", "credentials"])
def test_token_for_a_named_cargo_registry(
    how: str,
    verbosity: tuple[str, ...],
    tmp_path: Path,
    index: Path,
    other_host: IndexServer,
    dl_host: IndexServer,
) -> None:
    token = TOKEN_CARGO_ENV if how == "cargo-env" else TOKEN_CREDENTIALS
    server = _auth_server(index, token, other_host)
    try:
        source = f"sparse+{server.url}"
        work = tmp_path / "work"
        (work / ".cargo").mkdir(parents=True)
        (work / ".cargo" / "config.toml").write_text(f'[registries.alt]\nindex = "{source}"\n')
        (work / "Cargo.lock").write_text(_lockfile(source))
        (work / "Cargo.toml").write_text(_manifest("alt"))
        (work / "src").mkdir()
        (work / "src" / "lib.rs").write_text("")
        cache = tmp_path / "cache"
        env: dict[str, str] = {}
        credentials = tmp_path / "home" / ".cargo" / "credentials.toml"
        if how == "cargo-env":
            env["CARGO_REGISTRIES_ALT_TOKEN"] = token
        else:
            credentials.parent.mkdir(parents=True)
            credentials.write_text(f'[registries.alt]\ntoken = "{token}"\n')
        base = ["--cache-dir", str(cache)]
        run = Run(tmp_path)
        for command in (
            ["fetch", "--lockfile", str(work / "Cargo.lock")],
            ["--refresh", "validate", str(work / "Cargo.lock")],
            ["validate", "--format", "sarif", str(work / "Cargo.lock")],
            ["check", "--manifest-path", str(work / "Cargo.toml")],
            ["check", "--format", "json", "--manifest-path", str(work / "Cargo.toml")],
        ):
            result = run.cli([*base, *verbosity, *command], env=env, cwd=work)
            assert result.code == 0, (command, result.stderr)
        assert list((cache / "registry" / "fingerprints").glob("*")), "check stored no record"
        _assert_only_own_host_saw_it(server, other_host, dl_host, token)
        run.assert_no_token_anywhere(allowed_files=(credentials,))
    finally:
        server.stop()


def test_flag_token_never_goes_to_a_named_registry(
    tmp_path: Path, index: Path, other_host: IndexServer, dl_host: IndexServer
) -> None:
    """--token belongs to the --index-url registry: a lockfile's other registry never gets it
    (it has no token of its own here, so it answers 401 -> unknown, exit 3)."""
    server = _auth_server(index, TOKEN_CARGO_ENV, other_host)
    try:
        source = f"sparse+{server.url}"
        work = tmp_path / "work"
        (work / ".cargo").mkdir(parents=True)
        (work / ".cargo" / "config.toml").write_text(f'[registries.alt]\nindex = "{source}"\n')
        (work / "Cargo.lock").write_text(_lockfile(source))
        run = Run(tmp_path)
        result = run.cli(
            ["--token", TOKEN_FLAG, "--cache-dir", str(tmp_path / "cache"), "-vv", "validate"],
            cwd=work,
        )
        assert result.code == 3, result.stderr
        assert all(r.header("Authorization") != TOKEN_FLAG for r in server.requests)
        run.assert_no_token_anywhere()
    finally:
        server.stop()


# --- failures must not print it -----------------------------------------------------------------


def test_rejected_token_is_not_printed(
    tmp_path: Path, index: Path, other_host: IndexServer
) -> None:
    server = _auth_server(index, TOKEN_FLAG, other_host)
    try:
        run = Run(tmp_path)
        for verbosity in ([], ["-v"], ["-vv"]):
            for token_args, env in (
                (["--token", WRONG_TOKEN], None),
                ([], {"REGISTRY_TOKEN": WRONG_TOKEN}),
            ):
                result = run.cli(
                    [
                        "--index-url",
                        server.url,
                        "--cache-dir",
                        str(tmp_path / "cache"),
                        *token_args,
                        *verbosity,
                        "query",
                        "serde==1.0.0",
                    ],
                    env=env,
                    cwd=tmp_path,
                )
                assert result.code == 3
                assert "token" in result.stderr and server.url in result.stderr
                assert len(result.stderr.splitlines()) == 1, result.stderr
        assert any(r.header("Authorization") == WRONG_TOKEN for r in server.requests)
        run.assert_no_token_anywhere()
    finally:
        server.stop()


ECHOES = {
    "500-echo": lambda token: Fault.status(500, body=f"bad token {token} here".encode()),
    "403-echo": lambda token: Fault.status(403, body=f"forbidden: {token}".encode()),
    "400-echo": lambda token: Fault.status(400, body=f"Authorization: {token}".encode()),
    "429-echo-header": lambda token: Fault.status(
        429, headers=[("X-Echo", token)], body=token.encode()
    ),
    "redirect-to-token": lambda token: Fault.redirect(f"http://127.0.0.1:1/{token}/serde"),
    "garbage-echo": lambda token: Fault.garbage(f"HTTP/1.1 {token}\r\n\r\n".encode()),
}


@pytest.mark.parametrize("echo", list(ECHOES))
def test_server_echoing_the_token_is_not_printed(
    echo: str, tmp_path: Path, index: Path, other_host: IndexServer
) -> None:
    server = _auth_server(index, TOKEN_FLAG, other_host)
    try:
        server.faults["se/rd/serde"] = [ECHOES[echo](TOKEN_FLAG) for _ in range(8)]
        run = Run(tmp_path)
        for verbosity in ([], ["-vv"]):
            result = run.cli(
                [
                    "--index-url",
                    server.url,
                    "--cache-dir",
                    str(tmp_path / "cache"),
                    "--token",
                    TOKEN_FLAG,
                    *verbosity,
                    "query",
                    "serde==1.0.0",
                ],
                cwd=tmp_path,
            )
            assert result.code == 3, result.stderr
            assert "Traceback" not in result.stderr
        run.assert_no_token_anywhere()
    finally:
        server.stop()


# --- exceptions from the API --------------------------------------------------------------------


def _exception_texts(exc: BaseException) -> str:
    parts = [str(exc), repr(exc), *map(repr, exc.args)]
    parts += traceback.format_exception(exc)
    parts += [repr(v) for v in vars(exc).values()] if hasattr(exc, "__dict__") else []
    return "\n".join(parts)


@pytest.mark.parametrize("transport", ["curl", "httpx"])
def test_api_exceptions_never_carry_the_token(
    transport: str, tmp_path: Path, index: Path, other_host: IndexServer
) -> None:
    server = _auth_server(index, TOKEN_FLAG, other_host)
    raised: list[BaseException] = []

    def attempt(token: str, faults: list[Fault] | None, call: Callable[[Registry], Any]) -> None:
        if faults is not None:
            server.faults["se/rd/serde"] = faults
        kwargs: dict[str, Any] = {"cache_dir": tmp_path / "cache", "token": token}
        if transport == "httpx":
            from registry.transport.httpx import HttpxTransport

            kwargs["transport"] = HttpxTransport(TransportOptions())
        with Registry(server.url, refresh=True, **kwargs) as reg:
            try:
                call(reg)
            except RegistryError as exc:
                raised.append(exc)

    try:
        get = lambda reg: reg.get("serde", "1.0.0")  # noqa: E731
        attempt(WRONG_TOKEN, None, get)
        attempt(WRONG_TOKEN, None, lambda reg: reg.versions("bar"))
        for make in ECHOES.values():
            attempt(TOKEN_FLAG, [make(TOKEN_FLAG) for _ in range(8)], get)
            attempt(
                TOKEN_FLAG, [make(TOKEN_FLAG) for _ in range(8)], lambda reg: reg.query("serde")
            )
        attempt(TOKEN_FLAG, [Fault.redirect(server.url + "se/rd/serde") for _ in range(20)], get)
        attempt(TOKEN_FLAG, [Fault.truncated_body() for _ in range(8)], get)
        attempt(TOKEN_FLAG, [Fault.reset_mid_body() for _ in range(8)], get)
        report_errors: list[BaseException] = []
        server.faults["se/rd/serde"] = [Fault.status(500, body=TOKEN_FLAG.encode())] * 8
        with Registry(server.url, cache_dir=tmp_path / "cache", token=TOKEN_FLAG) as reg:
            report_errors += reg.fetch(["serde", "bar"]).errors.values()
            assert TOKEN_FLAG not in repr(reg)
        raised += report_errors
    finally:
        server.stop()
    assert len(raised) >= 10
    for exc in raised:
        text = _exception_texts(exc)
        for token in ALL_TOKENS:
            assert token not in text, (type(exc).__name__, text[:300])
    for path, content in all_bytes_under(tmp_path):
        for token in ALL_TOKENS:
            assert token.encode() not in content, f"{token} found in {path}"


def test_registry_repr_and_settings_never_show_the_token(tmp_path: Path, index: Path) -> None:
    reg = Registry("http://127.0.0.1:1/", cache_dir=tmp_path / "cache", token=TOKEN_FLAG)
    try:
        assert TOKEN_FLAG not in repr(reg) and TOKEN_FLAG not in str(reg)
        assert TOKEN_FLAG not in repr(reg.store) and TOKEN_FLAG not in repr(reg.source)
    finally:
        reg.close()


def test_fingerprint_record_holds_no_token(
    tmp_path: Path, index: Path, other_host: IndexServer
) -> None:
    """Also when the token changes: the record key and content depend only on whether a token
    was given (so nothing in the cache dir can be matched against a guessed token)."""
    server = _auth_server(index, TOKEN_FLAG, other_host)
    try:
        work = tmp_path / "work"
        work.mkdir()
        (work / "Cargo.lock").write_text(_lockfile(CRATES_IO))
        (work / "Cargo.toml").write_text(_manifest(None))
        (work / "src").mkdir()
        (work / "src" / "lib.rs").write_text("")
        cache = tmp_path / "cache"
        run = Run(tmp_path)
        args = ["--index-url", server.url, "--cache-dir", str(cache), "--token", TOKEN_FLAG]
        assert run.cli([*args, "check"], cwd=work).code == 0
        records = sorted((cache / "registry" / "fingerprints").glob("*"))
        assert len(records) == 1
        from cache import fingerprint

        record = fingerprint.decode(records[0].read_bytes())
        assert isinstance(record, dict) and record["exit_code"] == 0
        assert TOKEN_FLAG not in repr(record)
        assert TOKEN_FLAG.encode() not in records[0].read_bytes()
        run.assert_no_token_anywhere()
    finally:
        server.stop()

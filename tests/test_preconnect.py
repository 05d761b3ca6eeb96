"""Connections opened before the transport (registry/transport/preconnect.py), against the real
test server on 127.0.0.1: when they are opened, that libcurl takes them instead of opening its
own (the server counts the connections it accepts), and what a failure on one is reported as."""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import registry.transport.preconnect as preconnect_module
from registry.api import Registry
from registry.transport.base import (
    HttpRequest,
    HttpResponse,
    TransportError,
    TransportOptions,
    connections_for,
)
from registry.transport.curl import CurlTransport
from registry.transport.preconnect import open_connections
from tests.checkutil import Result, line, run_cli
from tests.httpserver import IndexServer
from tests.test_transport import closed_port

NAMES = [f"crate{i:02d}" for i in range(20)]


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A listening socket that never accepts (the kernel completes the handshakes)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock


def _url(sock: socket.socket, scheme: str = "https") -> str:
    return f"{scheme}://127.0.0.1:{sock.getsockname()[1]}/index/"


# --- when connections are opened, and how many ------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "requests", "options", "environ", "opened"),
    [
        ("https", 1, {}, {}, 1),
        ("https", 100, {}, {}, 1),
        ("https", 699, {}, {}, 7),  # HTTP/2: 100 streams a connection
        ("https", 5000, {}, {}, 8),  # max_connections_per_host
        ("https", 699, {"max_connections_per_host": 2}, {}, 2),
        ("http", 3, {}, {}, 2),  # HTTP/1.1: two transfers a connection
        ("http", 699, {}, {}, 8),
        ("http", 30, {"h2c_prior_knowledge": True}, {}, 1),
        ("https", 0, {}, {}, 0),
        # a proxy applies: the connections would go to it
        ("https", 10, {}, {"https_proxy": "http://127.0.0.1:9"}, 0),
        ("https", 10, {}, {"HTTPS_PROXY": "http://127.0.0.1:9"}, 0),
        ("https", 10, {}, {"all_proxy": "http://127.0.0.1:9"}, 0),
        ("http", 10, {}, {"http_proxy": "http://127.0.0.1:9"}, 0),
        ("https", 10, {"proxy": "http://127.0.0.1:9"}, {}, 0),
        # ... or does not
        ("http", 10, {}, {"HTTP_PROXY": "http://127.0.0.1:9"}, 5),  # curl reads lower case only
        ("https", 10, {}, {"https_proxy": "http://127.0.0.1:9", "no_proxy": "127.0.0.1"}, 1),
        ("https", 10, {"proxy": ""}, {"https_proxy": "http://127.0.0.1:9"}, 1),  # "": none
    ],
)
def test_how_many_connections_open(
    listener: socket.socket,
    scheme: str,
    requests: int,
    options: dict[str, Any],
    environ: dict[str, str],
    opened: int,
) -> None:
    found = open_connections(_url(listener, scheme), requests, TransportOptions(**options), environ)
    try:
        assert (len(found) if found is not None else 0) == opened
        if not environ and "proxy" not in options:
            assert opened == connections_for(requests, scheme, TransportOptions(**options))
    finally:
        if found is not None:
            found.close()


@pytest.mark.parametrize(
    "base",
    [
        "https://[::1]:443/",  # IPv6: libcurl's happy eyeballs stays in charge
        "https://registry.invalid/",  # does not resolve: libcurl says so itself
        "ftp://127.0.0.1/",
        "file:///srv/index/",
    ],
)
def test_nothing_opens_for(base: str) -> None:
    assert open_connections(base, 10, TransportOptions(), {}) is None


def test_a_socket_goes_only_to_a_connection_to_its_host_and_port(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    found = open_connections(_url(listener), 150, TransportOptions(), {})
    assert found is not None and len(found) == 2
    try:
        assert found.take(socket.AF_INET, ("127.0.0.2", port)) is None
        assert found.take(socket.AF_INET, ("127.0.0.1", port + 1)) is None
        assert found.take(socket.AF_INET6, ("::1", port, 0, 0)) is None
        taken = found.take(socket.AF_INET, ("127.0.0.1", port))
        assert taken is not None and len(found) == 1
        assert taken.getpeername() == ("127.0.0.1", port)
        taken.close()
    finally:
        found.close()
    assert len(found) == 0 and found.take(socket.AF_INET, ("127.0.0.1", port)) is None


def test_a_refused_socket_is_never_handed_over() -> None:
    port = closed_port()
    found = open_connections(f"http://127.0.0.1:{port}/", 4, TransportOptions(), {})
    if found is None:  # refused at once, before connect_ex returned
        return
    assert found.take(socket.AF_INET, ("127.0.0.1", port)) is None
    assert len(found) == 0


# --- libcurl takes them -----------------------------------------------------------------------


def _requests(server: IndexServer, count: int) -> list[HttpRequest]:
    for name in NAMES[:count]:
        server.write(f"cr/at/{name}", "x\n")
    return [HttpRequest(f"{server.url}cr/at/{name}") for name in NAMES[:count]]


@pytest.mark.parametrize(("count", "lanes"), [(1, 1), (7, 4), (20, 8)])
def test_libcurl_uses_the_preconnected_sockets(
    index_server: IndexServer, count: int, lanes: int
) -> None:
    requests = _requests(index_server, count)
    found = open_connections(index_server.url, count, TransportOptions(), {})
    assert found is not None and len(found) == lanes
    with CurlTransport(TransportOptions(), found) as transport:
        results = transport.perform(requests)
        assert all(isinstance(r, HttpResponse) and r.status == 200 for r in results)
        # every lane took one of them: not one connection more than the lanes
        assert index_server.connections == lanes
        assert len(found) == 0
        again = transport.perform(requests)  # kept alive, as any connection
        assert all(isinstance(r, HttpResponse) and r.status == 200 for r in again)
        assert index_server.connections == lanes


def test_sockets_not_taken_are_closed_with_the_transport(index_server: IndexServer) -> None:
    [request] = _requests(index_server, 1)
    found = open_connections(index_server.url, 16, TransportOptions(), {})
    assert found is not None and len(found) == 8
    with CurlTransport(TransportOptions(), found) as transport:
        [result] = transport.perform([request])
        assert isinstance(result, HttpResponse)
        assert len(found) == 7
    assert len(found) == 0


@pytest.fixture
def resets_handshakes() -> Iterator[str]:
    """A TCP server that resets every connection once the client has sent something."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.getsockname()[1]}/config.json"
    server.shutdown(socket.SHUT_RDWR)  # wakes the accept (a close alone would not)
    server.close()
    thread.join()


@pytest.mark.parametrize(("preconnect", "kind"), [(False, "tls"), (True, "connect")])
def test_a_handshake_failing_on_a_preconnected_socket_is_a_connect_error(
    resets_handshakes: str, preconnect: bool, kind: str
) -> None:
    """A socket handed over while still connecting that then fails (refused a round trip
    later, reset) fails the TLS handshake's first send or receive: a connect error, retried
    like one; on a connection libcurl opened itself the same failure stays a TLS error."""
    url = resets_handshakes
    found = open_connections(url, 1, TransportOptions(), {}) if preconnect else None
    with CurlTransport(TransportOptions(), found) as transport:
        [result] = transport.perform([HttpRequest(url)])
    assert isinstance(result, TransportError)
    assert (result.kind, result.retryable) == (kind, preconnect)


# --- when the loader opens them ---------------------------------------------------------------


@pytest.fixture
def served(make_index_dir: Any) -> None:
    make_index_dir({name: [line(name, "1.0.0")] for name in NAMES})


@pytest.mark.usefixtures("served")
def test_a_cold_fetch_preconnects_its_batch(
    index_server: IndexServer, tmp_path: Path, preconnects: list[tuple[int, int]]
) -> None:
    with Registry(index_server.url, tmp_path / "cache") as reg:
        report = reg.fetch(NAMES)
        assert report.downloaded == len(NAMES)
        # and config.json; HTTP/1.1: 8 lanes, each on a preconnected socket
        assert preconnects == [(len(NAMES) + 1, 8)]
        assert index_server.connections == 8
        reg.load(["crate00"], force=True)  # the transport's connections serve what follows
    assert preconnects == [(len(NAMES) + 1, 8)]
    assert index_server.connections == 8


@pytest.fixture
def warm(served: None, index_server: IndexServer, tmp_path: Path) -> Path:
    """A cache holding every crate of `served`."""
    with Registry(index_server.url, tmp_path / "cache") as reg:
        assert reg.fetch(NAMES).downloaded == len(NAMES)
    return tmp_path / "cache"


def test_a_refresh_preconnects_before_reading_the_cache(
    index_server: IndexServer, warm: Path, preconnects: list[tuple[int, int]]
) -> None:
    connections = index_server.connections
    with Registry(index_server.url, warm, refresh=True) as reg:
        report = reg.fetch(NAMES[:5])
    assert report.unchanged == 5
    assert preconnects == [(5 + 1, 3)]  # HTTP/1.1: 6 requests on 3 lanes
    assert index_server.connections == connections + 3


@pytest.mark.parametrize("index_server", [{"max_age": 300}], indirect=True)
def test_nothing_is_preconnected_when_nothing_is_asked(
    index_server: IndexServer, warm: Path, preconnects: list[tuple[int, int]]
) -> None:
    connections = index_server.connections
    # fresh by max-age, offline: no request, no connection
    for offline in (False, True):
        with Registry(index_server.url, warm, offline=offline) as reg:
            assert reg.fetch(NAMES).cached == len(NAMES)
    assert preconnects == []
    assert index_server.connections == connections


@pytest.mark.parametrize(
    ("cache", "refresh", "offline", "opened"),
    [
        ("empty", False, False, [(5 + 1, 3)]),  # every crate will be asked: now
        ("warm", True, False, [(5 + 1, 3)]),  # --refresh: every crate will be asked
        ("warm", False, False, []),  # the cache look decides (and opens them then)
        ("empty", False, True, []),  # offline: nothing is asked
    ],
)
def test_expect_opens_the_connections_before_the_names_are_known(
    index_server: IndexServer,
    warm: Path,
    tmp_path: Path,
    preconnects: list[tuple[int, int]],
    cache: str,
    refresh: bool,
    offline: bool,
    opened: list[tuple[int, int]],
) -> None:
    where = warm if cache == "warm" else tmp_path / "empty"
    connections = index_server.connections
    with Registry(index_server.url, where, refresh=refresh, offline=offline) as reg:
        reg.expect(5)
        assert preconnects == opened
        reg.expect(5)  # once
        assert preconnects == opened
        if offline:
            return
        report = reg.fetch(NAMES[:5])
        assert report.downloaded + report.unchanged == 5
        assert preconnects == [(5 + 1, 3)]  # by expect, or by the fetch after its cache look
    assert index_server.connections == connections + 3  # those, and no other


@pytest.mark.usefixtures("served")
def test_a_cold_fetch_of_a_lockfile_connects_before_parsing_it(
    index_server: IndexServer,
    tmp_path: Path,
    preconnects: list[tuple[int, int]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The lockfile's text names its crates before it is parsed: a cold fetch opens their
    connections then (`registry_names_by_source`), and the fetch uses exactly those."""
    import registry.input_files

    lock = tmp_path / "Cargo.lock"
    lock.write_text(_lockfile(NAMES))
    seen_at_parse = []
    real = registry.input_files.load_lockfile

    def load_lockfile(*args: Any, **kwargs: Any) -> Any:
        seen_at_parse.append(list(preconnects))
        return real(*args, **kwargs)

    monkeypatch.setattr(registry.input_files, "load_lockfile", load_lockfile)
    result = _fetch_lockfile(capsys, index_server, tmp_path, lock)
    assert result.code == 0, result.err
    assert result.out.startswith(f"{len(NAMES)} crates: {len(NAMES)} downloaded")
    assert seen_at_parse == [[(len(NAMES) + 1, 8)]]
    assert index_server.connections == 8
    # warm: the cache look decides, after the parse (every file revalidated: no max-age)
    assert _fetch_lockfile(capsys, index_server, tmp_path, lock).code == 0
    assert seen_at_parse[1:] == [[(len(NAMES) + 1, 8)]]
    assert preconnects[1:] == [(len(NAMES) + 1, 8)]


@pytest.mark.usefixtures("served")
def test_a_lockfile_from_a_pipe_is_read_once(
    index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its text serves the early guess and the parse: a pipe cannot be read twice."""
    fifo = tmp_path / "lock.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_text, args=(_lockfile(NAMES[:3]),))
    writer.start()
    try:
        result = _fetch_lockfile(capsys, index_server, tmp_path, fifo)
    finally:
        writer.join()
    assert (result.code, result.out[:30]) == (0, "3 crates: 3 downloaded, 0 unch")


@pytest.mark.usefixtures("served")
def test_a_lockfile_refused_after_the_guess_closes_what_it_opened(
    index_server: IndexServer,
    tmp_path: Path,
    preconnects: list[tuple[int, int]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The guess reads names from a text the parse then refuses: the connections opened for
    them are closed, and the refusal is the usual one line and exit code."""
    closed: list[int] = []
    real_close = preconnect_module.Preconnected.close

    def close(self: preconnect_module.Preconnected) -> None:
        closed.append(len(self.ports))
        real_close(self)

    monkeypatch.setattr(preconnect_module.Preconnected, "close", close)
    lock = tmp_path / "Cargo.lock"
    lock.write_text(_lockfile(NAMES[:5]).replace('version = "1.0.0"', 'version = "1.0"', 1))
    result = _fetch_lockfile(capsys, index_server, tmp_path, lock)
    assert result.code == 2
    assert result.err.count("\n") == 1 and str(lock) in result.err, result.err
    assert preconnects == [(5 + 1, 3)]
    assert closed == [3]


def _fetch_lockfile(
    capsys: pytest.CaptureFixture[str], server: IndexServer, tmp_path: Path, lock: Path
) -> Result:
    """``registry fetch --lockfile LOCK`` against ``server``, cache in ``tmp_path/cache``."""
    cache = str(tmp_path / "cache")
    return run_cli(
        capsys, "--index-url", server.url, "--cache-dir", cache, "fetch", "--lockfile", str(lock)
    )


def _lockfile(names: list[str]) -> str:
    tables = "".join(
        f'\n[[package]]\nname = "{name}"\nversion = "1.0.0"\n'
        f'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
        for name in names
    )
    return f"# This file is automatically @generated by Cargo.\nversion = 4\n{tables}"


_V4 = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.7", 443))
_V4B = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.8", 443))
_V6 = (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2001:db8::7", 443, 0, 0))


@pytest.mark.parametrize(
    ("found", "addresses"),
    [
        ([_V4, _V4B], ["192.0.2.7", "192.0.2.8"]),  # the resolver's order
        ([_V4, _V6, _V4B], ["192.0.2.7", "192.0.2.8"]),  # IPv4 first: its addresses
        ([_V6, _V4], []),  # IPv6 first: libcurl's happy eyeballs decides, nothing opened
        ([], []),
        (OSError("no such host"), []),
        (UnicodeError("bad label"), []),
    ],
)
def test_which_addresses_a_name_gives(
    monkeypatch: pytest.MonkeyPatch, found: list[Any] | Exception, addresses: list[str]
) -> None:
    """A host name goes through the resolver once (an IPv4 address never does: the first
    call loads the resolver's modules); the table stands in for it."""

    def resolve(host: str, port: int, *args: object) -> list[Any]:
        assert (host, port) == ("index.example", 443)
        if isinstance(found, Exception):
            raise found
        return found

    monkeypatch.setattr(preconnect_module._socket, "getaddrinfo", resolve)
    assert preconnect_module._ipv4_addresses("index.example", 443) == addresses
    assert preconnect_module._ipv4_addresses("192.0.2.9", 443) == ["192.0.2.9"]


def test_out_of_descriptors_opens_nothing_and_raises_nothing(
    listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No socket to be had (EMFILE): nothing preconnected; libcurl meets the same and says so."""

    def no_socket(*args: object) -> socket.socket:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(preconnect_module._socket, "socket", no_socket)
    assert open_connections(_url(listener), 10, TransportOptions(), {}) is None

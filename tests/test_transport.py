"""One suite for every `Transport`, run against the real threaded test server (127.0.0.1).

Each test runs once with `CurlTransport` and once with `HttpxTransport`. Nothing sleeps and
nothing is timed: stalls are ended by the transport's own timeout or by the server stopping.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from registry.transport.base import (
    HttpRequest,
    HttpResponse,
    Transport,
    TransportError,
    TransportOptions,
    connections_for,
    default_transport,
)
from registry.transport.curl import CurlTransport
from registry.transport.httpx import HttpxTransport
from tests.httpserver import Fault, IndexServer, index_path

MakeTransport = Callable[..., Transport]
TOKEN = "s3cret-token-value"


@pytest.fixture(
    params=[pytest.param(CurlTransport, id="curl"), pytest.param(HttpxTransport, id="httpx")]
)
def make_transport(request: pytest.FixtureRequest) -> Iterator[MakeTransport]:
    """`make_transport(**TransportOptions fields)`; every transport made is closed afterwards."""
    cls = request.param
    made: list[Transport] = []

    def make(**options: object) -> Transport:
        transport: Transport = cls(TransportOptions(**options))  # type: ignore[arg-type]
        made.append(transport)
        return transport

    yield make
    for transport in made:
        transport.close()


def fetch(transport: Transport, url: str, *headers: tuple[str, str]) -> HttpResponse:
    [result] = transport.perform([HttpRequest(url, tuple(headers))])
    assert isinstance(result, HttpResponse), result
    return result


def fail(transport: Transport, url: str, *headers: tuple[str, str]) -> TransportError:
    [result] = transport.perform([HttpRequest(url, tuple(headers))])
    assert isinstance(result, TransportError), result
    assert "\n" not in result.message
    return result


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- plain responses --------------------------------------------------------------------------


def test_200_with_body_and_headers(
    make_transport: MakeTransport, index_server: IndexServer
) -> None:
    data = b'{"name":"foo","vers":"1.0.0","deps":[],"cksum":"00"}\n'
    index_server.write("3/f/foo", data)
    response = fetch(make_transport(), index_server.url + "3/f/foo")
    assert response.status == 200
    assert response.body == data
    assert response.url == index_server.url + "3/f/foo"
    assert response.http_version == "1.1"
    assert response.headers["etag"] == index_server.etag_for("3/f/foo")
    assert response.headers["last-modified"] == index_server.last_modified_for("3/f/foo")
    assert response.headers["content-length"] == str(len(data))
    assert all(name == name.lower() for name in response.headers)


def test_304_for_if_none_match_and_if_modified_since(
    make_transport: MakeTransport, index_server: IndexServer
) -> None:
    index_server.write("se/rd/serde", "line\n")
    transport = make_transport()
    first = fetch(transport, index_server.url + "se/rd/serde")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    by_etag = fetch(transport, index_server.url + "se/rd/serde", ("if-none-match", etag))
    by_date = fetch(transport, index_server.url + "se/rd/serde", ("if-modified-since", modified))
    for response in (by_etag, by_date):
        assert response.status == 304
        assert response.body == b""
        assert response.headers["etag"] == etag
    stale = fetch(transport, index_server.url + "se/rd/serde", ("if-none-match", '"other"'))
    assert stale.status == 200
    assert stale.body == b"line\n"


def test_404(make_transport: MakeTransport, index_server: IndexServer) -> None:
    response = fetch(make_transport(), index_server.url + "3/n/nop")
    assert response.status == 404


def test_non_ascii_path(make_transport: MakeTransport, index_server: IndexServer) -> None:
    index_server.write("ün/ic/ünicode", "u\n")
    response = fetch(make_transport(), index_server.url + "ün/ic/ünicode")
    assert (response.status, response.body) == (200, b"u\n")
    assert index_server.requests[0].target == "/%C3%BCn/ic/%C3%BCnicode"


def test_empty_batch(make_transport: MakeTransport) -> None:
    assert make_transport().perform([]) == []


def test_many_requests_concurrently_in_order(
    make_transport: MakeTransport, index_server: IndexServer
) -> None:
    names = [f"crate{i:03d}" for i in range(200)]
    for i, name in enumerate(names):
        if i % 7 != 3:  # every 7th one is missing: 404s interleaved with 200s
            index_server.write(index_path(name), f"{name}\n" * (i + 1))
    requests = [HttpRequest(index_server.url + index_path(name)) for name in names]
    results = make_transport().perform(requests)
    assert len(results) == len(requests)
    for i, (name, result) in enumerate(zip(names, results, strict=True)):
        assert isinstance(result, HttpResponse)
        assert result.url == requests[i].url
        if i % 7 == 3:
            assert result.status == 404
        else:
            assert (result.status, result.body) == (200, f"{name}\n".encode() * (i + 1))


def test_connections_are_kept_alive_and_capped(
    make_transport: MakeTransport, index_server: IndexServer
) -> None:
    for i in range(100):
        index_server.write(index_path(f"file{i:02d}"), f"{i}\n")
    requests = [HttpRequest(index_server.url + index_path(f"file{i:02d}")) for i in range(100)]
    transport = make_transport(max_connections_per_host=3)
    assert all(isinstance(r, HttpResponse) for r in transport.perform(requests))
    opened = index_server.connections
    assert 1 <= opened <= 3
    assert all(isinstance(r, HttpResponse) for r in transport.perform(requests))
    assert index_server.connections == opened  # the second batch reused the first's connections
    log = index_server.requests
    assert len(log) == 200
    assert len({entry.connection for entry in log}) == opened


@pytest.mark.parametrize("index_server", [{"gzip": True}], indirect=True)
def test_gzip_is_decoded(make_transport: MakeTransport, index_server: IndexServer) -> None:
    data = b'{"name":"serde","vers":"1.0.0"}\n' * 200
    index_server.write("se/rd/serde", data)
    response = fetch(make_transport(), index_server.url + "se/rd/serde")
    assert response.status == 200
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) < len(data)
    assert response.body == data
    [entry] = index_server.requests
    assert "gzip" in (entry.header("accept-encoding") or "")


def test_redirect_is_not_followed(make_transport: MakeTransport, index_server: IndexServer) -> None:
    index_server.write("config.json", "{}")
    index_server.write("elsewhere/config.json", "{}")
    target = index_server.url + "elsewhere/config.json"
    index_server.faults["config.json"] = [Fault.redirect(target, code=301)]
    response = fetch(make_transport(), index_server.url + "config.json", ("authorization", TOKEN))
    assert response.status == 301
    assert response.headers["location"] == target
    assert [entry.rel for entry in index_server.requests] == ["config.json"]


def test_error_statuses_come_back_as_responses(
    make_transport: MakeTransport, index_server: IndexServer
) -> None:
    index_server.write("3/f/foo", "x\n")
    index_server.faults["3/f/foo"] = [Fault.status(503), Fault.status(429, retry_after="1")]
    transport = make_transport()
    first = fetch(transport, index_server.url + "3/f/foo")
    second = fetch(transport, index_server.url + "3/f/foo")
    third = fetch(transport, index_server.url + "3/f/foo")
    assert first.status == 503
    assert (second.status, second.headers["retry-after"]) == (429, "1")
    assert (third.status, third.body) == (200, b"x\n")


def test_repeated_response_header_last_wins_and_values_are_trimmed(
    make_transport: MakeTransport, index_server: IndexServer
) -> None:
    headers = [("X-Dup", "first"), ("x-dup", "second"), ("X-Padded", "  spaced value  ")]
    index_server.faults["config.json"] = [Fault.status(200, headers=headers, body=b"{}")]
    response = fetch(make_transport(), index_server.url + "config.json")
    assert response.headers["x-dup"] == "second"
    assert response.headers["x-padded"] == "spaced value"


def test_only_the_final_response_headers_count(
    make_transport: MakeTransport, index_server: IndexServer
) -> None:
    raw = (
        b"HTTP/1.1 100 Continue\r\nX-Early: 1\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Late: 2\r\nConnection: close\r\n\r\nok"
    )
    index_server.faults["config.json"] = [Fault.garbage(raw)]
    response = fetch(make_transport(), index_server.url + "config.json")
    assert (response.status, response.body) == (200, b"ok")
    assert response.headers["x-late"] == "2"
    assert "x-early" not in response.headers


def test_request_headers_reach_the_server_exactly(
    make_transport: MakeTransport, index_server: IndexServer
) -> None:
    index_server.write("3/f/foo", "x\n")
    transport = make_transport(user_agent="cargo/1.95.0 (f2d3ce0bd 2026-03-21)")
    sent = (
        ("cargo-protocol", "version=1"),
        ("accept", "text/plain"),
        ("if-none-match", '"241f4e97adbe75b6"'),
        ("Authorization", TOKEN),
    )
    fetch(transport, index_server.url + "3/f/foo", *sent)
    [entry] = index_server.requests
    for name, value in sent:
        assert (name, value) in entry.headers
    assert entry.header("user-agent") == "cargo/1.95.0 (f2d3ce0bd 2026-03-21)"
    assert [n for n in entry.header_names() if n.lower() == "accept"] == ["accept"]
    assert "gzip" in (entry.header("accept-encoding") or "")
    assert entry.method == "GET"
    assert entry.target == "/3/f/foo"


def test_proxy_is_taken_from_the_environment(
    make_transport: MakeTransport, index_server: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_server.write("config.json", '{"dl":"x"}')
    monkeypatch.setenv("http_proxy", index_server.url)
    monkeypatch.setenv("HTTP_PROXY", index_server.url)
    response = fetch(make_transport(), "http://registry.invalid/config.json")
    assert (response.status, response.body) == (200, b'{"dl":"x"}')
    [entry] = index_server.requests
    assert entry.target == "http://registry.invalid/config.json"


# --- failures ---------------------------------------------------------------------------------


def test_reset_before_body(make_transport: MakeTransport, index_server: IndexServer) -> None:
    index_server.write("3/f/foo", "x" * 1000)
    index_server.faults["3/f/foo"] = [Fault.reset_before_body()]
    error = fail(make_transport(), index_server.url + "3/f/foo")
    assert error.kind == "reset"
    assert error.retryable


def test_empty_reply_is_a_reset(make_transport: MakeTransport, index_server: IndexServer) -> None:
    index_server.faults["3/f/foo"] = [Fault.close()]
    error = fail(make_transport(), index_server.url + "3/f/foo")
    assert error.kind == "reset"
    assert error.retryable


@pytest.mark.parametrize("index_server", [{}, {"gzip": True}], indirect=True, ids=["plain", "gzip"])
@pytest.mark.parametrize("fault", [Fault.reset_mid_body(), Fault.truncated_body()])
def test_broken_body_is_never_a_short_200(
    make_transport: MakeTransport, index_server: IndexServer, fault: Fault
) -> None:
    index_server.write("se/rd/serde", bytes(range(256)) * 64)
    index_server.faults["se/rd/serde"] = [fault]
    error = fail(make_transport(), index_server.url + "se/rd/serde")
    expected = {"partial"} if fault.action == "truncated_body" else {"partial", "reset"}
    assert error.kind in expected
    assert error.retryable


def test_unfinished_chunked_body_is_partial(
    make_transport: MakeTransport, index_server: IndexServer
) -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
    index_server.faults["config.json"] = [Fault.garbage(raw)]
    error = fail(make_transport(), index_server.url + "config.json")
    assert error.kind == "partial"


@pytest.mark.parametrize("mid_body", [False, True], ids=["before-response", "mid-body"])
def test_stall_times_out(
    make_transport: MakeTransport, index_server: IndexServer, mid_body: bool
) -> None:
    # Small: libcurl averages speed over ~5 s, so a bigger first half would delay the abort.
    index_server.write("3/f/foo", "x" * 8)
    index_server.faults["3/f/foo"] = [Fault.stall(120, mid_body=mid_body)]
    error = fail(make_transport(read_timeout=1), index_server.url + "3/f/foo")
    assert error.kind == "timeout"
    assert error.retryable


def test_connection_refused(make_transport: MakeTransport) -> None:
    error = fail(make_transport(), f"http://127.0.0.1:{closed_port()}/config.json")
    assert error.kind == "connect"
    assert error.retryable


def test_unresolvable_host(make_transport: MakeTransport) -> None:
    error = fail(make_transport(connect_timeout=10), "http://registry.invalid/config.json")
    assert error.kind == "resolve"


def test_garbage_response_is_a_protocol_error(
    make_transport: MakeTransport, index_server: IndexServer
) -> None:
    index_server.faults["config.json"] = [Fault.garbage(b"this is not http\r\n\r\n")]
    error = fail(make_transport(), index_server.url + "config.json")
    assert error.kind == "protocol"


@pytest.mark.parametrize(
    "index_server", [{}, {"gzip": True}], indirect=True, ids=["length", "gzip"]
)
def test_body_over_the_limit(make_transport: MakeTransport, index_server: IndexServer) -> None:
    index_server.write("se/rd/serde", b"0123456789" * 1000)
    error = fail(make_transport(max_body_bytes=5000), index_server.url + "se/rd/serde")
    assert error.kind == "other"
    assert error.message == "response body over 5000 bytes"
    assert not error.retryable


def test_chunked_body_over_the_limit(
    make_transport: MakeTransport, index_server: IndexServer
) -> None:
    chunk = b"x" * 4000
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + (b"fa0\r\n" + chunk + b"\r\n") * 3
        + b"0\r\n\r\n"
    )
    index_server.faults["config.json"] = [Fault.garbage(raw)]
    error = fail(make_transport(max_body_bytes=10000), index_server.url + "config.json")
    assert error.message == "response body over 10000 bytes"


def test_errors_keep_their_place_in_the_batch(
    make_transport: MakeTransport, index_server: IndexServer
) -> None:
    index_server.write("1/a", "a\n")
    dead = f"http://127.0.0.1:{closed_port()}/1/a"
    urls = [index_server.url + "1/a", dead, "ftp://127.0.0.1/1/a", index_server.url + "1/a"]
    results = make_transport().perform([HttpRequest(url) for url in urls])
    assert [r.url for r in results] == urls
    assert isinstance(results[0], HttpResponse)
    assert isinstance(results[1], TransportError)
    assert results[1].kind == "connect"
    assert isinstance(results[2], TransportError)
    assert results[2].kind == "other"
    assert isinstance(results[3], HttpResponse)


def test_header_values_never_appear_in_errors(
    make_transport: MakeTransport, index_server: IndexServer
) -> None:
    index_server.write("3/f/foo", "x" * 100)
    index_server.faults["3/f/foo"] = [
        Fault.reset_before_body(),
        Fault.truncated_body(),
        Fault.garbage(
            b"HTTP/1.1 200 OK\r\nX: " + TOKEN.encode() + b"\r\nContent-Length: z\r\n\r\n"
        ),
        Fault.stall(120),
    ]
    auth = ("Authorization", TOKEN)
    transport = make_transport(read_timeout=1, max_body_bytes=10)
    errors = [fail(transport, index_server.url + "3/f/foo", auth) for _ in range(4)]
    errors.append(fail(transport, f"http://127.0.0.1:{closed_port()}/x", auth))
    errors.append(fail(transport, "http://registry.invalid/x", auth))
    errors.append(fail(transport, index_server.url + "3/f/foo", auth))  # over max_body_bytes
    errors.append(fail(transport, index_server.url + "x", ("authorization", TOKEN + "\r\nX: y")))
    errors.append(fail(transport, index_server.url + "x", ("Authorization", TOKEN + "\u20ac")))
    for error in errors:
        assert TOKEN not in error.message
        assert TOKEN not in repr(error)


# --- construction and lifecycle ---------------------------------------------------------------


def test_default_transport_is_curl() -> None:
    transport = default_transport(TransportOptions())
    try:
        assert isinstance(transport, CurlTransport)
    finally:
        transport.close()


def test_default_transport_falls_back_to_httpx_without_pycurl() -> None:
    code = (
        "import sys; sys.modules['pycurl'] = None\n"
        "from registry.transport.base import default_transport\n"
        "t = default_transport(); assert type(t).__name__ == 'HttpxTransport', t; t.close()"
    )
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)


def test_curl_transport_loads_pycurls_extension_only() -> None:
    """pycurl's package __init__ (asyncio helper, dataclasses, inspect: ~9 ms) is skipped; a
    later ``import pycurl`` reuses the same extension module."""
    code = (
        "import sys; from registry.transport.curl import CurlTransport, pycurl\n"
        "assert 'dataclasses' not in sys.modules and 'pycurl' not in sys.modules\n"
        "assert pycurl.__name__ == 'pycurl._pycurl', pycurl\n"
        "import pycurl as package; assert package.Curl is pycurl.Curl"
    )
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)


def test_importing_registry_imports_no_http_library() -> None:
    code = (
        "import sys, registry, registry.transport, registry.transport.base;"
        "assert 'pycurl' not in sys.modules and 'httpx' not in sys.modules, sorted(sys.modules)"
    )
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)


def test_httpx_with_a_callers_client(index_server: IndexServer) -> None:
    index_server.write("config.json", "{}")
    index_server.faults["config.json"] = [Fault.redirect(index_server.url + "config.json")]
    with httpx.Client(follow_redirects=True) as client:
        transport = HttpxTransport(TransportOptions(user_agent="ua/1"), client)
        first = fetch(transport, index_server.url + "config.json")
        transport.close()
        assert first.status == 302  # the client's follow_redirects does not apply
        assert not client.is_closed  # the caller's client stays open
        second = client.get(index_server.url + "config.json")
        assert second.status_code == 200
    assert index_server.requests[0].header("user-agent") == "ua/1"


def test_options_are_validated() -> None:
    with pytest.raises(ValueError):
        TransportOptions(read_timeout=0)
    with pytest.raises(ValueError):
        TransportOptions(max_connections_per_host=0)
    for bad in (0.0, -1.0, float("nan"), float("inf"), 1e300):
        for name in ("connect_timeout", "read_timeout", "total_timeout"):
            with pytest.raises(ValueError, match="timeouts"):
                TransportOptions(**{name: bad})  # type: ignore[arg-type]


def test_total_timeout_defaults_to_ten_times_the_timeout() -> None:
    from registry.transport import open_transport

    assert TransportOptions().total_timeout == 10 * TransportOptions().read_timeout
    transport = open_transport(2.0)
    try:
        assert transport._options.total_timeout == 20.0  # type: ignore[attr-defined]
    finally:
        transport.close()


def test_index_path_helper_and_make_index_dir(
    make_index_dir: Callable[..., Path], index_server: IndexServer
) -> None:
    vectors = {
        "a": "1/a",
        "ab": "2/ab",
        "abc": "3/a/abc",
        "Abc": "3/a/abc",
        "my_Crate": "my/_c/my_crate",
    }
    assert {name: index_path(name) for name in vectors} == vectors
    root = make_index_dir({"Serde": [{"name": "Serde", "vers": "1.0.0"}, "raw line"]})
    assert root == index_server.root
    assert (root / "se/rd/serde").read_text() == '{"name":"Serde","vers":"1.0.0"}\nraw line\n'
    assert (root / "config.json").is_file()


# --- the test server itself (what other suites rely on) ----------------------------------------


@pytest.mark.parametrize(
    "index_server",
    [{"auth_token": TOKEN, "auth_paths": ["config.json"], "base_path": "/some/path/"}],
    indirect=True,
)
def test_server_auth_and_base_path(index_server: IndexServer) -> None:
    index_server.write("config.json", '{"auth-required":true}')
    index_server.write("3/f/foo", "x\n")
    assert index_server.url.endswith("/some/path/")
    with CurlTransport() as transport:
        challenge = fetch(transport, index_server.url + "config.json")
        wrong = fetch(transport, index_server.url + "config.json", ("Authorization", "nope"))
        right = fetch(transport, index_server.url + "config.json", ("Authorization", TOKEN))
        open_file = fetch(transport, index_server.url + "3/f/foo")
        outside = fetch(transport, index_server.url.replace("/some/path/", "/") + "3/f/foo")
    assert challenge.status == wrong.status == 401
    login = index_server.url + "me"
    assert challenge.headers["www-authenticate"] == f'Cargo login_url="{login}"'
    assert (right.status, right.body) == (200, b'{"auth-required":true}')
    assert open_file.status == 200
    assert outside.status == 404
    assert [r.rel for r in index_server.requests] == ["config.json"] * 3 + ["3/f/foo", None]


@pytest.mark.parametrize(
    "index_server", [{"etag": False, "max_age": 60, "extra_headers": [("X-A", "1")]}], indirect=True
)
def test_server_switches(index_server: IndexServer) -> None:
    index_server.write("1/a", "a\n")
    with CurlTransport() as transport:
        first = fetch(transport, index_server.url + "1/a")
        modified = first.headers["last-modified"]
        again = fetch(transport, index_server.url + "1/a", ("if-modified-since", modified))
        index_server.last_modified = False
        bare = fetch(transport, index_server.url + "1/a", ("if-modified-since", modified))
    assert "etag" not in first.headers
    assert first.headers["cache-control"] == "max-age=60"
    assert first.headers["x-a"] == "1"
    assert again.status == 304
    assert bare.status == 200
    assert "last-modified" not in bare.headers


def test_while_waiting_runs_its_slices_before_any_answer(
    make_transport: MakeTransport, index_server: IndexServer
) -> None:
    """``while_waiting`` is called, slice after slice, while the requests are in flight and
    until it says it is done: here all before any answer (the server holds each back a
    little)."""
    paths = [index_path(f"ww{i}") for i in range(6)]
    for path in paths:
        index_server.write(path, "x\n")
        index_server.faults[path] = [Fault.stall(0.3)]
    done: list[int] = []
    calls: list[int] = []

    def slice_of_work() -> bool:
        calls.append(sum(done))
        return len(calls) < 4

    results = make_transport().perform(
        [HttpRequest(index_server.url + p) for p in paths], done.append, slice_of_work
    )
    assert calls == [0, 0, 0, 0]
    assert sum(done) == 6
    assert [r.status for r in results if isinstance(r, HttpResponse)] == [200] * 6


def test_while_waiting_is_not_called_without_requests(make_transport: MakeTransport) -> None:
    calls: list[None] = []
    assert make_transport().perform([], None, lambda: bool(calls.append(None))) == []
    assert calls == []


@pytest.mark.parametrize(
    ("url", "count", "lanes"),
    [
        ("https://h/", 0, 0),
        ("https://h/", 1, 1),
        ("https://h/", 100, 1),
        ("https://h/", 101, 2),
        ("https://h/", 699, 7),
        ("https://h/", 5000, 8),  # max_connections_per_host
        ("http://h/", 1, 1),  # HTTP/1.1: two transfers per connection
        ("http://h/", 3, 2),
        ("http://h/", 100, 8),
    ],
)
def test_a_batch_spreads_over_the_lanes_that_hold_it(url: str, count: int, lanes: int) -> None:
    """`connections_for`: what the lanes spread over, and what is preconnected."""
    assert connections_for(count, url.partition(":")[0], TransportOptions()) == lanes
    with CurlTransport(TransportOptions()) as transport:
        assert transport._lanes_wanted([HttpRequest(url)] * count) == lanes

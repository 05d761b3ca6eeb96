"""A. A real server on 127.0.0.1 misbehaving on purpose, through the `Registry` API (pycurl and
httpx transports) and through the CLI as a subprocess.

Property, for every fault: the command either succeeds after retries, or fails with ONE line
``error: ...`` naming the URL (exit 3, no traceback), and nothing wrong or partial is cached:
after a failure the cache file is absent or still the previous complete one.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import registry.index.sparse as sparse_module
from cache.format import find_exact, parse
from registry.api import Registry
from registry.errors import HttpStatusError, NetworkError, RegistryError
from registry.index.sparse import MAX_RETRIES, SparseClient
from registry.transport.base import TransportOptions
from tests.httpserver import Fault, IndexServer
from tests.reliability.support import (
    assert_one_error_line,
    cache_dir_of,
    cache_file_of,
    lock_held_elsewhere,
    run_cli,
    start_cli,
)

MakeIndexDir = Callable[..., Path]

CRATE = "foo"
REL = "3/f/foo"


def _line(vers: str, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": CRATE,
        "vers": vers,
        "deps": [],
        "cksum": hashlib.sha256(vers.encode()).hexdigest(),
        "features": {},
        "yanked": False,
    }
    entry.update(extra)
    return entry


LINES = [_line("0.1.0"), _line("1.0.0"), _line("1.1.0")]
#: Enough padding that "half the body" is a real, non-empty cut through a line.
LINES += [_line(f"1.2.{i}", features={"f": ["x" * 40]}) for i in range(20)]

#: name -> a fresh fault of that kind
FAULTS: dict[str, Callable[[], Fault]] = {
    "500": lambda: Fault.status(500),
    "502": lambda: Fault.status(502, body=b"<html>bad gateway</html>"),
    "503": lambda: Fault.status(503),
    "429": lambda: Fault.status(429),
    "429-retry-after": lambda: Fault.status(429, retry_after="1"),
    "503-retry-after-date": lambda: Fault.status(503, retry_after="Wed, 21 Oct 2015 07:28:00 GMT"),
    "reset-before-body": Fault.reset_before_body,
    "reset-mid-body": Fault.reset_mid_body,
    "truncated-body": Fault.truncated_body,
    "garbage-response": lambda: Fault.garbage(b"\x00\xffNOT HTTP AT ALL\r\n\r\n"),
    "reset": Fault.reset,
    "close": Fault.close,
}
#: Faults that libcurl may answer with a silent resend (see `Fault.reset`): counts vary.
RESENT = {"garbage-response", "reset", "close"}


@pytest.fixture(autouse=True)
def _no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_RETRY_SLEEP_MS", "0")


@pytest.fixture
def index(make_index_dir: MakeIndexDir) -> Path:
    return make_index_dir({CRATE: LINES})


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture(params=["curl", "httpx"])
def open_registry(request: pytest.FixtureRequest, cache: Path) -> Iterator[Callable[..., Registry]]:
    made: list[Registry] = []

    def make(url: str, **kwargs: Any) -> Registry:
        kwargs.setdefault("cache_dir", cache)
        if request.param == "httpx" and "transport" not in kwargs:
            from registry.transport.httpx import HttpxTransport

            timeout = kwargs.get("timeout", 30.0)
            kwargs["transport"] = HttpxTransport(
                TransportOptions(connect_timeout=timeout, read_timeout=timeout)
            )
        reg = Registry(url, **kwargs)
        made.append(reg)
        return reg

    yield make
    for reg in made:
        reg.close()


def _served_blob(index: Path, vers: str) -> bytes:
    for raw in (index / REL).read_bytes().split(b"\n"):
        if f'"vers":"{vers}"'.encode() in raw:
            return raw
    raise AssertionError(vers)


def _assert_one_line_error(exc: BaseException, url: str) -> None:
    text = str(exc)
    assert isinstance(exc, RegistryError), repr(exc)
    assert exc.exit_code == 3
    assert "\n" not in text and "Traceback" not in text
    assert url in text, text


def _old_cache(index_server: IndexServer, cache: Path, index: Path) -> bytes:
    """Cache the file, then change it on the server: a revalidation now gets a 200."""
    with Registry(index_server.url, cache_dir=cache) as reg:
        reg.get(CRATE, "1.0.0")
    before = cache_file_of(cache, index_server.url, CRATE).read_bytes()
    with (index / REL).open("ab") as handle:
        handle.write(b'{"name":"foo","vers":"9.0.0","deps":[],"cksum":"' + b"9" * 64 + b'"}\n')
    index_server.clear_requests()
    return before


# --- API --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("target", ["crate", "config.json"])
def test_api_fault_then_success(
    fault: str,
    target: str,
    index: Path,
    index_server: IndexServer,
    cache: Path,
    open_registry: Callable[..., Registry],
) -> None:
    rel = REL if target == "crate" else "config.json"
    index_server.faults[rel] = [FAULTS[fault](), FAULTS[fault]()]
    reg = open_registry(index_server.url)
    entry = reg.get(CRATE, "1.1.0")
    assert entry.raw == _served_blob(index, "1.1.0")
    if fault not in RESENT:
        assert len(index_server.requests_for(rel)) == 3
    data = cache_file_of(cache, index_server.url, CRATE).read_bytes()
    assert [k for k, _ in parse(data).entries] == [d["vers"] for d in LINES]
    assert (cache_dir_of(cache, index_server.url) / "config.json").read_bytes() == (
        index / "config.json"
    ).read_bytes()


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("prior", ["no-cache", "old-cache", "config.json"])
def test_api_fault_persists_fails_cleanly(
    fault: str,
    prior: str,
    index: Path,
    index_server: IndexServer,
    cache: Path,
    open_registry: Callable[..., Registry],
) -> None:
    before = _old_cache(index_server, cache, index) if prior == "old-cache" else None
    rel = "config.json" if prior == "config.json" else REL
    index_server.faults[rel] = [FAULTS[fault]() for _ in range(3 * (MAX_RETRIES + 1))]
    reg = open_registry(index_server.url)
    with pytest.raises(RegistryError) as info:
        reg.get(CRATE, "1.1.0")
    _assert_one_line_error(info.value, index_server.url + rel)
    if fault not in RESENT:
        assert len(index_server.requests_for(rel)) == MAX_RETRIES + 1
    path = cache_file_of(cache, index_server.url, CRATE)
    if before is None:
        assert not path.exists()
    else:
        assert path.read_bytes() == before
    config = cache_dir_of(cache, index_server.url) / "config.json"
    if prior == "config.json":
        assert not config.exists()
    # No temp file is left behind anywhere in the cache.
    assert not [p for p in cache.rglob("*") if ".tmp-" in p.name]


def test_api_429_retry_after_is_honoured(
    monkeypatch: pytest.MonkeyPatch, index: Path, index_server: IndexServer, cache: Path
) -> None:
    """Without the fixed test sleep: the sleeps asked for are Retry-After's (capped at 10 s),
    else cargo's backoff. A recorder stands in for time.sleep, so nothing sleeps."""
    monkeypatch.delenv("REGISTRY_RETRY_SLEEP_MS")
    slept: list[float] = []
    monkeypatch.setitem(SparseClient.__init__.__kwdefaults__, "sleep", slept.append)
    index_server.faults[REL] = [
        Fault.status(429, retry_after="2"),
        Fault.status(429),
        Fault.status(503, retry_after="3600"),
    ]
    with Registry(index_server.url, cache_dir=cache) as reg:
        assert reg.get(CRATE, "1.0.0").vers == "1.0.0"
    assert len(index_server.requests_for(REL)) == 4
    assert slept[0] == 2.0
    assert slept[1] == sparse_module.backoff(2, __import__("random").Random())
    assert slept[2] == sparse_module.RETRY_AFTER_CAP


def test_api_304_without_cache(
    index: Path, index_server: IndexServer, cache: Path, open_registry: Callable[..., Registry]
) -> None:
    index_server.faults[REL] = [Fault.status(304)]
    reg = open_registry(index_server.url)
    with pytest.raises(HttpStatusError) as info:
        reg.get(CRATE, "1.0.0")
    _assert_one_line_error(info.value, index_server.url + REL)
    assert "304" in str(info.value)
    assert not cache_file_of(cache, index_server.url, CRATE).exists()


def test_api_304_with_unreadable_cache_is_not_trusted(
    index: Path, index_server: IndexServer, cache: Path, open_registry: Callable[..., Registry]
) -> None:
    """A corrupt entry is refetched unconditionally; a 304 to that is an error, never an
    answer from the corrupt bytes."""
    with Registry(index_server.url, cache_dir=cache) as reg:
        reg.get(CRATE, "1.0.0")
    path = cache_file_of(cache, index_server.url, CRATE)
    path.write_bytes(path.read_bytes()[:-7])
    index_server.clear_requests()
    index_server.faults[REL] = [Fault.status(304)]
    reg = open_registry(index_server.url)
    with pytest.raises(HttpStatusError):
        reg.get(CRATE, "1.0.0")
    assert [r.header("If-None-Match") for r in index_server.requests_for(REL)] == [None]


def test_api_too_many_redirects(
    index: Path, index_server: IndexServer, cache: Path, open_registry: Callable[..., Registry]
) -> None:
    index_server.faults[REL] = [Fault.redirect(index_server.url + REL) for _ in range(20)]
    reg = open_registry(index_server.url)
    with pytest.raises(HttpStatusError) as info:
        reg.get(CRATE, "1.0.0")
    _assert_one_line_error(info.value, index_server.url + REL)
    assert "redirect" in str(info.value)
    assert not cache_file_of(cache, index_server.url, CRATE).exists()


@pytest.fixture
def other_host(index: Path) -> Iterator[IndexServer]:
    """The same index served on 127.0.0.2: loopback, but another host."""
    with IndexServer(index, host="127.0.0.2") as server:
        yield server


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_api_redirect_to_another_host(
    code: int,
    index: Path,
    index_server: IndexServer,
    other_host: IndexServer,
    cache: Path,
    open_registry: Callable[..., Registry],
) -> None:
    index_server.faults[REL] = [Fault.redirect(other_host.url + REL, code)]
    reg = open_registry(index_server.url)
    assert reg.get(CRATE, "1.1.0").raw == _served_blob(index, "1.1.0")
    assert [r.rel for r in other_host.requests] == [REL]
    # Cached under the registry's own directory, never under the other host's.
    assert cache_file_of(cache, index_server.url, CRATE).is_file()
    assert not cache_dir_of(cache, other_host.url).exists()


def test_api_redirect_to_another_host_that_fails(
    index: Path,
    index_server: IndexServer,
    other_host: IndexServer,
    cache: Path,
    open_registry: Callable[..., Registry],
) -> None:
    index_server.faults[REL] = [Fault.redirect(other_host.url + REL) for _ in range(8)]
    other_host.faults[REL] = [Fault.truncated_body() for _ in range(8)]
    reg = open_registry(index_server.url)
    with pytest.raises(NetworkError) as info:
        reg.get(CRATE, "1.1.0")
    _assert_one_line_error(info.value, other_host.url + REL)
    assert not cache_file_of(cache, index_server.url, CRATE).exists()


# --- stalls: read and connect timeouts ----------------------------------------------------------


@pytest.fixture
def no_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """One attempt per request, so a timeout test costs one timeout."""
    monkeypatch.setitem(SparseClient.__init__.__kwdefaults__, "retries", 0)


def _transport(kind: str, **options: Any) -> Any:
    opts = TransportOptions(**options)
    if kind == "curl":
        from registry.transport.curl import CurlTransport

        return CurlTransport(opts)
    from registry.transport.httpx import HttpxTransport

    return HttpxTransport(opts)


#: libcurl's low-speed rule averages over a window of a few seconds, so a stall right after a
#: burst of body bytes is noticed ~6 s after the timeout: that variant is a slow test.
STALLS = [
    pytest.param("curl", False, id="curl-before-headers"),
    pytest.param("curl", True, id="curl-mid-body", marks=pytest.mark.slow),
    pytest.param("httpx", False, id="httpx-before-headers"),
    pytest.param("httpx", True, id="httpx-mid-body"),
]


@pytest.mark.parametrize(("transport", "mid_body"), STALLS)
def test_api_read_stall_then_success(
    transport: str, mid_body: bool, index: Path, index_server: IndexServer, cache: Path
) -> None:
    index_server.faults[REL] = [Fault.stall(600, mid_body=mid_body)]
    chosen = _transport(transport, connect_timeout=1.0, read_timeout=1.0)
    with Registry(index_server.url, cache_dir=cache, transport=chosen) as reg:
        assert reg.get(CRATE, "1.1.0").raw == _served_blob(index, "1.1.0")
    assert len(index_server.requests_for(REL)) == 2


@pytest.mark.parametrize(("transport", "mid_body"), STALLS)
@pytest.mark.usefixtures("no_retries")
def test_api_read_stall_fails_cleanly(
    transport: str, mid_body: bool, index: Path, index_server: IndexServer, cache: Path
) -> None:
    index_server.faults[REL] = [Fault.stall(600, mid_body=mid_body)]
    chosen = _transport(transport, connect_timeout=1.0, read_timeout=1.0)
    with (
        Registry(index_server.url, cache_dir=cache, transport=chosen) as reg,
        pytest.raises(NetworkError) as info,
    ):
        reg.get(CRATE, "1.1.0")
    _assert_one_line_error(info.value, index_server.url + REL)
    assert not cache_file_of(cache, index_server.url, CRATE).exists()


@pytest.mark.usefixtures("no_retries")
def test_api_registry_timeout_bounds_a_read_stall(
    index: Path, index_server: IndexServer, cache: Path
) -> None:
    """Registry(timeout=...) is the read timeout too (the default transport)."""
    index_server.faults[REL] = [Fault.stall(600)]
    with (
        Registry(index_server.url, cache_dir=cache, timeout=1.0) as reg,
        pytest.raises(NetworkError) as info,
    ):
        reg.get(CRATE, "1.1.0")
    _assert_one_line_error(info.value, index_server.url + REL)


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port whose accept queue is full: a SYN to it is dropped, so connect() hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for filler in fillers:
        filler.close()
    listener.close()


@pytest.mark.usefixtures("no_retries")
@pytest.mark.parametrize("transport", ["curl", "httpx"])
def test_api_connect_timeout_is_configurable(
    transport: str, unanswered_port: int, cache: Path
) -> None:
    """The connect timeout is its own knob (TransportOptions.connect_timeout); the read timeout
    can stay long. Registry(timeout=...) sets both."""
    chosen = _transport(transport, connect_timeout=0.3, read_timeout=600)
    url = f"http://127.0.0.1:{unanswered_port}/"
    with (
        Registry(url, cache_dir=cache, transport=chosen) as reg,
        pytest.raises(NetworkError) as info,
    ):
        reg.get(CRATE, "1.0.0")
    _assert_one_line_error(info.value, url + "config.json")
    assert not cache.exists() or not any(p.is_file() for p in cache.rglob("*.json"))


@pytest.mark.usefixtures("no_retries")
def test_api_registry_timeout_bounds_connect(unanswered_port: int, cache: Path) -> None:
    url = f"http://127.0.0.1:{unanswered_port}/"
    with Registry(url, cache_dir=cache, timeout=0.3) as reg, pytest.raises(NetworkError) as info:
        reg.get(CRATE, "1.0.0")
    _assert_one_line_error(info.value, url + "config.json")


# --- drips: the total deadline ------------------------------------------------------------------

#: A drip in the body (headers sent, no Content-Length, a byte every 20 ms) and one in the
#: headers (the status line, then a header line a byte at a time): neither ever stalls long
#: enough for the read timeout, or slows below libcurl's low-speed limit.
DRIPS = {"body": False, "headers": True}


@pytest.mark.parametrize("transport", ["curl", "httpx"])
@pytest.mark.parametrize("where", sorted(DRIPS))
def test_api_drip_ends_at_the_total_deadline(
    transport: str, where: str, index: Path, index_server: IndexServer, cache: Path
) -> None:
    """However steadily a server trickles bytes, a request ends at `total_timeout`: one
    NetworkError naming the deadline, no retry (it would take the whole deadline again),
    nothing cached."""
    index_server.faults[REL] = [Fault.drip(in_headers=DRIPS[where]) for _ in range(4)]
    chosen = _transport(transport, connect_timeout=30, read_timeout=30, total_timeout=1.0)
    with (
        Registry(index_server.url, cache_dir=cache, transport=chosen) as reg,
        pytest.raises(NetworkError) as info,
    ):
        reg.get(CRATE, "1.1.0")
    _assert_one_line_error(info.value, index_server.url + REL)
    assert "within 1 s, the total deadline" in str(info.value)
    assert len(index_server.requests_for(REL)) == 1
    assert not cache_file_of(cache, index_server.url, CRATE).exists()


def test_httpx_own_client_keeps_the_deadline_on_every_socket_call() -> None:
    """The header drip is only bounded because our httpx client's pools got the deadline
    backend (httpx has no public way to set it): an httpx release that moves those attributes
    fails here, not silently in a hung CI job."""
    from registry.transport.httpx import HttpxTransport

    with HttpxTransport(TransportOptions()) as transport:
        assert transport.keeps_deadline


def test_cli_drip_ends_at_ten_times_timeout(
    tmp_path: Path, index: Path, index_server: IndexServer
) -> None:
    """The CLI's deadline is 10 x --timeout: --timeout 0.2 ends a drip after 2 s, with exit 3
    and one line naming the deadline (at the default 30 s, after 5 minutes)."""
    index_server.faults[REL] = [Fault.drip() for _ in range(4)]
    result = _cli_query(tmp_path, index_server, "--timeout", "0.2")
    assert_one_error_line(result, index_server.url + REL, "total deadline", "--timeout", code=3)
    assert result.stdout == ""
    assert len(index_server.requests_for(REL)) == 1
    assert not cache_file_of(tmp_path / "cache", index_server.url, CRATE).exists()


# --- Retry-After and the retry sleep: digits that are not ASCII ----------------------------------

#: Retry-After values as sent on the wire (bytes, latin-1 to the server): "²" is a digit to
#: str.isdigit but not to int/float; as one latin-1 byte libcurl reads it as "²", as UTF-8
#: httpx does. "٣" (Arabic-Indic three) is a digit to int too. None is HTTP's delta-seconds:
#: each counts as no Retry-After (the retry then follows the fixed test sleep).
ODD_RETRY_AFTER = {
    "superscript-two-latin1": "²".encode("latin-1"),
    "superscript-two-utf8": "²".encode(),
    "arabic-indic-three-utf8": "٣".encode(),
    "underscore": b"1_0",
}


@pytest.mark.parametrize("wire", list(ODD_RETRY_AFTER.values()), ids=list(ODD_RETRY_AFTER))
@pytest.mark.parametrize("status", [429, 503])
def test_api_non_ascii_retry_after(
    wire: bytes,
    status: int,
    index: Path,
    index_server: IndexServer,
    open_registry: Callable[..., Registry],
) -> None:
    index_server.faults[REL] = [
        Fault.status(status, headers=[("Retry-After", wire.decode("latin-1"))])
    ]
    reg = open_registry(index_server.url)
    assert reg.get(CRATE, "1.1.0").raw == _served_blob(index, "1.1.0")
    assert len(index_server.requests_for(REL)) == 2


def test_cli_non_ascii_retry_after(tmp_path: Path, index: Path, index_server: IndexServer) -> None:
    index_server.faults[REL] = [Fault.status(503, headers=[("Retry-After", "²")])]
    result = _cli_query(tmp_path, index_server)
    assert result.code == 0, result.stderr
    assert result.stdout_bytes == _served_blob(index, "1.1.0") + b"\n"
    assert result.stderr == ""


@pytest.mark.parametrize("value", ["²", "٣", "1_0", "-1", "9" * 5000, "1e3", ""])
def test_cli_odd_retry_sleep_is_ignored(
    value: str, tmp_path: Path, index: Path, index_server: IndexServer
) -> None:
    """REGISTRY_RETRY_SLEEP_MS is a test knob: anything but ASCII digits is ignored (cargo's
    backoff then applies; Retry-After: 0 keeps this test from sleeping)."""
    index_server.faults[REL] = [Fault.status(503, retry_after="0")]
    result = _cli_query(tmp_path, index_server, env={"REGISTRY_RETRY_SLEEP_MS": value})
    assert result.code == 0, result.stderr
    assert result.stdout_bytes == _served_blob(index, "1.1.0") + b"\n"
    assert "Traceback" not in result.stderr


# --- the package-cache lock held by another process ---------------------------------------------


def test_cli_says_at_once_that_it_waits_for_the_lock(
    tmp_path: Path, index: Path, index_server: IndexServer
) -> None:
    """cargo (or another registry) holds the package-cache lock: the CLI says so on stderr at
    once, as cargo does, and the answer is still right (and cached) once the lock is free.
    Nothing sleeps: the lock is released when the message has been read."""
    cache = tmp_path / "cache"
    args = ["--index-url", index_server.url, "--cache-dir", str(cache)]
    with lock_held_elsewhere(cache) as release:
        proc = start_cli([*args, "query", f"{CRATE}==1.1.0", "--json"], home=tmp_path / "home")
        try:
            assert proc.stderr is not None
            first = proc.stderr.readline()
            assert first.startswith("Blocking waiting for file lock on package cache "), first
            assert str(cache / ".package-cache") in first
            assert "up to 60 s" in first
        finally:
            release()
        out, rest = proc.communicate(timeout=300)  # a safety net, not a wait
    assert proc.returncode == 0, first + rest
    assert rest == ""  # one line about the wait, and nothing else
    assert out.encode() == _served_blob(index, "1.1.0") + b"\n"
    assert cache_file_of(cache, index_server.url, CRATE).is_file()


# --- index file content -------------------------------------------------------------------------


def test_invalid_utf8_and_garbage_lines_are_skipped(
    make_index_dir: MakeIndexDir,
    index_server: IndexServer,
    cache: Path,
    open_registry: Callable[..., Registry],
) -> None:
    good = [_line("1.0.0"), _line("1.1.0"), _line("2.0.0")]
    index = make_index_dir({CRATE: good})
    raw = (index / REL).read_bytes().split(b"\n")
    hostile = [
        raw[0],
        b'{"name":"foo","vers":"1.0.5","cksum":"\xff\xfe"}',  # invalid UTF-8 inside a line
        b"\xc3\x28\xa0\xa1 not json at all",
        b"this is garbage",
        b"[1, 2, 3]",
        b'{"name":"foo","vers":"not-a-version"}',
        b'{"name":"foo","vers":"01.0.0"}',  # leading zero: invalid for cargo
        b'{"name":"foo"',  # cut JSON
        b"\x00\x00\x00",  # NUL bytes: must never reach the cache file
        raw[1],
        b'{"name":"foo","vers":"1.2.0"\r',
        b"",
        b"   ",
        raw[2],
        b'{"name":"foo","vers":"3.0.0","cksum":"' + b"\x80" * 10 + b'"}',
    ]
    (index / REL).write_bytes(b"\n".join(hostile) + b"\n")
    reg = open_registry(index_server.url)
    for vers, blob in (("1.0.0", raw[0]), ("1.1.0", raw[1]), ("2.0.0", raw[2])):
        assert reg.get(CRATE, vers).raw == blob
    # Lines whose name and vers parse are kept as cargo keeps them, invalid UTF-8 elsewhere
    # or not: such a version exists but is unusable. Either way an exact query answers with
    # exactly that line, or "not found"; never another line, never a traceback.
    for missing, served in (("1.0.5", hostile[1]), ("3.0.0", hostile[14]), ("1.2.0", None)):
        try:
            entry = reg.get(CRATE, missing)
        except RegistryError as exc:
            # not found (1), or "that version's line is unusable" (3): one line naming it
            assert exc.exit_code in (1, 3), exc
            assert "\n" not in str(exc) and CRATE in str(exc) and missing in str(exc)
            continue
        assert (entry.name, entry.vers, entry.raw) == (CRATE, missing, served)
        assert not entry.selectable
    assert reg.query(CRATE).vers == "2.0.0"
    data = cache_file_of(cache, index_server.url, CRATE).read_bytes()
    keys = [k for k, _ in parse(data).entries]
    assert [k for k in keys if k in ("1.0.0", "1.1.0", "2.0.0")] == ["1.0.0", "1.1.0", "2.0.0"]
    assert set(keys) <= {"1.0.0", "1.0.5", "1.1.0", "2.0.0", "3.0.0"}
    assert b"\0\0\0" not in data[5:]  # the NUL line never reached the cache
    versions = [str(v.version) for v in reg.versions(CRATE)]
    assert versions == sorted(keys, key=lambda v: tuple(int(x) for x in v.split(".")))


def test_duplicate_versions_with_build_metadata(
    make_index_dir: MakeIndexDir,
    index_server: IndexServer,
    cache: Path,
    open_registry: Callable[..., Registry],
) -> None:
    """openssl-src 110.0.0 and 110.0.0+1.1.0f are distinct keys; each exact query gets its own
    line (cargo's cache v3 bump was about exactly this)."""
    plain = {"name": "openssl-src", "vers": "110.0.0", "deps": [], "cksum": "a" * 64}
    built = {"name": "openssl-src", "vers": "110.0.0+1.1.0f", "deps": [], "cksum": "b" * 64}
    later = {"name": "openssl-src", "vers": "110.0.1+1.1.0g", "deps": [], "cksum": "c" * 64}
    make_index_dir({"openssl-src": [plain, built, later]})
    reg = open_registry(index_server.url)
    assert reg.get("openssl-src", "110.0.0").cksum == "a" * 64
    assert reg.get("openssl-src", "110.0.0+1.1.0f").cksum == "b" * 64
    assert reg.get("openssl-src", "110.0.1+1.1.0g").cksum == "c" * 64
    with pytest.raises(RegistryError) as info:
        reg.get("openssl-src", "110.0.1")
    assert info.value.exit_code == 1
    data = cache_file_of(cache, index_server.url, "openssl-src").read_bytes()
    assert [k for k, _ in parse(data).entries] == ["110.0.0", "110.0.0+1.1.0f", "110.0.1+1.1.0g"]
    assert find_exact(data, "110.0.0") is not None
    assert b"+1.1.0f" not in (find_exact(data, "110.0.0") or b"")
    assert [str(v.version) for v in reg.versions("openssl-src")] == [
        "110.0.0",
        "110.0.0+1.1.0f",
        "110.0.1+1.1.0g",
    ]


# --- a 50 MB index file, and the body limit ----------------------------------------------------


def _big_index(index: Path, size: int) -> int:
    """Write an index file of about ``size`` bytes; returns the number of lines."""
    pad = "p" * 900
    lines = []
    total = 0
    i = 0
    while total < size:
        text = (
            f'{{"name":"foo","vers":"0.{i // 1000}.{i % 1000}","deps":[],'
            f'"cksum":"{i:064x}","features":{{"pad":["{pad}"]}}}}\n'
        )
        lines.append(text)
        total += len(text)
        i += 1
    (index / REL).write_text("".join(lines))
    return i


@pytest.mark.parametrize("transport", ["curl", "httpx"])
def test_body_over_the_limit_fails_cleanly(
    transport: str, index: Path, index_server: IndexServer, cache: Path
) -> None:
    """Memory is bounded by max_body_bytes: a larger body is refused, never buffered whole."""
    _big_index(index, 2_000_000)
    chosen = _transport(transport, max_body_bytes=256 * 1024)
    with Registry(index_server.url, cache_dir=cache, transport=chosen) as reg:
        with pytest.raises(RegistryError) as info:
            reg.get(CRATE, "0.0.1")
        _assert_one_line_error(info.value, index_server.url + REL)
        assert "bytes" in str(info.value)
    assert not cache_file_of(cache, index_server.url, CRATE).exists()


@pytest.mark.slow
def test_fifty_megabyte_index_file_via_cli(tmp_path: Path, index: Path) -> None:
    count = _big_index(index, 50 * 1024 * 1024)
    cache = tmp_path / "cache"
    with IndexServer(index) as server:
        url = server.url
        result = run_cli(
            ["--index-url", url, "--cache-dir", str(cache), "query", "foo==0.7.5", "--json"],
            home=tmp_path / "home",
        )
    assert result.code == 0, result.stderr
    assert b'"vers":"0.7.5"' in result.stdout_bytes
    data = cache_file_of(cache, url, CRATE).read_bytes()
    assert len(parse(data).entries) == count
    print(f"\n50 MB index file: {count} lines, CLI peak RSS {result.maxrss_kib} KiB")
    # Bounded: a few copies of 50 MB at most, nowhere near unbounded growth.
    assert result.maxrss_kib < 1024 * 1024, result.maxrss_kib


# --- a 100 MB single line ------------------------------------------------------------------------

HUNDRED_MB = 100 * 1024 * 1024
_HEAD = b'{"name":"foo","vers":"1.0.0","features":{}'
_CKSUM = b',"cksum":"' + b"0" * 64 + b'"'


def _huge_line(head: bytes, fill: bytes, close: bytes, tail: bytes) -> Callable[[], bytes]:
    """A body of one line of exactly 100 MB: ``head``, ``fill`` and ``close`` repeated as often
    as fits, then spaces (inside a string, or JSON whitespace) and ``tail``."""

    def make() -> bytes:
        times, spaces = divmod(HUNDRED_MB - len(head) - len(tail), len(fill) + len(close))
        return head + fill * times + close * times + b" " * spaces + tail

    return make


#: One line of 100 MB each, and cargo's verdict on it: a huge unknown field (ASCII, not UTF-8,
#: or nested 50 million deep: cargo skips it unchecked, the line is usable); a huge ``cksum``
#: that is not UTF-8, or ``deps`` nested 50 million deep (cargo's full parse fails, the line is
#: kept: the version is invalid); 100 MB of one byte (no index file).
HUGE_BODIES: dict[str, Callable[[], bytes]] = {
    "ascii-field": _huge_line(_HEAD + _CKSUM + b',"deps":[],"pad":"', b"x", b"", b'"}'),
    "not-utf8-field": _huge_line(_HEAD + _CKSUM + b',"deps":[],"pad":"', b"\xff", b"", b'"}'),
    "deep-field": _huge_line(_HEAD + _CKSUM + b',"deps":[],"pad":', b"[", b"]", b"}"),
    "not-utf8-cksum": _huge_line(_HEAD + b',"deps":[],"cksum":"', b"\xff", b"", b'"}'),
    "deep-deps": _huge_line(_HEAD + _CKSUM + b',"deps":', b"[", b"]", b"}"),
    "no-index-line": lambda: b"x" * HUNDRED_MB,
}
#: Peak RSS allowed for a command on a 100 MB body, as a multiple of the body (the interpreter's
#: own ~25 MB included): before the limit was kept, ``query`` and ``validate`` took 5.2x.
RSS_BOUND = 3.5
HUGE_CASES = [
    ("ascii-field", "query", 0, None),
    ("ascii-field", "fetch", 0, None),
    ("ascii-field", "validate", 0, None),
    ("not-utf8-field", "query", 0, None),
    ("deep-field", "validate", 0, None),
    ("not-utf8-cksum", "validate", 1, "invalid-entry"),
    ("deep-deps", "validate", 1, "invalid-entry"),
    ("no-index-line", "query", 3, "not an index file"),
    ("no-index-line", "fetch", 3, "not an index file"),
]


@pytest.fixture(scope="module")
def huge_index(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``huge_index(body)``: an index directory whose ``foo`` is that 100 MB body, generated and
    written once and served to each of the body's cases (HUGE_CASES lists them together; each
    case has its own cache). Only the latest body is kept on disk."""
    base = tmp_path_factory.mktemp("huge-index")
    written: dict[str, Path] = {}

    def index_for(body: str) -> Path:
        if body not in written:
            for old in written.values():
                shutil.rmtree(old)
            written.clear()
            root = base / body
            (root / REL).parent.mkdir(parents=True)
            (root / "config.json").write_text('{"dl": "https://crates.invalid/api/v1/crates"}')
            raw = HUGE_BODIES[body]()
            assert len(raw) == HUNDRED_MB and raw.count(b"\n") == 0
            (root / REL).write_bytes(raw)
            written[body] = root
        return written[body]

    return index_for


@pytest.mark.slow
@pytest.mark.parametrize(("body", "command", "code", "said"), HUGE_CASES)
def test_hundred_megabyte_line_via_cli(
    tmp_path: Path,
    huge_index: Callable[[str], Path],
    body: str,
    command: str,
    code: int,
    said: str | None,
) -> None:
    """Peak memory stays within a small multiple of the body; the answer is cargo's (the line
    kept and usable, or kept and invalid); what is no index file is one error line and never
    cached."""
    index = huge_index(body)
    lock = tmp_path / "Cargo.lock"
    lock.write_text(
        'version = 4\n\n[[package]]\nname = "foo"\nversion = "1.0.0"\n'
        'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
        f'checksum = "{"0" * 64}"\n'
    )
    args = {
        "query": ["query", "foo==1.0.0", "--json"],
        "fetch": ["fetch", "foo"],
        "validate": ["validate", str(lock)],
    }[command]
    cache = tmp_path / "cache"
    with IndexServer(index) as server:
        url = server.url
        result = run_cli(["--index-url", url, "--cache-dir", str(cache), *args], home=tmp_path)
    print(f"\n100 MB {body} {command}: exit {result.code}, peak RSS {result.maxrss_kib} KiB")
    assert result.maxrss_kib < RSS_BOUND * HUNDRED_MB / 1024, result.maxrss_kib
    assert "Traceback" not in result.stderr
    assert result.code == code, result.stderr[-2000:]
    path = cache_file_of(cache, url, CRATE)
    if body == "no-index-line":
        assert_one_error_line(result, url + REL, "not an index file", code=3)
        assert not path.exists()
        return
    assert len(parse(path.read_bytes()).entries) == 1  # kept, as cargo keeps it
    if command == "query":
        assert result.stdout_bytes == (index / REL).read_bytes() + b"\n"
    if said is not None:
        assert said in result.stdout


# --- CLI ----------------------------------------------------------------------------------------


def _cli_query(
    tmp_path: Path, server: IndexServer, *extra: str, env: dict[str, str] | None = None
) -> Any:
    return run_cli(
        [
            "--index-url",
            server.url,
            "--cache-dir",
            str(tmp_path / "cache"),
            *extra,
            "query",
            f"{CRATE}==1.1.0",
            "--json",
        ],
        home=tmp_path / "home",
        env=env,
    )


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_cli_fault_then_success(
    fault: str, tmp_path: Path, index: Path, index_server: IndexServer
) -> None:
    index_server.faults[REL] = [FAULTS[fault]()]
    index_server.faults["config.json"] = [FAULTS[fault]()]
    result = _cli_query(tmp_path, index_server)
    assert result.code == 0, result.stderr
    assert result.stdout_bytes == _served_blob(index, "1.1.0") + b"\n"
    assert "Traceback" not in result.stderr


CLI_FAILURES = [
    *((fault, "no-cache") for fault in sorted(FAULTS)),
    *(
        (fault, prior)
        for fault in ("503", "reset-mid-body", "truncated-body")
        for prior in ("old-cache", "config.json")
    ),
]


@pytest.mark.parametrize(("fault", "prior"), CLI_FAILURES)
def test_cli_fault_persists_fails_cleanly(
    fault: str, prior: str, tmp_path: Path, index: Path, index_server: IndexServer
) -> None:
    cache = tmp_path / "cache"
    before = _old_cache(index_server, cache, index) if prior == "old-cache" else None
    rel = "config.json" if prior == "config.json" else REL
    index_server.faults[rel] = [FAULTS[fault]() for _ in range(3 * (MAX_RETRIES + 1))]
    result = _cli_query(tmp_path, index_server)
    assert_one_error_line(result, index_server.url + rel, code=3)
    assert result.stdout == ""
    path = cache_file_of(cache, index_server.url, CRATE)
    if before is None:
        assert not path.exists()
    else:
        assert path.read_bytes() == before


def test_cli_304_without_cache(tmp_path: Path, index: Path, index_server: IndexServer) -> None:
    index_server.faults[REL] = [Fault.status(304)]
    result = _cli_query(tmp_path, index_server)
    assert_one_error_line(result, index_server.url + REL, "304", code=3)
    assert not cache_file_of(tmp_path / "cache", index_server.url, CRATE).exists()


def test_cli_redirect_to_another_host(
    tmp_path: Path, index: Path, index_server: IndexServer, other_host: IndexServer
) -> None:
    index_server.faults[REL] = [Fault.redirect(other_host.url + REL)]
    result = _cli_query(tmp_path, index_server)
    assert result.code == 0, result.stderr
    assert result.stdout_bytes == _served_blob(index, "1.1.0") + b"\n"
    assert [r.rel for r in other_host.requests] == [REL]


def test_cli_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    result = run_cli(
        ["--index-url", url, "--cache-dir", str(tmp_path / "cache"), "query", "foo==1.0.0"],
        home=tmp_path / "home",
    )
    assert_one_error_line(result, url + "config.json", code=3)


def _cli_has_timeout() -> bool:
    from registry.options import GLOBAL_OPTIONS

    return any(o.name == "timeout" for o in GLOBAL_OPTIONS)


@pytest.mark.skipif(
    not _cli_has_timeout(), reason="the CLI has no --timeout / REGISTRY_TIMEOUT yet"
)
#: Four attempts of a one-second timeout each: slow.
@pytest.mark.slow
@pytest.mark.parametrize("how", ["option", "env"])
def test_cli_read_stall_times_out(
    how: str, tmp_path: Path, index: Path, index_server: IndexServer
) -> None:
    index_server.faults[REL] = [Fault.stall(600) for _ in range(MAX_RETRIES + 1)]
    args = ["--index-url", index_server.url, "--cache-dir", str(tmp_path / "cache")]
    env = {}
    if how == "option":
        args += ["--timeout", "1"]
    else:
        env["REGISTRY_TIMEOUT"] = "1"
    result = run_cli([*args, "query", "foo==1.0.0"], home=tmp_path / "home", env=env)
    assert_one_error_line(result, index_server.url + REL, code=3)
    assert not cache_file_of(tmp_path / "cache", index_server.url, CRATE).exists()

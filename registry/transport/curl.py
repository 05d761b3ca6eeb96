"""`CurlTransport`: the default transport, on pycurl's `CurlMulti`.

Connections live in **lanes**: one `CurlMulti` each, holding at most one connection per host
(``M_MAX_HOST_CONNECTIONS`` = 1), opened on demand up to `max_connections_per_host` lanes and kept
as long as the transport, so keep-alive connections, DNS caches and HTTP/2 connections carry over
from one `perform` call to the next. Easy handles are pooled and reused.

Why lanes rather than one multi with several connections per host: libcurl 8.23 (the one pycurl's
wheels bundle) stalls HTTP/2 streams over TLS when one multi spreads a host's transfers over
several connections: now and then every stream of one connection stops at 64 KiB or before its
headers, until the low-speed timeout (seen against nginx; h2c and single connections never
stalled; tests/reliability/test_nginx.py fetches hundreds of files that way). One connection per
multi never stalled.

HTTP/2 is negotiated by ALPN on `https://` (`CURL_HTTP_VERSION_2TLS`) and multiplexed
(`CURLPIPE_MULTIPLEX` + `PIPEWAIT`, like cargo, spec §4.6): a lane carries up to
`STREAMS_PER_CONNECTION` transfers at once (libcurl's own cap on concurrent streams; nginx and
CDNs allow 128), so a batch of n files goes out on ``ceil(n / 100)`` connections at once, all in
one round trip when n <= 100 x lanes. Cleartext `http://` uses HTTP/1.1: an `Upgrade: h2c` attempt
costs a round trip, so h2c is only spoken with prior knowledge, on request
(`TransportOptions.h2c_prior_knowledge`). An HTTP/1.1 lane holds two transfers (one on the wire,
the next queued inside libcurl), so HTTP/1.1 uses every lane, one request at a time on each.

Proxies: without `TransportOptions.proxy` (cargo's `http.proxy`), libcurl reads `http_proxy`,
`https_proxy`/`HTTPS_PROXY`, `all_proxy`/`ALL_PROXY` and `no_proxy`/`NO_PROXY` from the
environment itself (for plain http it honours only the lowercase `http_proxy`, as curl does);
with it, `CURLOPT_PROXY` is set as cargo sets it (src/cargo/util/network/http.rs:57), and
libcurl still honours `no_proxy`/`NO_PROXY` ("" turns every proxy off). `ca_file`, `ca_path`
and `proxy_ca_file` set `CAINFO`, `CAPATH` and `PROXY_CAINFO` (http.rs:59-66).

The event loop is the plain `perform` loop over the lanes: run each lane's `multi.perform()`,
collect finished transfers, then, when none finished, wait on every lane's sockets for
at most the earliest `multi.timeout()` (ignoring that timeout stalls HTTP/2 by a second, see
shared/spec/http-clients.md).
"""

from __future__ import annotations

import math
import select
import time
from collections import deque
from collections.abc import Callable, Sequence
from io import BytesIO

from query import TYPE_CHECKING
from registry.transport.base import (
    HttpRequest,
    HttpResponse,
    TransportError,
    TransportOptions,
    add_header_line,
    body_too_large,
    clean_message,
    connections_for,
    deadline_exceeded,
    freeze_headers,
    invalid_header_reason,
    multiplexes,
    per_connection,
    short_body_error,
)

if TYPE_CHECKING:
    import _socket
    from types import ModuleType
    from typing import Final

    import pycurl

    from registry.transport.base import ErrorKind
    from registry.transport.preconnect import Preconnected


def _load_pycurl() -> ModuleType:
    """pycurl's C extension, without running the package's ``__init__`` when possible.

    pycurl >= 7.46 ships as a package whose ``__init__`` imports an asyncio helper that pulls in
    ``dataclasses`` and ``inspect``: most of what its import costs, for nothing we use
    (docs/performance.md). Everything we use is in ``pycurl._pycurl``, so that extension is loaded
    directly (and registered under its name, so a later ``import pycurl`` reuses it). An older
    single-module pycurl, an import already done or blocked (``sys.modules["pycurl"]`` set), or
    anything unexpected takes the normal ``import pycurl``: ImportError still means "no pycurl" (the
    httpx fallback).
    """
    import os
    import sys

    if "pycurl" not in sys.modules and "pycurl._pycurl" not in sys.modules:
        from importlib import machinery

        spec = machinery.PathFinder.find_spec("pycurl")
        for location in (spec.submodule_search_locations or ()) if spec else ():
            for suffix in machinery.EXTENSION_SUFFIXES:
                path = os.path.join(location, "_pycurl" + suffix)
                if not os.path.isfile(path):
                    continue
                loader = machinery.ExtensionFileLoader("pycurl._pycurl", path)
                module_spec = machinery.ModuleSpec("pycurl._pycurl", loader, origin=path)
                module = loader.create_module(module_spec)
                loader.exec_module(module)
                sys.modules["pycurl._pycurl"] = module
                return module
    if "pycurl._pycurl" in sys.modules and "pycurl" not in sys.modules:
        return sys.modules["pycurl._pycurl"]
    import pycurl as package

    return package


if not TYPE_CHECKING:
    pycurl = _load_pycurl()

# How long to wait when libcurl has neither a socket nor a timer for us (its docs suggest 100 ms).
_IDLE_WAIT_S: Final = 0.1
_NO_TIMER_WAIT_S: Final = 1.0


# libcurl error codes that pycurl does not export by name.
_E_WEIRD_SERVER_REPLY: Final = 8
_E_HTTP2_STREAM: Final = 92
_E_HTTP3: Final = 95
_E_QUIC_CONNECT_ERROR: Final = 96
_E_PROXY: Final = 97
_E_SSL_CLIENTCERT: Final = 98

_ERROR_KINDS: Final[dict[int, ErrorKind]] = {
    pycurl.E_COULDNT_CONNECT: "connect",
    _E_PROXY: "connect",
    _E_QUIC_CONNECT_ERROR: "connect",
    pycurl.E_COULDNT_RESOLVE_HOST: "resolve",
    pycurl.E_COULDNT_RESOLVE_PROXY: "resolve",
    pycurl.E_OPERATION_TIMEDOUT: "timeout",
    pycurl.E_RECV_ERROR: "reset",
    pycurl.E_SEND_ERROR: "reset",
    pycurl.E_GOT_NOTHING: "reset",
    pycurl.E_PARTIAL_FILE: "partial",
    pycurl.E_HTTP2: "protocol",
    _E_HTTP2_STREAM: "protocol",
    _E_HTTP3: "protocol",
    # A malformed response (garbage, HTTP/0.9, bad status line, corrupt gzip): the server or
    # something in between spoke broken HTTP. Retrying may help, so it is "protocol".
    pycurl.E_UNSUPPORTED_PROTOCOL: "protocol",
    _E_WEIRD_SERVER_REPLY: "protocol",
    pycurl.E_BAD_CONTENT_ENCODING: "protocol",
    pycurl.E_SSL_CONNECT_ERROR: "tls",
    pycurl.E_SSL_CACERT: "tls",  # = E_PEER_FAILED_VERIFICATION = E_SSL_PEER_CERTIFICATE
    pycurl.E_SSL_CACERT_BADFILE: "tls",
    pycurl.E_SSL_CERTPROBLEM: "tls",
    pycurl.E_SSL_CIPHER: "tls",
    pycurl.E_SSL_CRL_BADFILE: "tls",
    pycurl.E_SSL_ENGINE_INITFAILED: "tls",
    pycurl.E_SSL_ENGINE_NOTFOUND: "tls",
    pycurl.E_SSL_ENGINE_SETFAILED: "tls",
    pycurl.E_SSL_INVALIDCERTSTATUS: "tls",
    pycurl.E_SSL_ISSUER_ERROR: "tls",
    pycurl.E_SSL_PINNEDPUBKEYNOTMATCH: "tls",
    pycurl.E_SSL_SHUTDOWN_FAILED: "tls",
    pycurl.E_USE_SSL_FAILED: "tls",
    _E_SSL_CLIENTCERT: "tls",
}

_HTTP_VERSIONS: Final[dict[int, str]] = {
    pycurl.CURL_HTTP_VERSION_1_0: "1.0",
    pycurl.CURL_HTTP_VERSION_1_1: "1.1",
    pycurl.CURL_HTTP_VERSION_2_0: "2",
    pycurl.CURL_HTTP_VERSION_3: "3",
}


class _Transfer:
    """Per-request state that the pycurl callbacks fill in.

    The body goes into a `BytesIO`, whose ``getvalue()`` hands over its buffer without a copy:
    a body costs its own size once (a list of chunks joined at the end costs it twice).
    """

    __slots__ = ("body", "headers", "index", "limit", "request", "size", "started", "too_big")

    def __init__(self, index: int, request: HttpRequest, limit: int) -> None:
        self.index = index
        self.request = request
        self.limit = limit
        self.body = BytesIO()
        self.size = 0
        self.headers: dict[str, str] = {}
        self.too_big = False
        self.started = time.monotonic()

    def on_body(self, data: bytes) -> int | None:
        self.size += len(data)
        if self.size > self.limit:
            self.too_big = True
            return 0  # makes libcurl abort the transfer with E_WRITE_ERROR
        self.body.write(data)
        return None

    def on_header(self, line: bytes) -> None:
        if line.startswith(b"HTTP/"):
            # A new status line: 1xx, or a proxy's CONNECT reply, came before. Only the final
            # response's headers count.
            self.headers = {}
        else:
            add_header_line(self.headers, line.decode("latin-1"))


class _Lane:
    """One `CurlMulti` with at most one connection per host, and the transfers it runs."""

    __slots__ = ("active", "multi")

    def __init__(self, multiplex: bool) -> None:
        self.multi = pycurl.CurlMulti()
        self.multi.setopt(pycurl.M_PIPELINING, pycurl.PIPE_MULTIPLEX if multiplex else 0)
        self.multi.setopt(pycurl.M_MAX_HOST_CONNECTIONS, 1)
        self.active: dict[pycurl.Curl, _Transfer] = {}


def _active_count(lane: _Lane) -> int:
    return len(lane.active)


class CurlTransport:
    """A `Transport` on long-lived `pycurl.CurlMulti` lanes. Not thread-safe."""

    def __init__(
        self, options: TransportOptions | None = None, preconnected: Preconnected | None = None
    ) -> None:
        """``preconnected``: sockets opened early (:mod:`registry.transport.preconnect`), taken
        as the first connections to their host; closed with the transport when not taken."""
        self._options = options if options is not None else TransportOptions()
        self._lanes: list[_Lane] = []
        self._closed = False
        self._idle: list[pycurl.Curl] = []
        self._preconnected = preconnected
        # the socket `_open_socket` gave libcurl (a dup of it, that is), until `_socket_options`
        # closes our copy: (socket, preconnected)
        self._handing: tuple[_socket.socket, bool] | None = None

    def __enter__(self) -> CurlTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every pooled handle and every lane (and with them every cached connection)."""
        for handle in self._idle:
            handle.close()
        self._idle.clear()
        for lane in self._lanes:
            lane.multi.close()
        self._lanes.clear()
        if self._preconnected is not None:
            self._preconnected.close()
        self._closed = True

    def perform(
        self,
        requests: Sequence[HttpRequest],
        on_done: Callable[[int], None] | None = None,
        while_waiting: Callable[[], bool] | None = None,
    ) -> list[HttpResponse | TransportError]:
        if self._closed:
            raise RuntimeError("CurlTransport is closed")
        results: list[HttpResponse | TransportError | None] = [None] * len(requests)

        def finished(index: int, result: HttpResponse | TransportError) -> None:
            results[index] = result

        queue: deque[int] = deque(range(len(requests)))
        want = self._lanes_wanted(requests)
        try:
            while True:
                while queue:
                    request = requests[queue[0]]
                    lane = self._lane_for(request, want)
                    if lane is None:
                        break
                    index = queue.popleft()
                    idle = not lane.active
                    early = self._start(lane, index, request)
                    if early is not None:
                        finished(index, early)
                        if on_done is not None:
                            on_done(1)
                    elif idle:
                        # its connection (or reuse check) starts now, while the rest of the
                        # batch's transfers are still being set up
                        lane.multi.perform()
                busy = [lane for lane in self._lanes if lane.active]
                if not busy:
                    break
                done = 0
                for lane in busy:
                    while True:
                        status, _running = lane.multi.perform()
                        if status != pycurl.E_CALL_MULTI_PERFORM:
                            break
                    done += self._collect(lane, finished)
                if done == 0:
                    if while_waiting is not None:
                        if not while_waiting():
                            while_waiting = None
                        continue  # a look at the sockets between two slices
                    self._wait(busy)
                elif on_done is not None:
                    on_done(done)
        finally:
            # Only reached with transfers left when interrupted (e.g. KeyboardInterrupt).
            for lane in self._lanes:
                for handle in lane.active:
                    lane.multi.remove_handle(handle)
                    handle.close()
                lane.active.clear()
        done_results = [r for r in results if r is not None]
        assert len(done_results) == len(requests)
        return done_results

    # --- internals --------------------------------------------------------------------------

    def _lanes_wanted(self, requests: Sequence[HttpRequest]) -> int:
        """How many lanes a batch spreads over: as many as carry it in one round trip
        (`connections_for`)."""
        if not requests:
            return 0
        scheme = requests[0].url.partition(":")[0].lower()
        return connections_for(len(requests), scheme, self._options)

    def _lane_for(self, request: HttpRequest, want: int) -> _Lane | None:
        """A lane with room for ``request``, or None: a new one while fewer than ``want`` are
        open (so that every connection of the batch starts with its first transfer, not after
        the transfers of the lanes before it are set up), else the least busy, else a new one
        when allowed."""
        scheme = request.url.partition(":")[0].lower()
        room = per_connection(scheme, self._options)
        if self._lanes and len(self._lanes) >= want:
            lane = min(self._lanes, key=_active_count)
            if len(lane.active) < room:
                return lane
        if len(self._lanes) < self._options.max_connections_per_host:
            lane = _Lane(self._options.http2)
            self._lanes.append(lane)
            return lane
        return None

    def _start(self, lane: _Lane, index: int, request: HttpRequest) -> TransportError | None:
        """Hand one request to libcurl, or say why it cannot be sent."""
        scheme = request.url.partition(":")[0].lower()
        if scheme not in ("http", "https"):
            return TransportError(request.url, "other", "unsupported URL scheme")
        reason = invalid_header_reason(request)
        if reason is not None:
            return TransportError(request.url, "other", reason)
        url = request.url
        if not url.isascii():
            # Like a URL parser (and httpx) would: percent-encode what is not ASCII.
            from string import punctuation
            from urllib.parse import quote

            url = quote(url, safe=punctuation)
        handle = self._idle.pop() if self._idle else self._new_handle()
        transfer = _Transfer(index, request, self._options.max_body_bytes)
        try:
            handle.setopt(pycurl.URL, url)
            handle.setopt(
                pycurl.HTTPHEADER,
                [f"{name}: {value}" if value else f"{name};" for name, value in request.headers],
            )
            handle.setopt(pycurl.HTTP_VERSION, self._http_version(scheme))
            handle.setopt(pycurl.PIPEWAIT, 1 if multiplexes(scheme, self._options) else 0)
            handle.setopt(pycurl.WRITEFUNCTION, transfer.on_body)
            handle.setopt(pycurl.HEADERFUNCTION, transfer.on_header)
        except (pycurl.error, UnicodeError, ValueError, TypeError):
            handle.close()
            return TransportError(request.url, "other", "invalid URL")
        lane.multi.add_handle(handle)
        lane.active[handle] = transfer
        return None

    def _new_handle(self) -> pycurl.Curl:
        opts = self._options
        handle = pycurl.Curl()
        handle.setopt(pycurl.NOSIGNAL, 1)
        handle.setopt(pycurl.FOLLOWLOCATION, 0)
        handle.setopt(pycurl.ACCEPT_ENCODING, "")  # every encoding this libcurl decodes
        handle.setopt(pycurl.USERAGENT, opts.user_agent)
        handle.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, math.ceil(opts.connect_timeout * 1000)))
        handle.setopt(pycurl.LOW_SPEED_LIMIT, opts.low_speed_limit)
        handle.setopt(pycurl.LOW_SPEED_TIME, max(1, math.ceil(opts.read_timeout)))
        # The total deadline: libcurl ends the transfer with E_OPERATION_TIMEDOUT, which
        # `_result` tells from the other timeouts by the time the transfer took.
        handle.setopt(pycurl.TIMEOUT_MS, max(1, math.ceil(opts.total_timeout * 1000)))
        if opts.max_body_bytes > 0:  # 0 would mean "no limit" to libcurl
            handle.setopt(pycurl.MAXFILESIZE_LARGE, opts.max_body_bytes)
        if opts.ca_file is not None:
            handle.setopt(pycurl.CAINFO, opts.ca_file)
        if opts.ca_path is not None:
            handle.setopt(pycurl.CAPATH, opts.ca_path)
        if opts.proxy is not None:
            handle.setopt(pycurl.PROXY, opts.proxy)
        if opts.proxy_ca_file is not None:
            handle.setopt(pycurl.PROXY_CAINFO, opts.proxy_ca_file)
        if self._preconnected is not None:
            handle.setopt(pycurl.OPENSOCKETFUNCTION, self._open_socket)
            handle.setopt(pycurl.SOCKOPTFUNCTION, self._socket_options)
        return handle

    def _open_socket(
        self, _purpose: int, address: tuple[int, int, int, tuple[object, ...]]
    ) -> _socket.socket | int:
        """libcurl wants a socket for a new connection to ``address``: a preconnected one to
        that host, else a new one (pycurl gives libcurl a dup of what this returns; SOCKET_BAD
        fails the connect, as libcurl's own socket() failing would)."""
        import _socket

        family, kind, protocol, where = address
        taken = None
        if self._preconnected is not None:
            try:
                taken = self._preconnected.take(family, where)
            except OSError:  # never raised from a callback: libcurl connects itself
                taken = None
        if taken is not None:
            self._handing = (taken, True)
            return taken
        try:
            sock = _socket.socket(family, kind, protocol)
        except OSError:  # out of descriptors, say
            return int(pycurl.SOCKET_BAD)
        self._handing = (sock, False)
        return sock

    def _socket_options(self, _fd: int, _purpose: int) -> int:
        """Called right after `_open_socket` with libcurl's copy: ours is closed; a
        preconnected socket is connected already (or connecting: libcurl's writes wait)."""
        handing, self._handing = self._handing, None
        if handing is None:
            return pycurl.SOCKOPT_OK
        sock, preconnected = handing
        sock.close()
        return pycurl.SOCKOPT_ALREADY_CONNECTED if preconnected else pycurl.SOCKOPT_OK

    def _http_version(self, scheme: str) -> int:
        opts = self._options
        if opts.http2 and scheme == "https":
            return pycurl.CURL_HTTP_VERSION_2TLS
        if opts.http2 and opts.h2c_prior_knowledge:
            return pycurl.CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
        return pycurl.CURL_HTTP_VERSION_1_1

    def _collect(
        self, lane: _Lane, finished: Callable[[int, HttpResponse | TransportError], None]
    ) -> int:
        """Turn a lane's finished transfers into results; return how many finished."""
        count = 0
        multi = lane.multi
        while True:
            queued, ok_list, err_list = multi.info_read()
            done: list[tuple[pycurl.Curl, int, str]] = [(h, 0, "") for h in ok_list]
            done.extend(err_list)
            for handle, code, message in done:
                multi.remove_handle(handle)
                transfer = lane.active.pop(handle)
                result = self._result(handle, transfer, code, message)
                transfer.body = BytesIO()
                self._idle.append(handle)
                finished(transfer.index, result)
                count += 1
            if queued == 0:
                return count

    def _result(
        self, handle: pycurl.Curl, transfer: _Transfer, code: int, message: str
    ) -> HttpResponse | TransportError:
        url = transfer.request.url
        if transfer.too_big or code == pycurl.E_FILESIZE_EXCEEDED:
            return body_too_large(url, self._options.max_body_bytes)
        if code == pycurl.E_OPERATION_TIMEDOUT:
            total = self._options.total_timeout
            if time.monotonic() - transfer.started >= total:
                return deadline_exceeded(url, total)
        if code != 0:
            kind = _ERROR_KINDS.get(code, "other")
            if code == pycurl.E_SSL_CONNECT_ERROR and self._on_preconnected(handle):
                # its connect failed after libcurl took it (refused a round trip later): the
                # handshake's first send is what failed
                kind = "connect"
            text = message or pycurl.easy_strerror(code)
            return TransportError(
                url, kind, clean_message(f"{text} (curl error {code})", transfer.request)
            )
        status = int(handle.getinfo(pycurl.RESPONSE_CODE))
        headers = transfer.headers
        body = transfer.body.getvalue()
        short = short_body_error(url, status, headers, body)
        if short is not None:
            return short
        version = _HTTP_VERSIONS.get(int(handle.getinfo(pycurl.INFO_HTTP_VERSION)), "")
        return HttpResponse(url, status, freeze_headers(headers), body, version)

    def _on_preconnected(self, handle: pycurl.Curl) -> bool:
        if self._preconnected is None:
            return False
        try:
            return int(handle.getinfo(pycurl.LOCAL_PORT)) in self._preconnected.ports
        except pycurl.error:
            return False

    def _wait(self, lanes: list[_Lane]) -> None:
        """Sleep until a socket of any lane is ready or the earliest libcurl timeout is due."""
        timeouts = [t for t in (lane.multi.timeout() for lane in lanes) if t >= 0]
        if 0 in timeouts:
            return
        wait_s = min(timeouts) / 1000 if timeouts else _NO_TIMER_WAIT_S
        readable: list[int] = []
        writable: list[int] = []
        exceptional: list[int] = []
        for lane in lanes:
            r, w, x = lane.multi.fdset()
            readable += r
            writable += w
            exceptional += x
        if readable or writable or exceptional:
            select.select(readable, writable, exceptional, wait_s)
        else:
            # libcurl is busy with something it cannot give us a socket for.
            time.sleep(min(wait_s, _IDLE_WAIT_S))

"""A real threaded HTTP/1.1 test server for a sparse index directory, with injectable faults.

`IndexServer(root)` serves the files under `root` (laid out like a sparse registry: `config.json`,
`1/a`, `3/f/foo`, `se/rd/serde` ...) on `http://127.0.0.1:<port>/` with keep-alive, like a static
web server would:

* 200 with a strong `ETag` (quoted hash of the bytes) and `Last-Modified` (file mtime); either can
  be switched off (`etag=False`, `last_modified=False`);
* 304 for a matching `If-None-Match` (weak comparison), else for `If-Modified-Since` not older
  than the file; 404 for a missing file (or a path outside `base_path`);
* `Cache-Control: max-age=N` when `max_age` is set; `extra_headers` on every 200/304;
* gzip (`Content-Encoding: gzip`, ETag weakened like nginx does) when `gzip=True` and the client
  accepts it;
* auth: with `auth_token` set, the paths in `auth_paths` (None = every path) need
  `Authorization: <auth_token>` exactly, else 401 with `WWW-Authenticate: Cargo login_url="..."`.

Every request is logged before it is answered (`server.requests`, a snapshot safe to read from the
test thread). Faults are queued per relative path and consumed one per request, in order::

    server.faults["3/f/foo"] = [Fault.status(503), Fault.reset_mid_body()]

The switches are plain attributes and may be changed while the server runs. Stalls end as soon as
the server stops, so a test never hangs on one.
"""

from __future__ import annotations

import contextlib
import email.utils
import gzip as gzip_module
import hashlib
import socket
import struct
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["Fault", "FaultQueues", "IndexServer", "LoggedRequest", "index_path"]


def index_path(name: str) -> str:
    """cargo's `make_dep_path(name.lower())` (spec §1.1): where a crate's index file lives."""
    lowered = name.lower()
    raw = lowered.encode("utf-8")
    if len(raw) <= 2:
        return f"{len(raw)}/{lowered}"
    if len(raw) == 3:
        return f"3/{raw[:1].decode('utf-8', 'replace')}/{lowered}"
    return f"{raw[:2].decode('utf-8', 'replace')}/{raw[2:4].decode('utf-8', 'replace')}/{lowered}"


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour, used for one request. Build with the static constructors."""

    action: str
    code: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    seconds: float = 0.0
    mid_body: bool = False

    @staticmethod
    def status(
        code: int,
        *,
        retry_after: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes | None = None,
    ) -> Fault:
        """Answer with this status, headers (sent as given, repeats allowed) and body."""
        extra = list(headers)
        if retry_after is not None:
            extra.append(("Retry-After", retry_after))
        payload = body if body is not None else f"injected {code}\n".encode()
        return Fault("status", code=code, headers=tuple(extra), body=payload)

    @staticmethod
    def redirect(to_url: str, code: int = 302) -> Fault:
        """Answer `code` with `Location: to_url`."""
        return Fault("status", code=code, headers=(("Location", to_url),), body=b"")

    @staticmethod
    def reset() -> Fault:
        """Reset the connection (TCP RST) right after reading the request; nothing is sent.

        libcurl silently resends a request whose *reused* keep-alive connection dies before any
        response byte, so with pycurl this only surfaces on a fresh connection; use
        `reset_before_body` for an error every client reports.
        """
        return Fault("reset")

    @staticmethod
    def close() -> Fault:
        """Close the connection cleanly without sending anything ("empty reply").

        Same caveat as `reset`: libcurl retries this by itself on a reused connection.
        """
        return Fault("close")

    @staticmethod
    def reset_before_body() -> Fault:
        """Send the normal status line and headers, then reset the connection."""
        return Fault("reset_before_body")

    @staticmethod
    def reset_mid_body() -> Fault:
        """Send the normal headers and half the body, then reset the connection."""
        return Fault("reset_mid_body")

    @staticmethod
    def truncated_body() -> Fault:
        """Send the normal headers (full Content-Length) and half the body, then close cleanly."""
        return Fault("truncated_body")

    @staticmethod
    def stall(seconds: float, *, mid_body: bool = False) -> Fault:
        """Send nothing (or, with `mid_body`, headers and half the body) for `seconds`, then
        finish the normal response. Ends early, closing the connection, when the server stops."""
        return Fault("stall", seconds=seconds, mid_body=mid_body)

    @staticmethod
    def drip(interval: float = 0.02, *, in_headers: bool = False) -> Fault:
        """A response that never ends, trickling one byte every `interval` seconds (50 bytes/s
        by default: above libcurl's low-speed limit, and never a read timeout): 200 headers
        without a Content-Length, then body bytes; or, `in_headers`, the status line, then
        header bytes. Ends, closing the connection, when the client hangs up or the server
        stops."""
        return Fault("drip", seconds=interval, mid_body=in_headers)

    @staticmethod
    def garbage(data: bytes) -> Fault:
        """Send `data` instead of an HTTP response, then close."""
        return Fault("garbage", body=data)


class FaultQueues(dict[str, list[Fault]]):
    """`{relative path: [Fault, ...]}`; keys are normalised (no leading '/')."""

    def __init__(self, lock: threading.Lock) -> None:
        super().__init__()
        self._lock = lock

    def __setitem__(self, key: str, value: Iterable[Fault]) -> None:
        with self._lock:
            super().__setitem__(key.lstrip("/"), list(value))

    def take(self, rel: str) -> Fault | None:
        """Pop the next fault queued for `rel`, if any."""
        with self._lock:
            queue = self.get(rel)
            return queue.pop(0) if queue else None


@dataclass(frozen=True)
class LoggedRequest:
    """A request as the server received it."""

    method: str
    target: str  # the request target as sent (absolute-form when it came through a proxy)
    path: str  # decoded URL path, e.g. "/3/f/foo"
    rel: str | None  # path relative to base_path ("3/f/foo"), None when outside it
    headers: tuple[tuple[str, str], ...]  # names and values exactly as received, in order
    connection: int  # 1-based id of the TCP connection it arrived on

    def header(self, name: str) -> str | None:
        """The last value of header `name` (case-insensitive), or None."""
        lowered = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == lowered:
                found = value
        return found

    def header_names(self) -> list[str]:
        return [key for key, _ in self.headers]


@dataclass
class _Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops SYNs: 1 s stalls on a burst
    owner: IndexServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-response are expected here; keep stderr quiet.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    timeout = 60  # idle keep-alive connections give up eventually
    server: _Server
    connection_id: int

    def setup(self) -> None:
        super().setup()
        self.connection_id = self.server.owner._register(self.connection)

    def finish(self) -> None:
        self.server.owner._unregister(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    # --- request handling --------------------------------------------------------------------

    def _serve(self, *, send_body: bool) -> None:
        owner = self.server.owner
        target = self.path
        path = unquote(urlsplit(target).path) if "://" in target else unquote(target.split("?")[0])
        rel = path[len(owner.base_path) :] if path.startswith(owner.base_path) else None
        owner._log(
            LoggedRequest(
                method=self.command,
                target=target,
                path=path,
                rel=rel,
                headers=tuple(self.headers.items()),
                connection=self.connection_id,
            )
        )
        fault = owner.faults.take(rel) if rel is not None else None
        if fault is not None and fault.action == "status":
            self._send(_Response(fault.code, list(fault.headers), fault.body), send_body)
            return
        if fault is not None and fault.action == "drip":
            self._drip(fault)
            return
        if fault is not None and fault.action in ("reset", "close", "garbage"):
            if fault.action == "garbage":
                self.wfile.write(fault.body)
            self._hang_up(reset=fault.action == "reset")
            return
        response = self._respond(rel)
        if fault is None:
            self._send(response, send_body)
        elif fault.action == "stall" and not fault.mid_body:
            if owner._stopping.wait(fault.seconds):
                self._hang_up(reset=False)
            else:
                self._send(response, send_body)
        else:
            self._send_broken(response, fault)

    def _respond(self, rel: str | None) -> _Response:
        owner = self.server.owner
        if rel is not None and owner.auth_token is not None:
            needs_auth = owner.auth_paths is None or rel in owner.auth_paths
            if needs_auth and self.headers.get("Authorization") != owner.auth_token:
                challenge = f'Cargo login_url="{owner.login_url or owner.url + "me"}"'
                return _Response(401, [("WWW-Authenticate", challenge)], b"unauthorized\n")
        file = owner.file_for(rel)
        if file is None:
            return _Response(404, [("Content-Type", "text/plain")], b"not found\n")
        data = file.read_bytes()
        validators: list[tuple[str, str]] = []
        etag = owner.etag_for_bytes(data)
        use_gzip = owner.gzip and _accepts_gzip(self.headers.get_all("Accept-Encoding") or [])
        if use_gzip:
            etag = "W/" + etag
        if owner.etag:
            validators.append(("ETag", etag))
        mtime = int(file.stat().st_mtime)
        if owner.last_modified:
            validators.append(("Last-Modified", email.utils.formatdate(mtime, usegmt=True)))
        if owner.max_age is not None:
            validators.append(("Cache-Control", f"max-age={owner.max_age}"))
        validators.extend(owner.extra_headers)
        if self._not_modified(etag if owner.etag else None, mtime if owner.last_modified else None):
            return _Response(304, validators)
        headers = [("Content-Type", "text/plain"), *validators]
        if use_gzip:
            data = gzip_module.compress(data, mtime=0)
            headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        return _Response(200, headers, data)

    def _not_modified(self, etag: str | None, mtime: int | None) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            if etag is None:
                return False
            wanted = {tag.strip().removeprefix("W/") for tag in inm.split(",")}
            return "*" in wanted or etag.removeprefix("W/") in wanted
        ims = self.headers.get("If-Modified-Since")
        if ims is None or mtime is None:
            return False
        try:
            since = email.utils.parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        return mtime <= since.timestamp()

    # --- writing -----------------------------------------------------------------------------

    def _head(self, response: _Response, length: int) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.status != 304:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def _send(self, response: _Response, send_body: bool) -> None:
        self._head(response, len(response.body))
        if send_body and response.status != 304:
            self.wfile.write(response.body)

    def _send_broken(self, response: _Response, fault: Fault) -> None:
        body = response.body
        self._head(response, len(body))
        if fault.action == "reset_before_body":
            self._hang_up(reset=True)
            return
        half = body[: len(body) // 2]
        self.wfile.write(half)
        if fault.action == "stall":
            if self.server.owner._stopping.wait(fault.seconds):
                self._hang_up(reset=False)
            else:
                self.wfile.write(body[len(half) :])
            return
        self._hang_up(reset=fault.action == "reset_mid_body")

    def _drip(self, fault: Fault) -> None:
        self.close_connection = True
        stopping = self.server.owner._stopping
        if fault.mid_body:  # in the headers: a header line a byte at a time, forever
            head, tick = b"HTTP/1.1 200 OK\r\nX-Drip: ", b"d"
        else:
            head, tick = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", b"x"
        try:
            self.wfile.write(head)
            while not stopping.wait(fault.seconds):
                self.wfile.write(tick)
        except OSError:  # the client gave up
            pass
        self._hang_up(reset=False)

    def _hang_up(self, *, reset: bool) -> None:
        """End the connection: RST (SO_LINGER 0) when `reset`, else a clean FIN."""
        self.close_connection = True
        try:
            if reset:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                # Close now (rfile holds a reference that would delay it, and socketserver would
                # send a FIN first): the kernel answers with RST.
                self.rfile.close()
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _accepts_gzip(values: Sequence[str]) -> bool:
    for value in values:
        for item in value.split(","):
            coding, _, params = item.strip().partition(";")
            if coding.strip().lower() in ("gzip", "*") and params.replace(" ", "") != "q=0":
                return True
    return False


class IndexServer:
    """A threaded HTTP/1.1 server for a sparse index directory; see the module docstring."""

    def __init__(
        self,
        root: Path | str,
        *,
        base_path: str = "/",
        etag: bool = True,
        last_modified: bool = True,
        max_age: int | None = None,
        gzip: bool = False,
        auth_token: str | None = None,
        auth_paths: Iterable[str] | None = None,
        login_url: str | None = None,
        extra_headers: Iterable[tuple[str, str]] = (),
        host: str = "127.0.0.1",
    ) -> None:
        if not base_path.startswith("/") or not base_path.endswith("/"):
            raise ValueError("base_path must start and end with '/'")
        self.root = Path(root)
        self.host = host  # any loopback address: 127.0.0.2 is "another host" for redirects
        self.base_path = base_path
        self.etag = etag
        self.last_modified = last_modified
        self.max_age = max_age
        self.gzip = gzip
        self.auth_token = auth_token
        self.auth_paths: frozenset[str] | None = (
            None if auth_paths is None else frozenset(p.lstrip("/") for p in auth_paths)
        )
        self.login_url = login_url
        self.extra_headers: list[tuple[str, str]] = list(extra_headers)
        self._lock = threading.Lock()
        self.faults = FaultQueues(self._lock)
        self._log_entries: list[LoggedRequest] = []
        self._open: set[socket.socket] = set()
        self._accepted = 0
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> IndexServer:
        httpd = _Server((self.host, 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end stalls and drop every open connection."""
        self._stopping.set()
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        with self._lock:
            open_sockets = list(self._open)
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> IndexServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- what tests look at ------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """`http://<host>:<port><base_path>` (host 127.0.0.1 by default), ending in '/'."""
        return f"http://{self.host}:{self.port}{self.base_path}"

    @property
    def requests(self) -> list[LoggedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._log_entries)

    def requests_for(self, rel: str) -> list[LoggedRequest]:
        rel = rel.lstrip("/")
        return [r for r in self.requests if r.rel == rel]

    def clear_requests(self) -> None:
        with self._lock:
            self._log_entries.clear()

    @property
    def connections(self) -> int:
        """How many TCP connections have been accepted so far."""
        with self._lock:
            return self._accepted

    def write(self, rel: str, data: bytes | str) -> Path:
        """Write a file below root (creating directories) and return its path."""
        path = self.root / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    def file_for(self, rel: str | None) -> Path | None:
        """The file served for `rel`, or None (404)."""
        if rel is None or not rel or rel.endswith("/"):
            return None
        parts = rel.split("/")
        if any(part in ("", ".", "..") for part in parts):
            return None
        path = self.root.joinpath(*parts)
        return path if path.is_file() else None

    @staticmethod
    def etag_for_bytes(data: bytes) -> str:
        """The strong ETag served for a file with these bytes (uncompressed)."""
        return '"' + hashlib.sha256(data).hexdigest()[:16] + '"'

    def etag_for(self, rel: str) -> str:
        return self.etag_for_bytes((self.root / rel.lstrip("/")).read_bytes())

    def last_modified_for(self, rel: str) -> str:
        mtime = int((self.root / rel.lstrip("/")).stat().st_mtime)
        return email.utils.formatdate(mtime, usegmt=True)

    # --- used by the handler -----------------------------------------------------------------

    def _register(self, sock: socket.socket) -> int:
        with self._lock:
            self._accepted += 1
            self._open.add(sock)
            return self._accepted

    def _unregister(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)

    def _log(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._log_entries.append(entry)

"""`HttpxTransport`: the fallback transport, and the way to bring your own `httpx.Client`.

Used when pycurl cannot be imported, or when an API user hands over a configured client (proxy,
certificates, event hooks ...). Requests run on a small thread pool (at most
`max_connections_per_host` threads) over the synchronous client; a single request runs inline.
Redirects are never followed, whatever the client's own setting.

With our own client: HTTP/2 only if the `h2` package is installed (and `http2` is on),
`connect_timeout`, and `read_timeout` as httpx's read timeout (no byte for that long; libcurl's
low-speed rule, `low_speed_limit`, has no httpx equivalent); `ca_file` / `ca_path` as the trust
store; proxies as libcurl takes them: `proxy` when set (with NO_PROXY's hosts still direct; ""
for none), else the environment's (`trust_env`), an https:// proxy trusted by `proxy_ca_file`.
httpx has no total timeout: `total_timeout` is kept by a network backend (`_DeadlineBackend`)
under each of our client's connection pools, which cuts every socket read, write and connect to
the time the current request has left. With a caller's client, its timeouts, limits, proxies
and TLS settings apply, the total deadline is checked between body chunks only, and closing the
transport leaves the client open.

httpx is imported by this module only, lazily (its import is the heaviest of all:
docs/performance.md).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from importlib.util import find_spec
from io import BytesIO

import httpcore
import httpx

from query import TYPE_CHECKING
from registry.transport.base import (
    HttpRequest,
    HttpResponse,
    TransportError,
    TransportOptions,
    add_header_line,
    body_too_large,
    clean_message,
    content_length,
    deadline_exceeded,
    freeze_headers,
    has_header,
    invalid_header_reason,
    short_body_error,
)

if TYPE_CHECKING:
    from typing import Any

    from registry.transport.base import ErrorKind


class _Deadline(threading.local):
    """When the request running on this thread must be done (`time.monotonic`), or None."""

    at: float | None = None

    def bound(self, timeout: float | None) -> float | None:
        """``timeout`` cut to the time left; an httpcore timeout once none is left."""
        if self.at is None:
            return timeout
        left = self.at - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("total deadline reached")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection's stream whose every blocking call ends by the current request's deadline
    (a connection outlives requests: the deadline is the one of whichever thread uses it)."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.bound(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.bound(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, self._deadline.bound(timeout))
        return _DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with `_DeadlineStream` connections."""

    def __init__(self, backend: httpcore.NetworkBackend, deadline: _Deadline) -> None:
        self._backend = backend
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, self._deadline.bound(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(
            path, self._deadline.bound(timeout), socket_options
        )
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _keep_deadlines(client: httpx.Client, deadline: _Deadline) -> bool:
    """Put a `_DeadlineBackend` under each connection pool of our own ``client`` (its default
    transport and the proxy mounts made from the environment). httpx offers no public way to
    choose the backend, so this reaches into httpx's and httpcore's attributes; False when
    they are not there (tests/test_transport.py checks that they are)."""
    transports = [getattr(client, "_transport", None)]
    transports += list(getattr(client, "_mounts", {}).values())
    done = True
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is None:
            done = done and transport is None
            continue
        pool._network_backend = _DeadlineBackend(backend, deadline)  # type: ignore[union-attr]
    return done


class HttpxTransport:
    """A `Transport` over a synchronous `httpx.Client`. Not safe for concurrent `perform`."""

    def __init__(
        self, options: TransportOptions | None = None, client: httpx.Client | None = None
    ) -> None:
        self._options = options if options is not None else TransportOptions()
        self._owns_client = client is None
        self._deadline = _Deadline()
        self._client: httpx.Client = client if client is not None else self._new_client()
        #: Whether every socket call keeps the total deadline (our own client), not just the
        #: checks between body chunks.
        self.keeps_deadline = self._owns_client and _keep_deadlines(self._client, self._deadline)
        self._workers = self._options.max_connections_per_host
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False

    def __enter__(self) -> HttpxTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker threads; close the client unless the caller supplied it."""
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        if self._owns_client:
            self._client.close()

    def perform(
        self,
        requests: Sequence[HttpRequest],
        on_done: Callable[[int], None] | None = None,
        while_waiting: Callable[[], bool] | None = None,
    ) -> list[HttpResponse | TransportError]:
        """As `Transport.perform`."""
        if self._closed:
            raise RuntimeError("HttpxTransport is closed")
        results: list[HttpResponse | TransportError | None] = [None] * len(requests)

        def finished(index: int, result: HttpResponse | TransportError) -> None:
            results[index] = result
            if on_done is not None:
                on_done(1)

        if len(requests) <= 1:
            for index, request in enumerate(requests):
                finished(index, self._one(request))
        else:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self._workers, thread_name_prefix="registry-http"
                )
            futures = {self._executor.submit(self._one, r): i for i, r in enumerate(requests)}
            # the pool's threads do the network meanwhile
            while while_waiting is not None and while_waiting():
                pass
            try:
                # results are handed over in this thread, as they complete
                for future in as_completed(futures):
                    finished(futures[future], future.result())
            finally:
                for future in futures:
                    future.cancel()
        return [r for r in results if r is not None]

    # --- internals --------------------------------------------------------------------------

    def _new_client(self) -> httpx.Client:
        opts = self._options
        verify: ssl.SSLContext | bool = True
        if opts.ca_file is not None or opts.ca_path is not None:
            verify = ssl.create_default_context(cafile=opts.ca_file, capath=opts.ca_path)
        workers = opts.max_connections_per_host
        proxy, mounts = _proxy(opts)
        return httpx.Client(
            http2=opts.http2 and find_spec("h2") is not None,
            follow_redirects=False,
            timeout=httpx.Timeout(opts.read_timeout, connect=opts.connect_timeout, pool=None),
            limits=httpx.Limits(max_connections=workers, max_keepalive_connections=workers),
            verify=verify,
            proxy=proxy,
            mounts=mounts,
            trust_env=opts.proxy != "",  # "": no proxy, not even the environment's
        )

    def _one(self, request: HttpRequest) -> HttpResponse | TransportError:
        url = request.url
        if url.partition(":")[0].lower() not in ("http", "https"):
            return TransportError(url, "other", "unsupported URL scheme")
        reason = invalid_header_reason(request)
        if reason is not None:
            return TransportError(url, "other", reason)
        headers = list(request.headers)
        if not has_header(request, "user-agent"):
            headers.append(("User-Agent", self._options.user_agent))
        limit = self._options.max_body_bytes
        total = self._options.total_timeout
        deadline = self._deadline.at = time.monotonic() + total
        try:
            built = self._client.build_request("GET", url, headers=headers)
            response = self._client.send(built, stream=True, follow_redirects=False)
            try:
                fields: dict[str, str] = {}
                for name, value in response.headers.multi_items():
                    add_header_line(fields, f"{name}:{value}")
                declared = content_length(fields)
                if "content-encoding" not in fields and declared is not None and declared > limit:
                    return body_too_large(url, limit)
                # one copy of the body: BytesIO hands its buffer over without copying
                buffer = BytesIO()
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        return body_too_large(url, limit)
                    if time.monotonic() >= deadline:
                        return deadline_exceeded(url, total)
                    buffer.write(chunk)
            finally:
                response.close()
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            if isinstance(exc, httpx.TimeoutException) and time.monotonic() >= deadline:
                return deadline_exceeded(url, total)
            return TransportError(
                url, _error_kind(exc), clean_message(f"{type(exc).__name__}: {exc}", request)
            )
        finally:
            self._deadline.at = None
        body = buffer.getvalue()
        short = short_body_error(url, response.status_code, fields, body)
        if short is not None:
            return short
        version = response.http_version.removeprefix("HTTP/")
        return HttpResponse(url, response.status_code, freeze_headers(fields), body, version)


def _proxy(
    opts: TransportOptions,
) -> tuple[httpx.Proxy | None, dict[str, httpx.BaseTransport | None] | None]:
    """The client's proxy and mounts for `TransportOptions.proxy`: None (the environment's, read
    by httpx itself), "" (none), or a proxy URL (``host:port`` means http://, as in libcurl)
    with the hosts of NO_PROXY mounted direct, as libcurl still honours NO_PROXY then."""
    if not opts.proxy:
        return None, None
    url = opts.proxy if "://" in opts.proxy else "http://" + opts.proxy
    context = None
    if url.startswith("https://") and opts.proxy_ca_file is not None:
        context = ssl.create_default_context(cafile=opts.proxy_ca_file)
    try:
        from httpx._utils import get_environment_proxies
    except ImportError:  # pragma: no cover - a future httpx: NO_PROXY is then not honoured
        direct: dict[str, httpx.BaseTransport | None] = {}
    else:
        direct = {k: None for k, v in get_environment_proxies().items() if v is None}
    return httpx.Proxy(url, ssl_context=context), direct or None


def _error_kind(exc: Exception) -> ErrorKind:
    """Map an httpx exception to a `TransportError` kind (the same kinds pycurl's codes get)."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    causes: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(causes) < 10:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any(isinstance(c, ssl.SSLError | ssl.CertificateError) for c in causes):
        return "tls"
    if any(isinstance(c, socket.gaierror) for c in causes):
        return "resolve"
    if isinstance(exc, httpx.ConnectError | httpx.ProxyError):
        return "connect"
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return "reset"
    if isinstance(exc, httpx.RemoteProtocolError):
        text = str(exc)
        if "complete message body" in text or "incomplete chunked read" in text:
            return "partial"  # h11: body shorter than Content-Length / unfinished chunks
        if "without sending a response" in text:
            return "reset"  # curl: "Empty reply from server"
        return "protocol"
    if isinstance(exc, httpx.DecodingError):
        return "protocol"
    return "other"

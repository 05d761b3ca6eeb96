"""The narrow network interface: requests in, responses or transport errors out.

A `Transport` performs a batch of GET requests concurrently and returns one result per request,
in request order: an `HttpResponse` for every status the server sent (1xx aside), or a
`TransportError` when no complete response arrived. It follows no redirects (a 3xx comes back with
its `location` header so the layer above can drop `Authorization` on a host change), retries
nothing, and knows nothing about cargo. Response bodies are decoded from gzip/deflate.

Header values are never logged and never copied into error messages: tokens travel in
`Authorization`.

Implementations: `registry.transport.curl.CurlTransport` (pycurl, the default) and
`registry.transport.httpx.HttpxTransport` (fallback, or a caller's own `httpx.Client`). Neither is
imported by this module, so importing it costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

# ``typing`` only for the type checker (docs/performance.md): at run time `Transport` is a
# plain class documenting the interface.
from query import TYPE_CHECKING
from query.record import Record
from registry import USER_AGENT
from registry.options import DEFAULT_TIMEOUT, MAX_BODY_BYTES, TOTAL_TIMEOUT_FACTOR

if TYPE_CHECKING:
    from typing import Final, Literal, Protocol, TypeAlias

    from registry.transport.preconnect import Preconnected

    ErrorKind: TypeAlias = Literal[
        "connect", "resolve", "timeout", "deadline", "reset", "partial", "tls", "protocol", "other"
    ]
else:
    Protocol = object

#: Kinds worth retrying: cargo's "spurious" curl errors (spec §4.7) without the TLS ones.
#: "deadline" (the transfer outlived `TransportOptions.total_timeout`) is not one: a server that
#: slow would only take the whole deadline again.
RETRYABLE_KINDS: Final = frozenset(
    {"connect", "resolve", "timeout", "reset", "partial", "protocol"}
)


_MAX_MESSAGE_CHARS: Final = 200
# Beyond this, seconds overflow libcurl's milliseconds (a C long) and mean "never" anyway.
_MAX_TIMEOUT: Final = 10.0**8


class HttpRequest(Record):
    """One GET request. Header names are sent exactly as given (cargo's are lowercase)."""

    url: str
    headers: tuple[tuple[str, str], ...] = ()


class HttpResponse(Record):
    """A complete response of any status.

    `headers` holds the final response's header fields (no 1xx, no trailers of a proxy CONNECT):
    names lowercased, values trimmed, a repeated header keeps its last value (spec §4.3).
    `body` is decoded from any Content-Encoding. `http_version` is "1.0", "1.1", "2" or "3".
    """

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    http_version: str


class TransportError(Record):
    """No complete response for `url`. `message` is one short line without header values.

    `kind` is one of: connect, resolve, timeout (connect timeout, or a stalled transfer),
    deadline (the transfer outlived `TransportOptions.total_timeout`), reset, partial, tls,
    protocol, other."""

    url: str
    kind: ErrorKind
    message: str

    @property
    def retryable(self) -> bool:
        """True for connect/resolve/timeout/reset/partial/protocol, False for tls/other."""
        return self.kind in RETRYABLE_KINDS


class Transport(Protocol):
    """What the sparse layer needs from the network. Not safe for concurrent `perform` calls."""

    def perform(
        self,
        requests: Sequence[HttpRequest],
        on_done: Callable[[int], None] | None = None,
        while_waiting: Callable[[], bool] | None = None,
    ) -> list[HttpResponse | TransportError]:
        """Run all requests concurrently; one result per request, in the same order.

        ``on_done(n)`` is called as ``n`` more requests finish (for progress displays).
        ``while_waiting()`` is called, once the requests are on their way (as many as go at
        once), whenever the transport would otherwise wait for the network, as long as it
        returns True: one slice of work that needs no answer (a few ms), done while the round
        trips are in flight. It may be left with slices undone (answers came first) or never
        called (nothing to wait for): the caller finishes what it must."""
        ...

    def close(self) -> None:
        """Release connections and handles. The transport must not be used afterwards."""
        ...


class TransportOptions(Record):
    """Knobs shared by every transport.

    `read_timeout` works like cargo's `http.timeout` + `http.low-speed-limit`: a transfer is
    aborted when it moves fewer than `low_speed_limit` bytes/s for that many seconds (httpx: no
    byte at all for that long). `total_timeout` bounds a transfer as a whole, however steadily
    bytes trickle in (a "deadline" error, which is not retried): by default
    `TOTAL_TIMEOUT_FACTOR` times the read timeout. `max_body_bytes` bounds a response body
    (decoded), which is never buffered beyond it. `http2` enables HTTP/2 over TLS (ALPN; cargo's
    `http.multiplexing`); cleartext `http://` stays on HTTP/1.1 unless `h2c_prior_knowledge` is
    set. `ca_file` / `ca_path` override the TLS trust store (cargo's `http.cainfo`;
    `SSL_CERT_FILE` / `SSL_CERT_DIR`). `proxy` is cargo's `http.proxy` (None: the proxy
    variables of the environment, with NO_PROXY; "": no proxy at all, as in libcurl),
    `proxy_ca_file` the trust store for an https:// proxy (`http.proxy-cainfo`).
    The settings come from :mod:`registry.config.settings`.
    """

    connect_timeout: float = DEFAULT_TIMEOUT
    read_timeout: float = DEFAULT_TIMEOUT
    total_timeout: float = TOTAL_TIMEOUT_FACTOR * DEFAULT_TIMEOUT
    max_connections_per_host: int = 8
    http2: bool = True
    user_agent: str = USER_AGENT
    max_body_bytes: int = MAX_BODY_BYTES
    h2c_prior_knowledge: bool = False
    ca_file: str | None = None
    ca_path: str | None = None
    low_speed_limit: int = 10
    proxy: str | None = None
    proxy_ca_file: str | None = None

    def __post_init__(self) -> None:
        for timeout in (self.connect_timeout, self.read_timeout, self.total_timeout):
            if not 0 < timeout < _MAX_TIMEOUT:  # NaN fails too
                raise ValueError(f"timeouts must be positive seconds, not {timeout!r}")
        if self.max_connections_per_host < 1:
            raise ValueError("max_connections_per_host must be at least 1")
        if self.max_body_bytes < 0:
            raise ValueError("max_body_bytes must not be negative")
        if self.low_speed_limit < 1:
            raise ValueError("low_speed_limit must be at least 1")


def default_transport(
    options: TransportOptions | None = None, preconnected: Preconnected | None = None
) -> Transport:
    """A `CurlTransport` when pycurl imports, else an `HttpxTransport`; ``preconnected``
    (:mod:`registry.transport.preconnect`) become the first connections of the first (httpx
    cannot take sockets: they are closed)."""
    opts = options if options is not None else TransportOptions()
    try:
        from registry.transport.curl import CurlTransport
    except ImportError:
        from registry.transport.httpx import HttpxTransport

        if preconnected is not None:
            preconnected.close()
        return HttpxTransport(opts)
    return CurlTransport(opts, preconnected)


# --- helpers shared by the implementations (not part of the interface) ---------------------------


#: Transfers one connection carries at once. HTTP/2: libcurl's default
#: CURLMOPT_MAX_CONCURRENT_STREAMS (nginx and CDNs allow 128; a server allowing fewer makes
#: libcurl queue the rest). HTTP/1.1: one on the wire and the next queued inside libcurl.
STREAMS_PER_CONNECTION: Final = 100
HTTP1_PER_CONNECTION: Final = 2


def multiplexes(scheme: str, options: TransportOptions) -> bool:
    """Whether requests to a ``scheme`` URL share a connection as HTTP/2 streams: https with
    `TransportOptions.http2` (ALPN), cleartext http only with `h2c_prior_knowledge`."""
    return options.http2 and (scheme == "https" or options.h2c_prior_knowledge)


def per_connection(scheme: str, options: TransportOptions) -> int:
    """How many transfers one connection to a ``scheme`` URL carries at once."""
    return STREAMS_PER_CONNECTION if multiplexes(scheme, options) else HTTP1_PER_CONNECTION


def connections_for(requests: int, scheme: str, options: TransportOptions) -> int:
    """How many connections to one host a batch of ``requests`` spreads over: as many as carry
    it in one round trip (HTTP/2: ``ceil(n / 100)``; HTTP/1.1: one per two requests), within
    `TransportOptions.max_connections_per_host`."""
    return min(options.max_connections_per_host, -(-requests // per_connection(scheme, options)))


def freeze_headers(headers: dict[str, str]) -> Mapping[str, str]:
    """A read-only view of an already-normalised header dict."""
    return MappingProxyType(headers)


def add_header_line(headers: dict[str, str], line: str) -> None:
    """Fold one raw header line into `headers` the way cargo does (spec §4.3).

    Split at the first ':', lowercase the name, trim the value, last one wins. Lines with an
    interior newline, folded continuation lines and lines without ':' are ignored.
    """
    line = line.rstrip("\r\n")
    if not line or "\n" in line or line[0] in " \t":
        return
    name, sep, value = line.partition(":")
    if not sep:
        return
    name = name.strip().lower()
    if name:
        headers[name] = value.strip()


def invalid_header_reason(request: HttpRequest) -> str | None:
    """Why `request`'s headers cannot be sent as given, or None. Never quotes a value."""
    for name, value in request.headers:
        if not name or any(c in name for c in ":\r\n\0 \t"):
            return "invalid request header name"
        if any(c in value for c in "\r\n\0"):
            return f"invalid value for request header {name!r}"
        try:
            name.encode("ascii")
            value.encode("latin-1")
        except UnicodeEncodeError:
            return f"non-latin-1 value for request header {name!r}"
    return None


def has_header(request: HttpRequest, name: str) -> bool:
    """Whether `request` sets header `name` (case-insensitive)."""
    lowered = name.lower()
    return any(n.lower() == lowered for n, _ in request.headers)


def short_body_error(
    url: str, status: int, headers: Mapping[str, str], body: bytes
) -> TransportError | None:
    """A "partial" error when an unencoded body is shorter than its Content-Length.

    Belt and braces: both HTTP stacks already report this, but a short 200 must never pass.
    """
    if status in (204, 304) or "content-encoding" in headers:
        return None
    declared = content_length(headers)
    if declared is not None and len(body) < declared:
        return TransportError(url, "partial", f"received {len(body)} of {declared} body bytes")
    return None


def content_length(headers: Mapping[str, str]) -> int | None:
    """The ``Content-Length`` as a number, or None when absent or not ASCII digits ("²" is a
    digit to ``str.isdigit``, not to ``int``)."""
    declared = headers.get("content-length", "")
    if not declared or not declared.isascii() or not declared.isdigit():
        return None
    return int(declared) if len(declared) <= 18 else 10**18


def body_too_large(url: str, limit: int) -> TransportError:
    return TransportError(url, "other", f"response body over {limit} bytes")


def deadline_exceeded(url: str, seconds: float) -> TransportError:
    """The "deadline" error: no complete response within ``total_timeout`` seconds."""
    return TransportError(
        url, "deadline", f"no complete response within {seconds:g} s, the total deadline"
    )


def clean_message(message: str, request: HttpRequest) -> str:
    """One short line, with every request header value (e.g. a token) cut out."""
    text = " ".join(message.split())
    for _name, value in request.headers:
        secret = value.strip()
        if len(secret) >= 4 and secret in text:
            text = text.replace(secret, "<redacted>")
    if len(text) > _MAX_MESSAGE_CHARS:
        text = text[: _MAX_MESSAGE_CHARS - 3] + "..."
    return text or "transfer failed"

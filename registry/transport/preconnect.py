"""TCP connections to an index host, opened before the transport exists, for libcurl to use.

Why: once a run knows it will send a batch of requests, it still has ~15-20 ms of work before the
first one can go out: importing libcurl, building the transport, reading the versions its
conditional requests carry. A connection's TCP handshake costs a round trip of its own; started
before that work, it overlaps it (what browsers call a preconnect). `IndexLoader` calls
`open_connections` (through `registry.api.Registry`) as soon as it knows how many requests a
batch holds, and `CurlTransport` hands the sockets to libcurl as the first connections its lanes
open to that host: ``CURLOPT_OPENSOCKETFUNCTION`` returns one, ``CURLOPT_SOCKOPTFUNCTION`` answers
``CURL_SOCKOPT_ALREADY_CONNECTED``. A socket may still be connecting when libcurl takes it: its
first write (the TLS ClientHello, or the request) waits until the handshake is done, like any
write, within the connect timeout (https) or the stall timeout (http). The gain is measured in
docs/performance.md.

None are opened (`open_connections` returns None), and libcurl connects as it always does:

    - when a proxy applies (``http.proxy``, or the proxy variables libcurl reads, with
      ``no_proxy``: `registry.config.settings.proxy_for`): the connections would go to it;
    - when the host does not resolve (libcurl then reports it), or resolves to an IPv6 address
      first: libcurl races IPv6 against IPv4 (happy eyeballs), which a socket handed over as
      connected would defeat on a network where IPv6 is broken. IPv4 first (most servers and CI
      runners) is what is preconnected;
    - for a scheme other than http(s).

The name is resolved here, once (an IP address costs nothing; a name costs the lookup libcurl
would otherwise make first, and libcurl's own lookups then usually hit the resolver's cache).

A socket whose connect failed before libcurl asks for one is closed, not handed over: libcurl
connects itself and reports what it finds. One that fails after it was handed over (refused a
round trip later) fails the TLS handshake or the first send; `CurlTransport` reports such errors
on these sockets (`Preconnected.ports`) as "connect" errors, retried like any failed connect.
Sockets libcurl never took are closed with the transport.
"""

from __future__ import annotations

import _socket
from errno import EINPROGRESS

from query import TYPE_CHECKING
from registry.config.index_url import url_origin
from registry.transport.base import connections_for

if TYPE_CHECKING:
    from collections.abc import Mapping

    from registry.transport.base import TransportOptions

_DEFAULT_PORTS = {"http": 80, "https": 443}


class Preconnected:
    """Non-blocking sockets connecting (or connected) to one address of a host, for libcurl's
    new connections to any IPv4 address that host resolved to."""

    __slots__ = ("_addresses", "_port", "_sockets", "ports")

    def __init__(self, addresses: frozenset[str], port: int) -> None:
        self._addresses = addresses
        self._port = port
        self._sockets: list[_socket.socket] = []
        #: the local ports of every socket opened (`CurlTransport` tells its errors by them)
        self.ports: set[int] = set()

    def __len__(self) -> int:
        return len(self._sockets)

    def add(self, sock: _socket.socket) -> None:
        self._sockets.append(sock)
        self.ports.add(sock.getsockname()[1])

    def take(self, family: int, address: tuple[object, ...]) -> _socket.socket | None:
        """A socket for a connection to ``address`` (libcurl's ``(host, port, ...)``), or None:
        the address is not one of the host's, or no socket is left whose connect has not
        failed."""
        if family != _socket.AF_INET or address[1] != self._port:
            return None
        if address[0] not in self._addresses:
            return None
        while self._sockets:
            sock = self._sockets.pop(0)
            if sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR) == 0:
                return sock
            sock.close()
        return None

    def close(self) -> None:
        """Close the sockets not taken."""
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()


def open_connections(
    base: str, requests: int, options: TransportOptions, environ: Mapping[str, str]
) -> Preconnected | None:
    """Start as many connections to the host of ``base`` (an index's http(s) URL) as the
    transport spreads ``requests`` over (`connections_for`), or None (see the module docstring;
    ``environ``: the proxy variables)."""
    scheme, host, port = url_origin(base)
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    from registry.config.settings import proxy_for

    if proxy_for(base, options.proxy, environ) is not None:
        return None
    port = port if port is not None else _DEFAULT_PORTS[scheme]
    count = connections_for(requests, scheme, options)
    if count < 1:
        return None
    addresses = _ipv4_addresses(host, port)
    if not addresses:
        return None
    target = (addresses[0], port)
    opened = Preconnected(frozenset(addresses), port)
    for _ in range(count):
        try:
            sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)  # not inherited (PEP 446)
        except OSError:  # out of descriptors, say: libcurl will say what it finds
            break
        try:
            sock.setblocking(False)
            if sock.connect_ex(target) not in (0, EINPROGRESS):
                sock.close()
                break
            opened.add(sock)
        except OSError:
            sock.close()
            break
    return opened if len(opened) else None


def _ipv4_addresses(host: str, port: int) -> list[str]:
    """The IPv4 addresses ``host`` resolves to, in the resolver's order; none when it does not
    resolve or resolves to an IPv6 address first. An IPv4 address is taken as it is, without
    the resolver (libcurl does the same; the first lookup of a process costs ~6 ms here, loading
    the resolver's modules)."""
    try:
        _socket.inet_pton(_socket.AF_INET, host)
    except OSError:
        pass
    else:
        return [host]
    try:
        found = _socket.getaddrinfo(host, port, 0, _socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    if not found or found[0][0] != _socket.AF_INET:
        return []
    return [str(info[4][0]) for info in found if info[0] == _socket.AF_INET]

"""Transports: GET requests in, responses or errors out (:mod:`registry.transport.base`).

::

    base.py        the interface, its records and the helpers both implementations share
    curl.py        CurlTransport, on pycurl (libcurl): the default
    preconnect.py  TCP connections opened before the transport, for CurlTransport to take
    httpx.py       HttpxTransport: the fallback without pycurl, or a caller's own httpx.Client
"""

from __future__ import annotations

from query import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from registry.transport.base import Transport, TransportOptions
    from registry.transport.preconnect import Preconnected


def open_transport(
    timeout: float,
    httpx_client: httpx.Client | None = None,
    options: TransportOptions | None = None,
    preconnected: Preconnected | None = None,
) -> Transport:
    """The transport of a `Registry`: on ``httpx_client`` when given, else the default
    (:func:`registry.transport.base.default_transport`, taking ``preconnected``), with
    ``options`` (cargo's network settings: `registry.config.settings.Settings.transport_options`)
    or else ``timeout`` for connecting and for a stalled transfer, and `TOTAL_TIMEOUT_FACTOR`
    times it for a whole transfer."""
    from registry import USER_AGENT
    from registry.options import TOTAL_TIMEOUT_FACTOR
    from registry.transport.base import TransportOptions, default_transport

    if options is None:
        options = TransportOptions(
            connect_timeout=timeout,
            read_timeout=timeout,
            total_timeout=TOTAL_TIMEOUT_FACTOR * timeout,
            user_agent=USER_AGENT,
        )
    if httpx_client is not None:
        from registry.transport.httpx import HttpxTransport

        if preconnected is not None:
            preconnected.close()
        return HttpxTransport(options, client=httpx_client)
    return default_transport(options, preconnected)

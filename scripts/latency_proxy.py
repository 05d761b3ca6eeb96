#!/usr/bin/env python3
"""A TCP relay on 127.0.0.1 that adds a round-trip time, for benchmarks (stdlib only).

This machine's kernel has no netem, so ``scripts/bench.py`` puts this relay between the clients
(cargo, registry) and nginx to give loopback the latency of a real network::

    python scripts/latency_proxy.py --listen 127.0.0.1:0 --to 127.0.0.1:8443 --rtt-ms 40

It prints ``listening on 127.0.0.1:PORT`` (one line, flushed) once it accepts connections, and
runs until SIGTERM or SIGINT. ``--listen`` may also be ``fd:N``: an already bound and listening
socket inherited from the parent (no port to poll for).

The model: a path with a one-way delay of ``rtt / 2`` in each direction and unlimited bandwidth.

* Every chunk read from one side is written to the other ``rtt / 2`` after it was read, in the
  order it was read: the relay delays data, it never throttles it. A chunk read while earlier
  ones are still waiting queues behind them (a pipe, not a reordering network). End of stream
  (FIN) travels the same way, after the data before it.
* Connection set-up: the kernel completes the client's TCP handshake at once, so a client could
  send its first bytes (a TLS ClientHello, an HTTP request) right away, where on a real path it
  sends them one round trip later (SYN, SYN-ACK). So the first bytes from the client are held
  until ``1.5 rtt`` after the connection was accepted: the round trip of the handshake plus the
  one-way trip of the data. A TCP connection therefore costs one RTT, a TLS 1.3 handshake one more,
  and each request/response exchange one more, as on a real path.
* Upstream, the relay connects to ``--to`` when it accepts the client (loopback: instant).
* No loss, no jitter, no slow start, no bandwidth-delay limit (the kernel's loopback buffers are
  the window): it models latency alone. TCP_NODELAY is set on both sides so the relay adds no
  Nagle delays of its own.

The relay costs some CPU per chunk (asyncio, one Python process); it serves every client of a
benchmark alike.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys

CHUNK = 256 * 1024


class Link:
    """One direction of one connection: chunks delivered ``delay`` after they were read."""

    def __init__(self, delay: float, first_at: float) -> None:
        self.delay = delay
        self.first_at = first_at  # loop time before which nothing is delivered
        self.queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def read(self, reader: asyncio.StreamReader) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await reader.read(CHUNK)
                due = max(loop.time() + self.delay, self.first_at)
                self.queue.put_nowait((due, data))
                if not data:
                    return
        except (ConnectionError, OSError):
            self.queue.put_nowait((loop.time(), b""))

    async def write(self, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                due, data = await self.queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    await writer.drain()
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            return


def nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def relay(
    client_r: asyncio.StreamReader,
    client_w: asyncio.StreamWriter,
    target: tuple[str, int],
    rtt: float,
) -> None:
    loop = asyncio.get_running_loop()
    accepted = loop.time()
    try:
        server_r, server_w = await asyncio.open_connection(*target)
    except OSError:
        client_w.close()
        return
    nodelay(client_w)
    nodelay(server_w)
    up = Link(rtt / 2, accepted + 1.5 * rtt)
    down = Link(rtt / 2, accepted)
    tasks = [
        asyncio.create_task(up.read(client_r)),
        asyncio.create_task(up.write(server_w)),
        asyncio.create_task(down.read(server_r)),
        asyncio.create_task(down.write(client_w)),
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        for w in (client_w, server_w):
            w.close()
            with contextlib.suppress(ConnectionError, OSError):
                await w.wait_closed()


def parse_hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


async def serve(listen: str, target: tuple[str, int], rtt: float) -> None:
    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await relay(r, w, target, rtt)

    if listen.startswith("fd:"):
        sock = socket.socket(fileno=int(listen[3:]))
        server = await asyncio.start_server(handle, sock=sock, backlog=1024)
    else:
        host, port = parse_hostport(listen)
        server = await asyncio.start_server(handle, host, port, backlog=1024)
    bound = server.sockets[0].getsockname()
    print(f"listening on {bound[0]}:{bound[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT, or fd:N (inherited)")
    ap.add_argument("--to", required=True, help="HOST:PORT to relay to")
    ap.add_argument("--rtt-ms", type=float, required=True, help="added round-trip time")
    args = ap.parse_args(argv)
    asyncio.run(serve(args.listen, parse_hostport(args.to), args.rtt_ms / 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())

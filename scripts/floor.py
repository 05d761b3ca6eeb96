#!/usr/bin/env python3
"""The floor: the least time a Python process fetching through libcurl (pycurl) can take.

``scripts/bench.py`` times this next to cargo and ``registry`` in the cold-fetch and
revalidation scenarios, so the table shows how much of ``registry``'s time any Python client
using the transport the design mandates would spend too. Standalone::

    python scripts/floor.py revalidate INDEX_URL CACHE_DIR LOCKFILE [--cacert FILE] [--timeout S]
    python scripts/floor.py cold INDEX_URL CACHE_DIR LOCKFILE [--cacert FILE] [--timeout S]

``INDEX_URL`` is ``http://host:port/`` or ``https://host:port/`` (``sparse+`` allowed);
``--cacert`` is a CA bundle to trust (libcurl's ``CAINFO``: the benchmark's throwaway CA).
It imports nothing of ``registry``, ``cache`` or ``query``: their imports are part of what it is
measured against. It does only the work no correct client can skip, the fastest way found here,
and nothing else:

* load libcurl (pycurl's C extension directly, as ``registry.transport.curl`` does), read the
  lockfile's registry package names with a line scan, compute the index paths;
* ``revalidate``: read the index version from each cached file's header (``CACHE_DIR`` is a
  filled ``registry`` cache dir with one registry in it); request ``config.json`` and, in the
  same batch, every file with ``If-None-Match`` / ``If-Modified-Since``; count the statuses;
* ``cold``: request ``config.json`` and, in the same batch, every file; keep each line whose
  ``name`` and ``vers`` are strings (the JSON check cargo's retention rule needs: stdlib
  ``json`` below 2 MB of downloads, orjson above, as ``registry`` chooses); write each file in
  the ``.cache`` format (temp file + rename) in two processes given equal bytes, like
  ``registry``'s cold fetch.

The transfers go out as ``registry.transport.curl`` sends them: over **lanes**, one
``CurlMulti`` each holding one connection (``M_MAX_HOST_CONNECTIONS`` = 1; libcurl 8.23 stalls
HTTP/2 streams over TLS when one multi spreads a host's transfers over several connections, and
a floor with one multi of 8 connections once sat at 0% CPU on a connection never answered), at
most 8 lanes. A batch of n files is spread over ``ceil(n / 100)`` lanes on ``https://`` (HTTP/2
by ALPN, ``CURL_HTTP_VERSION_2TLS``, multiplexed with ``PIPEWAIT``, up to 100 streams a lane) and
over every lane on cleartext ``http://`` (HTTP/1.1, one request on the wire and the next queued
on each); each lane's connection starts (``multi.perform()``) as soon as it gets its first
transfer. gzip and every other encoding libcurl decodes is accepted (``ACCEPT_ENCODING ""``).

Every transfer has timeouts, as ``registry``'s have (``--timeout S``, default 30): connect within
S seconds, abort below 1 byte/s over S seconds, at most 10 x S seconds in all (300 s by default);
``NOSIGNAL``. A transfer that fails (a timeout, a reset, a TLS error) is counted, not retried.

It prints one line: ``STATUS:COUNT`` for each HTTP status, then ``error:CODE:COUNT`` for each
libcurl error code transfers failed with (28 is a timeout); the exit status is 1 when a transfer
failed, else 0 (2: bad usage). Left out, all of which ``registry`` does: parsing or checking
``config.json``, status and header checks beyond that count, retries, auth, cache integrity
records and freshness sidecars, the cache lock, crate-name and version validation, error
messages and progress.
"""

from __future__ import annotations

import math
import os
import select
import sys
import time
from importlib import machinery

MAX_LANES = 8
STREAMS_PER_CONNECTION = 100  # HTTP/2: libcurl's default cap on concurrent streams
HTTP1_PER_CONNECTION = 2  # HTTP/1.1: one on the wire, the next queued inside libcurl
DEFAULT_TIMEOUT = 30.0
TOTAL_TIMEOUT_FACTOR = 10
LOW_SPEED_LIMIT = 1  # bytes/s
PARALLEL_MIN = 16
STDLIB_JSON_BELOW = 2 << 20
HEADERS = ["cargo-protocol: version=1", "accept: text/plain", "user-agent: registry-floor/0"]
USAGE = (
    "usage: floor.py {cold,revalidate} INDEX_URL CACHE_DIR LOCKFILE"
    " [--cacert FILE] [--timeout SECONDS]\n"
)


def load_pycurl():
    spec = machinery.PathFinder.find_spec("pycurl")
    if spec is None or not spec.submodule_search_locations:
        import pycurl

        return pycurl
    path = os.path.join(
        spec.submodule_search_locations[0], "_pycurl" + machinery.EXTENSION_SUFFIXES[0]
    )
    loader = machinery.ExtensionFileLoader("pycurl._pycurl", path)
    module = loader.create_module(machinery.ModuleSpec("pycurl._pycurl", loader, origin=path))
    loader.exec_module(module)
    return module


def registry_names(lockfile: str) -> list[str]:
    names: set[str] = set()
    name = ""
    with open(lockfile, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith('name = "'):
                name = line[8:-2]
            elif line.startswith(('source = "registry+', 'source = "sparse+')):
                names.add(name)
    return sorted(names)


def index_path(name: str) -> str:
    """cargo's ``make_dep_path`` (as scripts/make_fixtures.py has it: the floor imports nothing
    of ours, whose imports are part of what it is measured against)."""
    name = name.lower()
    if len(name) <= 2:
        return f"{len(name)}/{name}"
    if len(name) == 3:
        return f"3/{name[0]}/{name}"
    return f"{name[:2]}/{name[2:4]}/{name}"


def conditional(version: str) -> list[str]:
    if version.startswith("etag: "):
        return [*HEADERS, "if-none-match: " + version[6:]]
    if version.startswith("last-modified: "):
        return [*HEADERS, "if-modified-since: " + version[15:]]
    return HEADERS


class Lanes:
    """GETs over up to `MAX_LANES` libcurl multis of one connection each (the module
    docstring): path -> (status, index version, body), and path -> libcurl error code."""

    def __init__(self, pycurl, base: str, cacert: str | None, timeout: float) -> None:
        self.pycurl = pycurl
        self.base = base
        self.cacert = cacert
        self.timeout = timeout
        self.multiplex = base.startswith("https:")
        self.room = STREAMS_PER_CONNECTION if self.multiplex else HTTP1_PER_CONNECTION
        self.lanes: list[tuple[object, dict]] = []  # (CurlMulti, {Curl: (path, body, head)})
        self.idle: list = []  # finished handles, reused

    def handle(self):
        if self.idle:
            return self.idle.pop()
        pycurl, timeout = self.pycurl, self.timeout
        curl = pycurl.Curl()
        curl.setopt(pycurl.NOSIGNAL, 1)
        curl.setopt(pycurl.ACCEPT_ENCODING, "")
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, math.ceil(timeout * 1000)))
        curl.setopt(pycurl.LOW_SPEED_LIMIT, LOW_SPEED_LIMIT)
        curl.setopt(pycurl.LOW_SPEED_TIME, max(1, math.ceil(timeout)))
        curl.setopt(pycurl.TIMEOUT_MS, max(1, math.ceil(TOTAL_TIMEOUT_FACTOR * timeout * 1000)))
        if self.multiplex:
            curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_2TLS)
            curl.setopt(pycurl.PIPEWAIT, 1)
        else:
            curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
        if self.cacert is not None:
            curl.setopt(pycurl.CAINFO, self.cacert)
        return curl

    def lane_for(self, want: int):
        """registry.transport.curl's ``_lane_for``: a new lane while fewer than ``want`` are
        open, else the least busy one with room, else a new one while allowed, else None."""
        if self.lanes and len(self.lanes) >= want:
            lane = min(self.lanes, key=lambda lane: len(lane[1]))
            if len(lane[1]) < self.room:
                return lane
        if len(self.lanes) < MAX_LANES:
            multi = self.pycurl.CurlMulti()
            multi.setopt(
                self.pycurl.M_PIPELINING, self.pycurl.PIPE_MULTIPLEX if self.multiplex else 0
            )
            multi.setopt(self.pycurl.M_MAX_HOST_CONNECTIONS, 1)
            self.lanes.append((multi, {}))
            return self.lanes[-1]
        return None

    def get(
        self, items: list[tuple[str, list[str]]]
    ) -> tuple[dict[str, tuple[int, str, bytes]], dict[str, int]]:
        pycurl = self.pycurl
        results: dict[str, tuple[int, str, bytes]] = {}
        errors: dict[str, int] = {}
        want = min(MAX_LANES, -(-len(items) // self.room))
        next_item = 0
        while True:
            while next_item < len(items):
                lane = self.lane_for(want)
                if lane is None:
                    break
                multi, active = lane
                path, headers = items[next_item]
                next_item += 1
                curl = self.handle()
                curl.setopt(pycurl.URL, self.base + path)
                curl.setopt(pycurl.HTTPHEADER, headers)
                body: list[bytes] = []
                head: list[bytes] = []
                curl.setopt(pycurl.WRITEFUNCTION, body.append)
                curl.setopt(pycurl.HEADERFUNCTION, head.append)
                multi.add_handle(curl)
                active[curl] = (path, body, head)
                if len(active) == 1:
                    multi.perform()  # its connection starts now, while the rest are set up
            busy = [lane for lane in self.lanes if lane[1]]
            if not busy:
                return results, errors
            done = 0
            for multi, active in busy:
                while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
                    pass
                done += self.collect(multi, active, results, errors)
            if not done:
                self.wait(busy)

    def collect(self, multi, active: dict, results: dict, errors: dict) -> int:
        count = 0
        while True:
            queued, ok, failed = multi.info_read()
            for curl, code in [(curl, 0) for curl in ok] + [(c, e) for c, e, _ in failed]:
                multi.remove_handle(curl)
                path, body, head = active.pop(curl)
                if code:
                    errors[path] = code
                else:
                    version = ""
                    for line in head:
                        if line[:5].lower() == b"etag:":
                            version = "etag: " + line[5:].strip().decode()
                    status = curl.getinfo(self.pycurl.RESPONSE_CODE)
                    results[path] = (status, version, b"".join(body))
                self.idle.append(curl)
                count += 1
            if not queued:
                return count

    def wait(self, busy: list) -> None:
        """Until a socket of a busy lane is ready or the earliest libcurl timer is due (the
        floor's twin of registry.transport.curl's ``_wait``: it imports nothing of ours)."""
        timers = [t for t in (multi.timeout() for multi, _ in busy) if t >= 0]
        if 0 in timers:
            return
        wait = min(timers) / 1000 if timers else 1.0
        sets = [multi.fdset() for multi, _ in busy]
        fds = [[fd for fdset in sets for fd in fdset[kind]] for kind in range(3)]
        if any(fds):
            select.select(*fds, wait)
        else:
            time.sleep(min(wait, 0.1))  # libcurl is busy with something it has no socket for


def reader(total: int):
    if total < STDLIB_JSON_BELOW:
        import json

        return json.loads, ValueError
    import orjson

    return orjson.loads, orjson.JSONDecodeError


def cache_bytes(version: str, body: bytes, loads, error) -> bytes:
    out = [b"\x03\x02\x00\x00\x00", version.encode(), b"\x00"]
    for line in body.split(b"\n"):
        if not line.strip():
            continue
        try:
            value = loads(line)
        except error:
            continue
        if type(value) is dict:
            vers, name = value.get("vers"), value.get("name")
            if type(vers) is str and type(name) is str:
                out += (vers.encode(), b"\x00", line, b"\x00")
    return b"".join(out)


def write_all(root: str, files: list[tuple[str, tuple[int, str, bytes]]], read) -> None:
    made: set[str] = set()
    for path, (_status, version, body) in files:
        full = f"{root}/.cache/{path}"
        directory = os.path.dirname(full)
        if directory not in made:
            os.makedirs(directory, exist_ok=True)
            made.add(directory)
        temp = f"{directory}/.floor-{os.getpid()}"
        with open(temp, "wb") as handle:
            handle.write(cache_bytes(version, body, *read))
        os.replace(temp, full)


def revalidate(lanes: Lanes, cache_dir: str, lockfile: str):
    index_root = f"{cache_dir}/registry/index"
    (only,) = os.listdir(index_root)
    root = f"{index_root}/{only}/.cache/"
    items = [("config.json", HEADERS)]  # unconditional, in the same batch
    for name in registry_names(lockfile):
        path = index_path(name)
        with open(root + path, "rb") as handle:
            head = handle.read(512)
        items.append((path, conditional(head[5 : head.index(b"\x00", 5)].decode())))
    return lanes.get(items)


def cold(lanes: Lanes, cache_dir: str, lockfile: str):
    root = f"{cache_dir}/registry/index/floor"
    items = [("config.json", HEADERS)]  # in the same batch as the index files
    items += [(index_path(n), HEADERS) for n in registry_names(lockfile)]
    results, errors = lanes.get(items)
    os.makedirs(root, exist_ok=True)
    config = results.get("config.json")
    if config is not None and config[0] == 200:
        with open(f"{root}/config.json", "wb") as handle:
            handle.write(config[2])
    files = sorted((p, r) for p, r in results.items() if r[0] == 200 and p != "config.json")
    read = reader(sum(len(r[2]) for _, r in files))
    if len(files) >= PARALLEL_MIN and hasattr(os, "fork"):
        halves: tuple[list, list] = ([], [])
        loads = [0, 0]
        for item in sorted(files, key=lambda item: -len(item[1][2])):
            lighter = loads[1] < loads[0]
            halves[lighter].append(item)
            loads[lighter] += len(item[1][2])
        pid = os.fork()
        if pid == 0:
            write_all(root, halves[1], read)
            os._exit(0)
        write_all(root, halves[0], read)
        os.waitpid(pid, 0)
    else:
        write_all(root, files, read)
    return results, errors


def summary(results: dict[str, tuple[int, str, bytes]], errors: dict[str, int]) -> str:
    statuses: dict[int, int] = {}
    for status, _version, _body in results.values():
        statuses[status] = statuses.get(status, 0) + 1
    codes: dict[int, int] = {}
    for code in errors.values():
        codes[code] = codes.get(code, 0) + 1
    parts = [f"{k}:{v}" for k, v in sorted(statuses.items())]
    parts += [f"error:{k}:{v}" for k, v in sorted(codes.items())]
    return " ".join(parts)


def parse_args(argv: list[str]) -> tuple[list[str], str | None, float] | None:
    """(mode, url, cache dir, lockfile), --cacert, --timeout; None for bad usage."""
    positional: list[str] = []
    cacert: str | None = None
    timeout = DEFAULT_TIMEOUT
    args = iter(argv)
    for arg in args:
        if arg in ("--cacert", "--timeout"):
            value = next(args, None)
            if value is None:
                return None
            if arg == "--cacert":
                cacert = value
                continue
            try:
                timeout = float(value)
            except ValueError:
                return None
            if not 0 < timeout < 1e6:
                return None
        else:
            positional.append(arg)
    if len(positional) != 4 or positional[0] not in ("revalidate", "cold"):
        return None
    return positional, cacert, timeout


def main(argv: list[str]) -> int:
    parsed = parse_args(argv)
    if parsed is None:
        sys.stderr.write(USAGE)
        return 2
    (mode, url, cache_dir, lockfile), cacert, timeout = parsed
    base = url.removeprefix("sparse+").rstrip("/") + "/"
    lanes = Lanes(load_pycurl(), base, cacert, timeout)
    results, errors = (revalidate if mode == "revalidate" else cold)(lanes, cache_dir, lockfile)
    sys.stdout.write(summary(results, errors) + "\n")
    return 1 if errors else 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # without the interpreter's teardown, as registry's console script leaves

#!/usr/bin/env python3
"""The floor: the least time a Python process fetching through libcurl (pycurl) can take.

``scripts/bench.py`` times this next to cargo and ``registry`` in the cold-fetch and
revalidation scenarios, so the table shows how much of ``registry``'s time any Python client
using the transport the design mandates would spend too. Standalone::

    python scripts/floor.py revalidate INDEX_URL CACHE_DIR LOCKFILE
    python scripts/floor.py cold INDEX_URL CACHE_DIR LOCKFILE

``INDEX_URL`` is ``http://host:port/`` (``sparse+`` allowed). It does only the work no correct
client can skip, the fastest way found here, and nothing else:

* load libcurl (pycurl's C extension directly, as ``registry.transport.curl`` does), read the
  lockfile's registry package names with a line scan, compute the index paths;
* ``revalidate``: read the index version from each cached file's header (``CACHE_DIR`` is a
  filled ``registry`` cache dir with one registry in it); request ``config.json``, then every file
  with ``If-None-Match`` / ``If-Modified-Since``, at most 8 connections; count the statuses;
* ``cold``: request ``config.json``, then every file; keep each line whose ``name`` and ``vers``
  are strings (the JSON check cargo's retention rule needs: stdlib ``json`` below 2 MB of
  downloads, orjson above, as ``registry`` chooses); write each file in the ``.cache`` format
  (temp file + rename) in two processes given equal bytes, like ``registry``'s cold fetch.

Left out, all of which ``registry`` does: parsing or checking ``config.json``, status and
header checks beyond the 200/304 count, retries, timeouts, auth, cache integrity records and
freshness sidecars, the cache lock, crate-name and version validation, errors and progress.
It prints one line: the status counts.
"""

from __future__ import annotations

import os
import sys
from importlib import machinery

MAX_CONNECTIONS = 8
PARALLEL_MIN = 16
STDLIB_JSON_BELOW = 2 << 20
HEADERS = ["cargo-protocol: version=1", "accept: text/plain", "user-agent: registry-floor/0"]


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


class Transfers:
    """GETs on one libcurl multi handle: path -> (status, index version, body)."""

    def __init__(self, pycurl, base: str) -> None:
        self.pycurl = pycurl
        self.base = base
        self.multi = pycurl.CurlMulti()
        self.multi.setopt(pycurl.M_MAX_HOST_CONNECTIONS, MAX_CONNECTIONS)

    def get(self, items: list[tuple[str, list[str]]]) -> dict[str, tuple[int, str, bytes]]:
        pycurl, multi = self.pycurl, self.multi
        handles = []
        for path, headers in items:
            curl = pycurl.Curl()
            curl.setopt(pycurl.URL, self.base + path)
            curl.setopt(pycurl.HTTPHEADER, headers)
            body: list[bytes] = []
            head: list[bytes] = []
            curl.setopt(pycurl.WRITEFUNCTION, body.append)
            curl.setopt(pycurl.HEADERFUNCTION, head.append)
            handles.append((curl, path, body, head))
            multi.add_handle(curl)
        running = len(handles)
        while running:
            while True:
                code, running = multi.perform()
                if code != pycurl.E_CALL_MULTI_PERFORM:
                    break
            if running:
                wait = multi.timeout()
                multi.select(1.0 if wait < 0 else wait / 1000.0)
        out = {}
        for curl, path, body, head in handles:
            version = ""
            for line in head:
                if line[:5].lower() == b"etag:":
                    version = "etag: " + line[5:].strip().decode()
            out[path] = (curl.getinfo(pycurl.RESPONSE_CODE), version, b"".join(body))
            multi.remove_handle(curl)
        return out


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


def revalidate(pycurl, base: str, cache_dir: str, lockfile: str) -> dict[int, int]:
    index_root = f"{cache_dir}/registry/index"
    (only,) = os.listdir(index_root)
    root = f"{index_root}/{only}/.cache/"
    items = []
    for name in registry_names(lockfile):
        path = index_path(name)
        with open(root + path, "rb") as handle:
            head = handle.read(512)
        items.append((path, conditional(head[5 : head.index(b"\x00", 5)].decode())))
    transfers = Transfers(pycurl, base)
    results = transfers.get([("config.json", HEADERS)])  # one connection set-up first
    results.update(transfers.get(items))
    return count(results)


def cold(pycurl, base: str, cache_dir: str, lockfile: str) -> dict[int, int]:
    root = f"{cache_dir}/registry/index/floor"
    transfers = Transfers(pycurl, base)
    config = transfers.get([("config.json", HEADERS)])  # one connection set-up first
    os.makedirs(root, exist_ok=True)
    with open(f"{root}/config.json", "wb") as handle:
        handle.write(config["config.json"][2])
    results = transfers.get([(index_path(n), HEADERS) for n in registry_names(lockfile)])
    files = sorted((p, r) for p, r in results.items() if r[0] == 200)
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
    return count({**config, **results})


def count(results: dict[str, tuple[int, str, bytes]]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for status, _version, _body in results.values():
        counts[status] = counts.get(status, 0) + 1
    return counts


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] not in ("revalidate", "cold"):
        sys.stderr.write(__doc__.split("\n\n")[1] if __doc__ else "usage\n")
        return 2
    mode, url, cache_dir, lockfile = argv
    base = url.removeprefix("sparse+").rstrip("/") + "/"
    pycurl = load_pycurl()
    counts = (revalidate if mode == "revalidate" else cold)(pycurl, base, cache_dir, lockfile)
    sys.stdout.write(" ".join(f"{k}:{v}" for k, v in sorted(counts.items())) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

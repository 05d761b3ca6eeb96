"""registry and cargo against a real nginx (Debian's) serving a sparse index from disk.

nginx answers as the CDNs in front of real registries do, not as our test server does: its own
ETag format (weakened when it gzips), ``Last-Modified`` from the file, 304s for both kinds of
conditional request, gzip on the fly, TLS with HTTP/2 by ALPN. Asserted here:

* ``registry fetch --lockfile`` through nginx (HTTP/1.1, gzip) caches exactly the bytes cargo
  caches through the same nginx (``cargo update --workspace --locked``, source replacement);
* ``--refresh`` revalidates every index file with a conditional request that nginx answers 304
  (its access log), and the cache files stay byte-identical;
* over TLS + HTTP/2 with a certificate from a throwaway CA nobody trusts, the command fails with
  one line naming the certificate problem (exit 3) and caches nothing;
* over TLS + HTTP/2 with it trusted, a cold fetch and a ``--refresh`` each cost nginx exactly the
  connection their batch goes over (``stub_status``'s accepts): the one opened before the
  transport existed (registry/transport/preconnect.py) is the one libcurl used.
"""

from __future__ import annotations

import re
import select
import shutil
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.api import Registry
from registry.config.settings import Settings
from registry.input_files import load_lockfile
from tests.nginx import Nginx, world_readable
from tests.reliability.cachecheck import RIPGREP, cache_files, registry_argv, run_one
from tests.reliability.support import FIXTURE_INDEX, assert_one_error_line, run_cli
from tests.reliability.test_cargo_interop import cargo_update_locked, copy_project
from tests.tlsca import TlsFiles, make_ca

LOCK = str(RIPGREP / "Cargo.lock")


class Served:
    def __init__(self, nginx: Nginx, tls: TlsFiles) -> None:
        self.nginx = nginx
        self.tls = tls
        self.http = nginx.url(0)  # registry_argv adds the sparse+ prefix
        self.https = f"sparse+{nginx.url(1, 'https')}"
        self.status = nginx.url(2) + "status"

    def accepted(self) -> int:
        """The connections nginx has accepted so far (this question's own included)."""
        with urllib.request.urlopen(self.status, timeout=30) as answer:
            text = answer.read().decode()
        match = re.search(r"^\s*(\d+) \d+ \d+\s*$", text, re.MULTILINE)
        assert match, text
        return int(match[1])

    def access_lines(self) -> list[str]:
        return (self.nginx.prefix / "access.log").read_text().splitlines()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    work = tmp_path_factory.mktemp("nginx")
    root = work / "index"
    shutil.copytree(FIXTURE_INDEX, root)
    world_readable(root)
    tls = make_ca(work / "tls")
    with Nginx(work / "nginx", 3) as nginx:
        http, https, status = nginx.ports
        nginx.start(
            f"""
  gzip on;
  gzip_types *;
  gzip_min_length 0;
  server {{ listen 127.0.0.1:{http}; root {root}; }}
  server {{
    listen 127.0.0.1:{https} ssl http2;
    ssl_certificate {tls.cert};
    ssl_certificate_key {tls.key};
    root {root};
  }}
  server {{ listen 127.0.0.1:{status}; location = /status {{ stub_status; }} }}
"""
        )
        yield Served(nginx, tls)


def test_fetch_through_nginx_caches_what_cargo_caches(served: Served, tmp_path: Path) -> None:
    ours = tmp_path / "ours"
    result = run_one(registry_argv(served.http, ours, "fetch", "--lockfile", LOCK), tmp_path)
    assert result.code == 0 and not result.stderr, result.describe()
    mine = cache_files(ours)
    assert len(mine) > 50

    project = copy_project(tmp_path / "ripgrep")
    theirs = cargo_update_locked(served.http, tmp_path / "cargo-home", project)
    assert sorted(theirs) == sorted(mine)
    different = [path for path in mine if mine[path] != theirs[path]]
    assert different == []


def test_refresh_revalidates_with_304s(served: Served, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = run_one(registry_argv(served.http, cache, "fetch", "--lockfile", LOCK), tmp_path)
    assert first.code == 0, first.describe()
    before = cache_files(cache)
    seen = len(served.access_lines())
    again = run_one(
        registry_argv(served.http, cache, "--refresh", "fetch", "--lockfile", LOCK), tmp_path
    )
    assert again.code == 0, again.describe()
    statuses: dict[str, list[str]] = {}
    for line in served.access_lines()[seen:]:
        match = re.search(r'"GET (\S+) HTTP/[\d.]+" (\d{3})', line)
        assert match, line
        statuses.setdefault(match[2], []).append(match[1])
    # config.json is read afresh (as cargo does); every index file is a 304.
    assert sorted(statuses.pop("200", [])) == ["/config.json"]
    assert set(statuses) == {"304"}, statuses
    assert len(statuses["304"]) == len(before) == len(set(statuses["304"]))
    assert cache_files(cache) == before


def test_untrusted_certificate_is_one_line_and_caches_nothing(
    served: Served, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    result = run_cli(
        ["--index-url", served.https, "--cache-dir", str(cache), "query", "serde"],
        home=tmp_path / "home",
    )
    assert_one_error_line(result, "certificate", code=3)
    assert cache_files(cache) == {}


def test_tls_fetches_use_the_connections_opened_early(
    served: Served, tmp_path: Path, preconnects: list[tuple[int, int]]
) -> None:
    """Over TLS + HTTP/2, libcurl takes the socket opened before it was imported: nginx accepts
    one connection per fetch of ripgrep's ~65 files, the one opened early, not that one and
    libcurl's own."""
    names = sorted({package.name for package in load_lockfile(LOCK).registry_packages()})
    settings = Settings(cainfo=str(served.tls.ca))
    for refresh in (False, True):
        before = served.accepted()
        with Registry(served.https, tmp_path / "cache", refresh=refresh, settings=settings) as reg:
            report = reg.fetch(names)
        assert not report.errors and len(names) > 50
        counts = (report.downloaded, report.unchanged)
        assert counts == ((0, len(names)) if refresh else (len(names), 0))
        assert served.accepted() - before == 1 + 1  # the fetch's, and this status question's
    assert preconnects == [(len(names) + 1, 1)] * 2


def test_nginx_with_two_workers_answers_every_connection_of_a_burst(tmp_path: Path) -> None:
    """tests/nginx.py hands nginx its listening sockets: unless they are non-blocking, a worker
    that loses the race for a new connection sleeps in accept() with its own connections
    unanswered (about one burst of 7 connections in 100 stalled until the client gave up: the
    benchmarks' and the fleet tests' 30-s stalls, cargo's as well as ours)."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "config.json").write_text("{}\n")
    world_readable(root)
    with Nginx(tmp_path / "nginx", 1, workers=2, access_log=False) as nginx:
        nginx.start(f"server {{ listen 127.0.0.1:{nginx.ports[0]}; root {root}; }}")
        request = b"GET /config.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        for burst in range(400):
            clients = [socket.create_connection(("127.0.0.1", nginx.ports[0])) for _ in range(7)]
            try:
                for client in clients:
                    client.sendall(request)
                waiting = list(clients)
                while waiting:
                    ready, _, _ = select.select(waiting, [], [], 10)
                    assert ready, f"burst {burst}: {len(waiting)} of 7 connections unanswered"
                    for client in ready:
                        assert client.recv(4096).startswith(b"HTTP/1.1 200")
                        waiting.remove(client)
            finally:
                for client in clients:
                    client.close()

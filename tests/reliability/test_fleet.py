"""A fleet behind the caching proxy of docs/fleet.md: a real nginx running the very configuration
files of ``docs/fleet/`` in front of the test server (tests/httpserver.py, gzip on, as the index),
and many clients at once.

Asserted, with the test server's own request log as the upstream's view and the proxy's access
log (``cache=$upstream_cache_status upstream=$upstream_status``) as the proxy's:

* many concurrent ``registry fetch --lockfile`` processes, cold, make the upstream see each index
  file exactly once (``proxy_cache_lock``); every client caches the same bytes, and cargo through
  the same proxy caches exactly those bytes too, with the index's ETags passed through;
* ``--refresh`` through the proxy is all 304s, answered from the proxy's cache;
* once the proxy's copies are stale, a revalidation goes upstream as conditional requests that
  the index answers 304 (``proxy_cache_revalidate``), and the clients get 304s;
* with the index down, clients (new ones too) still get every file from the proxy;
* tokens: passed through, a request with a token is neither answered from the cache nor stored
  in it (so a client without one gets the index's 401, not a cached file); with the fleet-token
  variant, the proxy sends its own token upstream, the fleet's token never leaves the proxy, and
  neither token is written into the cache.

Staleness without waiting: the index answers with ``X-Accel-Expires: @1`` (an absolute expiry in
1970, honoured by nginx only), so the proxy stores each answer already expired.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest

from cache.format import read_header
from tests.httpserver import IndexServer
from tests.nginx import Nginx, world_readable
from tests.reliability.cachecheck import (
    HANG_LIMIT,
    assert_parses,
    assert_quiet_success,
    cache_files,
    registry_argv,
    run_all,
    run_one,
)
from tests.reliability.support import FIXTURE_INDEX, REPO
from tests.reliability.test_cargo_interop import cargo_update_locked

FLEET = REPO / "docs" / "fleet"
PROJECTS = REPO / "tests" / "fixtures" / "projects"
NUSHELL_LOCK = PROJECTS / "nushell" / "Cargo.lock"
RIPGREP_LOCK = PROJECTS / "ripgrep" / "Cargo.lock"
CLIENTS = 8
UPSTREAM_TOKEN = "upstream-read-token-5ecr3t"
FLEET_TOKEN = "fleet-token-0f-the-runners"
_LOG_LINE = re.compile(
    r'"GET (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3}) \d+ '
    r"cache=(?P<cache>\S+) upstream=(?P<upstream>\S+)"
)


def fill(template: Path, **values: str) -> str:
    """The file with its ``${NAME}`` placeholders filled in, as envsubst would."""
    text = template.read_text()
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    left = re.findall(r"\$\{\w+\}", text)
    assert not left, f"{template.name}: unfilled {left}"
    return text


class Proxy:
    """nginx running docs/fleet/registry-proxy.conf in front of ``upstream``."""

    def __init__(self, work: Path, upstream: IndexServer, tokens: str, **token_values: str):
        self.prefix = work / "proxy"
        self.prefix.mkdir(parents=True)
        self.cache_dir = self.prefix / "cache"
        tokens_conf = self.prefix / "tokens.conf"
        tokens_conf.write_text(fill(FLEET / tokens, **token_values))
        self.nginx = Nginx(self.prefix, 1, workers=2)
        port = self.nginx.ports[0]
        self.config = fill(
            FLEET / "registry-proxy.conf",
            LISTEN=f"127.0.0.1:{port}",
            UPSTREAM_SCHEME="http",
            UPSTREAM_SERVER=f"127.0.0.1:{upstream.port}",
            UPSTREAM_HOST=f"127.0.0.1:{upstream.port}",
            CA_BUNDLE=certifi.where(),
            CACHE_DIR=str(self.cache_dir),
            LOG_DIR=str(self.prefix),
            FRESH="1h",
            TOKENS=str(tokens_conf),
        )
        self.url = self.nginx.url(0)

    def __enter__(self) -> Proxy:
        self.nginx.start(self.config)
        return self

    def __exit__(self, *exc: object) -> None:
        self.nginx.stop()

    def log(self) -> list[dict[str, str]]:
        """The proxy's access log, one dict per request (path, status, cache, upstream)."""
        path = self.prefix / "registry-proxy.log"
        lines = path.read_text().splitlines() if path.exists() else []
        found = [_LOG_LINE.search(line) for line in lines]
        assert all(found), [line for line, m in zip(lines, found, strict=True) if not m]
        return [m.groupdict() for m in found if m]

    def stored(self) -> bytes:
        """Every byte of the proxy's cache directory, for looking for tokens in it."""
        files = [p for p in self.cache_dir.rglob("*") if p.is_file()]
        return b"".join(p.read_bytes() for p in files)


def upstream_counts(upstream: IndexServer) -> Counter[str]:
    return Counter(r.rel or r.path for r in upstream.requests)


def assert_about_once(seen: Counter[str], proxy: Proxy) -> None:
    """The upstream saw each file about once, as the issue asks: the proxy coalesced the
    clients' misses (without it, every file would be asked once per client). At most a tenth of
    the files twice, none more: 4 files of ~65 were asked twice in one CI run, when the test
    nginx could stall a connection for 30 s (a blocking inherited listening socket, fixed in
    tests/nginx.py) and the cache-lock waiters went upstream themselves after
    `proxy_cache_lock_timeout`; 18 runs since saw every file exactly once."""
    again = {rel: n for rel, n in seen.items() if n != 1}
    context = [e for e in proxy.log() if e["path"].lstrip("/") in again]
    assert max(seen.values()) <= 2, context
    assert len(again) <= 1 + len(seen) // 10, context


def copy_index(work: Path, **config: object) -> Path:
    root = work / "index"
    shutil.copytree(FIXTURE_INDEX, root)
    if config:
        data = json.loads((root / "config.json").read_text())
        (root / "config.json").write_text(json.dumps({**data, **config}))
    world_readable(root)
    return root


# --- a public index: shared cache, coalesced misses, 304s ------------------------------------


class Fleet:
    def __init__(self, proxy: Proxy, upstream: IndexServer, work: Path) -> None:
        self.proxy = proxy
        self.upstream = upstream
        self.work = work
        self.caches: list[Path] = []


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    work = tmp_path_factory.mktemp("fleet")
    with (
        IndexServer(copy_index(work), gzip=True) as upstream,
        Proxy(work, upstream, "tokens-pass-through.conf") as proxy,
    ):
        world_readable(proxy.prefix)
        yield Fleet(proxy, upstream, work)


def test_concurrent_cold_clients_cost_one_upstream_request_per_file(fleet: Fleet) -> None:
    caches = [fleet.work / f"client{i}" for i in range(CLIENTS)]
    locks = [NUSHELL_LOCK if i % 4 else RIPGREP_LOCK for i in range(CLIENTS)]
    results = run_all(
        [
            registry_argv(fleet.proxy.url, cache, "fetch", "--lockfile", str(lock))
            for cache, lock in zip(caches, locks, strict=True)
        ],
        fleet.work / "home",
    )
    assert_quiet_success(results)
    fleet.caches = caches

    seen = upstream_counts(fleet.upstream)
    assert_about_once(seen, fleet.proxy)
    ripgrep, nushell = cache_files(caches[0]), cache_files(caches[1])
    assert len(ripgrep) > 50 and len(nushell) > 250
    assert_parses(nushell)
    assert_parses(ripgrep)
    for i, cache in enumerate(caches):  # every client has the bytes of its lockfile's first
        assert cache_files(cache) == (ripgrep if i % 4 == 0 else nushell)
    # the upstream was asked for config.json and the files the clients cached, nothing else
    cached_rels = {path.split("/.cache/", 1)[1] for path in (*ripgrep, *nushell)}
    assert set(seen) == {"config.json"} | cached_rels

    # the index's ETags (weak: it gzips) went through the proxy to the clients unchanged
    for path, data in nushell.items():
        rel = path.split("/.cache/", 1)[1]
        assert read_header(data)[0] == f"etag: W/{fleet.upstream.etag_for(rel)}", path

    # cargo through the same proxy: the same bytes, and no new upstream request for them
    home = fleet.work / "cargo-home"
    theirs = cargo_update_locked(fleet.proxy.url, home, copy_project(fleet.work, "nushell"))
    assert sorted(theirs) == sorted(nushell)
    assert [p for p in nushell if nushell[p] != theirs[p]] == []
    assert upstream_counts(fleet.upstream) == seen


def test_refresh_through_the_proxy_is_304s_from_its_cache(fleet: Fleet) -> None:
    if not fleet.caches:
        pytest.skip("needs the cold fetch above")
    cache = fleet.caches[1]
    before = cache_files(cache)
    upstream_before = len(fleet.upstream.requests)
    logged = len(fleet.proxy.log())
    result = run_one(
        registry_argv(
            fleet.proxy.url, cache, "--refresh", "fetch", "--lockfile", str(NUSHELL_LOCK)
        ),
        fleet.work / "home",
    )
    assert_quiet_success([result])
    entries = fleet.proxy.log()[logged:]
    files = [e for e in entries if e["path"] != "/config.json"]
    assert len(files) == len(before)
    assert {(e["status"], e["cache"]) for e in files} == {("304", "HIT")}
    assert len(fleet.upstream.requests) == upstream_before  # nothing went upstream
    assert cache_files(cache) == before


def copy_project(work: Path, name: str) -> Path:
    dest = work / f"project-{name}"
    shutil.copytree(PROJECTS / name, dest, ignore=shutil.ignore_patterns("Cargo.lock.*"))
    return dest


# --- stale copies: revalidation upstream, and an upstream outage -------------------------------


def test_stale_copies_revalidate_upstream_and_survive_an_outage(tmp_path: Path) -> None:
    lock = str(RIPGREP_LOCK)
    expired = [("X-Accel-Expires", "@1")]  # stored by the proxy already expired
    with (
        IndexServer(copy_index(tmp_path), gzip=True, extra_headers=expired) as upstream,
        Proxy(tmp_path, upstream, "tokens-pass-through.conf") as proxy,
    ):
        first = tmp_path / "first"
        cold = run_one(registry_argv(proxy.url, first, "fetch", "--lockfile", lock), tmp_path)
        assert_quiet_success([cold])
        files = cache_files(first)
        assert len(files) > 50
        cold_requests = len(upstream.requests)

        # --refresh: the proxy asks the index with its stored validators, gets 304s, and the
        # client gets 304s for its own
        logged = len(proxy.log())
        again = run_one(
            registry_argv(proxy.url, first, "--refresh", "fetch", "--lockfile", lock), tmp_path
        )
        assert_quiet_success([again])
        upstream_files = [r for r in upstream.requests[cold_requests:] if r.rel != "config.json"]
        assert len(upstream_files) == len(files)
        assert all(r.header("If-None-Match") for r in upstream_files), upstream_files
        entries = [e for e in proxy.log()[logged:] if e["path"] != "/config.json"]
        assert {(e["status"], e["cache"], e["upstream"]) for e in entries} == {
            ("304", "REVALIDATED", "304")
        }
        assert cache_files(first) == files

        # the index goes away: a new client and a revalidating one still get every file
        upstream.stop()
        logged = len(proxy.log())
        second = tmp_path / "second"
        results = [
            run_one(registry_argv(proxy.url, second, "fetch", "--lockfile", lock), tmp_path),
            run_one(
                registry_argv(proxy.url, first, "--refresh", "fetch", "--lockfile", lock),
                tmp_path,
            ),
        ]
        assert_quiet_success(results)
        assert cache_files(second) == files
        assert cache_files(first) == files
        assert {e["cache"] for e in proxy.log()[logged:]} == {"STALE"}


# --- tokens ------------------------------------------------------------------------------------


def test_tokens_pass_through_and_are_never_answered_from_the_cache(tmp_path: Path) -> None:
    lock = str(RIPGREP_LOCK)
    with (
        IndexServer(
            copy_index(tmp_path, **{"auth-required": True}), gzip=True, auth_token=UPSTREAM_TOKEN
        ) as upstream,
        Proxy(tmp_path, upstream, "tokens-pass-through.conf") as proxy,
    ):
        token = ["--token", UPSTREAM_TOKEN]
        mine = tmp_path / "with-token"
        argv = registry_argv(proxy.url, mine, *token, "fetch", "--lockfile", lock)
        assert_quiet_success([run_one(argv, tmp_path)])
        files = cache_files(mine)
        assert len(files) > 50
        # another client with a token: every request reached the index, none was answered
        # by the proxy, and the token was stored nowhere
        before = upstream_counts(upstream)
        other = registry_argv(proxy.url, tmp_path / "other", *token, "fetch", "--lockfile", lock)
        assert_quiet_success([run_one(other, tmp_path)])
        after = upstream_counts(upstream)
        # (config.json twice: without the token, 401, then with it, as cargo does)
        assert {rel: after[rel] - n for rel, n in before.items()} == {
            **dict.fromkeys(before, 1),
            "config.json": 2,
        }
        # what did not bypass the cache: the tokenless config.json asks (401, never stored)
        assert {(e["path"], e["status"], e["cache"]) for e in proxy.log()} - {
            (e["path"], e["status"], "BYPASS") for e in proxy.log()
        } == {("/config.json", "401", "MISS")}
        assert UPSTREAM_TOKEN.encode() not in proxy.stored()

        # without a token: the index's 401, not a file someone else fetched
        theirs = tmp_path / "without-token"
        denied = run_one(registry_argv(proxy.url, theirs, "fetch", "--lockfile", lock), tmp_path)
        assert denied.code != 0
        assert "401" in denied.stderr or "authentication" in denied.stderr
        assert cache_files(theirs) == {}
        for path in list(files)[:5]:  # asked for directly: the index's 401 each time
            assert http_status(proxy.url + path.split("/.cache/", 1)[1]) == 401


def test_fleet_token_is_checked_by_the_proxy_which_sends_its_own(tmp_path: Path) -> None:
    lock = str(RIPGREP_LOCK)
    with (
        IndexServer(
            copy_index(tmp_path, **{"auth-required": True}), gzip=True, auth_token=UPSTREAM_TOKEN
        ) as upstream,
        Proxy(
            tmp_path,
            upstream,
            "tokens-fleet.conf",
            FLEET_TOKEN=FLEET_TOKEN,
            UPSTREAM_TOKEN=UPSTREAM_TOKEN,
        ) as proxy,
    ):
        caches = [tmp_path / f"runner{i}" for i in range(3)]
        results = run_all(
            [
                registry_argv(proxy.url, cache, "--token", FLEET_TOKEN, "fetch", "--lockfile", lock)
                for cache in caches
            ],
            tmp_path,
        )
        assert_quiet_success(results)
        files = cache_files(caches[0])
        assert len(files) > 50
        assert all(cache_files(cache) == files for cache in caches)
        # one upstream request per file, each with the proxy's token, never the fleet's
        seen = upstream_counts(upstream)
        assert_about_once(seen, proxy)
        assert {r.header("Authorization") for r in upstream.requests} == {UPSTREAM_TOKEN}
        stored = proxy.stored()
        assert stored and UPSTREAM_TOKEN.encode() not in stored
        assert FLEET_TOKEN.encode() not in stored

        # without the fleet token, or with the registry's own: 401 from the proxy itself
        asked = len(upstream.requests)
        for argv in (
            registry_argv(proxy.url, tmp_path / "none", "fetch", "--lockfile", lock),
            registry_argv(
                proxy.url,
                tmp_path / "wrong",
                "--token",
                UPSTREAM_TOKEN,
                "fetch",
                "--lockfile",
                lock,
            ),
        ):
            denied = run_one(argv, tmp_path)
            assert denied.code != 0 and "401" in denied.stderr, denied.describe()
        rel = next(iter(files)).split("/.cache/", 1)[1]
        assert http_status(proxy.url + rel) == 401
        assert len(upstream.requests) == asked


def http_status(url: str, token: str | None = None) -> int:
    """The status of one GET (urllib, no proxy from the environment)."""
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers={"Authorization": token} if token else {})
    try:
        with opener.open(request, timeout=HANG_LIMIT) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
